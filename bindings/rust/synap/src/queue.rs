//! Durable work queues (synap.h "Queues", docs/queues.md): the queue methods
//! of [`Db`] and their values.
//!
//! ```no_run
//! use synap::{Db, Options, Publish, QueueSettings};
//!
//! let db = Db::open("/tmp/synap-queue-example", &Options::new())?;
//! db.queue_declare("jobs", &QueueSettings { max_retries: Some(3), ..Default::default() })?;
//! db.publish("jobs", "low", Publish::default())?;
//! let urgent = db.publish("jobs", "urgent", Publish::default().with_priority(9).header("trace", "42"))?;
//! let msgs = db.consume("jobs", "worker-1", 10, 1000, 0)?;  // up to 10, wait up to 1 s
//! assert_eq!(msgs[0].id, urgent);                          // 9 first, then FIFO
//! assert_eq!(msgs[0].header("trace"), Some(&b"42"[..]));
//! let ids: Vec<u64> = msgs.iter().map(|m| m.id).collect();
//! db.ack("jobs", &ids)?;
//! # Ok::<(), synap::Error>(())
//! ```

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::slice;

use synap_sys as sys;

use crate::db::{answer, key_trampoline, Db, KeySink};
use crate::error::{check, Error, ErrorCode, Result};
use crate::ffi_util::{ptr_of, take_buf, CBuf, SliceArray};
use crate::options::cstring;

/// The settings of a queue, for [`Db::queue_declare`]. `None` leaves a
/// setting at libsynap's default (given below). Declaring an existing
/// queue checks that it has the same settings (else `InvalidArgument`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueSettings {
    /// Most messages the queue holds; a publish past it is `Busy` ("queue
    /// full"). Default: 1000000.
    pub max_depth: Option<u64>,
    /// How long a delivered message may stay unacked before it is delivered
    /// again. Default: 30000.
    pub ack_deadline_ms: Option<u32>,
    /// Deliveries beyond this many retries dead-letter the message. Default: 5.
    pub max_retries: Option<u32>,
    /// Most dead letters kept. Default: 1000000.
    pub dead_letter_max: Option<u64>,
    /// The priority (0..9) of a publish that names none. Default: 0.
    pub default_priority: Option<u8>,
    /// A message not delivered within this long expires (dead-lettered as
    /// "expired"); 0 = never. Default: 0.
    pub message_ttl_ms: Option<u64>,
}

impl fmt::Display for QueueSettings {
    /// The `settings` string of synap_queue_declare(): "name=value" pairs
    /// separated by commas (empty when every setting is the default).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: [(&str, Option<u64>); 6] = [
            ("max_depth", self.max_depth),
            ("ack_deadline_ms", self.ack_deadline_ms.map(u64::from)),
            ("max_retries", self.max_retries.map(u64::from)),
            ("dead_letter_max", self.dead_letter_max),
            ("default_priority", self.default_priority.map(u64::from)),
            ("message_ttl_ms", self.message_ttl_ms),
        ];
        let mut first = true;
        for (name, value) in pairs.iter() {
            if let Some(v) = value {
                if !first {
                    f.write_str(",")?;
                }
                write!(f, "{}={}", name, v)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// How to publish a message, for [`Db::publish`]. `Default`: the queue's
/// default priority, no delay, no headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Publish {
    /// 0..9 (9 is delivered first); None for the queue's default priority.
    /// Above 9 is refused (`InvalidArgument`).
    pub priority: Option<u8>,
    /// Deliver only after this many milliseconds (0: at once).
    pub delay_ms: u64,
    /// This message's own retry limit; None for the queue's `max_retries`.
    pub max_retries: Option<u32>,
    /// Binary (key, value) headers, delivered with the message in this order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Publish {
    /// This, with the priority set.
    pub fn with_priority(mut self, priority: u8) -> Publish {
        self.priority = Some(priority);
        self
    }

    /// This, with the delay set.
    pub fn with_delay_ms(mut self, delay_ms: u64) -> Publish {
        self.delay_ms = delay_ms;
        self
    }

    /// This, with one more header.
    pub fn header(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Publish {
        self.headers.push((key.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }
}

/// A delivered (or dead-lettered) message: an owned copy of synap.h's
/// `synap_message`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// Unique in the database, kept across restarts; what [`Db::ack`] and
    /// [`Db::nack`] take.
    pub id: u64,
    /// The payload, as published.
    pub payload: Vec<u8>,
    /// 0..9.
    pub priority: u8,
    /// 1 on the first delivery.
    pub delivery_count: u32,
    /// Delivered before (its ack deadline passed, it was nacked with
    /// requeue, or the database restarted while it was in flight).
    pub redelivered: bool,
    /// The headers it was published with, in order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Dead letters: why ("rejected", "max_retries", "expired"); else "".
    pub reason: String,
}

impl Message {
    /// The value of the first header named `key`.
    pub fn header(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        let key = key.as_ref();
        self.headers.iter().find(|(k, _)| k.as_slice() == key).map(|(_, v)| v.as_slice())
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

/// Copies the `n` messages of a block from synap_queue_consume() or
/// synap_queue_dead_letters() and frees the block (once, even if copying
/// panics).
///
/// # Safety
/// `msgs` is NULL or such a block of `n` messages, not used afterwards.
unsafe fn take_messages(msgs: *mut sys::synap_message, n: usize) -> Vec<Message> {
    let guard = CBuf(msgs as *mut c_void);
    if guard.0.is_null() || n == 0 {
        return Vec::new();
    }
    let raw = slice::from_raw_parts(guard.0 as *const sys::synap_message, n);
    raw.iter()
        .map(|m| {
            let headers = if m.headers.is_null() || m.header_count == 0 {
                Vec::new()
            } else {
                slice::from_raw_parts(m.headers, m.header_count)
                    .iter()
                    .map(|h| (bytes(h.key, h.key_len), bytes(h.value, h.value_len)))
                    .collect()
            };
            Message {
                id: m.id,
                payload: bytes(m.payload, m.payload_len),
                priority: u8::try_from(m.priority).unwrap_or(u8::MAX),
                delivery_count: m.delivery_count,
                redelivered: m.redelivered != 0,
                headers,
                reason: if m.reason.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(m.reason).to_string_lossy().into_owned()
                },
            }
        })
        .collect()
}

fn queue_name(queue: &str) -> Result<CString> {
    cstring(queue, "queue name")
}

/// OK; `NotFound` (libsynap gives no message for it, so `not_found` says
/// what was missing); or the error.
fn queue_check(what: &str, rc: c_int, not_found: impl FnOnce() -> String) -> Result<()> {
    match answer(what, rc, &[sys::SYNAP_NOTFOUND])? {
        sys::SYNAP_OK => Ok(()),
        _ => Err(Error::new(ErrorCode::NotFound, not_found())),
    }
}

fn no_queue(queue: &str) -> impl FnOnce() -> String + '_ {
    move || format!("no queue named '{}'", queue)
}

/// The queue methods. Queue and consumer names are strings of 1..256 bytes
/// without NUL (else `InvalidArgument`). A queue that does not exist is
/// `ErrorCode::NotFound` (except for [`Db::queue_delete`], which answers
/// false, and [`Db::publish`], which creates it unless `queue.auto_create`
/// is off). Publish, ack, nack and the dead-letter calls return once their
/// record is acknowledged under the fsync mode, like the KV writes.
impl Db {
    /// Creates the queue, or checks that the existing one has these
    /// settings (`InvalidArgument` if not).
    pub fn queue_declare(&self, queue: &str, settings: &QueueSettings) -> Result<()> {
        let q = queue_name(queue)?;
        let text = settings.to_string();
        let s = if text.is_empty() { None } else { Some(cstring(text, "queue settings")?) };
        let sp = s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        check("synap_queue_declare", unsafe { sys::synap_queue_declare(self.as_raw(), q.as_ptr(), sp) })
    }

    /// Deletes the queue and its messages; false if there was no such queue.
    pub fn queue_delete(&self, queue: &str) -> Result<bool> {
        let q = queue_name(queue)?;
        let rc = unsafe { sys::synap_queue_delete(self.as_raw(), q.as_ptr()) };
        Ok(answer("synap_queue_delete", rc, &[sys::SYNAP_NOTFOUND])? == sys::SYNAP_OK)
    }

    /// Removes the ready and delayed messages (not those in flight); how many.
    pub fn queue_purge(&self, queue: &str) -> Result<u64> {
        let q = queue_name(queue)?;
        let mut purged = 0u64;
        let rc = unsafe { sys::synap_queue_purge(self.as_raw(), q.as_ptr(), &mut purged) };
        queue_check("synap_queue_purge", rc, no_queue(queue))?;
        Ok(purged)
    }

    /// The names of every queue.
    pub fn queues(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut f = |name: &[u8]| names.push(String::from_utf8_lossy(name).into_owned());
        let mut sink = KeySink { f: &mut f, panic: None };
        let rc = unsafe {
            sys::synap_queue_list(self.as_raw(), Some(key_trampoline), &mut sink as *mut KeySink<'_> as *mut c_void)
        };
        let r = check("synap_queue_list", rc);
        if let Some(payload) = sink.panic.take() {
            std::panic::resume_unwind(payload);
        }
        r.map(|_| names)
    }

    /// The queue's counters (ready, in_flight, delayed, dead_lettered,
    /// published, delivered, acked, nacked, redelivered, expired, consumers)
    /// and its settings, as a JSON object.
    pub fn queue_stats(&self, queue: &str) -> Result<String> {
        let q = queue_name(queue)?;
        let mut json: *mut c_char = ptr::null_mut();
        let mut len = 0usize;
        let rc = unsafe { sys::synap_queue_stats_json(self.as_raw(), q.as_ptr(), &mut json, &mut len) };
        let r = queue_check("synap_queue_stats_json", rc, no_queue(queue));
        let bytes = unsafe { take_buf(json as *mut c_void, len) };
        r.map(|_| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Publishes one message; its id. `Busy` when the queue is full,
    /// `TooLarge` over `queue.max_payload_bytes`, `NotFound` for an unknown
    /// queue under `queue.auto_create=false`.
    pub fn publish(&self, queue: &str, payload: impl AsRef<[u8]>, opts: Publish) -> Result<u64> {
        let q = queue_name(queue)?;
        let p = payload.as_ref();
        let priority: c_int = opts.priority.map_or(-1, c_int::from);
        let headers: Vec<sys::synap_header> = opts
            .headers
            .iter()
            .map(|(k, v)| sys::synap_header { key: ptr_of(k), key_len: k.len(), value: ptr_of(v), value_len: v.len() })
            .collect();
        let hp = if headers.is_empty() { ptr::null() } else { headers.as_ptr() };
        let mut id = 0u64;
        let rc = unsafe {
            sys::synap_queue_publish(
                self.as_raw(),
                q.as_ptr(),
                ptr_of(p),
                p.len(),
                priority,
                opts.delay_ms,
                opts.max_retries.map_or(-1, i64::from),
                hp,
                headers.len(),
                &mut id,
            )
        };
        queue_check("synap_queue_publish", rc, no_queue(queue))?;
        Ok(id)
    }

    /// Publishes the payloads as one log record (all or none survive a
    /// crash), at the queue's default priority, without delay or headers;
    /// their ids, in order. An empty list publishes nothing (and does not
    /// call libsynap).
    pub fn publish_batch<P: AsRef<[u8]>>(&self, queue: &str, payloads: &[P]) -> Result<Vec<u64>> {
        let q = queue_name(queue)?;
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        let pa = SliceArray::new(payloads.iter().map(|p| p.as_ref()));
        let mut ids = vec![0u64; pa.len()];
        let rc = unsafe {
            sys::synap_queue_publish_batch(self.as_raw(), q.as_ptr(), pa.len(), pa.ptrs(), pa.lens(), ids.as_mut_ptr())
        };
        queue_check("synap_queue_publish_batch", rc, no_queue(queue))?;
        Ok(ids)
    }

    /// Hands up to `max` (1..10000) ready messages to `consumer`, highest
    /// priority first and FIFO within one, waiting up to `wait_ms` for one
    /// if none is ready (0: return at once; the call blocks this thread,
    /// other threads may use the `Db` meanwhile). `prefetch` (0: none) caps
    /// the consumer's unacked deliveries in this queue. Each message's ack
    /// deadline starts now. Empty when nothing came.
    pub fn consume(&self, queue: &str, consumer: &str, max: u32, wait_ms: u32, prefetch: u32) -> Result<Vec<Message>> {
        let q = queue_name(queue)?;
        let c = cstring(consumer, "consumer name")?;
        let mut msgs: *mut sys::synap_message = ptr::null_mut();
        let mut n = 0usize;
        let rc = unsafe {
            sys::synap_queue_consume(self.as_raw(), q.as_ptr(), c.as_ptr(), max, wait_ms, prefetch, &mut msgs, &mut n)
        };
        let r = queue_check("synap_queue_consume", rc, no_queue(queue));
        let out = unsafe { take_messages(msgs, n) };
        r.map(|_| out)
    }

    /// Acks in-flight messages for good (they never come back). All or
    /// none: `NotFound` (nothing acked) if any id is not in flight in this
    /// queue (unknown, or acked already) or there is no such queue. An
    /// empty list acks nothing (and does not call libsynap).
    pub fn ack(&self, queue: &str, ids: &[u64]) -> Result<()> {
        let q = queue_name(queue)?;
        if ids.is_empty() {
            return Ok(());
        }
        let rc = unsafe { sys::synap_queue_ack(self.as_raw(), q.as_ptr(), ids.as_ptr(), ids.len()) };
        queue_check("synap_queue_ack", rc, || {
            format!(
                "queue '{}': not every message of {:?} is in flight (unknown, or acked already), or no such queue; \
                 nothing was acked",
                queue, ids
            )
        })
    }

    /// Nacks an in-flight message: with `requeue`, back to the head of its
    /// priority (or dead-lettered as "max_retries" once its retries are
    /// spent); without, dead-lettered as "rejected" (`Busy` if the
    /// dead-letter list is full: it stays in flight). `NotFound` if it is not
    /// in flight in this queue.
    pub fn nack(&self, queue: &str, id: u64, requeue: bool) -> Result<()> {
        let q = queue_name(queue)?;
        let rc = unsafe { sys::synap_queue_nack(self.as_raw(), q.as_ptr(), id, c_int::from(requeue)) };
        queue_check("synap_queue_nack", rc, || {
            format!("message {} is not in flight in queue '{}' (or no such queue)", id, queue)
        })
    }

    /// The dead letters, oldest first, from `offset`, at most `limit`; each
    /// with its `reason`.
    pub fn dead_letters(&self, queue: &str, offset: u64, limit: u32) -> Result<Vec<Message>> {
        let q = queue_name(queue)?;
        let mut msgs: *mut sys::synap_message = ptr::null_mut();
        let mut n = 0usize;
        let rc = unsafe { sys::synap_queue_dead_letters(self.as_raw(), q.as_ptr(), offset, limit, &mut msgs, &mut n) };
        let r = queue_check("synap_queue_dead_letters", rc, no_queue(queue));
        let out = unsafe { take_messages(msgs, n) };
        r.map(|_| out)
    }

    /// Moves dead letter `id` (None: every one) back to ready, with its
    /// delivery count reset; how many moved. `NotFound` if `id` is not a
    /// dead letter of this queue (no message has id 0).
    pub fn requeue_dead(&self, queue: &str, id: Option<u64>) -> Result<u64> {
        let q = queue_name(queue)?;
        let raw_id = match id {
            // 0 means "all" to libsynap; no message has id 0.
            Some(0) => {
                return Err(Error::new(
                    ErrorCode::NotFound,
                    format!("message 0 is not a dead letter of queue '{}'", queue),
                ))
            }
            Some(i) => i,
            None => 0,
        };
        let mut moved = 0u64;
        let rc = unsafe { sys::synap_queue_requeue_dead(self.as_raw(), q.as_ptr(), raw_id, &mut moved) };
        queue_check("synap_queue_requeue_dead", rc, || match id {
            Some(i) => format!("message {} is not a dead letter of queue '{}' (or no such queue)", i, queue),
            None => format!("no queue named '{}'", queue),
        })?;
        Ok(moved)
    }

    /// Deletes every dead letter of the queue; how many.
    pub fn purge_dead(&self, queue: &str) -> Result<u64> {
        let q = queue_name(queue)?;
        let mut purged = 0u64;
        let rc = unsafe { sys::synap_queue_purge_dead(self.as_raw(), q.as_ptr(), &mut purged) };
        queue_check("synap_queue_purge_dead", rc, no_queue(queue))?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_render_as_name_value_pairs() {
        assert_eq!(QueueSettings::default().to_string(), "");
        let s = QueueSettings { max_depth: Some(100), ack_deadline_ms: Some(5000), ..Default::default() };
        assert_eq!(s.to_string(), "max_depth=100,ack_deadline_ms=5000");
        let s = QueueSettings {
            max_depth: Some(1),
            ack_deadline_ms: Some(2),
            max_retries: Some(3),
            dead_letter_max: Some(4),
            default_priority: Some(5),
            message_ttl_ms: Some(6),
        };
        assert_eq!(
            s.to_string(),
            "max_depth=1,ack_deadline_ms=2,max_retries=3,dead_letter_max=4,default_priority=5,message_ttl_ms=6"
        );
        assert_eq!(QueueSettings { message_ttl_ms: Some(0), ..Default::default() }.to_string(), "message_ttl_ms=0");
    }

    #[test]
    fn publish_builders() {
        let p = Publish::default().with_priority(7).with_delay_ms(10).header("k", b"\x00v");
        assert_eq!(p.priority, Some(7));
        assert_eq!(p.delay_ms, 10);
        assert_eq!(p.headers, vec![(b"k".to_vec(), b"\x00v".to_vec())]);
    }

    #[test]
    fn take_messages_copies_a_packed_block() {
        // A block laid out as libsynap packs one: array, headers, bytes.
        unsafe {
            let total = 2 * std::mem::size_of::<sys::synap_message>() + std::mem::size_of::<sys::synap_header>() + 64;
            let block = libc_malloc(total) as *mut u8;
            assert!(!block.is_null());
            let msgs = block as *mut sys::synap_message;
            let hdr = block.add(2 * std::mem::size_of::<sys::synap_message>()) as *mut sys::synap_header;
            let data = (hdr as *mut u8).add(std::mem::size_of::<sys::synap_header>());
            let text = b"payloadKVrejected\0\0";
            ptr::copy_nonoverlapping(text.as_ptr(), data, text.len());
            *hdr = sys::synap_header {
                key: data.add(7) as *const c_void,
                key_len: 1,
                value: data.add(8) as *const c_void,
                value_len: 1,
            };
            *msgs = sys::synap_message {
                id: 7,
                payload: data as *const c_void,
                payload_len: 7,
                priority: 9,
                delivery_count: 2,
                redelivered: 1,
                headers: hdr,
                header_count: 1,
                reason: data.add(9) as *const c_char,
            };
            *msgs.add(1) = sys::synap_message {
                id: 8,
                payload: ptr::null(),
                payload_len: 0,
                priority: 0,
                delivery_count: 1,
                redelivered: 0,
                headers: ptr::null(),
                header_count: 0,
                reason: data.add(18) as *const c_char,
            };
            let out = take_messages(msgs, 2);
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].id, 7);
            assert_eq!(out[0].payload, b"payload".to_vec());
            assert_eq!((out[0].priority, out[0].delivery_count, out[0].redelivered), (9, 2, true));
            assert_eq!(out[0].header("K"), Some(&b"V"[..]));
            assert_eq!(out[0].reason, "rejected");
            assert_eq!(
                out[1],
                Message {
                    id: 8,
                    payload: vec![],
                    priority: 0,
                    delivery_count: 1,
                    redelivered: false,
                    headers: vec![],
                    reason: String::new(),
                }
            );
            assert!(take_messages(ptr::null_mut(), 0).is_empty());
        }
    }

    extern "C" {
        #[link_name = "malloc"]
        fn libc_malloc(n: usize) -> *mut c_void;
    }
}
