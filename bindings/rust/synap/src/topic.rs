//! Consumer groups and partitioned topics (synap.h "Streams: consumer
//! groups", "Streams: partitioned topics"): Kafka's consumer model over
//! rooms. A group's committed offset per room is the offset it reads next;
//! a topic of N partitions is the rooms `"<topic>-0"` .. `"<topic>-<N-1>"`,
//! and an event's key picks its partition.

use std::os::raw::c_char;
use std::ptr;
use std::slice;

use synap_sys as sys;

use crate::db::{answer, Db};
use crate::error::{check, Result};
use crate::options::cstring;
use crate::stream::{found, json_string, no_room, no_topic, room_name, Event, RawEvents, RoomSettings};

impl Db {
    // ---- Consumer groups ----

    /// Durably records that `group` (1..255 bytes) will next read `offset`
    /// of `room`. `NotFound` if there is no such room, `Range` if `offset`
    /// is beyond its high watermark.
    pub fn group_commit(&self, group: &str, room: &str, offset: u64) -> Result<()> {
        let g = cstring(group, "group name")?;
        let r = room_name(room)?;
        let rc = unsafe { sys::synap_group_commit(self.as_raw(), g.as_ptr(), r.as_ptr(), offset) };
        found("synap_group_commit", rc, no_room(room))
    }

    /// The offset `group` committed for `room` (the one it reads next), or
    /// None when it has committed none.
    pub fn group_committed(&self, group: &str, room: &str) -> Result<Option<u64>> {
        let g = cstring(group, "group name")?;
        let r = room_name(room)?;
        let mut offset = 0u64;
        let rc = unsafe { sys::synap_group_committed(self.as_raw(), g.as_ptr(), r.as_ptr(), &mut offset) };
        match answer("synap_group_committed", rc, &[sys::SYNAP_NOTFOUND])? {
            sys::SYNAP_OK => Ok(Some(offset)),
            _ => Ok(None),
        }
    }

    /// Forgets `group`'s committed offset for `room`, durably:
    /// [`group_committed`](Db::group_committed) answers None for it from then
    /// on, also after a reopen, and the lag JSON no longer lists it; a later
    /// commit starts the group afresh. `Ok(false)` when the group had no
    /// commit for the room (the room need not exist any more).
    pub fn group_delete(&self, group: &str, room: &str) -> Result<bool> {
        let g = cstring(group, "group name")?;
        let r = room_name(room)?;
        let rc = unsafe { sys::synap_group_delete(self.as_raw(), g.as_ptr(), r.as_ptr()) };
        Ok(answer("synap_group_delete", rc, &[sys::SYNAP_NOTFOUND])? == sys::SYNAP_OK)
    }

    /// The commits of `group` (every group's with None) as JSON:
    /// `{"commits":[{"group","room","committed","next_offset","lag"}, ...]}`.
    pub fn group_lag_json(&self, group: Option<&str>) -> Result<String> {
        let g = group.map(|g| cstring(g, "group name")).transpose()?;
        let gp = g.as_ref().map_or(ptr::null(), |g| g.as_ptr());
        let mut json: *mut c_char = ptr::null_mut();
        let mut len = 0usize;
        let rc = unsafe { sys::synap_group_lag_json(self.as_raw(), gp, &mut json, &mut len) };
        let result = check("synap_group_lag_json", rc);
        let text = json_string(json, len);
        result.map(|_| text)
    }

    // ---- Partitioned topics ----

    /// Creates a topic of `partitions` (1..`stream.max_partitions`) rooms,
    /// `"<topic>-0"` .. `"<topic>-<N-1>"`, with these settings. `AlreadyExists`
    /// if the topic, or one of its rooms, exists.
    pub fn topic_create(&self, topic: &str, partitions: u32, settings: &RoomSettings) -> Result<()> {
        let t = cstring(topic, "topic name")?;
        let s = settings.to_cstring()?;
        let sp = s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        check("synap_topic_create", unsafe { sys::synap_topic_create(self.as_raw(), t.as_ptr(), partitions, sp) })
    }

    /// How many partitions the topic has.
    pub fn topic_partitions(&self, topic: &str) -> Result<u32> {
        let t = cstring(topic, "topic name")?;
        let mut n = 0u32;
        let rc = unsafe { sys::synap_topic_partitions(self.as_raw(), t.as_ptr(), &mut n) };
        found("synap_topic_partitions", rc, no_topic(topic))?;
        Ok(n)
    }

    /// Appends the event to the partition its key picks (XXH3-64(key) mod
    /// N, so one key's events stay in order; round-robin without a key);
    /// returns (partition, offset). Read it from room
    /// [`Db::topic_partition_room`]`(topic, partition)`.
    pub fn topic_produce(&self, topic: &str, event: &Event) -> Result<(u32, u64)> {
        let t = cstring(topic, "topic name")?;
        let raw = RawEvents::new(slice::from_ref(event));
        let (mut partition, mut offset) = (0u32, 0u64);
        let rc = unsafe {
            sys::synap_topic_produce(self.as_raw(), t.as_ptr(), raw.events.as_ptr(), &mut partition, &mut offset)
        };
        found("synap_topic_produce", rc, || {
            format!("no topic named '{}' (or its partition's room is missing and stream.auto_create is off)", topic)
        })?;
        Ok((partition, offset))
    }

    /// The room of a topic's partition: `"<topic>-<partition>"`.
    pub fn topic_partition_room(topic: &str, partition: u32) -> String {
        format!("{}-{}", topic, partition)
    }
}
