//! Streams (synap.h "Streams"): Kafka-style event logs. The room methods of
//! [`Db`] and their values; consumer groups and topics are in topic.rs.
//!
//! A room is an append-only log of events at offsets 0, 1, 2, ...; an event
//! has an optional key, headers, a payload and a timestamp in ms. A consumer
//! group's committed offset per room is the offset it will read next. A
//! partitioned topic of N partitions is the rooms `"<topic>-0"` ..
//! `"<topic>-<N-1>"`; an event's key picks its partition.
//!
//! ```no_run
//! use synap::{Db, Event, Options, RoomSettings};
//!
//! let db = Db::open("/tmp/synap-stream-example", &Options::new())?;
//! db.stream_create("orders", &RoomSettings::default())?;
//! let first = db.stream_append("orders", &Event::new("created").with_key("order-1").header("v", "2"))?;
//! assert_eq!(first, 0);
//! db.stream_append_batch("orders", &[Event::new("paid"), Event::new("shipped")])?;
//! for record in db.stream_iter("orders", 0) {
//!     let record = record?;
//!     println!("{} {:?}", record.offset, record.payload);
//! }
//! db.group_commit("billing", "orders", 3)?;                // billing reads offset 3 next
//! assert_eq!(db.group_committed("billing", "orders")?, Some(3));
//! # Ok::<(), synap::Error>(())
//! ```

use std::collections::VecDeque;
use std::ffi::CString;
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::slice;

use synap_sys as sys;

use crate::db::{answer, key_trampoline, Db, KeySink};
use crate::error::{check, Error, ErrorCode, Result};
use crate::ffi_util::{ptr_of, take_buf, CBuf};
use crate::options::cstring;
use crate::types::Fsync;

/// How a room compresses its batches (room setting `codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Stored as written.
    None,
    /// LZ4, per batch.
    Lz4,
    /// Zstandard, per batch.
    Zstd,
}

impl Codec {
    fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// How a room's old events go (room setting `cleanup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cleanup {
    /// Whole old segments are deleted under the retention settings.
    Delete,
    /// Sealed segments keep only the latest event of each key.
    Compact,
    /// Both.
    CompactDelete,
}

impl Cleanup {
    fn name(self) -> &'static str {
        match self {
            Cleanup::Delete => "delete",
            Cleanup::Compact => "compact",
            Cleanup::CompactDelete => "compact,delete",
        }
    }
}

/// The settings of a room, for [`Db::stream_create`] and
/// [`Db::topic_create`]. `None` leaves a setting at the store's default
/// (the `stream.*` options of [`Options`](crate::Options)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoomSettings {
    /// Segment file size: 64 KiB..1 GiB, a multiple of 4096. Default:
    /// `stream.segment_bytes` (64 MiB).
    pub segment_bytes: Option<u64>,
    /// Delete old segments past this many bytes; 0 = no limit.
    pub retention_bytes: Option<u64>,
    /// Delete segments whose events are all older than this; 0 = never.
    pub retention_ms: Option<u64>,
    /// Compression of each batch.
    pub codec: Option<Codec>,
    /// When an append is acknowledged: after an fsync (`Always`), within
    /// `stream.fsync_interval_ms` (`Periodic`), or at once (`Never`).
    pub fsync: Option<Fsync>,
    /// Retention by deletion, key compaction, or both.
    pub cleanup: Option<Cleanup>,
}

impl fmt::Display for RoomSettings {
    /// The `settings` string of synap_stream_create(): "name=value" pairs
    /// separated by ';' (empty when every setting is the default).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(v) = self.segment_bytes {
            pairs.push(("segment_bytes", v.to_string()));
        }
        if let Some(v) = self.retention_bytes {
            pairs.push(("retention_bytes", v.to_string()));
        }
        if let Some(v) = self.retention_ms {
            pairs.push(("retention_ms", v.to_string()));
        }
        if let Some(v) = self.codec {
            pairs.push(("codec", v.name().to_string()));
        }
        if let Some(v) = self.fsync {
            pairs.push(("fsync", v.name().to_string()));
        }
        if let Some(v) = self.cleanup {
            pairs.push(("cleanup", v.name().to_string()));
        }
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}={}", name, value)?;
        }
        Ok(())
    }
}

impl RoomSettings {
    /// The C string for libsynap, or None for every default.
    pub(crate) fn to_cstring(self) -> Result<Option<CString>> {
        let text = self.to_string();
        if text.is_empty() {
            Ok(None)
        } else {
            cstring(text, "room settings").map(Some)
        }
    }
}

/// An event to append ([`Db::stream_append`], [`Db::topic_produce`]).
///
/// ```
/// let e = synap::Event::new("payload").with_key("user-7").header("trace", "42").with_timestamp_ms(1_700_000_000_000);
/// assert_eq!(e.key.as_deref(), Some(&b"user-7"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Event {
    /// The key: what compaction keeps the latest event of, and what picks a
    /// topic's partition. An empty key is no key (it reads back as `None`).
    pub key: Option<Vec<u8>>,
    /// The payload.
    pub payload: Vec<u8>,
    /// Binary (name, value) headers, read back in this order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The producer's timestamp in ms since the Unix epoch; 0: the append time.
    pub timestamp_ms: i64,
}

impl Event {
    /// An event with this payload, no key, no headers, stamped with the
    /// append time.
    pub fn new(payload: impl AsRef<[u8]>) -> Event {
        Event { payload: payload.as_ref().to_vec(), ..Default::default() }
    }

    /// This, with the key set.
    pub fn with_key(mut self, key: impl AsRef<[u8]>) -> Event {
        self.key = Some(key.as_ref().to_vec());
        self
    }

    /// This, with one more header.
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Event {
        self.headers.push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// This, with the producer's timestamp (ms since the Unix epoch).
    pub fn with_timestamp_ms(mut self, timestamp_ms: i64) -> Event {
        self.timestamp_ms = timestamp_ms;
        self
    }
}

/// An event read back from a room: an owned copy of synap.h's `synap_event`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRead {
    /// Its offset in the room.
    pub offset: u64,
    /// The producer's timestamp, or the append time (ms since the Unix epoch).
    pub timestamp_ms: i64,
    /// The key; `None` for no key (or an empty one).
    pub key: Option<Vec<u8>>,
    /// The payload.
    pub payload: Vec<u8>,
    /// The headers, in the order they were appended.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RecordRead {
    /// The value of the first header named `name`.
    pub fn header(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        self.headers.iter().find(|(k, _)| k.as_slice() == name).map(|(_, v)| v.as_slice())
    }
}

/// The result of [`Db::stream_read_batch`]: the records, and where to go on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReadBatch {
    /// The records, in offset order (offsets may skip: compaction).
    pub records: Vec<RecordRead>,
    /// Where the next read should start.
    pub next_offset: u64,
    /// One past the last readable event at the time of the read.
    pub high_watermark: u64,
}

/// A room's offsets ([`Db::stream_bounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bounds {
    /// The first offset still kept (retention moves it).
    pub earliest: u64,
    /// The high watermark: the offset the next append gets.
    pub next: u64,
}

/// What [`Db::stream_trim`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Trimmed {
    /// How many events went: how far the earliest offset moved (offsets a
    /// compaction had already emptied count too).
    pub removed: u64,
    /// The room's first kept offset afterwards.
    pub earliest: u64,
}

/// The `synap_event_in` array of some events, with the headers it points
/// into. Borrows the events, so they outlive the call.
pub(crate) struct RawEvents<'a> {
    pub(crate) events: Vec<sys::synap_event_in>,
    // Pointed into by `events`; moving the Vec does not move its buffer.
    _headers: Vec<sys::synap_header>,
    _borrow: PhantomData<&'a [Event]>,
}

impl<'a> RawEvents<'a> {
    pub(crate) fn new(events: &'a [Event]) -> RawEvents<'a> {
        let headers: Vec<sys::synap_header> = events
            .iter()
            .flat_map(|e| e.headers.iter())
            .map(|(k, v)| sys::synap_header { key: ptr_of(k), key_len: k.len(), value: ptr_of(v), value_len: v.len() })
            .collect();
        let mut start = 0usize;
        let raw = events
            .iter()
            .map(|e| {
                let n = e.headers.len();
                let hp = if n == 0 { ptr::null() } else { headers[start..start + n].as_ptr() };
                start += n;
                let (kp, kl) = match &e.key {
                    Some(k) => (ptr_of(k), k.len()),
                    None => (ptr::null(), 0),
                };
                sys::synap_event_in {
                    key: kp,
                    key_len: kl,
                    payload: ptr_of(&e.payload),
                    payload_len: e.payload.len(),
                    headers: hp,
                    header_count: n,
                    timestamp_ms: e.timestamp_ms,
                }
            })
            .collect();
        RawEvents { events: raw, _headers: headers, _borrow: PhantomData }
    }
}

/// # Safety
/// `p` is NULL (then `len` is ignored) or points at `len` readable bytes.
unsafe fn bytes(p: *const c_void, len: usize) -> Vec<u8> {
    if p.is_null() || len == 0 {
        Vec::new()
    } else {
        slice::from_raw_parts(p as *const u8, len).to_vec()
    }
}

/// Copies the records of a synap_stream_read() block and frees it (once,
/// even if copying panics).
///
/// # Safety
/// `out` is NULL or such a block, not used afterwards.
unsafe fn take_events(out: *mut sys::synap_events) -> Result<ReadBatch> {
    let guard = CBuf(out as *mut c_void);
    if guard.0.is_null() {
        return Err(Error::new(ErrorCode::Internal, "synap_stream_read returned no block"));
    }
    let b = &*(guard.0 as *const sys::synap_events);
    let events: &[sys::synap_event] =
        if b.events.is_null() || b.count == 0 { &[] } else { slice::from_raw_parts(b.events, b.count) };
    let records = events
        .iter()
        .map(|e| RecordRead {
            offset: e.offset,
            timestamp_ms: e.timestamp_ms,
            key: if e.key_len == 0 { None } else { Some(bytes(e.key, e.key_len)) },
            payload: bytes(e.payload, e.payload_len),
            headers: if e.headers.is_null() || e.header_count == 0 {
                Vec::new()
            } else {
                slice::from_raw_parts(e.headers, e.header_count)
                    .iter()
                    .map(|h| (bytes(h.key, h.key_len), bytes(h.value, h.value_len)))
                    .collect()
            },
        })
        .collect();
    Ok(ReadBatch { records, next_offset: b.next_offset, high_watermark: b.high_watermark })
}

pub(crate) fn room_name(room: &str) -> Result<CString> {
    cstring(room, "room name")
}

/// OK, or the error; `NotFound` (libsynap gives no message for it) says
/// what `missing` names.
pub(crate) fn found(what: &str, rc: c_int, missing: impl FnOnce() -> String) -> Result<()> {
    match answer(what, rc, &[sys::SYNAP_NOTFOUND])? {
        sys::SYNAP_OK => Ok(()),
        _ => Err(Error::new(ErrorCode::NotFound, missing())),
    }
}

pub(crate) fn no_room(room: &str) -> impl FnOnce() -> String + '_ {
    move || format!("no room named '{}'", room)
}

pub(crate) fn no_topic(topic: &str) -> impl FnOnce() -> String + '_ {
    move || format!("no topic named '{}'", topic)
}

pub(crate) fn json_string(json: *mut c_char, len: usize) -> String {
    let bytes = unsafe { take_buf(json as *mut c_void, len) };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The stream methods. Room names are 1..200 bytes of letters, digits and
/// `. _ - :`, not starting with '.' or "__", without ".."; any other name
/// is `InvalidArgument` (and never touches the file system). A room that
/// does not exist is `ErrorCode::NotFound`, except for
/// [`Db::stream_delete`] (false) and the appends, which create it unless
/// `stream.auto_create` is off. Limits (`stream.max_*` options) are
/// `TooLarge`. Appends return once acknowledged under the room's fsync
/// setting; an event is readable then, never before.
impl Db {
    /// Creates a room. `AlreadyExists` if it exists, `InvalidArgument` for
    /// a bad name or settings, `TooLarge` past `stream.max_rooms`.
    pub fn stream_create(&self, room: &str, settings: &RoomSettings) -> Result<()> {
        let r = room_name(room)?;
        let s = settings.to_cstring()?;
        let sp = s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        check("synap_stream_create", unsafe { sys::synap_stream_create(self.as_raw(), r.as_ptr(), sp) })
    }

    /// Deletes a room and every event in it; false if there was no such room.
    pub fn stream_delete(&self, room: &str) -> Result<bool> {
        let r = room_name(room)?;
        let rc = unsafe { sys::synap_stream_delete(self.as_raw(), r.as_ptr()) };
        Ok(answer("synap_stream_delete", rc, &[sys::SYNAP_NOTFOUND])? == sys::SYNAP_OK)
    }

    /// The names of every room (partitions of topics included), in name order.
    pub fn streams(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut f = |name: &[u8]| names.push(String::from_utf8_lossy(name).into_owned());
        let mut sink = KeySink { f: &mut f, panic: None };
        let rc = unsafe {
            sys::synap_stream_list(self.as_raw(), Some(key_trampoline), &mut sink as *mut KeySink<'_> as *mut c_void)
        };
        let r = check("synap_stream_list", rc);
        if let Some(payload) = sink.panic.take() {
            std::panic::resume_unwind(payload);
        }
        r.map(|_| names)
    }

    /// The room's first kept offset and high watermark.
    pub fn stream_bounds(&self, room: &str) -> Result<Bounds> {
        let r = room_name(room)?;
        let mut b = Bounds::default();
        let rc = unsafe { sys::synap_stream_bounds(self.as_raw(), r.as_ptr(), &mut b.earliest, &mut b.next) };
        found("synap_stream_bounds", rc, no_room(room))?;
        Ok(b)
    }

    /// The room's offsets, segments, bytes, settings and last recovery, as
    /// a JSON object.
    pub fn stream_info(&self, room: &str) -> Result<String> {
        let r = room_name(room)?;
        let mut json: *mut c_char = ptr::null_mut();
        let mut len = 0usize;
        let rc = unsafe { sys::synap_stream_info_json(self.as_raw(), r.as_ptr(), &mut json, &mut len) };
        let result = found("synap_stream_info_json", rc, no_room(room));
        let text = json_string(json, len);
        result.map(|_| text)
    }

    /// Appends one event; its offset.
    pub fn stream_append(&self, room: &str, event: &Event) -> Result<u64> {
        self.stream_append_batch(room, slice::from_ref(event))
    }

    /// Appends the events as one batch, all or none, at consecutive
    /// offsets; the first one's offset. An empty slice is refused
    /// (`InvalidArgument`); a batch over `stream.max_append_bytes`, or an
    /// event over `stream.max_event_bytes`, is `TooLarge`.
    pub fn stream_append_batch(&self, room: &str, events: &[Event]) -> Result<u64> {
        let r = room_name(room)?;
        let raw = RawEvents::new(events);
        let mut first = 0u64;
        let rc = unsafe {
            sys::synap_stream_append(self.as_raw(), r.as_ptr(), raw.events.as_ptr(), raw.events.len(), &mut first)
        };
        found("synap_stream_append", rc, || format!("no room named '{}' (and stream.auto_create is off)", room))?;
        Ok(first)
    }

    /// Reads records from offset `from` on: at most `max_records` (0: 1000)
    /// and about `max_bytes` (0: 1 MiB) of event bytes, at least one record
    /// when any is there. When `from` is the high watermark and `wait_ms` >
    /// 0, waits up to `wait_ms` for an append (woken by it). `Range` when
    /// `from` is below the earliest kept offset or beyond the high
    /// watermark. See [`Db::stream_read_batch`] for where to go on.
    pub fn stream_read(
        &self,
        room: &str,
        from: u64,
        max_records: u32,
        max_bytes: u64,
        wait_ms: u32,
    ) -> Result<Vec<RecordRead>> {
        self.stream_read_batch(room, from, max_records, max_bytes, wait_ms).map(|b| b.records)
    }

    /// [`Db::stream_read`], with the offset the next read should start at
    /// (past the records, and past any offsets compaction removed) and the
    /// high watermark.
    pub fn stream_read_batch(
        &self,
        room: &str,
        from: u64,
        max_records: u32,
        max_bytes: u64,
        wait_ms: u32,
    ) -> Result<ReadBatch> {
        let r = room_name(room)?;
        let mut out: *mut sys::synap_events = ptr::null_mut();
        let rc = unsafe {
            sys::synap_stream_read(self.as_raw(), r.as_ptr(), from, max_records, max_bytes, wait_ms, &mut out)
        };
        let result = found("synap_stream_read", rc, no_room(room));
        if let Err(e) = result {
            drop(CBuf(out as *mut c_void));
            return Err(e);
        }
        unsafe { take_events(out) }
    }

    /// The records of a room from offset `from` on, read in batches; the
    /// iterator ends at the high watermark (see [`StreamIter`]).
    pub fn stream_iter(&self, room: &str, from: u64) -> StreamIter<'_> {
        StreamIter {
            db: self,
            room: room.to_string(),
            next: from,
            max_records: 0,
            max_bytes: 0,
            wait_ms: 0,
            buf: VecDeque::new(),
            failed: false,
        }
    }

    /// The first offset whose event timestamp is >= `ts_ms` (timestamps are
    /// taken as a running maximum, as Kafka's time index does), or the high
    /// watermark when there is none.
    pub fn stream_offset_for_time(&self, room: &str, ts_ms: i64) -> Result<u64> {
        let r = room_name(room)?;
        let mut offset = 0u64;
        let rc = unsafe { sys::synap_stream_offset_for_time(self.as_raw(), r.as_ptr(), ts_ms, &mut offset) };
        found("synap_stream_offset_for_time", rc, no_room(room))?;
        Ok(offset)
    }

    /// Compacts the room now, whatever its cleanup setting: in sealed
    /// segments, only the latest event of each key stays (keyless events
    /// stay); offsets do not change. How many events went.
    pub fn stream_compact(&self, room: &str) -> Result<u64> {
        let r = room_name(room)?;
        let mut dropped = 0u64;
        let rc = unsafe { sys::synap_stream_compact(self.as_raw(), r.as_ptr(), &mut dropped) };
        found("synap_stream_compact", rc, no_room(room))?;
        Ok(dropped)
    }

    /// Deletes the room's oldest events, those below offset `before`
    /// (Kafka's DeleteRecords, Redis's `XTRIM ~`), whatever its cleanup
    /// setting. Approximate: a segment file is the unit of deletion, so only
    /// segments all of whose events are below `before` go, the newest
    /// segment always stays, and a `before` past the end means "up to the
    /// end" (not an error). Offsets do not change; a read below the new
    /// earliest offset is `Range`. Durable when it returns. `NotFound` for a
    /// missing room, `InvalidArgument` for a bad name (the store's own
    /// `__meta` room included).
    pub fn stream_trim(&self, room: &str, before: u64) -> Result<Trimmed> {
        let r = room_name(room)?;
        let mut t = Trimmed::default();
        let rc = unsafe { sys::synap_stream_trim(self.as_raw(), r.as_ptr(), before, &mut t.removed, &mut t.earliest) };
        found("synap_stream_trim", rc, no_room(room))?;
        Ok(t)
    }
}

/// The records of a room from an offset on ([`Db::stream_iter`]), read in
/// batches. Yields `Ok(record)` in offset order; ends (`None`) at the high
/// watermark, or, with [`StreamIter::wait_ms`], once a wait there brings
/// nothing. Calling `next` again after the end reads on from there (events
/// appended since come). An error (e.g. `Range` when retention removed the
/// offset, `NotFound` for a missing room) is yielded once, and then the
/// iterator ends for good.
pub struct StreamIter<'a> {
    db: &'a Db,
    room: String,
    next: u64,
    max_records: u32,
    max_bytes: u64,
    wait_ms: u32,
    buf: VecDeque<RecordRead>,
    failed: bool,
}

impl<'a> StreamIter<'a> {
    /// Reads batches of at most `max_records` (0: 1000) and about
    /// `max_bytes` (0: 1 MiB) of event bytes.
    pub fn batch(mut self, max_records: u32, max_bytes: u64) -> StreamIter<'a> {
        self.max_records = max_records;
        self.max_bytes = max_bytes;
        self
    }

    /// At the high watermark, waits up to `wait_ms` for an append before
    /// ending (0, the default: ends at once).
    pub fn wait_ms(mut self, wait_ms: u32) -> StreamIter<'a> {
        self.wait_ms = wait_ms;
        self
    }

    /// The offset of the next record this yields (or of the next read): what
    /// a consumer group commits after handling everything before it.
    pub fn position(&self) -> u64 {
        self.buf.front().map_or(self.next, |r| r.offset)
    }

    /// The room read.
    pub fn room(&self) -> &str {
        &self.room
    }
}

impl Iterator for StreamIter<'_> {
    type Item = Result<RecordRead>;

    fn next(&mut self) -> Option<Result<RecordRead>> {
        loop {
            if let Some(r) = self.buf.pop_front() {
                return Some(Ok(r));
            }
            if self.failed {
                return None;
            }
            let b = match self.db.stream_read_batch(
                &self.room,
                self.next,
                self.max_records,
                self.max_bytes,
                self.wait_ms,
            ) {
                Ok(b) => b,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            let progressed = b.next_offset > self.next;
            let empty = b.records.is_empty();
            self.next = self.next.max(b.next_offset);
            self.buf.extend(b.records);
            // Empty: at the high watermark, or no progress possible now.
            if empty && (!progressed || self.next >= b.high_watermark) {
                return None;
            }
        }
    }
}

impl fmt::Debug for StreamIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamIter").field("room", &self.room).field("position", &self.position()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_render_as_name_value_pairs() {
        assert_eq!(RoomSettings::default().to_string(), "");
        assert!(RoomSettings::default().to_cstring().unwrap().is_none());
        let s = RoomSettings {
            segment_bytes: Some(131072),
            retention_bytes: Some(0),
            retention_ms: Some(60000),
            codec: Some(Codec::Zstd),
            fsync: Some(Fsync::Never),
            cleanup: Some(Cleanup::CompactDelete),
        };
        assert_eq!(
            s.to_string(),
            "segment_bytes=131072;retention_bytes=0;retention_ms=60000;codec=zstd;fsync=never;cleanup=compact,delete"
        );
        let s = RoomSettings { codec: Some(Codec::Lz4), cleanup: Some(Cleanup::Compact), ..Default::default() };
        assert_eq!(s.to_string(), "codec=lz4;cleanup=compact");
        assert_eq!(Codec::None.name(), "none");
        assert_eq!(Cleanup::Delete.name(), "delete");
    }

    #[test]
    fn event_builders() {
        let e = Event::new("p").with_key(b"k").header("h", "v").with_timestamp_ms(7);
        assert_eq!(e.payload, b"p".to_vec());
        assert_eq!(e.key, Some(b"k".to_vec()));
        assert_eq!(e.headers, vec![(b"h".to_vec(), b"v".to_vec())]);
        assert_eq!(e.timestamp_ms, 7);
        assert_eq!(Event::new("x").timestamp_ms, 0);
        assert_eq!(Db::topic_partition_room("t", 3), "t-3");
    }

    #[test]
    fn raw_events_point_into_the_events() {
        let events = vec![
            Event::new("a").with_key("k1").header("h1", "v1").header("h2", ""),
            Event::new(""),
            Event::new("c").header("h3", "v3").with_timestamp_ms(-5),
        ];
        let raw = RawEvents::new(&events);
        assert_eq!(raw.events.len(), 3);
        unsafe {
            let e0 = &raw.events[0];
            assert_eq!(bytes(e0.key, e0.key_len), b"k1".to_vec());
            assert_eq!(bytes(e0.payload, e0.payload_len), b"a".to_vec());
            assert_eq!(e0.header_count, 2);
            let hs = slice::from_raw_parts(e0.headers, 2);
            assert_eq!(bytes(hs[1].key, hs[1].key_len), b"h2".to_vec());
            assert_eq!(hs[1].value_len, 0);
            let e1 = &raw.events[1];
            assert!(e1.key.is_null() && e1.key_len == 0 && e1.headers.is_null() && e1.header_count == 0);
            let e2 = &raw.events[2];
            assert_eq!(e2.timestamp_ms, -5);
            let h = &*e2.headers;
            assert_eq!(bytes(h.value, h.value_len), b"v3".to_vec());
        }
        assert!(RawEvents::new(&[]).events.is_empty());
    }

    #[test]
    fn take_events_copies_a_packed_block() {
        unsafe {
            let (ev, hd) = (std::mem::size_of::<sys::synap_event>(), std::mem::size_of::<sys::synap_header>());
            let head = std::mem::size_of::<sys::synap_events>();
            let total = head + 2 * ev + hd + 32;
            let block = libc_malloc(total) as *mut u8;
            assert!(!block.is_null());
            let evs = block.add(head) as *mut sys::synap_event;
            let hdr = block.add(head + 2 * ev) as *mut sys::synap_header;
            let data = block.add(head + 2 * ev + hd);
            let text = b"keypayloadHVsecond";
            ptr::copy_nonoverlapping(text.as_ptr(), data, text.len());
            *hdr = sys::synap_header {
                key: data.add(10) as *const c_void,
                key_len: 1,
                value: data.add(11) as *const c_void,
                value_len: 1,
            };
            *evs = sys::synap_event {
                offset: 4,
                timestamp_ms: 1000,
                key: data as *const c_void,
                key_len: 3,
                payload: data.add(3) as *const c_void,
                payload_len: 7,
                headers: hdr,
                header_count: 1,
            };
            *evs.add(1) = sys::synap_event {
                offset: 6,
                timestamp_ms: 1001,
                key: data as *const c_void,
                key_len: 0,
                payload: data.add(12) as *const c_void,
                payload_len: 6,
                headers: hdr.add(1),
                header_count: 0,
            };
            *(block as *mut sys::synap_events) =
                sys::synap_events { events: evs, count: 2, next_offset: 7, high_watermark: 9 };
            let b = take_events(block as *mut sys::synap_events).unwrap();
            assert_eq!((b.next_offset, b.high_watermark), (7, 9));
            assert_eq!(
                b.records,
                vec![
                    RecordRead {
                        offset: 4,
                        timestamp_ms: 1000,
                        key: Some(b"key".to_vec()),
                        payload: b"payload".to_vec(),
                        headers: vec![(b"H".to_vec(), b"V".to_vec())],
                    },
                    RecordRead {
                        offset: 6,
                        timestamp_ms: 1001,
                        key: None,
                        payload: b"second".to_vec(),
                        headers: vec![],
                    },
                ]
            );
            assert_eq!(b.records[0].header("H"), Some(&b"V"[..]));
            assert_eq!(take_events(ptr::null_mut()).unwrap_err().code, ErrorCode::Internal);
        }
    }

    extern "C" {
        #[link_name = "malloc"]
        fn libc_malloc(n: usize) -> *mut c_void;
    }
}
