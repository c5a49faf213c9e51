/*
 * synap.h — the C ABI of libsynap, and its manual.
 *
 * Conventions (they hold for every function in this header unless its own
 * comment says otherwise):
 *  - Every fallible function returns an int: SYNAP_OK (0) on success, a
 *    negative SYNAP_E* code on error. Two positive codes are answers, not
 *    errors: SYNAP_NOTFOUND ("no such key") and SYNAP_NOTSET ("a condition
 *    such as NX or XX held the write back").
 *  - After an error, synap_last_error() returns a message for the calling
 *    thread (thread-local; valid until that thread's next call into libsynap).
 *    A call that returns SYNAP_OK, SYNAP_NOTFOUND or SYNAP_NOTSET clears it.
 *  - Bad input — a NULL handle or pointer, an over-long key, an unknown option
 *    — is answered with SYNAP_EINVAL or SYNAP_ETOOLARGE, never a crash. No C++
 *    exception ever crosses this boundary.
 *  - Keys and values are (pointer, length) pairs of arbitrary bytes; they need
 *    not be NUL-terminated. A pointer may be NULL when its length is 0.
 *  - Memory: libsynap never keeps a pointer the caller passed in after the
 *    call returns. Buffers that libsynap returns (values, JSON) are allocated
 *    with malloc and belong to the caller, who frees them with synap_free().
 *    Callback arguments are valid only during the callback.
 *  - Threads: a synap_db handle may be used by any number of threads at once,
 *    except synap_close(), which must be the last call on it. A
 *    synap_options object is not thread-safe (build it on one thread).
 *  - Durability: a write call returns when its log record is acknowledged
 *    under the handle's fsync mode ("wal.fsync_mode"): under "always", after
 *    a completed fsync covers it. A write becomes visible to readers only
 *    once acknowledged, so nothing is ever read that could be lost. The
 *    *_async variants return at once with a ticket (see "Non-blocking
 *    writes").
 *  - Once a log write or fsync fails, the handle turns read-only: that write
 *    and every later one fail with the error that hit the log (or
 *    SYNAP_EREADONLY), reads go on, and only close + reopen (which recovers
 *    the log) makes it writable again.
 *  - Symbols are versioned (capi/synap.map); the library's SONAME is
 *    libsynap.so.1. Within a major version, functions are only added.
 */
#ifndef SYNAP_SYNAP_H
#define SYNAP_SYNAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SYNAP_API __attribute__((visibility("default")))
#else
#define SYNAP_API
#endif

/* ==== Versions ==== */

#define SYNAP_VERSION_MAJOR 0
#define SYNAP_VERSION_MINOR 3
#define SYNAP_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, e.g. 300 for 0.3.0. */
#define SYNAP_VERSION_NUMBER (SYNAP_VERSION_MAJOR * 10000 + SYNAP_VERSION_MINOR * 100 + SYNAP_VERSION_PATCH)
#define SYNAP_VERSION_STRING "0.3.0"

/* The version of the library actually loaded (compare with the macros, which
 * give the version of the header compiled against). Thread-safe; never fails. */
SYNAP_API int synap_version_number(void);
/* A static string such as "0.3.0"; never NULL, never freed. Thread-safe. */
SYNAP_API const char* synap_version_string(void);

/* ==== Result codes ==== */

#define SYNAP_OK 0
#define SYNAP_NOTFOUND 1          /* the key does not exist (not an error) */
#define SYNAP_NOTSET 2            /* a condition (NX, XX, GT, LT, ...) held the write back (not an error) */
#define SYNAP_EINVAL (-1)         /* invalid argument: NULL pointer, bad name, bad option value, not an integer */
#define SYNAP_ETOOLARGE (-2)      /* a named limit was exceeded (key, value, batch size, ...) */
#define SYNAP_ECORRUPT (-3)       /* stored data failed validation; the message names file and offset */
#define SYNAP_EIO (-4)            /* the operating system reported an I/O error */
#define SYNAP_ENOSPC (-5)         /* no space left on the device */
#define SYNAP_EREADONLY (-6)      /* the engine turned read-only after a failed write or fsync */
#define SYNAP_ELOCKED (-7)        /* another process (or handle) holds the data directory */
#define SYNAP_ECLOSED (-8)        /* the handle is closing or closed */
#define SYNAP_EBUSY (-9)          /* a bounded resource is full; retry later */
#define SYNAP_EUNSUPPORTED (-10)  /* not possible here (e.g. a newer on-disk format version) */
#define SYNAP_ENOMEM (-11)        /* out of memory, or over kv.maxmemory under the noeviction policy */
#define SYNAP_EINTERNAL (-12)     /* a bug in libsynap; the message says where */
#define SYNAP_ERANGE (-13)        /* a number out of range: an increment would overflow int64 */
#define SYNAP_EPERM (-14)         /* not permitted by the configuration (e.g. FLUSHALL when disabled) */
#define SYNAP_EEXIST (-15)        /* a create found it already there (a room, a topic) */

/* A static, English description of a result code ("unknown result code" for
 * values not listed above). Never NULL, never freed. Thread-safe. */
SYNAP_API const char* synap_strerror(int code);

/* The message of the calling thread's most recent failed call ("" if none,
 * or if a call succeeded since). Never NULL. Owned by libsynap: valid until
 * this thread's next call into libsynap. Thread-safe (each thread has its own). */
SYNAP_API const char* synap_last_error(void);

/* Frees memory that libsynap returned. NULL is allowed. Thread-safe. */
SYNAP_API void synap_free(void* ptr);

/* ==== Options ====
 *
 * An options object holds every knob by name; a handle copies what it needs
 * at synap_open(), so the object may be destroyed or reused after it. Every
 * option can be set from a string (config files and bindings need nothing
 * else); a few common ones also have typed setters. The names, defaults and
 * limits (docs/options.md has the same table):
 *
 *   wal.fsync_mode            always | periodic | never          always
 *   wal.fsync_interval_ms     periodic's fsync period, 1..60000  10
 *   wal.mechanism             buffered | direct                  buffered
 *   wal.segment_bytes         64 KiB..1 GiB, multiple of 4096    64 MiB
 *   wal.preallocate           auto | none | fallocate | zero     auto
 *   wal.max_record_bytes      one log record, 1..64 MiB          8 MiB
 *   wal.max_batch_bytes       one group-commit batch, 4 KiB..64 MiB  1 MiB
 *   wal.max_batch_records     1..1048576                         16384
 *   wal.linger_us             wait for a batch to fill, 0..100000  0
 *   wal.max_in_flight         batches being written at once, 1..2  1
 *   wal.max_pending_bytes     appends block beyond this          64 MiB
 *   wal.codec                 none | lz4 | zstd                  none
 *   wal.compress_min_bytes    smaller batches are stored raw     4096
 *   wal.zstd_level            1..19                              1
 *   wal.recovery              tolerate_torn_tail | point_in_time | skip
 *   io.backend                auto | uring | sync                auto
 *   kv.shards                 power of two, 1..4096              64
 *   kv.max_key_bytes          1..1 MiB                           64 KiB
 *   kv.max_value_bytes        1..(wal.max_record_bytes - key - 64)  4 MiB
 *   kv.maxmemory              bytes, 0 = no limit                0
 *   kv.maxmemory_policy       noeviction | allkeys-lru | allkeys-lfu |
 *                             allkeys-random | volatile-lru | volatile-lfu |
 *                             volatile-random | volatile-ttl    noeviction
 *   kv.maxmemory_samples      keys sampled per eviction, 1..64   5
 *   kv.active_expire_ms       period of the active expiry sweep, 0 = off, 1..60000  100
 *   kv.allow_flushall         true | false                       false
 *   queue.auto_create         a publish creates an unknown queue true
 *   queue.max_payload_bytes   largest message payload            4 MiB
 *   stream.auto_create        an append creates an unknown room  true
 *   stream.segment_bytes      rooms' default segment size        64 MiB
 *   stream.retention_bytes    rooms' default, 0 = no limit       0
 *   stream.retention_ms       rooms' default, 0 = keep forever   0
 *   stream.codec              rooms' default: none | lz4 | zstd  none
 *   stream.fsync              rooms' default: always | periodic | never  always
 *   stream.cleanup            rooms' default: delete | compact | compact,delete  delete
 *   stream.fsync_interval_ms  periodic rooms' fsync period       10
 *   stream.preallocate        auto | none | fallocate | zero (auto: zeroed
 *                             segments for fsync=always rooms)   auto
 *   stream.max_rooms          1..1000000                         10000
 *   stream.max_event_bytes    one encoded event                  1 MiB
 *   stream.max_append_bytes   one append call (one batch)        4 MiB
 *   stream.max_key_bytes      an event key                       64 KiB
 *   stream.max_headers        headers per event                  64
 *   stream.max_read_records   events per read                    100000
 *   stream.max_read_bytes     bytes per read                     64 MiB
 *   stream.max_wait_ms        a blocking read's longest wait     600000
 *   stream.max_partitions     partitions per topic               1024
 *   stream.index_interval_bytes  offset index density            4096
 *   stream.compact_max_keys   distinct keys one compaction tracks  10000000
 *   stream.maintenance_ms     retention/compaction pass period   1000
 *   snapshot.interval_secs    take one this often, 0 = never     600
 *   snapshot.operation_threshold  take one after this many writes, 0 = never  1000000
 *   snapshot.keep             snapshots kept, 1..100             5
 *   snapshot.zstd_level       1..19                              1
 *
 * Sizes accept a plain number of bytes or a suffix K, M or G (powers of 1024).
 * synap_options_set() checks each value's own range; rules that involve
 * another option or a shape (kv.shards a power of two, wal.segment_bytes a
 * multiple of 4096, a key and value fitting one record) are checked by
 * synap_open(), which answers SYNAP_EINVAL naming the option.
 * snapshot.interval_secs is at most 31536000 (a year).
 */
typedef struct synap_options synap_options;

/* Creates an options object holding every default. Returns SYNAP_OK and sets
 * *out, or SYNAP_EINVAL (out is NULL) / SYNAP_ENOMEM. Free with
 * synap_options_destroy(). */
SYNAP_API int synap_options_create(synap_options** out);
/* Frees an options object. NULL is allowed. */
SYNAP_API void synap_options_destroy(synap_options* opts);
/* Sets option `name` (see the table above) from a NUL-terminated string.
 * Returns SYNAP_OK, or SYNAP_EINVAL for a NULL argument, an unknown name or a
 * value that does not parse or is out of range (the message names the option
 * and its limits). The object is unchanged on error. */
SYNAP_API int synap_options_set(synap_options* opts, const char* name, const char* value);
/* Copies the current value of option `name` as a string into buf (at most
 * `cap` bytes including the NUL) and sets *len to the full length without the
 * NUL. Returns SYNAP_OK or SYNAP_EINVAL (NULL argument, unknown name). */
SYNAP_API int synap_options_get(const synap_options* opts, const char* name, char* buf, size_t cap, size_t* len);

#define SYNAP_FSYNC_ALWAYS 0
#define SYNAP_FSYNC_PERIODIC 1
#define SYNAP_FSYNC_NEVER 2
/* Typed setters, the same as synap_options_set() with the named option.
 * Return SYNAP_OK or SYNAP_EINVAL. */
SYNAP_API int synap_options_set_fsync_mode(synap_options* opts, int mode); /* wal.fsync_mode */
SYNAP_API int synap_options_set_maxmemory(synap_options* opts, uint64_t bytes); /* kv.maxmemory */
SYNAP_API int synap_options_set_snapshot_interval(synap_options* opts, uint32_t secs); /* snapshot.interval_secs */

/* Recovery progress: fn(user, phase, done, total) is called on the thread
 * that called synap_open(), while it loads a snapshot ("snapshot", bytes) and
 * replays the log ("log", bytes), at most a few times a second and once at
 * the end of each phase. It must not call into libsynap. NULL removes it. */
typedef void (*synap_progress_fn)(void* user, const char* phase, uint64_t done, uint64_t total);
SYNAP_API int synap_options_set_progress(synap_options* opts, synap_progress_fn fn, void* user);

/* ==== Lifecycle ==== */

typedef struct synap_db synap_db;

/* Opens (creating if needed) the data directory `path`: takes an exclusive
 * lock on it, loads the newest valid snapshot (falling back to older ones if
 * it is damaged), replays the log from the snapshot's start, and starts the
 * background threads (group commit, snapshots, active expiry). `opts` may be
 * NULL for every default. On SYNAP_OK, *out is the handle.
 * Errors: SYNAP_EINVAL (NULL path or out, invalid options), SYNAP_ELOCKED
 * (another process or handle has the directory open), SYNAP_ECORRUPT (damage
 * recovery may not repair under wal.recovery; nothing is changed on disk),
 * SYNAP_EUNSUPPORTED (written by a newer format version), SYNAP_EIO,
 * SYNAP_ENOSPC, SYNAP_ENOMEM. Thread-safe. */
SYNAP_API int synap_open(const char* path, const synap_options* opts, synap_db** out);

/* Stops accepting calls, writes and fsyncs everything pending (whatever the
 * fsync mode), stops the background threads, releases the lock and frees the
 * handle — even when it returns an error (the error a final flush met).
 * NULL is allowed (returns SYNAP_OK). Must be the last call on the handle:
 * no other thread may be inside, or later enter, a call on it. */
SYNAP_API int synap_close(synap_db* db);

/* Makes every write made so far durable (fsync), whatever the fsync mode, and
 * waits for it. Errors: SYNAP_EINVAL, SYNAP_EREADONLY/EIO/ENOSPC (the log
 * failed), SYNAP_ECLOSED. */
SYNAP_API int synap_sync(synap_db* db);

/* Writes a snapshot now, on libsynap's background thread, and waits for it
 * (writes go on meanwhile; if one is being written, another follows it, so
 * the snapshot holds every write acknowledged before this call). Then keeps
 * the newest snapshot.keep snapshots and deletes the log segments older than
 * the oldest one kept. Errors: SYNAP_EINVAL, SYNAP_EIO, SYNAP_ENOSPC,
 * SYNAP_ECLOSED. */
SYNAP_API int synap_snapshot(synap_db* db);

/* Statistics and the open's recovery report as one JSON object, e.g.
 * {"version":"0.3.0","kv":{"keys":..,"used_memory":..},"wal":{..},
 *  "snapshot":{..},"recovery":{..}}. *json is NUL-terminated, malloc'd (free
 * with synap_free); *len (optional, may be NULL) gets its length.
 * Errors: SYNAP_EINVAL, SYNAP_ENOMEM. Thread-safe. */
SYNAP_API int synap_stats_json(synap_db* db, char** json, size_t* len);

/* ==== KV: reads ====
 * Reads see every acknowledged write; an expired key is absent. All are
 * thread-safe and never block on I/O. */

/* Gets the value of a key into a new buffer: SYNAP_OK with *val (malloc'd,
 * free with synap_free; non-NULL even for an empty value) and *len, or
 * SYNAP_NOTFOUND (*val = NULL, *len = 0). Errors: SYNAP_EINVAL, SYNAP_ETOOLARGE
 * (key over kv.max_key_bytes), SYNAP_ENOMEM. */
SYNAP_API int synap_get(synap_db* db, const void* key, size_t klen, void** val, size_t* len);

/* Gets the value into the caller's buffer: SYNAP_OK and *len = the value's
 * full length; copies min(*len, cap) bytes, so the value was truncated iff
 * *len > cap (call again with a bigger buffer). SYNAP_NOTFOUND if absent.
 * buf may be NULL when cap is 0 (to learn the length). */
SYNAP_API int synap_get_into(synap_db* db, const void* key, size_t klen, void* buf, size_t cap, size_t* len);

/* Gets n values at once (MGET). For each i, vals[i] is a malloc'd buffer (free
 * each with synap_free) and lens[i] its length, or vals[i] = NULL when the key
 * is absent. Returns SYNAP_OK, or an error and then every vals[i] = NULL. */
SYNAP_API int synap_mget(synap_db* db, size_t n, const void* const* keys, const size_t* klens, void** vals,
                         size_t* lens);

/* Counts how many of the n keys exist (EXISTS; a key named twice counts twice). */
SYNAP_API int synap_exists(synap_db* db, size_t n, const void* const* keys, const size_t* klens, uint64_t* count);

/* The length of a key's value (STRLEN): SYNAP_OK, or SYNAP_NOTFOUND with *len = 0. */
SYNAP_API int synap_strlen(synap_db* db, const void* key, size_t klen, uint64_t* len);

/* The remaining time to live in milliseconds (PTTL): SYNAP_OK with *ms >= 0,
 * or *ms = -1 when the key has no expiry; SYNAP_NOTFOUND when it is absent. */
SYNAP_API int synap_pttl(synap_db* db, const void* key, size_t klen, int64_t* ms);

/* The number of keys (DBSIZE), expired ones not yet removed included, as in Redis. */
SYNAP_API int synap_dbsize(synap_db* db, uint64_t* count);

/* Called once per key by synap_scan() and synap_keys(), on the calling
 * thread, after the keys are collected and without any lock held; the key is
 * valid only during the call. Patterns are (pointer, length): no NUL needed. */
typedef void (*synap_key_fn)(void* user, const void* key, size_t klen);

/* One step of a cursor scan (SCAN): start with cursor 0; each call reports
 * about `count` (0 means 10) keys matching the glob `pattern` (NULL or "*"
 * for all; *, ?, [a-z], [^a], \x as in Redis) through fn, and sets *next to
 * the cursor for the next call, 0 when the scan is complete. Every key that
 * exists for the whole scan is reported at least once; keys added or removed
 * meanwhile may or may not be. fn is called without any lock held. */
SYNAP_API int synap_scan(synap_db* db, uint64_t cursor, const char* pattern, size_t plen, uint64_t count,
                         synap_key_fn fn, void* user, uint64_t* next);

/* Every key matching `pattern` (KEYS). O(number of keys): meant for small
 * databases and debugging, as in Redis. */
SYNAP_API int synap_keys(synap_db* db, const char* pattern, size_t plen, synap_key_fn fn, void* user);

/* ==== KV: writes ====
 * Each returns when its record is acknowledged (see Durability above).
 * Common errors: SYNAP_EINVAL (NULL argument, bad flags), SYNAP_ETOOLARGE
 * (kv.max_key_bytes, kv.max_value_bytes, wal.max_record_bytes),
 * SYNAP_ENOMEM (over kv.maxmemory with nothing to evict), SYNAP_EREADONLY /
 * SYNAP_EIO / SYNAP_ENOSPC (the log failed), SYNAP_ECLOSED. */

/* Flags of synap_set_ex(): at most one of the expiry units (the expiry is
 * then `expire`: seconds or milliseconds from now, or a Unix time in seconds
 * or milliseconds), at most one of NX / XX, GET to return the old value.
 * KEEPTTL keeps the key's current expiry (not with an expiry unit). Without
 * an expiry unit or KEEPTTL, SET removes any expiry, as in Redis. */
#define SYNAP_SET_EX 0x01u      /* expire in `expire` seconds */
#define SYNAP_SET_PX 0x02u      /* expire in `expire` milliseconds */
#define SYNAP_SET_EXAT 0x04u    /* expire at Unix time `expire` seconds */
#define SYNAP_SET_PXAT 0x08u    /* expire at Unix time `expire` milliseconds */
#define SYNAP_SET_NX 0x10u      /* only if the key does not exist */
#define SYNAP_SET_XX 0x20u      /* only if the key exists */
#define SYNAP_SET_KEEPTTL 0x40u /* keep the current expiry */
#define SYNAP_SET_GET 0x80u     /* return the old value (GETSET) */

/* SET key value (no flags). Returns SYNAP_OK. */
SYNAP_API int synap_set(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen);

/* SET with flags. Returns SYNAP_OK when written, SYNAP_NOTSET when NX/XX held
 * it back. With SYNAP_SET_GET, *old (malloc'd; free with synap_free) and
 * *old_len get the previous value, or *old = NULL when there was none; old
 * and old_len may be NULL without GET; with GET the old value is returned
 * also when NX/XX held the write back (as Redis 7). An expiry <= 0, relative or absolute,
 * is SYNAP_EINVAL ("invalid expire time"), as in Redis; an absolute time in
 * the past (> 0) writes the key already expired, i.e. deletes it. */
SYNAP_API int synap_set_ex(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, unsigned flags,
                           int64_t expire, void** old, size_t* old_len);

/* GETDEL: gets the value and deletes the key. SYNAP_OK with *val (malloc'd),
 * or SYNAP_NOTFOUND. */
SYNAP_API int synap_getdel(synap_db* db, const void* key, size_t klen, void** val, size_t* len);

/* Deletes n keys (DEL); *deleted (may be NULL) gets how many existed. */
SYNAP_API int synap_del(synap_db* db, size_t n, const void* const* keys, const size_t* klens, uint64_t* deleted);

/* INCRBY / DECRBY: adds delta to the integer value of a key (absent = 0) and
 * sets *result (may be NULL). SYNAP_EINVAL if the value is not a base-10
 * int64 ("value is not an integer or out of range"), SYNAP_ERANGE if the
 * result would overflow ("increment or decrement would overflow"); the key is
 * unchanged then. The key's expiry is kept. */
SYNAP_API int synap_incrby(synap_db* db, const void* key, size_t klen, int64_t delta, int64_t* result);

/* APPEND: appends to the value (absent = empty); *new_len (may be NULL) gets
 * the new length. The expiry is kept. */
SYNAP_API int synap_append(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen,
                           uint64_t* new_len);

/* MSET: sets n keys as one log record (all or none survive a crash).
 * With SYNAP_SET_NX in flags (MSETNX): sets none and returns SYNAP_NOTSET if
 * any key exists. No other flag is allowed. Expiries of the keys are removed. */
SYNAP_API int synap_mset(synap_db* db, size_t n, const void* const* keys, const size_t* klens,
                         const void* const* vals, const size_t* vlens, unsigned flags);

/* Flags of synap_expire(): exactly one unit, and at most one condition. */
#define SYNAP_EXPIRE_SECONDS 0x01u    /* EXPIRE: `value` seconds from now */
#define SYNAP_EXPIRE_MILLIS 0x02u     /* PEXPIRE: milliseconds from now */
#define SYNAP_EXPIRE_AT_SECONDS 0x04u /* EXPIREAT: Unix time in seconds */
#define SYNAP_EXPIRE_AT_MILLIS 0x08u  /* PEXPIREAT: Unix time in milliseconds */
#define SYNAP_EXPIRE_NX 0x10u         /* only if the key has no expiry */
#define SYNAP_EXPIRE_XX 0x20u         /* only if the key has an expiry */
#define SYNAP_EXPIRE_GT 0x40u         /* only if the new expiry is later (no expiry = infinite) */
#define SYNAP_EXPIRE_LT 0x80u         /* only if the new expiry is earlier */

/* EXPIRE family: SYNAP_OK when the expiry was set (a time in the past deletes
 * the key), SYNAP_NOTFOUND when the key is absent, SYNAP_NOTSET when a
 * condition held it back. */
SYNAP_API int synap_expire(synap_db* db, const void* key, size_t klen, int64_t value, unsigned flags);

/* PERSIST: removes the expiry. SYNAP_OK if there was one, SYNAP_NOTSET if
 * not, SYNAP_NOTFOUND if the key is absent. */
SYNAP_API int synap_persist(synap_db* db, const void* key, size_t klen);

/* FLUSHALL: deletes every key. SYNAP_EPERM unless kv.allow_flushall is true. */
SYNAP_API int synap_flushall(synap_db* db);

/* ==== Non-blocking writes ====
 *
 * The *_async calls do the same as their blocking twins but return as soon as
 * the write is ordered in the log, with a ticket: the write is acknowledged
 * (durable per the fsync mode, and visible to readers) once the handle's
 * acknowledged ticket reaches it. Tickets grow with log order; ticket 0 means
 * "nothing to wait for". An event loop watches synap_event_fd() and, when it
 * is readable, drains it and calls synap_acked() to learn how far
 * acknowledgement has come; or it registers a callback with
 * synap_on_acked(). Either way no thread blocks on fsync. Results known at
 * once (NOTSET, the new integer of INCRBY) are returned at once but, like
 * the write, hold only once the ticket is acknowledged. A call that writes
 * nothing (NOTSET, DEL of absent keys) returns the ticket of the pending
 * write its answer rests on, or 0 when it rests only on acknowledged state.
 * SYNAP_SET_GET is refused (SYNAP_EINVAL) by synap_set_async: the old value
 * has nowhere to go; synap_set_ex_async takes it (GETSET, SET ... GET). MSET with n = 0 is SYNAP_EINVAL; DEL, EXISTS and MGET
 * with n = 0 succeed and do nothing. Callbacks still pending at
 * synap_close() run before it returns, with SYNAP_OK if the close flushed
 * their writes or the error that stopped it.
 */
typedef uint64_t synap_ticket;

SYNAP_API int synap_set_async(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen,
                              unsigned flags, int64_t expire, synap_ticket* ticket);
SYNAP_API int synap_del_async(synap_db* db, size_t n, const void* const* keys, const size_t* klens,
                              uint64_t* deleted, synap_ticket* ticket);
SYNAP_API int synap_incrby_async(synap_db* db, const void* key, size_t klen, int64_t delta, int64_t* result,
                                 synap_ticket* ticket);
SYNAP_API int synap_mset_async(synap_db* db, size_t n, const void* const* keys, const size_t* klens,
                               const void* const* vals, const size_t* vlens, unsigned flags, synap_ticket* ticket);
/* The twins of synap_set_ex (SYNAP_SET_GET allowed: *old is the value the
 * write replaced, malloc'd), synap_getdel (*val the value it deleted),
 * synap_append (*new_len), synap_expire and synap_persist (the same return
 * codes: SYNAP_NOTSET, SYNAP_NOTFOUND). */
SYNAP_API int synap_set_ex_async(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen,
                                 unsigned flags, int64_t expire, void** old, size_t* old_len, synap_ticket* ticket);
SYNAP_API int synap_getdel_async(synap_db* db, const void* key, size_t klen, void** val, size_t* len,
                                 synap_ticket* ticket);
SYNAP_API int synap_append_async(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen,
                                 uint64_t* new_len, synap_ticket* ticket);
SYNAP_API int synap_expire_async(synap_db* db, const void* key, size_t klen, int64_t value, unsigned flags,
                                 synap_ticket* ticket);
SYNAP_API int synap_persist_async(synap_db* db, const void* key, size_t klen, synap_ticket* ticket);

/* Sets *acked to the highest ticket acknowledged so far. Returns SYNAP_OK, or
 * the error that turned the log read-only (tickets above *acked will never
 * be acknowledged then). Never blocks. */
SYNAP_API int synap_acked(synap_db* db, synap_ticket* acked);

/* Blocks until `ticket` is acknowledged: SYNAP_OK, or the log's error.
 * SYNAP_EINVAL for a ticket this handle never handed out (it would never be
 * acknowledged). */
SYNAP_API int synap_wait(synap_db* db, synap_ticket ticket);

/* A file descriptor (eventfd, non-blocking) that becomes readable whenever
 * acknowledgement may have advanced or the log failed: read its 8 bytes,
 * then call synap_acked(). Owned by the handle (do not close it). */
SYNAP_API int synap_event_fd(synap_db* db, int* fd);

/* SYNAP_EINVAL for a ticket never handed out, as synap_wait(); when this
 * returns an error, fn is never called. A callback must not close the handle
 * (nor drop a binding's last reference to it).
 * Calls fn(user, ticket, result) once `ticket` is acknowledged (result
 * SYNAP_OK) or can never be (the log's error). It runs at once on the calling
 * thread if that is already known, else on libsynap's commit thread, where it
 * must be short and must not call into libsynap. */
typedef void (*synap_acked_fn)(void* user, synap_ticket ticket, int result);
SYNAP_API int synap_on_acked(synap_db* db, synap_ticket ticket, synap_acked_fn fn, void* user);

/* ==== Queues ====
 *
 * Durable work queues (docs/queues.md): priorities 0..9 (9 first, FIFO
 * within a priority), ack deadlines, retries, a dead-letter list per queue,
 * delays, TTL, max depth. A message is delivered at least once: one that is
 * not acked before its deadline, or before a crash, is delivered again; an
 * acked message never comes back. Publish, ack, nack and the dead-letter
 * calls return once their record is acknowledged under wal.fsync_mode, like
 * the KV writes. Consume does not wait for its delivery record, so after a
 * crash a message delivered just before it may come back with the delivery
 * count it had before that delivery (redelivered = 0): the count and the
 * flag are exact within a run and best effort across a crash, as RabbitMQ's
 * redelivered flag is a hint.
 *
 * Queue and consumer names are NUL-terminated strings of 1..256 bytes.
 * Errors common to all: SYNAP_EINVAL (NULL or bad argument), SYNAP_NOTFOUND
 * (no such queue, or no such message in the state asked), the log's errors,
 * SYNAP_ECLOSED. Thread-safe. */

/* A message header: binary key and value. */
typedef struct synap_header {
  const void* key;
  size_t key_len;
  const void* value;
  size_t value_len;
} synap_header;

/* A delivered (or dead) message. Arrays of these are returned as ONE
 * malloc'd block holding the array and every byte it points to: free it with
 * a single synap_free(). The layout is fixed for SYNAP_1.x. */
typedef struct synap_message {
  uint64_t id;                  /* unique, kept across restarts */
  const void* payload;
  size_t payload_len;
  uint32_t priority;            /* 0..9 */
  uint32_t delivery_count;      /* 1 on the first delivery */
  int redelivered;              /* 1 if delivered before */
  const synap_header* headers;
  size_t header_count;
  const char* reason;           /* dead letters: "rejected", "max_retries", "expired"; else "" */
} synap_message;

/* Creates a queue, or checks an existing one has the same settings (else
 * SYNAP_EINVAL). `settings` is NULL for the defaults, or "name=value" pairs
 * separated by spaces or commas: max_depth (1000000; a publish past it is
 * SYNAP_EBUSY "queue full"), ack_deadline_ms (30000), max_retries (5;
 * deliveries beyond it dead-letter the message), dead_letter_max (1000000),
 * default_priority (0), message_ttl_ms (0 = none). */
SYNAP_API int synap_queue_declare(synap_db* db, const char* queue, const char* settings);
/* Deletes a queue and its messages. SYNAP_NOTFOUND if absent. */
SYNAP_API int synap_queue_delete(synap_db* db, const char* queue);
/* Removes ready and delayed messages (not those in flight); *purged (may be NULL) gets how many. */
SYNAP_API int synap_queue_purge(synap_db* db, const char* queue, uint64_t* purged);
/* Calls fn once per queue name (not NUL-terminated in the callback). */
SYNAP_API int synap_queue_list(synap_db* db, synap_key_fn fn, void* user);
/* The queue's counters as JSON (ready, in_flight, delayed, dead_lettered,
 * published, delivered, acked, nacked, redelivered, expired, consumers) and
 * its settings. *json is malloc'd (synap_free). */
SYNAP_API int synap_queue_stats_json(synap_db* db, const char* queue, char** json, size_t* len);

/* Publishes one message and sets *id (may be NULL). priority: 0..9, or -1
 * for the queue's default. delay_ms: delivered only after it. max_retries:
 * this message's own limit (0..2^32-1), or -1 for the queue's. headers may be
 * NULL when header_count is 0. An unknown queue is created with the defaults
 * unless queue.auto_create=false (then SYNAP_NOTFOUND). SYNAP_EBUSY when the
 * queue is full, SYNAP_ETOOLARGE over queue.max_payload_bytes. */
SYNAP_API int synap_queue_publish(synap_db* db, const char* queue, const void* payload, size_t len, int priority,
                                  uint64_t delay_ms, int64_t max_retries, const synap_header* headers,
                                  size_t header_count, uint64_t* id);
/* Publishes n messages as one record (all or none), default priority, no
 * delay; ids (may be NULL) gets n ids. */
SYNAP_API int synap_queue_publish_batch(synap_db* db, const char* queue, size_t n, const void* const* payloads,
                                        const size_t* lens, uint64_t* ids);
/* Hands up to max (1..10000) ready messages to `consumer`, waiting up to
 * wait_ms for one if none is ready (0: return at once). prefetch (0: none)
 * caps the consumer's unacked deliveries in this queue. Each message's ack
 * deadline starts now. *msgs (one block, synap_free) and *n; *n = 0 and
 * *msgs = NULL when nothing came. */
SYNAP_API int synap_queue_consume(synap_db* db, const char* queue, const char* consumer, uint32_t max,
                                  uint32_t wait_ms, uint32_t prefetch, synap_message** msgs, size_t* n);
/* Acks n in-flight messages for good. SYNAP_NOTFOUND (nothing acked) if any
 * id is not in flight in this queue: unknown, or acked already. */
SYNAP_API int synap_queue_ack(synap_db* db, const char* queue, const uint64_t* ids, size_t n);
/* Nack: requeue != 0 puts the message back at the head of its priority (or
 * dead-letters it once its retries are spent); requeue == 0 dead-letters it
 * (SYNAP_EBUSY if the dead-letter list is full: it stays in flight). */
SYNAP_API int synap_queue_nack(synap_db* db, const char* queue, uint64_t id, int requeue);
/* Dead letters, oldest first, from offset, at most limit (1..10000): as
 * consume; reason says why each was dead-lettered. */
SYNAP_API int synap_queue_dead_letters(synap_db* db, const char* queue, uint64_t offset, uint32_t limit,
                                       synap_message** msgs, size_t* n);
/* Moves dead letter `id` (0: all) back to ready, delivery count reset; *moved may be NULL. */
SYNAP_API int synap_queue_requeue_dead(synap_db* db, const char* queue, uint64_t id, uint64_t* moved);
/* Deletes every dead letter; *purged may be NULL. */
SYNAP_API int synap_queue_purge_dead(synap_db* db, const char* queue, uint64_t* purged);

/* Non-blocking twins of publish, ack and nack for event loops (see
 * "Non-blocking writes"): they return once the record is ordered in the log,
 * with a ticket in the same sequence as synap_set_async's; the write holds
 * once synap_acked() reaches the ticket. A published message is not handed
 * to any consumer before then. Same arguments and errors as the blocking
 * calls; SYNAP_EINVAL if ticket is NULL. */
SYNAP_API int synap_queue_publish_async(synap_db* db, const char* queue, const void* payload, size_t len,
                                        int priority, uint64_t delay_ms, int64_t max_retries,
                                        const synap_header* headers, size_t header_count, uint64_t* id,
                                        synap_ticket* ticket);
SYNAP_API int synap_queue_ack_async(synap_db* db, const char* queue, const uint64_t* ids, size_t n,
                                    synap_ticket* ticket);
SYNAP_API int synap_queue_nack_async(synap_db* db, const char* queue, uint64_t id, int requeue,
                                     synap_ticket* ticket);

/* Blocking consume without a blocked thread. synap_queue_notify_ready calls
 * fn(user, result) once a message of `queue` may be deliverable: result
 * SYNAP_OK when a publish is acknowledged, or a message is requeued,
 * revived or falls due; SYNAP_NOTFOUND if the queue is deleted;
 * SYNAP_ECLOSED at synap_close(). Exactly once, unless cancelled. It runs at
 * once on the calling thread if a message is deliverable already, else on
 * the thread that made it so (libsynap's commit or background thread, or
 * another caller's); keep fn short and do not call libsynap from it. A
 * wake-up can find nothing (another consumer was faster): consume with
 * wait_ms = 0, and register again if nothing came. *handle identifies the
 * registration for synap_queue_notify_cancel. Errors: SYNAP_NOTFOUND (no
 * such queue; fn is not called), SYNAP_EBUSY (100000 registrations pending:
 * the limit queue.max_ready_waiters), SYNAP_EINVAL. Thread-safe. */
typedef void (*synap_queue_ready_fn)(void* user, int result);
SYNAP_API int synap_queue_notify_ready(synap_db* db, const char* queue, synap_queue_ready_fn fn, void* user,
                                       uint64_t* handle);
/* Cancels a registration: SYNAP_OK means fn will never run (free what
 * `user` points to); SYNAP_NOTFOUND means it ran, is running, or never
 * existed. A loop that gives up waiting (a timeout) cancels, so pending
 * registrations stay bounded. */
SYNAP_API int synap_queue_notify_cancel(synap_db* db, uint64_t handle);

/* ==== Pub/sub ====
 *
 * In-memory topics (docs/pubsub.md), nothing durable: a message reaches the
 * subscriptions open when it is published. Topics are '.'-separated levels
 * (1..1024 bytes, no empty level, no '*' or '#'). A pattern level is a
 * literal, '*' (exactly one level), a glob within one level ("eu*"), or, as
 * the whole last level, '#' (zero or more levels). Each subscription has a
 * bounded buffer. Thread-safe: a subscription may be read by one thread
 * while others publish. */
typedef struct synap_subscription synap_subscription;

#define SYNAP_OVERFLOW_DROP_OLDEST 0 /* a full buffer drops its oldest message (counted) */
#define SYNAP_OVERFLOW_CLOSE 1       /* a full buffer closes the subscription */

/* Subscribes to `pattern` with a buffer of `capacity` (1..1048576) messages.
 * On SYNAP_OK, *out is the subscription (free it with synap_unsubscribe()
 * before synap_close()). SYNAP_EINVAL for a bad pattern, capacity or policy. */
SYNAP_API int synap_subscribe(synap_db* db, const char* pattern, uint32_t capacity, int overflow,
                              synap_subscription** out);
/* Closes the subscription and frees it. NULL is allowed. */
SYNAP_API int synap_unsubscribe(synap_subscription* sub);
/* Publishes to every matching subscription; *delivered (may be NULL) gets
 * how many took it. SYNAP_EINVAL for a bad topic. Never blocks on a reader. */
SYNAP_API int synap_publish(synap_db* db, const char* topic, const void* payload, size_t len, uint64_t* delivered);
/* The next message, waiting up to wait_ms: SYNAP_OK with *msg (one malloc'd
 * block, free with synap_free; its `payload` and, in `reason`, the topic,
 * NUL-terminated; id = the subscription's sequence number from 1) or
 * SYNAP_NOTFOUND when the wait ended with none. SYNAP_ECLOSED once closed
 * (by overflow under SYNAP_OVERFLOW_CLOSE) and drained; the message says why. */
SYNAP_API int synap_subscription_next(synap_subscription* sub, uint32_t wait_ms, synap_message** msg);
/* Messages dropped by SYNAP_OVERFLOW_DROP_OLDEST so far. */
SYNAP_API int synap_subscription_dropped(synap_subscription* sub, uint64_t* dropped);

/* Delivers messages to a callback instead of synap_subscription_next():
 * libsynap starts one thread for this subscription, which calls
 * fn(user, topic, topic_len, payload, len) for each message in order, one at
 * a time (topic and payload are valid during the call only). When the
 * subscription closes (an overflow under SYNAP_OVERFLOW_CLOSE, or
 * synap_unsubscribe), fn is called one last time with topic == NULL and the
 * reason in payload. fn must not call synap_unsubscribe() on its own
 * subscription. Set it at most once (else SYNAP_EINVAL); afterwards
 * synap_subscription_next() fails with SYNAP_EINVAL. synap_unsubscribe()
 * waits for a callback in progress to return. */
typedef void (*synap_message_fn)(void* user, const char* topic, size_t topic_len, const void* payload, size_t len);
SYNAP_API int synap_subscription_set_callback(synap_subscription* sub, synap_message_fn fn, void* user);

/* For event loops polling many subscriptions: from now on libsynap writes an
 * 8-byte 1 to `fd` (an eventfd; a pipe works too) on the publishing thread
 * whenever a message is buffered or the subscription closes, and once at
 * once if it already holds messages. The loop then drains it with
 * synap_subscription_next(sub, 0, ...). fd = -1 stops it. The caller owns fd
 * and keeps it open until it sets -1 or unsubscribes; one fd may serve many
 * subscriptions. Not for callback subscriptions (SYNAP_EINVAL). */
SYNAP_API int synap_subscription_notify_fd(synap_subscription* sub, int fd);

/* ==== Offline tools ====
 *
 * Integrity tools for a data directory that no process has open: what
 * `synap-cli verify`, `repair` and `inspect` run (docs/cli.md, "Offline:
 * verify, repair, inspect", describes every field of their JSON). They read
 * the files with the engine's own readers and checks (docs/format.md),
 * never through synap_open(), and replay nothing into a live handle.
 *
 * Locking: each call takes the directory's LOCK file (flock) for its whole
 * duration, so it never reads a directory a server is writing and no server
 * can open it meanwhile. A directory held by a server or by an open
 * synap_db handle (in this process or another) answers SYNAP_ELOCKED, the
 * message naming the directory. verify and inspect share the lock (they
 * may run side by side, and beside synap_dump); repair takes it alone.
 *
 * Problems. Reports list each problem as an object
 *   {"area": "log" | "snapshot" | "room", "room": <name, rooms only>,
 *    "file": <path relative to dir>, "offset": <byte offset in it>,
 *    "what": <kind>, "detail": <the reader's message>,
 *    "recovery": <what synap_open would do>, "harmless": <bool>}
 * what: "checksum mismatch", "torn tail", "bad header", "bad batch",
 *   "bad record", "LSN gap", "missing segments", "index mismatch",
 *   "truncated", "bad snapshot", "unsupported version", "read error".
 * recovery: "trims" (a torn tail: cut at open; nothing acknowledged is
 *   lost), "skips" (a damaged snapshot: an older one, or the whole log, is
 *   used), "rebuilds" (a damaged room index: rewritten from its segment) —
 *   these three are harmless; "refuses" (the open fails: corruption that
 *   only a repair, which loses what follows it, gets past) and "accepts"
 *   (the open succeeds without noticing; reads of that data fail or go
 *   astray).
 *
 * Memory: *report_json / *json are NUL-terminated and malloc'd (free with
 * synap_free); the len pointers may be NULL. On an error that yields no
 * report, the pointer is set to NULL. Thread-safety: any thread; calls on
 * one directory exclude each other through its LOCK, as described above.
 * Limits: a segment file is read whole (at most about 1 GiB, the engine's
 * largest segment), as recovery reads it. */

/* Reads every byte an open depends on — every batch of every main-log
 * segment, every snapshot, every stream room's segments and index files —
 * checking every checksum and structural rule of the format, and changes
 * nothing (not even the LOCK file's contents). Returns SYNAP_OK when the
 * directory is clean, SYNAP_ECORRUPT when any problem was found (harmless
 * ones included: a torn tail is reported), SYNAP_EUNSUPPORTED when a file of
 * a newer format version was met; in these three cases *report_json is set:
 *   {"dir", "clean", "opens" (no problem that recovery refuses), "locked",
 *    "checked": {"files", "bytes", "snapshots", "log_segments",
 *    "log_batches", "log_records", "rooms", "room_segments", "index_files"},
 *    "snapshot_loaded", "replay_from", "harmless", "harmful",
 *    "problems": [...], "notes": [{"file", "note"}]}
 * and synap_last_error() summarises the first problem as
 * "<file>:<offset>: <what>". `progress` (may be NULL) is called on the
 * calling thread as fn(user, phase, done, total), phase "snapshot", "log",
 * "room" or "done", with bytes done and total over the whole directory, at
 * most every MiB and once at the end; it must not call into libsynap.
 * Errors without a report: SYNAP_EINVAL (dir or report_json NULL, dir not a
 * directory or not a data directory), SYNAP_ELOCKED, SYNAP_EIO (a directory
 * could not be listed), SYNAP_ENOMEM. */
SYNAP_API int synap_verify(const char* dir, synap_progress_fn progress, void* user, char** report_json,
                           size_t* len);

/* Shown the repair plan (the report below with "applied": false) before
 * anything changes, while the lock is held: return non-zero to go ahead,
 * 0 to stop. */
typedef int (*synap_repair_confirm_fn)(void* user, const char* plan_json, size_t len);

/* Makes the directory open again after damage, by the rules recovery's
 * point_in_time mode applies, with files truncated instead of zeroed:
 *  - a torn tail is cut off its segment;
 *  - corruption in a log (the main log or a room's) truncates that log at
 *    its last good batch: the damaged segment is truncated there and every
 *    later segment of that log removed (a bad header or a missing segment:
 *    from that segment on) — unless all of the main log's corruption lies in
 *    segments older than the snapshot an open loads: those segments, up to
 *    the damaged one, are removed instead, as a checkpoint would (the
 *    snapshot holds their records), and the log after them is kept;
 *  - a damaged snapshot file is removed (an open skips it anyway), as are a
 *    damaged room's index files and those of each segment truncated or
 *    removed (an open rebuilds them).
 * Before changing anything it copies every byte it will remove — whole
 * files, or the range [offset, end) of a truncated one as
 * "<file>.from-<offset>" — into backup_dir under the same relative paths,
 * writes the plan there as REPAIR.json, and fsyncs all of it. backup_dir is
 * created (mkdir -p); it must not exist or be empty, and must not lie inside
 * dir. Nothing is ever deleted without appearing in the report:
 *   {"dir", "backup_dir", "applied", "actions": [{"action": "truncate" |
 *    "remove", "file", "offset", "bytes", "backup", "reason", "lost":
 *    {"unit": "LSN" | "offset", "first", "last"} or null, "done"}],
 *    "lost": [{"log", "unit", "from", "to"}], "unrepaired": [problems],
 *    "after": {"problems", "opens"}}
 * "lost" gives, per log cut, the first LSN (or room offset) no longer in it
 * and the last one a valid batch beyond the cut held (null when none did:
 * the damaged bytes held nothing readable). "unrepaired" lists problems a
 * truncation does not fix (a newer format version, a log that starts after
 * its snapshot, a record that does not parse). "after" is a verify run once
 * the repair is done. `confirm` (may be NULL: go ahead) is called once,
 * only when there is something to do.
 * Returns SYNAP_OK (repaired, or nothing to repair: "actions" is empty and
 * nothing is created), SYNAP_NOTSET (confirm declined: nothing changed,
 * *report_json is the plan). Errors: SYNAP_EINVAL (dir, backup_dir or
 * report_json NULL; not a data directory; backup_dir inside dir),
 * SYNAP_EEXIST (backup_dir exists and is not empty), SYNAP_ELOCKED,
 * SYNAP_EIO / SYNAP_ENOSPC: while backing up, nothing has changed and no
 * report is returned; while applying, *report_json is set and each action's
 * "done" says how far it got (the backup holds everything). */
SYNAP_API int synap_repair(const char* dir, const char* backup_dir, synap_repair_confirm_fn confirm, void* user,
                           char** report_json, size_t* len);

/* What the directory holds, read-only (nothing is written; the queue and
 * consumer-group state is rebuilt in scratch memory from the newest valid
 * snapshot and the log):
 *   {"dir", "log": {"segments": [{"name", "first_lsn", "last_lsn" (null
 *    when it holds no record), "bytes" (file size), "used_bytes" (to the
 *    end of its last batch), "batches", "records", "codecs": {"none",
 *    "lz4", "zstd"} (batches each), "direct", "compacted", "readable"}],
 *    "first_lsn", "last_lsn", "next_lsn", "bytes", "problems"},
 *    "snapshots": [{"file", "start_lsn", "records", "bytes", "raw_bytes",
 *    "created_unix_ms", "valid" (null: not read; only the one an open
 *    loads is read whole), "loaded", "error" (when damaged)}],
 *    "queues": [{"name", "ready", "in_flight", "delayed", "dead"}],
 *    "rooms": [{"name", "earliest_offset", "next_offset", "bytes",
 *    "file_bytes", "segments": [as the log's, with "first_offset" and
 *    "last_offset"], "settings": {"source", "segment_bytes",
 *    "retention_bytes", "retention_ms", "codec", "fsync", "cleanup"},
 *    "problems"}] (the store's own "__meta" room is not listed),
 *    "groups": [{"group", "room", "committed"}],
 *    "topics": [{"topic", "partitions"}],
 *    "problems": <count>, "notes": [{"file", "note"}]}
 * On damage it shows what is readable and says in "notes" what it could not
 * show (run synap_verify for the details): the queue state is then the
 * state at the last good point of the log, as a repair would leave it.
 * In-flight queue messages are shown as logged; an open puts them back to
 * ready. Errors: SYNAP_EINVAL (dir or json NULL, not a data directory),
 * SYNAP_ELOCKED, SYNAP_EIO, SYNAP_ENOMEM. */
SYNAP_API int synap_inspect_json(const char* dir, char** json, size_t* len);

/* (dump: below) */

/* Dumps a data directory's log records as JSON lines, read-only, for
 * `synap-cli dump` (docs/cli.md, "Offline: dump, snapshot, compact, stats",
 * lists every field). fn(user, line, len) gets one JSON object per record
 * (per operation for a KV record of several, per message for a publish of
 * several), in log order, on the calling thread: `line` is NUL-terminated,
 * without a newline, valid during the call only; fn returns 0 to go on or
 * non-zero to stop the dump (synap_dump then returns SYNAP_OK).
 *
 * What it reads: the main log (<dir>/wal: KV and queue records, by LSN),
 * then, if asked, the stream store's own room (<dir>/streams/__meta:
 * consumer-group commits and topics, by offset); or, with room=, one room's
 * events instead. Each log is scanned as recovery scans it, in read-only
 * mode: every batch shown has passed its checksums; a torn tail is left out
 * and left in place; nothing on disk changes. Segments wholly outside the
 * range asked for are not read (synap_verify reads everything).
 *
 * filter: NULL or "" for everything of the main log, else "name=value"
 * pairs separated by spaces, tabs, newlines or ';' (not ','). Each value is
 * percent-decoded (%XX is the byte 0xXX), so a key prefix may hold any
 * byte. Names:
 *   from_lsn, to_lsn       the main log's LSN range, inclusive (LSNs start at 1)
 *   type                   kv, queue, stream-meta, comma-separated (default
 *                          kv,queue; a prefix alone means kv, a queue alone queue)
 *   prefix                 only KV operations on keys that start with it (and
 *                          flushall, which removes them too)
 *   queue                  only records of this queue
 *   room                   this room's events instead ("__meta" allowed);
 *                          takes no type, prefix, queue or LSN filter
 *   from_offset, to_offset the room's (or stream-meta's) offsets, inclusive
 *   encoding               auto (default): stored bytes as a JSON string when
 *                          valid UTF-8, else {"base64":"..."}; base64: every
 *                          byte field as a base64 string
 * A record that does not decode gets a line {"lsn" or "offset", "error",
 * "record"} and the dump goes on; it then ends with SYNAP_ECORRUPT (or
 * SYNAP_EUNSUPPORTED: a data model of a newer version) naming how many.
 *
 * Locking: it holds a shared flock on <dir>/LOCK while it reads, beside
 * synap_verify and synap_inspect_json, never beside an open handle or a
 * repair (a directory without a LOCK file is read unlocked). Returns
 * SYNAP_OK, or SYNAP_NOTFOUND (no such room). Errors: SYNAP_EINVAL (dir or
 * fn NULL; dir missing, not a directory or not a data directory: no LOCK,
 * wal/, snapshots/ or streams/; a bad filter, the message naming the pair),
 * SYNAP_ELOCKED (a server or handle holds the directory; the message names
 * it), SYNAP_ECORRUPT (damage recovery would refuse; the
 * lines before it were delivered), SYNAP_EUNSUPPORTED, SYNAP_EIO,
 * SYNAP_ENOMEM. Memory: at most one log segment (up to 1 GiB) is held at a
 * time. Thread-safety: any thread; fn may call into libsynap (a
 * synap_open of the same directory answers SYNAP_ELOCKED meanwhile). */
typedef int (*synap_dump_fn)(void* user, const char* line, size_t len);
SYNAP_API int synap_dump(const char* dir, const char* filter, synap_dump_fn fn, void* user);

/* ==== Streams ====
 *
 * Kafka-style event logs (docs/streams.md). A room (a partition) is an
 * append-only log of events at offsets 0, 1, 2, ..., kept in segment files
 * under <data>/streams/<room>/. An event has an optional key, headers, a
 * payload and a timestamp in ms (the producer's, or the append time when 0).
 * An appended event is readable once acknowledged under the room's fsync
 * mode, never before. Room names: 1..200 bytes of letters, digits and
 * . _ - : (not starting with '.', no "..", not starting with "__"); any other
 * name is SYNAP_EINVAL and never touches the file system.
 *
 * Room settings (synap_stream_create, synap_topic_create): NULL for the
 * store's defaults (the stream.* options), or "name=value" pairs separated by
 * spaces, ';' or ',':
 *   segment_bytes    64 KiB..1 GiB, multiple of 4096     stream.segment_bytes (64 MiB)
 *   retention_bytes  delete old segments past this, 0 = no limit   0
 *   retention_ms     delete segments whose events are all older, 0 = never   0
 *   codec            none | lz4 | zstd (per batch)      none
 *   fsync            always | periodic | never          always
 *   cleanup          delete | compact | compact,delete  delete
 *
 * Limits (options): stream.max_event_bytes (1 MiB, one encoded event),
 * stream.max_append_bytes (4 MiB, one append call, written atomically; a
 * room caps it, and max_event_bytes, at its segment_bytes - 8 KiB),
 * stream.max_key_bytes, stream.max_headers, stream.max_read_records,
 * stream.max_read_bytes, stream.max_wait_ms, stream.max_rooms,
 * stream.max_partitions. Over one: SYNAP_ETOOLARGE. */

/* An event to append. headers may be NULL when header_count is 0. */
typedef struct synap_event_in {
  const void* key;          /* NULL with key_len 0: no key */
  size_t key_len;
  const void* payload;
  size_t payload_len;
  const synap_header* headers;
  size_t header_count;
  int64_t timestamp_ms;     /* 0: the append time */
} synap_event_in;

/* An event read back. Pointers point into the synap_events block. */
typedef struct synap_event {
  uint64_t offset;
  int64_t timestamp_ms;
  const void* key;          /* key_len 0: no key */
  size_t key_len;
  const void* payload;
  size_t payload_len;
  const synap_header* headers;
  size_t header_count;
} synap_event;

/* The result of a read: one malloc'd block (free it with synap_free). */
typedef struct synap_events {
  const synap_event* events;  /* count events, in offset order */
  size_t count;
  uint64_t next_offset;       /* where the next read should start */
  uint64_t high_watermark;    /* one past the last readable event at the time of the read */
} synap_events;

/* Creates a room. SYNAP_EEXIST if it exists; SYNAP_EINVAL for a bad name or
 * settings; SYNAP_ETOOLARGE past stream.max_rooms. */
SYNAP_API int synap_stream_create(synap_db* db, const char* room, const char* settings);
/* Deletes a room and every event in it. SYNAP_NOTFOUND if absent. */
SYNAP_API int synap_stream_delete(synap_db* db, const char* room);
/* Calls fn once per room name, in name order (not NUL-terminated in the callback). */
SYNAP_API int synap_stream_list(synap_db* db, synap_key_fn fn, void* user);
/* *earliest: the first offset still kept (retention moves it); *next: the
 * high watermark. Either pointer may be NULL. SYNAP_NOTFOUND if absent. */
SYNAP_API int synap_stream_bounds(synap_db* db, const char* room, uint64_t* earliest, uint64_t* next);
/* The room's offsets, segments, bytes, readable_waiters (registrations of
 * synap_stream_notify_readable not yet run or cancelled), settings and last
 * recovery as JSON (*json malloc'd, synap_free). SYNAP_NOTFOUND if absent. */
SYNAP_API int synap_stream_info_json(synap_db* db, const char* room, char** json, size_t* len);

/* Appends n (>= 1) events as one batch, all or none, at consecutive offsets,
 * and returns once they are acknowledged; *first_offset (may be NULL) gets
 * the first one's offset. A missing room is created with the defaults
 * unless stream.auto_create=false (then SYNAP_NOTFOUND). Appends to many
 * rooms from many threads share group-commit submissions. */
SYNAP_API int synap_stream_append(synap_db* db, const char* room, const synap_event_in* events, size_t n,
                                  uint64_t* first_offset);
/* As synap_stream_append, without waiting: returns SYNAP_OK once the events
 * are ordered in the room's log (their offsets are fixed then), and calls
 * fn(user, result, first_offset) once they are acknowledged (result
 * SYNAP_OK) or the room's log failed (its error code) — on libsynap's
 * committer thread, or at once on the calling thread when that is already
 * known. Keep fn short; it must not block on libsynap. An error before
 * anything was appended (bad input, a limit, a missing room) is returned
 * and fn is not called. This is how an event loop appends without blocking. */
typedef void (*synap_appended_fn)(void* user, int result, uint64_t first_offset);
SYNAP_API int synap_stream_append_async(synap_db* db, const char* room, const synap_event_in* events, size_t n,
                                        synap_appended_fn fn, void* user);
/* Reads events from offset `from` on: at most max_records (0: 1000) and
 * about max_bytes (0: 1 MiB) of event bytes, at least one event when any is
 * there. When `from` is the high watermark and wait_ms > 0, waits up to
 * wait_ms for an append (woken by it; no polling). *out is one block
 * (synap_free), never NULL on SYNAP_OK (count may be 0). SYNAP_ERANGE when
 * `from` is below the earliest kept offset (the message names it; see
 * synap_stream_bounds) or beyond the high watermark; SYNAP_NOTFOUND for a
 * missing room; SYNAP_ECORRUPT when a stored batch fails its checksum. */
SYNAP_API int synap_stream_read(synap_db* db, const char* room, uint64_t from, uint32_t max_records,
                                uint64_t max_bytes, uint32_t wait_ms, synap_events** out);
/* A blocking read without a blocked thread (for event loops: XREAD BLOCK).
 * Calls fn(user, result) once an event at offset `from` of `room` is
 * readable (result SYNAP_OK), or the room is deleted or the database closes
 * first (SYNAP_ECLOSED). Exactly once, unless cancelled. It runs at once on
 * the calling thread if the event is readable already, else on the thread
 * that made it so (libsynap's committer thread, or the one creating or
 * deleting the room, or synap_close's). Keep fn short and do not call
 * libsynap from it (hand the work to your own thread or loop).
 * A room that does not exist yet is waited for: the registration holds
 * until the room is created (by an append, synap_stream_create or
 * synap_topic_create) and then an event at `from` lands in it, as Redis's
 * XREAD BLOCK waits for its key to appear. A room deleted while waited on
 * answers SYNAP_ECLOSED; register again to wait for its successor.
 * *handle identifies the registration for synap_stream_notify_cancel.
 * Limits: 100000 registrations waiting on one room, and 100000 waiting on
 * rooms that do not exist yet, all names together: past either,
 * SYNAP_EBUSY. Each holds memory until it runs or is cancelled, so a
 * caller that stops waiting (a timeout) cancels. synap_stream_info_json's
 * "readable_waiters" counts a room's.
 * Errors (fn is then not called): SYNAP_EINVAL (db, fn or handle NULL, a
 * bad room name), SYNAP_EBUSY, SYNAP_ECLOSED. Thread-safe. */
typedef void (*synap_readable_fn)(void* user, int result);
SYNAP_API int synap_stream_notify_readable(synap_db* db, const char* room, uint64_t from, synap_readable_fn fn,
                                           void* user, uint64_t* handle);
/* Cancels a registration of synap_stream_notify_readable: SYNAP_OK means fn
 * will never run (free what `user` points to); SYNAP_NOTFOUND means it ran,
 * is running, or never existed (fn owns `user` then). SYNAP_EINVAL: db NULL.
 * Thread-safe; not from inside fn. */
SYNAP_API int synap_stream_notify_cancel(synap_db* db, uint64_t handle);
/* *offset = the first offset whose event timestamp is >= ts_ms (timestamps
 * are taken as a running maximum, as Kafka's time index does), or the high
 * watermark when there is none. */
SYNAP_API int synap_stream_offset_for_time(synap_db* db, const char* room, int64_t ts_ms, uint64_t* offset);
/* Compacts the room now, whatever its cleanup policy: in sealed segments,
 * only the latest event of each key is kept (keyless events stay); offsets
 * do not change. *dropped (may be NULL) gets how many events went. */
SYNAP_API int synap_stream_compact(synap_db* db, const char* room, uint64_t* dropped);
/* Deletes a room's oldest events, those below offset `before` (Kafka's
 * DeleteRecords, Redis's XTRIM ~), whatever its cleanup policy. Approximate:
 * a segment file is the unit of deletion, so only sealed segments all of
 * whose events are below `before` go; events below it that share a segment
 * with a later one stay, the newest segment always stays, and `before` is
 * taken as at most the high watermark (never an error). Offsets do not
 * change; the earliest offset moves to the first kept segment's base, and
 * a read below it is SYNAP_ERANGE from then on. Durable on return (files
 * removed oldest first, directory synced): a reopen starts at the same
 * earliest offset, or an earlier one if a crash cut the trim short.
 * *removed (may be NULL): how far the earliest offset moved, i.e. the
 * events removed (offsets a compaction had already emptied count too);
 * *earliest (may be NULL): the earliest offset afterwards. Both are set on
 * SYNAP_OK, also when nothing was removed (*removed = 0).
 * Errors: SYNAP_NOTFOUND (no such room), SYNAP_EINVAL (db or room NULL, a
 * bad room name; "__meta", the store's own room, cannot be trimmed),
 * SYNAP_ECLOSED, SYNAP_EIO (a file could not be removed).
 * Thread-safe; reads and appends go on meanwhile (a read already inside a
 * deleted segment finishes it). Waits for a retention, trim or compaction
 * of the same room in progress, not of other rooms. */
SYNAP_API int synap_stream_trim(synap_db* db, const char* room, uint64_t before, uint64_t* removed,
                                uint64_t* earliest);

/* ==== Streams: consumer groups ====
 * A group's committed offset per room is the offset it will read next
 * (Kafka's convention). Commits are durable (fsync=always) and survive
 * restarts. Group names: 1..255 bytes, no NUL. */
/* SYNAP_NOTFOUND (no such room), SYNAP_ERANGE (offset beyond the high watermark). */
SYNAP_API int synap_group_commit(synap_db* db, const char* group, const char* room, uint64_t offset);
/* SYNAP_NOTFOUND when the group has committed nothing for this room. */
SYNAP_API int synap_group_committed(synap_db* db, const char* group, const char* room, uint64_t* offset);
/* The group's commits as JSON, one entry per room with committed,
 * next_offset and lag (next_offset - committed); every group's when group
 * is NULL. *json malloc'd (synap_free). */
SYNAP_API int synap_group_lag_json(synap_db* db, const char* group, char** json, size_t* len);
/* As synap_group_commit, without waiting: returns SYNAP_OK once the commit
 * is ordered in the store's log of commits, and calls fn(user, result,
 * offset) once it is durable (result SYNAP_OK; synap_group_committed reports
 * it from then on) or that log failed (its error code) — on libsynap's
 * committer thread, or at once on the calling thread when that is already
 * known. `offset` in the callback is the offset committed. Keep fn short; it
 * must not block on libsynap. Commits of one (group, room) take effect in
 * the order these calls returned, whichever callback runs first. An error
 * before anything was logged (SYNAP_EINVAL, SYNAP_NOTFOUND for a missing
 * room, SYNAP_ERANGE) is returned and fn is not called. This is how an event
 * loop commits without blocking. */
SYNAP_API int synap_group_commit_async(synap_db* db, const char* group, const char* room, uint64_t offset,
                                       synap_appended_fn fn, void* user);
/* Forgets the group's committed offset for the room (durably, as a commit):
 * synap_group_committed answers SYNAP_NOTFOUND for it from then on, also
 * after a restart, and synap_group_lag_json no longer lists it. The room need
 * not exist any more. SYNAP_NOTFOUND when the group has no commit for the
 * room (nothing is written); SYNAP_EINVAL for a bad group or room name. A
 * later synap_group_commit starts the group afresh. */
SYNAP_API int synap_group_delete(synap_db* db, const char* group, const char* room);
/* As synap_group_delete, without waiting, as synap_group_commit_async does
 * for a commit: SYNAP_OK once the delete is ordered, then fn(user, result, 0)
 * once it is durable or the log failed. SYNAP_NOTFOUND (no commit: nothing
 * logged) and the other errors are returned, and fn is not called. */
SYNAP_API int synap_group_delete_async(synap_db* db, const char* group, const char* room, synap_appended_fn fn,
                                       void* user);

/* ==== Streams: partitioned topics ====
 * A topic of N partitions is the rooms "<topic>-0" .. "<topic>-<N-1>", read
 * like any room. An event with a key goes to partition XXH3-64(key) mod N,
 * so one key's events stay in order; one without a key goes round-robin. */
/* partitions: 1..stream.max_partitions. SYNAP_EEXIST if the topic (or one
 * of its rooms) exists. */
SYNAP_API int synap_topic_create(synap_db* db, const char* topic, uint32_t partitions, const char* settings);
/* SYNAP_NOTFOUND if there is no such topic. */
SYNAP_API int synap_topic_partitions(synap_db* db, const char* topic, uint32_t* partitions);
/* Appends one event to the partition its key picks; *partition and *offset
 * may be NULL. SYNAP_NOTFOUND if there is no such topic. */
SYNAP_API int synap_topic_produce(synap_db* db, const char* topic, const synap_event_in* event, uint32_t* partition,
                                  uint64_t* offset);

#ifdef __cplusplus
}
#endif

#endif /* SYNAP_SYNAP_H */
