//! Raw bindings of libsynap's C ABI, written by hand from
//! `capi/include/synap/synap.h`, which is the manual: every function's
//! results, memory ownership and threading rules are documented there, and
//! hold here unchanged. Use the `synap` crate for a safe API.
//!
//! The tests of tests/header.rs check that every function (with its
//! parameter and return types), callback type, struct (fields, types, and
//! the C compiler's layout) and constant of the header is declared here,
//! with the same value.
#![allow(non_camel_case_types)]

use std::marker::{PhantomData, PhantomPinned};
use std::os::raw::{c_char, c_int, c_uint, c_void};

// ==== Versions ====

pub const SYNAP_VERSION_MAJOR: c_int = 0;
pub const SYNAP_VERSION_MINOR: c_int = 3;
pub const SYNAP_VERSION_PATCH: c_int = 0;
pub const SYNAP_VERSION_NUMBER: c_int = SYNAP_VERSION_MAJOR * 10000 + SYNAP_VERSION_MINOR * 100 + SYNAP_VERSION_PATCH;
pub const SYNAP_VERSION_STRING: &str = "0.3.0";

// ==== Result codes ====

pub const SYNAP_OK: c_int = 0;
pub const SYNAP_NOTFOUND: c_int = 1;
pub const SYNAP_NOTSET: c_int = 2;
pub const SYNAP_EINVAL: c_int = -1;
pub const SYNAP_ETOOLARGE: c_int = -2;
pub const SYNAP_ECORRUPT: c_int = -3;
pub const SYNAP_EIO: c_int = -4;
pub const SYNAP_ENOSPC: c_int = -5;
pub const SYNAP_EREADONLY: c_int = -6;
pub const SYNAP_ELOCKED: c_int = -7;
pub const SYNAP_ECLOSED: c_int = -8;
pub const SYNAP_EBUSY: c_int = -9;
pub const SYNAP_EUNSUPPORTED: c_int = -10;
pub const SYNAP_ENOMEM: c_int = -11;
pub const SYNAP_EINTERNAL: c_int = -12;
pub const SYNAP_ERANGE: c_int = -13;
pub const SYNAP_EPERM: c_int = -14;
pub const SYNAP_EEXIST: c_int = -15;

// ==== Options: typed fsync modes ====

pub const SYNAP_FSYNC_ALWAYS: c_int = 0;
pub const SYNAP_FSYNC_PERIODIC: c_int = 1;
pub const SYNAP_FSYNC_NEVER: c_int = 2;
pub const SYNAP_OVERFLOW_DROP_OLDEST: c_int = 0;
pub const SYNAP_OVERFLOW_CLOSE: c_int = 1;

// ==== Flags of synap_set_ex() (and synap_set_async(), synap_mset()) ====

pub const SYNAP_SET_EX: c_uint = 0x01;
pub const SYNAP_SET_PX: c_uint = 0x02;
pub const SYNAP_SET_EXAT: c_uint = 0x04;
pub const SYNAP_SET_PXAT: c_uint = 0x08;
pub const SYNAP_SET_NX: c_uint = 0x10;
pub const SYNAP_SET_XX: c_uint = 0x20;
pub const SYNAP_SET_KEEPTTL: c_uint = 0x40;
pub const SYNAP_SET_GET: c_uint = 0x80;

// ==== Flags of synap_expire() ====

pub const SYNAP_EXPIRE_SECONDS: c_uint = 0x01;
pub const SYNAP_EXPIRE_MILLIS: c_uint = 0x02;
pub const SYNAP_EXPIRE_AT_SECONDS: c_uint = 0x04;
pub const SYNAP_EXPIRE_AT_MILLIS: c_uint = 0x08;
pub const SYNAP_EXPIRE_NX: c_uint = 0x10;
pub const SYNAP_EXPIRE_XX: c_uint = 0x20;
pub const SYNAP_EXPIRE_GT: c_uint = 0x40;
pub const SYNAP_EXPIRE_LT: c_uint = 0x80;

// ==== Opaque handles and callback types ====

/// `synap_options`: an options object (not thread-safe).
#[repr(C)]
pub struct synap_options {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `synap_db`: an open data directory.
#[repr(C)]
pub struct synap_db {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `synap_subscription`: a pub/sub subscription.
#[repr(C)]
pub struct synap_subscription {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `synap_ticket`: a position in log order of an asynchronous write.
pub type synap_ticket = u64;

/// Recovery progress: `fn(user, phase, done, total)`, called during synap_open().
pub type synap_progress_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, phase: *const c_char, done: u64, total: u64)>;
/// Called once per key by synap_scan() and synap_keys().
pub type synap_key_fn = Option<unsafe extern "C" fn(user: *mut c_void, key: *const c_void, klen: usize)>;
/// Called once a ticket is acknowledged, or can never be.
pub type synap_acked_fn = Option<unsafe extern "C" fn(user: *mut c_void, ticket: synap_ticket, result: c_int)>;
/// A pub/sub subscription's callback (synap_subscription_set_callback):
/// `fn(user, topic, topic_len, payload, len)` per message on the
/// subscription's delivery thread; once more with `topic == NULL` and the
/// reason in `payload` when the subscription closes.
pub type synap_message_fn = Option<
    unsafe extern "C" fn(user: *mut c_void, topic: *const c_char, topic_len: usize, payload: *const c_void, len: usize),
>;

/// A non-blocking stream append's completion (synap_stream_append_async):
/// `fn(user, result, first_offset)`, on libsynap's committer thread or at once.
pub type synap_appended_fn = Option<unsafe extern "C" fn(user: *mut c_void, result: c_int, first_offset: u64)>;

/// A room's readability notice (synap_stream_notify_readable): `fn(user, result)`.
pub type synap_readable_fn = Option<unsafe extern "C" fn(user: *mut c_void, result: c_int)>;

/// A queue's wake-up (synap_queue_notify_ready): `fn(user, result)`.
pub type synap_queue_ready_fn = Option<unsafe extern "C" fn(user: *mut c_void, result: c_int)>;

/// synap_repair's look at its plan before anything changes: `fn(user,
/// plan_json, len)`, `plan_json` NUL-terminated; non-zero goes ahead, 0 stops.
pub type synap_repair_confirm_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, plan_json: *const c_char, len: usize) -> c_int>;
/// One JSON line of synap_dump: `fn(user, line, len)`, `line` NUL-terminated;
/// return 0 to go on, non-zero to stop the dump.
pub type synap_dump_fn = Option<unsafe extern "C" fn(user: *mut c_void, line: *const c_char, len: usize) -> c_int>;

/// `synap_header`: a message header, binary key and value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct synap_header {
    pub key: *const c_void,
    pub key_len: usize,
    pub value: *const c_void,
    pub value_len: usize,
}

/// `synap_message`: a delivered (or dead) message. Arrays of these come as
/// ONE malloc'd block holding the array and every byte it points to: free it
/// with a single synap_free(). The layout is fixed for SYNAP_1.x.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct synap_message {
    /// Unique, kept across restarts.
    pub id: u64,
    pub payload: *const c_void,
    pub payload_len: usize,
    /// 0..9.
    pub priority: u32,
    /// 1 on the first delivery.
    pub delivery_count: u32,
    /// 1 if delivered before.
    pub redelivered: c_int,
    pub headers: *const synap_header,
    pub header_count: usize,
    /// Dead letters: "rejected", "max_retries", "expired"; else "".
    pub reason: *const c_char,
}

/// `synap_event_in`: an event to append. `headers` may be NULL when
/// `header_count` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct synap_event_in {
    /// NULL with `key_len` 0: no key.
    pub key: *const c_void,
    pub key_len: usize,
    pub payload: *const c_void,
    pub payload_len: usize,
    pub headers: *const synap_header,
    pub header_count: usize,
    /// 0: the append time.
    pub timestamp_ms: i64,
}

/// `synap_event`: an event read back. Pointers point into the
/// `synap_events` block they came in.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct synap_event {
    pub offset: u64,
    pub timestamp_ms: i64,
    /// `key_len` 0: no key.
    pub key: *const c_void,
    pub key_len: usize,
    pub payload: *const c_void,
    pub payload_len: usize,
    pub headers: *const synap_header,
    pub header_count: usize,
}

/// `synap_events`: the result of synap_stream_read(), one malloc'd block
/// (free it with a single synap_free()).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct synap_events {
    /// `count` events, in offset order.
    pub events: *const synap_event,
    pub count: usize,
    /// Where the next read should start.
    pub next_offset: u64,
    /// One past the last readable event at the time of the read.
    pub high_watermark: u64,
}

extern "C" {
    // ==== Versions ====
    pub fn synap_version_number() -> c_int;
    pub fn synap_version_string() -> *const c_char;

    // ==== Result codes ====
    pub fn synap_strerror(code: c_int) -> *const c_char;
    pub fn synap_last_error() -> *const c_char;
    pub fn synap_free(ptr: *mut c_void);

    // ==== Options ====
    pub fn synap_options_create(out: *mut *mut synap_options) -> c_int;
    pub fn synap_options_destroy(opts: *mut synap_options);
    pub fn synap_options_set(opts: *mut synap_options, name: *const c_char, value: *const c_char) -> c_int;
    pub fn synap_options_get(
        opts: *const synap_options,
        name: *const c_char,
        buf: *mut c_char,
        cap: usize,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_options_set_fsync_mode(opts: *mut synap_options, mode: c_int) -> c_int;
    pub fn synap_options_set_maxmemory(opts: *mut synap_options, bytes: u64) -> c_int;
    pub fn synap_options_set_snapshot_interval(opts: *mut synap_options, secs: u32) -> c_int;
    pub fn synap_options_set_progress(opts: *mut synap_options, func: synap_progress_fn, user: *mut c_void) -> c_int;

    // ==== Lifecycle ====
    pub fn synap_open(path: *const c_char, opts: *const synap_options, out: *mut *mut synap_db) -> c_int;
    pub fn synap_close(db: *mut synap_db) -> c_int;
    pub fn synap_sync(db: *mut synap_db) -> c_int;
    pub fn synap_snapshot(db: *mut synap_db) -> c_int;
    pub fn synap_stats_json(db: *mut synap_db, json: *mut *mut c_char, len: *mut usize) -> c_int;

    // ==== KV: reads ====
    pub fn synap_get(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *mut *mut c_void,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_get_into(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        buf: *mut c_void,
        cap: usize,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_mget(
        db: *mut synap_db,
        n: usize,
        keys: *const *const c_void,
        klens: *const usize,
        vals: *mut *mut c_void,
        lens: *mut usize,
    ) -> c_int;
    pub fn synap_exists(
        db: *mut synap_db,
        n: usize,
        keys: *const *const c_void,
        klens: *const usize,
        count: *mut u64,
    ) -> c_int;
    pub fn synap_strlen(db: *mut synap_db, key: *const c_void, klen: usize, len: *mut u64) -> c_int;
    pub fn synap_pttl(db: *mut synap_db, key: *const c_void, klen: usize, ms: *mut i64) -> c_int;
    pub fn synap_dbsize(db: *mut synap_db, count: *mut u64) -> c_int;
    pub fn synap_scan(
        db: *mut synap_db,
        cursor: u64,
        pattern: *const c_char,
        plen: usize,
        count: u64,
        func: synap_key_fn,
        user: *mut c_void,
        next: *mut u64,
    ) -> c_int;
    pub fn synap_keys(
        db: *mut synap_db,
        pattern: *const c_char,
        plen: usize,
        func: synap_key_fn,
        user: *mut c_void,
    ) -> c_int;

    // ==== KV: writes ====
    pub fn synap_set(db: *mut synap_db, key: *const c_void, klen: usize, val: *const c_void, vlen: usize) -> c_int;
    pub fn synap_set_ex(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *const c_void,
        vlen: usize,
        flags: c_uint,
        expire: i64,
        old: *mut *mut c_void,
        old_len: *mut usize,
    ) -> c_int;
    pub fn synap_getdel(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *mut *mut c_void,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_del(
        db: *mut synap_db,
        n: usize,
        keys: *const *const c_void,
        klens: *const usize,
        deleted: *mut u64,
    ) -> c_int;
    pub fn synap_incrby(db: *mut synap_db, key: *const c_void, klen: usize, delta: i64, result: *mut i64) -> c_int;
    pub fn synap_append(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *const c_void,
        vlen: usize,
        new_len: *mut u64,
    ) -> c_int;
    pub fn synap_mset(
        db: *mut synap_db,
        n: usize,
        keys: *const *const c_void,
        klens: *const usize,
        vals: *const *const c_void,
        vlens: *const usize,
        flags: c_uint,
    ) -> c_int;
    pub fn synap_expire(db: *mut synap_db, key: *const c_void, klen: usize, value: i64, flags: c_uint) -> c_int;
    pub fn synap_persist(db: *mut synap_db, key: *const c_void, klen: usize) -> c_int;
    pub fn synap_flushall(db: *mut synap_db) -> c_int;

    // ==== Non-blocking writes ====
    pub fn synap_set_async(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *const c_void,
        vlen: usize,
        flags: c_uint,
        expire: i64,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_del_async(
        db: *mut synap_db,
        n: usize,
        keys: *const *const c_void,
        klens: *const usize,
        deleted: *mut u64,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_incrby_async(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        delta: i64,
        result: *mut i64,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_mset_async(
        db: *mut synap_db,
        n: usize,
        keys: *const *const c_void,
        klens: *const usize,
        vals: *const *const c_void,
        vlens: *const usize,
        flags: c_uint,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_set_ex_async(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *const c_void,
        vlen: usize,
        flags: c_uint,
        expire: i64,
        old: *mut *mut c_void,
        old_len: *mut usize,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_getdel_async(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *mut *mut c_void,
        len: *mut usize,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_append_async(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        val: *const c_void,
        vlen: usize,
        new_len: *mut u64,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_expire_async(
        db: *mut synap_db,
        key: *const c_void,
        klen: usize,
        value: i64,
        flags: c_uint,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_persist_async(db: *mut synap_db, key: *const c_void, klen: usize, ticket: *mut synap_ticket) -> c_int;
    pub fn synap_acked(db: *mut synap_db, acked: *mut synap_ticket) -> c_int;
    pub fn synap_wait(db: *mut synap_db, ticket: synap_ticket) -> c_int;
    pub fn synap_event_fd(db: *mut synap_db, fd: *mut c_int) -> c_int;
    pub fn synap_on_acked(db: *mut synap_db, ticket: synap_ticket, func: synap_acked_fn, user: *mut c_void) -> c_int;

    // ==== Queues ====
    pub fn synap_queue_declare(db: *mut synap_db, queue: *const c_char, settings: *const c_char) -> c_int;
    pub fn synap_queue_delete(db: *mut synap_db, queue: *const c_char) -> c_int;
    pub fn synap_queue_purge(db: *mut synap_db, queue: *const c_char, purged: *mut u64) -> c_int;
    pub fn synap_queue_list(db: *mut synap_db, func: synap_key_fn, user: *mut c_void) -> c_int;
    pub fn synap_queue_stats_json(
        db: *mut synap_db,
        queue: *const c_char,
        json: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_queue_publish(
        db: *mut synap_db,
        queue: *const c_char,
        payload: *const c_void,
        len: usize,
        priority: c_int,
        delay_ms: u64,
        max_retries: i64,
        headers: *const synap_header,
        header_count: usize,
        id: *mut u64,
    ) -> c_int;
    pub fn synap_queue_publish_batch(
        db: *mut synap_db,
        queue: *const c_char,
        n: usize,
        payloads: *const *const c_void,
        lens: *const usize,
        ids: *mut u64,
    ) -> c_int;
    pub fn synap_queue_consume(
        db: *mut synap_db,
        queue: *const c_char,
        consumer: *const c_char,
        max: u32,
        wait_ms: u32,
        prefetch: u32,
        msgs: *mut *mut synap_message,
        n: *mut usize,
    ) -> c_int;
    pub fn synap_queue_ack(db: *mut synap_db, queue: *const c_char, ids: *const u64, n: usize) -> c_int;
    pub fn synap_queue_nack(db: *mut synap_db, queue: *const c_char, id: u64, requeue: c_int) -> c_int;
    pub fn synap_queue_dead_letters(
        db: *mut synap_db,
        queue: *const c_char,
        offset: u64,
        limit: u32,
        msgs: *mut *mut synap_message,
        n: *mut usize,
    ) -> c_int;
    pub fn synap_queue_requeue_dead(db: *mut synap_db, queue: *const c_char, id: u64, moved: *mut u64) -> c_int;
    pub fn synap_queue_purge_dead(db: *mut synap_db, queue: *const c_char, purged: *mut u64) -> c_int;
    pub fn synap_queue_publish_async(
        db: *mut synap_db,
        queue: *const c_char,
        payload: *const c_void,
        len: usize,
        priority: c_int,
        delay_ms: u64,
        max_retries: i64,
        headers: *const synap_header,
        header_count: usize,
        id: *mut u64,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_queue_ack_async(
        db: *mut synap_db,
        queue: *const c_char,
        ids: *const u64,
        n: usize,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_queue_nack_async(
        db: *mut synap_db,
        queue: *const c_char,
        id: u64,
        requeue: c_int,
        ticket: *mut synap_ticket,
    ) -> c_int;
    pub fn synap_queue_notify_ready(
        db: *mut synap_db,
        queue: *const c_char,
        func: synap_queue_ready_fn,
        user: *mut c_void,
        handle: *mut u64,
    ) -> c_int;
    pub fn synap_queue_notify_cancel(db: *mut synap_db, handle: u64) -> c_int;

    // ==== Pub/sub ====
    pub fn synap_subscribe(
        db: *mut synap_db,
        pattern: *const c_char,
        capacity: u32,
        overflow: c_int,
        out: *mut *mut synap_subscription,
    ) -> c_int;
    pub fn synap_unsubscribe(sub: *mut synap_subscription) -> c_int;
    pub fn synap_publish(
        db: *mut synap_db,
        topic: *const c_char,
        payload: *const c_void,
        len: usize,
        delivered: *mut u64,
    ) -> c_int;
    pub fn synap_subscription_next(sub: *mut synap_subscription, wait_ms: u32, msg: *mut *mut synap_message) -> c_int;
    pub fn synap_subscription_dropped(sub: *mut synap_subscription, dropped: *mut u64) -> c_int;
    pub fn synap_subscription_set_callback(
        sub: *mut synap_subscription,
        func: synap_message_fn,
        user: *mut c_void,
    ) -> c_int;
    pub fn synap_subscription_notify_fd(sub: *mut synap_subscription, fd: c_int) -> c_int;

    // ==== Streams ====
    pub fn synap_stream_create(db: *mut synap_db, room: *const c_char, settings: *const c_char) -> c_int;
    pub fn synap_stream_delete(db: *mut synap_db, room: *const c_char) -> c_int;
    pub fn synap_stream_list(db: *mut synap_db, func: synap_key_fn, user: *mut c_void) -> c_int;
    pub fn synap_stream_bounds(db: *mut synap_db, room: *const c_char, earliest: *mut u64, next: *mut u64) -> c_int;
    pub fn synap_stream_info_json(
        db: *mut synap_db,
        room: *const c_char,
        json: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_stream_append(
        db: *mut synap_db,
        room: *const c_char,
        events: *const synap_event_in,
        n: usize,
        first_offset: *mut u64,
    ) -> c_int;
    pub fn synap_stream_append_async(
        db: *mut synap_db,
        room: *const c_char,
        events: *const synap_event_in,
        n: usize,
        func: synap_appended_fn,
        user: *mut c_void,
    ) -> c_int;
    pub fn synap_stream_read(
        db: *mut synap_db,
        room: *const c_char,
        from: u64,
        max_records: u32,
        max_bytes: u64,
        wait_ms: u32,
        out: *mut *mut synap_events,
    ) -> c_int;
    pub fn synap_stream_offset_for_time(db: *mut synap_db, room: *const c_char, ts_ms: i64, offset: *mut u64) -> c_int;
    pub fn synap_stream_notify_readable(
        db: *mut synap_db,
        room: *const c_char,
        from: u64,
        func: synap_readable_fn,
        user: *mut c_void,
        handle: *mut u64,
    ) -> c_int;
    pub fn synap_stream_notify_cancel(db: *mut synap_db, handle: u64) -> c_int;
    pub fn synap_stream_compact(db: *mut synap_db, room: *const c_char, dropped: *mut u64) -> c_int;
    pub fn synap_stream_trim(
        db: *mut synap_db,
        room: *const c_char,
        before: u64,
        removed: *mut u64,
        earliest: *mut u64,
    ) -> c_int;

    // ==== Streams: consumer groups ====
    pub fn synap_group_commit(db: *mut synap_db, group: *const c_char, room: *const c_char, offset: u64) -> c_int;
    pub fn synap_group_committed(
        db: *mut synap_db,
        group: *const c_char,
        room: *const c_char,
        offset: *mut u64,
    ) -> c_int;
    pub fn synap_group_lag_json(
        db: *mut synap_db,
        group: *const c_char,
        json: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_group_commit_async(
        db: *mut synap_db,
        group: *const c_char,
        room: *const c_char,
        offset: u64,
        func: synap_appended_fn,
        user: *mut c_void,
    ) -> c_int;
    pub fn synap_group_delete(db: *mut synap_db, group: *const c_char, room: *const c_char) -> c_int;
    pub fn synap_group_delete_async(
        db: *mut synap_db,
        group: *const c_char,
        room: *const c_char,
        func: synap_appended_fn,
        user: *mut c_void,
    ) -> c_int;

    // ==== Streams: partitioned topics ====
    pub fn synap_topic_create(
        db: *mut synap_db,
        topic: *const c_char,
        partitions: u32,
        settings: *const c_char,
    ) -> c_int;
    pub fn synap_topic_partitions(db: *mut synap_db, topic: *const c_char, partitions: *mut u32) -> c_int;
    pub fn synap_topic_produce(
        db: *mut synap_db,
        topic: *const c_char,
        event: *const synap_event_in,
        partition: *mut u32,
        offset: *mut u64,
    ) -> c_int;

    // ==== Offline tools ====
    pub fn synap_verify(
        dir: *const c_char,
        progress: synap_progress_fn,
        user: *mut c_void,
        report_json: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_repair(
        dir: *const c_char,
        backup_dir: *const c_char,
        confirm: synap_repair_confirm_fn,
        user: *mut c_void,
        report_json: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn synap_inspect_json(dir: *const c_char, json: *mut *mut c_char, len: *mut usize) -> c_int;

    // ==== Offline tools: dump ====
    pub fn synap_dump(dir: *const c_char, filter: *const c_char, func: synap_dump_fn, user: *mut c_void) -> c_int;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn loaded_library_matches_these_declarations() {
        // The library's version is the header's these constants were written from.
        let n = unsafe { synap_version_number() };
        assert_eq!(n, SYNAP_VERSION_NUMBER, "libsynap {} loaded, declarations are for {}", n, SYNAP_VERSION_STRING);
        let s = unsafe { CStr::from_ptr(synap_version_string()) };
        assert_eq!(s.to_str().unwrap(), SYNAP_VERSION_STRING);
    }

    /// Byte offset of a field of a struct (no value of it needed).
    macro_rules! offset_of {
        ($ty:ty, $field:ident) => {{
            let m = std::mem::MaybeUninit::<$ty>::uninit();
            let p = m.as_ptr();
            #[allow(unused_unsafe)]
            let f = unsafe { std::ptr::addr_of!((*p).$field) } as usize;
            f - p as usize
        }};
    }

    /// The offsets of synap.h's structs on LP64 (checked against the C
    /// compiler's offsetof on x86_64 and aarch64 Linux; tests/header.rs
    /// compares every struct with the local C compiler's layout too).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn struct_layouts_are_the_headers() {
        use std::mem::{align_of, size_of};
        assert_eq!(size_of::<synap_header>(), 32);
        assert_eq!(size_of::<synap_message>(), 64);
        assert_eq!(align_of::<synap_message>(), 8);
        assert_eq!(offset_of!(synap_message, id), 0);
        assert_eq!(offset_of!(synap_message, payload), 8);
        assert_eq!(offset_of!(synap_message, payload_len), 16);
        assert_eq!(offset_of!(synap_message, priority), 24);
        assert_eq!(offset_of!(synap_message, delivery_count), 28);
        assert_eq!(offset_of!(synap_message, redelivered), 32);
        assert_eq!(offset_of!(synap_message, headers), 40);
        assert_eq!(offset_of!(synap_message, header_count), 48);
        assert_eq!(offset_of!(synap_message, reason), 56);
        assert_eq!(offset_of!(synap_header, key), 0);
        assert_eq!(offset_of!(synap_header, key_len), 8);
        assert_eq!(offset_of!(synap_header, value), 16);
        assert_eq!(offset_of!(synap_header, value_len), 24);

        assert_eq!(size_of::<synap_event_in>(), 56);
        assert_eq!(align_of::<synap_event_in>(), 8);
        assert_eq!(offset_of!(synap_event_in, key), 0);
        assert_eq!(offset_of!(synap_event_in, key_len), 8);
        assert_eq!(offset_of!(synap_event_in, payload), 16);
        assert_eq!(offset_of!(synap_event_in, payload_len), 24);
        assert_eq!(offset_of!(synap_event_in, headers), 32);
        assert_eq!(offset_of!(synap_event_in, header_count), 40);
        assert_eq!(offset_of!(synap_event_in, timestamp_ms), 48);

        assert_eq!(size_of::<synap_event>(), 64);
        assert_eq!(align_of::<synap_event>(), 8);
        assert_eq!(offset_of!(synap_event, offset), 0);
        assert_eq!(offset_of!(synap_event, timestamp_ms), 8);
        assert_eq!(offset_of!(synap_event, key), 16);
        assert_eq!(offset_of!(synap_event, key_len), 24);
        assert_eq!(offset_of!(synap_event, payload), 32);
        assert_eq!(offset_of!(synap_event, payload_len), 40);
        assert_eq!(offset_of!(synap_event, headers), 48);
        assert_eq!(offset_of!(synap_event, header_count), 56);

        assert_eq!(size_of::<synap_events>(), 32);
        assert_eq!(align_of::<synap_events>(), 8);
        assert_eq!(offset_of!(synap_events, events), 0);
        assert_eq!(offset_of!(synap_events, count), 8);
        assert_eq!(offset_of!(synap_events, next_offset), 16);
        assert_eq!(offset_of!(synap_events, high_watermark), 24);
    }

    #[test]
    fn strerror_and_last_error_are_static_strings() {
        unsafe {
            assert!(!synap_strerror(SYNAP_EINVAL).is_null());
            assert!(!synap_strerror(SYNAP_EEXIST).is_null());
            assert!(!synap_strerror(12345).is_null());
            assert!(!synap_last_error().is_null());
            synap_free(std::ptr::null_mut());
        }
    }
}
