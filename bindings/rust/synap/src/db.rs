//! `Db`: an open data directory, with Redis's string commands.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::ffi::CString;
use std::fmt;
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::os::unix::io::RawFd;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;
use std::slice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use synap_sys as sys;

use crate::error::{check, Error, ErrorCode, Result};
use crate::ffi_util::{ptr_of, take_buf, take_opt_buf, SliceArray};
use crate::options::Options;
use crate::types::{ExpireCondition, Expiry, SetOptions, Ticket, Ttl};

/// An open Synap data directory (`synap_db*`).
///
/// All methods take `&self`: a `Db` may be shared by any number of threads
/// (e.g. in an `Arc`), as synap.h allows. Dropping it closes the handle
/// (flushing and fsyncing whatever is pending); [`Db::close`] does the same
/// and returns the error a final flush met.
///
/// Keys and values are arbitrary bytes: anything `AsRef<[u8]>` (`&str`,
/// `String`, `&[u8]`, `Vec<u8>`, `[u8; N]`...).
pub struct Db {
    raw: *mut sys::synap_db,
    acks: *const AckRegistry,
}

// synap.h: "a synap_db handle may be used by any number of threads at once,
// except synap_close(), which must be the last call on it". Every method but
// close takes &self; close runs in Drop / close(self), which own the Db, so
// no other call can be inside or come later. The ack registry is a Mutex.
unsafe impl Send for Db {}
unsafe impl Sync for Db {}

/// Checks a result that may also be one of `answers` (NOTFOUND, NOTSET).
/// Reads the error message at once, before any other libsynap call.
pub(crate) fn answer(what: &str, rc: c_int, answers: &[c_int]) -> Result<c_int> {
    if rc == sys::SYNAP_OK || answers.contains(&rc) {
        Ok(rc)
    } else if rc < 0 {
        Err(Error::last(rc))
    } else {
        Err(Error::unexpected(what, rc))
    }
}

fn path_cstring(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "path is not valid UTF-8"))?
        .as_bytes()
        .to_vec();
    crate::options::cstring(bytes, "path")
}

/// The pattern as (pointer to NUL-terminated copy, length without the NUL).
fn pattern_cstr(pattern: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(pattern.len() + 1);
    v.extend_from_slice(pattern);
    v.push(0);
    v
}

// ---------------------------------------------------------------------------
// Key callbacks (synap_scan, synap_keys).

pub(crate) struct KeySink<'a> {
    pub(crate) f: &'a mut (dyn FnMut(&[u8]) + 'a),
    pub(crate) panic: Option<Box<dyn Any + Send>>,
}

/// Never unwinds: the closure's panic is caught, later keys are skipped, and
/// the panic resumes once libsynap has returned.
pub(crate) unsafe extern "C" fn key_trampoline(user: *mut c_void, key: *const c_void, klen: usize) {
    if user.is_null() {
        return;
    }
    let sink = &mut *(user as *mut KeySink<'_>);
    if sink.panic.is_some() {
        return;
    }
    let k: &[u8] = if key.is_null() || klen == 0 { &[] } else { slice::from_raw_parts(key as *const u8, klen) };
    let f = &mut sink.f;
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(k))) {
        sink.panic = Some(payload);
    }
}

// ---------------------------------------------------------------------------
// Acknowledgement callbacks (synap_on_acked).

type AckFn = Box<dyn FnOnce(Result<()>) + Send>;

/// The closures registered with synap_on_acked and not yet called. Each is
/// called exactly once: by libsynap's callback, or with `Closed` when the
/// handle closes without libsynap having called it; never leaked.
struct AckRegistry {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, PendingAck>>,
}

struct PendingAck {
    f: AckFn,
    ticket: u64,
    /// The `user` pointer given to libsynap, freed by whoever removes the entry.
    ctx: *mut AckCtx,
}

// ctx is only dereferenced by the one party that removed the entry.
unsafe impl Send for PendingAck {}

/// What libsynap's `user` pointer points to.
struct AckCtx {
    registry: *const AckRegistry,
    id: u64,
}

impl AckRegistry {
    fn remove(&self, id: u64) -> Option<PendingAck> {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&id)
    }
}

fn ack_result(ticket: u64, result: c_int) -> Result<()> {
    if result == sys::SYNAP_OK {
        return Ok(());
    }
    // No call into libsynap here (synap.h forbids it in this callback).
    let code = ErrorCode::from_raw(result);
    Err(Error::new(code, format!("ticket {} will never be acknowledged: {}", ticket, code)))
}

/// Runs a user closure; a panic is caught and dropped (nowhere to go: this
/// may be libsynap's commit thread).
fn run_ack(p: PendingAck, result: Result<()>) {
    let ctx = p.ctx;
    if !ctx.is_null() {
        drop(unsafe { Box::from_raw(ctx) });
    }
    let f = p.f;
    let _ = catch_unwind(AssertUnwindSafe(move || f(result)));
}

unsafe extern "C" fn acked_trampoline(user: *mut c_void, ticket: sys::synap_ticket, result: c_int) {
    if user.is_null() {
        return;
    }
    let (registry, id) = {
        let ctx = &*(user as *const AckCtx);
        (&*ctx.registry, ctx.id)
    };
    // Whoever removes the entry owns it (and frees ctx); a second call for
    // the same registration finds nothing.
    if let Some(p) = registry.remove(id) {
        run_ack(p, ack_result(ticket, result));
    }
}

// ---------------------------------------------------------------------------

impl Db {
    /// Opens (creating if needed) the data directory `path`: locks it,
    /// recovers the newest snapshot and the log, and starts the background
    /// threads. Errors: `Locked` if another process or handle has it open,
    /// `InvalidArgument` for bad options, `Corrupt`, `Unsupported`, `Io`, ...
    ///
    /// If the options' progress callback panicked, the panic resumes here
    /// (after the handle, if any, is closed).
    pub fn open(path: impl AsRef<Path>, opts: &Options) -> Result<Db> {
        if let Some(e) = opts.deferred_error() {
            return Err(e);
        }
        let p = path_cstring(path.as_ref())?;
        let mut raw = ptr::null_mut();
        let rc = unsafe { sys::synap_open(p.as_ptr(), opts.raw(), &mut raw) };
        let result = match answer("synap_open", rc, &[]) {
            Ok(_) if raw.is_null() => Err(Error::new(ErrorCode::Internal, "synap_open returned no handle")),
            Ok(_) => Ok(Db::from_raw(raw)),
            Err(e) => Err(e),
        };
        if let Some(payload) = opts.progress_state().and_then(|p| p.take_panic()) {
            drop(result);
            resume_unwind(payload);
        }
        result
    }

    fn from_raw(raw: *mut sys::synap_db) -> Db {
        let acks = Box::new(AckRegistry { next_id: AtomicU64::new(1), pending: Mutex::new(HashMap::new()) });
        Db { raw, acks: Box::into_raw(acks) }
    }

    /// Closes the handle: writes and fsyncs everything pending, stops the
    /// background threads and releases the lock. Returns the error a final
    /// flush met (the handle is closed either way). Dropping a `Db` does the
    /// same and ignores that error.
    pub fn close(mut self) -> Result<()> {
        self.close_inner()
    }

    fn close_inner(&mut self) -> Result<()> {
        let raw = std::mem::replace(&mut self.raw, ptr::null_mut());
        if raw.is_null() {
            return Ok(());
        }
        let rc = unsafe { sys::synap_close(raw) };
        let result = check("synap_close", rc);
        // libsynap's threads are stopped: callbacks it did not call, it never will.
        let registry = unsafe { Box::from_raw(self.acks as *mut AckRegistry) };
        self.acks = ptr::null();
        let leftovers: Vec<PendingAck> = {
            let mut map = registry.pending.lock().unwrap_or_else(|p| p.into_inner());
            map.drain().map(|(_, p)| p).collect()
        };
        for p in leftovers {
            let ticket = p.ticket;
            run_ack(p, Err(Error::new(ErrorCode::Closed, format!("closed before ticket {} was acknowledged", ticket))));
        }
        result
    }

    /// The `synap_db*` handle, for calling synap-sys directly. It stays
    /// valid while this `Db` lives; do not close it.
    pub fn as_raw(&self) -> *mut sys::synap_db {
        self.raw
    }

    fn registry(&self) -> &AckRegistry {
        unsafe { &*self.acks }
    }

    // ---- Lifecycle ----

    /// Makes every write so far durable (fsync), whatever the fsync mode.
    pub fn sync(&self) -> Result<()> {
        check("synap_sync", unsafe { sys::synap_sync(self.raw) })
    }

    /// Writes a snapshot now and waits for it (if one is being written,
    /// another follows it, so it holds every write acknowledged before this
    /// call); then prunes old snapshots and log segments.
    pub fn snapshot(&self) -> Result<()> {
        check("synap_snapshot", unsafe { sys::synap_snapshot(self.raw) })
    }

    /// Statistics and the recovery report, as a JSON object.
    pub fn stats_json(&self) -> Result<String> {
        let mut json: *mut c_char = ptr::null_mut();
        let mut len = 0usize;
        let rc = unsafe { sys::synap_stats_json(self.raw, &mut json, &mut len) };
        let r = check("synap_stats_json", rc);
        let bytes = unsafe { take_buf(json as *mut c_void, len) };
        r.map(|_| String::from_utf8_lossy(&bytes).into_owned())
    }

    // ---- Reads ----

    /// GET: the value, or None if the key does not exist (or has expired).
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let k = key.as_ref();
        let mut val = ptr::null_mut();
        let mut len = 0usize;
        let rc = unsafe { sys::synap_get(self.raw, ptr_of(k), k.len(), &mut val, &mut len) };
        let r = answer("synap_get", rc, &[sys::SYNAP_NOTFOUND]);
        let buf = unsafe { take_opt_buf(val, len) };
        match r? {
            sys::SYNAP_OK => Ok(Some(buf.unwrap_or_default())),
            _ => Ok(None),
        }
    }

    /// GET into `buf`: `Some(full length)` of the value, of which
    /// `min(full, buf.len())` bytes were copied (truncated iff full >
    /// buf.len()); None if the key does not exist.
    pub fn get_into(&self, key: impl AsRef<[u8]>, buf: &mut [u8]) -> Result<Option<usize>> {
        let k = key.as_ref();
        let mut len = 0usize;
        let rc = unsafe {
            sys::synap_get_into(self.raw, ptr_of(k), k.len(), buf.as_mut_ptr() as *mut c_void, buf.len(), &mut len)
        };
        match answer("synap_get_into", rc, &[sys::SYNAP_NOTFOUND])? {
            sys::SYNAP_OK => Ok(Some(len)),
            _ => Ok(None),
        }
    }

    /// MGET: one entry per key, None where it does not exist.
    pub fn mget<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        let ka = SliceArray::new(keys.iter().map(|k| k.as_ref()));
        let n = ka.len();
        let mut vals: Vec<*mut c_void> = vec![ptr::null_mut(); n];
        let mut lens: Vec<usize> = vec![0; n];
        let rc = unsafe { sys::synap_mget(self.raw, n, ka.ptrs(), ka.lens(), vals.as_mut_ptr(), lens.as_mut_ptr()) };
        let r = check("synap_mget", rc);
        let out: Vec<Option<Vec<u8>>> =
            vals.iter().zip(lens.iter()).map(|(&v, &l)| unsafe { take_opt_buf(v, l) }).collect();
        r.map(|_| out)
    }

    /// EXISTS: how many of the keys exist (a key named twice counts twice).
    pub fn exists<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<u64> {
        let ka = SliceArray::new(keys.iter().map(|k| k.as_ref()));
        let mut count = 0u64;
        check("synap_exists", unsafe { sys::synap_exists(self.raw, ka.len(), ka.ptrs(), ka.lens(), &mut count) })?;
        Ok(count)
    }

    /// STRLEN: the length of the value, 0 if the key does not exist.
    pub fn strlen(&self, key: impl AsRef<[u8]>) -> Result<u64> {
        let k = key.as_ref();
        let mut len = 0u64;
        let rc = unsafe { sys::synap_strlen(self.raw, ptr_of(k), k.len(), &mut len) };
        match answer("synap_strlen", rc, &[sys::SYNAP_NOTFOUND])? {
            sys::SYNAP_OK => Ok(len),
            _ => Ok(0),
        }
    }

    /// PTTL: the time to live, to the millisecond.
    pub fn pttl(&self, key: impl AsRef<[u8]>) -> Result<Ttl> {
        let k = key.as_ref();
        let mut ms = 0i64;
        let rc = unsafe { sys::synap_pttl(self.raw, ptr_of(k), k.len(), &mut ms) };
        match answer("synap_pttl", rc, &[sys::SYNAP_NOTFOUND])? {
            sys::SYNAP_OK => Ok(Ttl::from_millis(ms)),
            _ => Ok(Ttl::Missing),
        }
    }

    /// TTL: the time to live rounded to whole seconds as Redis's TTL does
    /// (so `ttl(k)?.as_redis_secs()` is what Redis would answer).
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Ttl> {
        Ok(match self.pttl(key)? {
            t @ Ttl::Expires(_) => Ttl::Expires(std::time::Duration::from_secs(t.as_redis_secs() as u64)),
            other => other,
        })
    }

    /// DBSIZE: the number of keys (expired ones not yet removed included).
    pub fn dbsize(&self) -> Result<u64> {
        let mut count = 0u64;
        check("synap_dbsize", unsafe { sys::synap_dbsize(self.raw, &mut count) })?;
        Ok(count)
    }

    /// SCAN: one step from `cursor` (start at 0) over keys matching the glob
    /// `pattern` (`"*"` for all), about `count` keys (0: 10). Returns the
    /// next cursor (0 when the scan is complete) and the keys. A key that
    /// exists for the whole scan is reported at least once, possibly more.
    pub fn scan(&self, cursor: u64, pattern: impl AsRef<[u8]>, count: u64) -> Result<(u64, Vec<Vec<u8>>)> {
        let mut keys = Vec::new();
        let next = self.scan_each(cursor, pattern, count, |k| keys.push(k.to_vec()))?;
        Ok((next, keys))
    }

    /// SCAN without collecting: `f` sees each key (borrowed for the call).
    /// If `f` panics, the remaining keys of this step are skipped and the
    /// panic resumes once libsynap has returned.
    pub fn scan_each<F: FnMut(&[u8])>(
        &self,
        cursor: u64,
        pattern: impl AsRef<[u8]>,
        count: u64,
        mut f: F,
    ) -> Result<u64> {
        let pattern = pattern.as_ref();
        let pat = pattern_cstr(pattern);
        let mut sink = KeySink { f: &mut f, panic: None };
        let mut next = 0u64;
        let rc = unsafe {
            sys::synap_scan(
                self.raw,
                cursor,
                pat.as_ptr() as *const c_char,
                pattern.len(),
                count,
                Some(key_trampoline),
                &mut sink as *mut KeySink<'_> as *mut c_void,
                &mut next,
            )
        };
        let r = check("synap_scan", rc);
        if let Some(payload) = sink.panic.take() {
            resume_unwind(payload);
        }
        r.map(|_| next)
    }

    /// Every key matching `pattern`, across as many SCAN steps as it takes,
    /// as an iterator (a key may come more than once if the keyspace changes
    /// meanwhile).
    pub fn scan_iter(&self, pattern: impl AsRef<[u8]>, count: u64) -> ScanIter<'_> {
        ScanIter { db: self, pattern: pattern.as_ref().to_vec(), count, cursor: 0, buf: VecDeque::new(), done: false }
    }

    /// KEYS: every key matching `pattern`. O(keys in the database).
    pub fn keys(&self, pattern: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        self.keys_each(pattern, |k| keys.push(k.to_vec()))?;
        Ok(keys)
    }

    /// KEYS without collecting; panics of `f` as in [`Db::scan_each`].
    pub fn keys_each<F: FnMut(&[u8])>(&self, pattern: impl AsRef<[u8]>, mut f: F) -> Result<()> {
        let pattern = pattern.as_ref();
        let pat = pattern_cstr(pattern);
        let mut sink = KeySink { f: &mut f, panic: None };
        let rc = unsafe {
            sys::synap_keys(
                self.raw,
                pat.as_ptr() as *const c_char,
                pattern.len(),
                Some(key_trampoline),
                &mut sink as *mut KeySink<'_> as *mut c_void,
            )
        };
        let r = check("synap_keys", rc);
        if let Some(payload) = sink.panic.take() {
            resume_unwind(payload);
        }
        r
    }

    // ---- Writes ----

    /// SET: sets the key (removing any expiry it had).
    pub fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (k, v) = (key.as_ref(), value.as_ref());
        check("synap_set", unsafe { sys::synap_set(self.raw, ptr_of(k), k.len(), ptr_of(v), v.len()) })
    }

    /// SET with options: returns whether it was written (false when NX or
    /// XX held it back) and, with `get`, the previous value (None if there
    /// was none).
    pub fn set_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        opts: SetOptions,
    ) -> Result<(bool, Option<Vec<u8>>)> {
        let (k, v) = (key.as_ref(), value.as_ref());
        let (flags, expire) = opts.flags();
        let mut old = ptr::null_mut();
        let mut old_len = 0usize;
        let rc = unsafe {
            sys::synap_set_ex(self.raw, ptr_of(k), k.len(), ptr_of(v), v.len(), flags, expire, &mut old, &mut old_len)
        };
        let r = answer("synap_set_ex", rc, &[sys::SYNAP_NOTSET]);
        let old = unsafe { take_opt_buf(old, old_len) };
        Ok((r? == sys::SYNAP_OK, old))
    }

    /// GETDEL: the value, and the key is deleted; None if it did not exist.
    pub fn getdel(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let k = key.as_ref();
        let mut val = ptr::null_mut();
        let mut len = 0usize;
        let rc = unsafe { sys::synap_getdel(self.raw, ptr_of(k), k.len(), &mut val, &mut len) };
        let r = answer("synap_getdel", rc, &[sys::SYNAP_NOTFOUND]);
        let buf = unsafe { take_opt_buf(val, len) };
        match r? {
            sys::SYNAP_OK => Ok(Some(buf.unwrap_or_default())),
            _ => Ok(None),
        }
    }

    /// DEL: deletes the keys; returns how many existed.
    pub fn del<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<u64> {
        let ka = SliceArray::new(keys.iter().map(|k| k.as_ref()));
        let mut deleted = 0u64;
        check("synap_del", unsafe { sys::synap_del(self.raw, ka.len(), ka.ptrs(), ka.lens(), &mut deleted) })?;
        Ok(deleted)
    }

    /// INCRBY: adds `delta` to the integer value (absent = 0); the new value.
    /// `InvalidArgument` if the value is not a base-10 i64, `Range` if the
    /// result would overflow (the key is unchanged then). Keeps the expiry.
    pub fn incr_by(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        let k = key.as_ref();
        let mut result = 0i64;
        check("synap_incrby", unsafe { sys::synap_incrby(self.raw, ptr_of(k), k.len(), delta, &mut result) })?;
        Ok(result)
    }

    /// INCR: `incr_by(key, 1)`.
    pub fn incr(&self, key: impl AsRef<[u8]>) -> Result<i64> {
        self.incr_by(key, 1)
    }

    /// DECRBY: `incr_by(key, -delta)`; `Range` for `i64::MIN`, as in Redis.
    pub fn decr_by(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        match delta.checked_neg() {
            Some(d) => self.incr_by(key, d),
            None => Err(Error::new(ErrorCode::Range, "decrement would overflow")),
        }
    }

    /// DECR: `incr_by(key, -1)`.
    pub fn decr(&self, key: impl AsRef<[u8]>) -> Result<i64> {
        self.incr_by(key, -1)
    }

    /// APPEND: appends to the value (absent = empty); the new length. Keeps
    /// the expiry.
    pub fn append(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<u64> {
        let (k, v) = (key.as_ref(), value.as_ref());
        let mut new_len = 0u64;
        check("synap_append", unsafe {
            sys::synap_append(self.raw, ptr_of(k), k.len(), ptr_of(v), v.len(), &mut new_len)
        })?;
        Ok(new_len)
    }

    fn mset_flags<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)], flags: c_uint) -> Result<bool> {
        let ka = SliceArray::new(pairs.iter().map(|(k, _)| k.as_ref()));
        let va = SliceArray::new(pairs.iter().map(|(_, v)| v.as_ref()));
        let rc = unsafe { sys::synap_mset(self.raw, ka.len(), ka.ptrs(), ka.lens(), va.ptrs(), va.lens(), flags) };
        Ok(answer("synap_mset", rc, &[sys::SYNAP_NOTSET])? == sys::SYNAP_OK)
    }

    /// MSET: sets every pair as one log record (all or none survive a
    /// crash); removes their expiries. An empty list is refused
    /// (`InvalidArgument`), as Redis refuses MSET without arguments.
    pub fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<()> {
        match self.mset_flags(pairs, 0)? {
            true => Ok(()),
            false => Err(Error::unexpected("synap_mset", sys::SYNAP_NOTSET)),
        }
    }

    /// MSETNX: sets every pair only if none of the keys exists; whether it did.
    pub fn msetnx<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<bool> {
        self.mset_flags(pairs, sys::SYNAP_SET_NX)
    }

    /// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT with an optional condition:
    /// true if the expiry was set (a time in the past deletes the key), false
    /// if the key does not exist or the condition held it back.
    pub fn expire(&self, key: impl AsRef<[u8]>, expiry: Expiry, cond: ExpireCondition) -> Result<bool> {
        let k = key.as_ref();
        let (unit, value) = expiry.expire_flag();
        let rc = unsafe { sys::synap_expire(self.raw, ptr_of(k), k.len(), value, unit | cond.flag()) };
        Ok(answer("synap_expire", rc, &[sys::SYNAP_NOTFOUND, sys::SYNAP_NOTSET])? == sys::SYNAP_OK)
    }

    /// PERSIST: removes the expiry; true if there was one (false also when
    /// the key does not exist).
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let k = key.as_ref();
        let rc = unsafe { sys::synap_persist(self.raw, ptr_of(k), k.len()) };
        Ok(answer("synap_persist", rc, &[sys::SYNAP_NOTFOUND, sys::SYNAP_NOTSET])? == sys::SYNAP_OK)
    }

    /// FLUSHALL: deletes every key. `Permission` unless the database was
    /// opened with `kv.allow_flushall` ([`Options::allow_flushall`]).
    pub fn flushall(&self) -> Result<()> {
        check("synap_flushall", unsafe { sys::synap_flushall(self.raw) })
    }

    // ---- Non-blocking writes ----

    /// SET that returns once the write is ordered in the log: it holds (is
    /// durable and visible) once [`Db::acked`] reaches the ticket.
    pub fn set_async(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<Ticket> {
        self.set_async_with(key, value, SetOptions::default()).map(|(_, t)| t)
    }

    /// SET with options, non-blocking: whether it will be written (false if
    /// NX/XX held it back), and the ticket. `get` is not available here
    /// (`InvalidArgument`).
    pub fn set_async_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        opts: SetOptions,
    ) -> Result<(bool, Ticket)> {
        if opts.get {
            return Err(Error::new(ErrorCode::InvalidArgument, "set_async cannot return the old value (GET)"));
        }
        let (k, v) = (key.as_ref(), value.as_ref());
        let (flags, expire) = opts.flags();
        let mut ticket = 0;
        let rc = unsafe {
            sys::synap_set_async(self.raw, ptr_of(k), k.len(), ptr_of(v), v.len(), flags, expire, &mut ticket)
        };
        let written = answer("synap_set_async", rc, &[sys::SYNAP_NOTSET])? == sys::SYNAP_OK;
        Ok((written, Ticket(ticket)))
    }

    /// DEL, non-blocking: how many of the keys existed, and the ticket.
    pub fn del_async<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<(u64, Ticket)> {
        let ka = SliceArray::new(keys.iter().map(|k| k.as_ref()));
        let mut deleted = 0u64;
        let mut ticket = 0;
        check("synap_del_async", unsafe {
            sys::synap_del_async(self.raw, ka.len(), ka.ptrs(), ka.lens(), &mut deleted, &mut ticket)
        })?;
        Ok((deleted, Ticket(ticket)))
    }

    /// INCRBY, non-blocking: the new value (which holds once the ticket is
    /// acknowledged), and the ticket.
    pub fn incr_by_async(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<(i64, Ticket)> {
        let k = key.as_ref();
        let mut result = 0i64;
        let mut ticket = 0;
        check("synap_incrby_async", unsafe {
            sys::synap_incrby_async(self.raw, ptr_of(k), k.len(), delta, &mut result, &mut ticket)
        })?;
        Ok((result, Ticket(ticket)))
    }

    fn mset_async_flags<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        pairs: &[(K, V)],
        flags: c_uint,
    ) -> Result<(bool, Ticket)> {
        let ka = SliceArray::new(pairs.iter().map(|(k, _)| k.as_ref()));
        let va = SliceArray::new(pairs.iter().map(|(_, v)| v.as_ref()));
        let mut ticket = 0;
        let rc = unsafe {
            sys::synap_mset_async(self.raw, ka.len(), ka.ptrs(), ka.lens(), va.ptrs(), va.lens(), flags, &mut ticket)
        };
        let written = answer("synap_mset_async", rc, &[sys::SYNAP_NOTSET])? == sys::SYNAP_OK;
        Ok((written, Ticket(ticket)))
    }

    /// MSET, non-blocking.
    pub fn mset_async<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<Ticket> {
        match self.mset_async_flags(pairs, 0)? {
            (true, t) => Ok(t),
            (false, _) => Err(Error::unexpected("synap_mset_async", sys::SYNAP_NOTSET)),
        }
    }

    /// MSETNX, non-blocking: whether it will be written, and the ticket.
    pub fn msetnx_async<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<(bool, Ticket)> {
        self.mset_async_flags(pairs, sys::SYNAP_SET_NX)
    }

    /// The highest ticket acknowledged so far; the log's error once it
    /// failed (later tickets will never be acknowledged). Never blocks.
    pub fn acked(&self) -> Result<Ticket> {
        let mut acked = 0;
        check("synap_acked", unsafe { sys::synap_acked(self.raw, &mut acked) })?;
        Ok(Ticket(acked))
    }

    /// Blocks until `ticket` is acknowledged, or returns the log's error.
    pub fn wait(&self, ticket: Ticket) -> Result<()> {
        check("synap_wait", unsafe { sys::synap_wait(self.raw, ticket.0) })
    }

    /// An eventfd (non-blocking) that turns readable whenever
    /// acknowledgement may have advanced: read its 8 bytes, then call
    /// [`Db::acked`]. Owned by the handle: do not close it, and do not use it
    /// after the `Db` is gone.
    pub fn event_fd(&self) -> Result<RawFd> {
        let mut fd: c_int = -1;
        check("synap_event_fd", unsafe { sys::synap_event_fd(self.raw, &mut fd) })?;
        Ok(fd)
    }

    /// Calls `f(Ok(()))` once `ticket` is acknowledged, or `f(Err(..))` once
    /// it never can be (the log failed; or `Closed` if the handle closes
    /// first). `f` runs at once on this thread if that is already known,
    /// else on libsynap's commit thread: keep it short, and do not call this
    /// `Db` from it (nor let it own the last `Arc` of the `Db`, whose drop
    /// would close the handle from inside libsynap). Tickets never handed
    /// out are refused (`InvalidArgument`). `f` is called exactly once and then freed; if
    /// registering fails, the error is returned and `f` is dropped uncalled.
    /// A panic in `f` is caught and discarded (it never crosses into C).
    pub fn on_acked<F>(&self, ticket: Ticket, f: F) -> Result<()>
    where
        F: FnOnce(Result<()>) + Send + 'static,
    {
        let registry = self.registry();
        let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
        let ctx = Box::into_raw(Box::new(AckCtx { registry: self.acks, id }));
        {
            let mut map = registry.pending.lock().unwrap_or_else(|p| p.into_inner());
            map.insert(id, PendingAck { f: Box::new(f), ticket: ticket.0, ctx });
        }
        let rc = unsafe { sys::synap_on_acked(self.raw, ticket.0, Some(acked_trampoline), ctx as *mut c_void) };
        if rc == sys::SYNAP_OK {
            return Ok(());
        }
        let err = if rc < 0 { Error::last(rc) } else { Error::unexpected("synap_on_acked", rc) };
        if let Some(p) = registry.remove(id) {
            drop(unsafe { Box::from_raw(p.ctx) });
            drop(p.f);
        }
        Err(err)
    }

    /// How many `on_acked` closures are registered and not yet called.
    pub fn pending_callbacks(&self) -> usize {
        self.registry().pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.close_inner();
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("raw", &self.raw).finish()
    }
}

/// The keys of a whole SCAN, step by step: see [`Db::scan_iter`].
pub struct ScanIter<'a> {
    db: &'a Db,
    pattern: Vec<u8>,
    count: u64,
    cursor: u64,
    buf: VecDeque<Vec<u8>>,
    done: bool,
}

impl<'a> Iterator for ScanIter<'a> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Result<Vec<u8>>> {
        loop {
            if let Some(k) = self.buf.pop_front() {
                return Some(Ok(k));
            }
            if self.done {
                return None;
            }
            match self.db.scan(self.cursor, &self.pattern, self.count) {
                Ok((next, keys)) => {
                    self.buf.extend(keys);
                    self.cursor = next;
                    self.done = next == 0;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Db>();
    }

    #[test]
    fn ack_results() {
        assert!(ack_result(5, sys::SYNAP_OK).is_ok());
        let e = ack_result(5, sys::SYNAP_EIO).unwrap_err();
        assert_eq!(e.code, ErrorCode::Io);
        assert!(e.message.contains("ticket 5"));
    }

    #[test]
    fn patterns_are_nul_terminated_copies() {
        assert_eq!(pattern_cstr(b"a*"), b"a*\0".to_vec());
        assert_eq!(pattern_cstr(b""), vec![0u8]);
    }

    #[test]
    fn key_trampoline_catches_panics_and_skips_the_rest() {
        let mut seen = Vec::new();
        let mut f = |k: &[u8]| {
            if k == b"boom" {
                panic!("boom");
            }
            seen.push(k.to_vec());
        };
        let mut sink = KeySink { f: &mut f, panic: None };
        let user = &mut sink as *mut KeySink<'_> as *mut c_void;
        for k in [&b"a"[..], b"boom", b"c"] {
            unsafe { key_trampoline(user, k.as_ptr() as *const c_void, k.len()) };
        }
        unsafe { key_trampoline(user, ptr::null(), 0) };
        assert!(sink.panic.is_some());
        drop(sink);
        assert_eq!(seen, vec![b"a".to_vec()]);
    }
}
