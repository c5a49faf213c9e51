//! `Options`: the knobs of `Db::open`, by name (synap.h's table) or typed.

use std::any::Any;
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::Mutex;

use synap_sys as sys;

use crate::error::{check, Error, ErrorCode, Result};
use crate::types::Fsync;

type ProgressFn = dyn FnMut(&str, u64, u64) + Send;

/// The recovery-progress callback, where libsynap's `user` pointer points.
pub(crate) struct Progress {
    f: Mutex<Box<ProgressFn>>,
    /// The first panic of `f`, re-raised by `Db::open` once synap_open returns.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Progress {
    pub(crate) fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        match self.panic.lock() {
            Ok(mut p) => p.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

/// Called by libsynap inside synap_open(). Never unwinds: a panic of the
/// closure is caught, the closure is not called again, and `Db::open`
/// resumes the panic after synap_open() has returned.
unsafe extern "C" fn progress_trampoline(user: *mut c_void, phase: *const c_char, done: u64, total: u64) {
    if user.is_null() {
        return;
    }
    let progress = &*(user as *const Progress);
    let phase = if phase.is_null() { Default::default() } else { CStr::from_ptr(phase).to_string_lossy() };
    let result = catch_unwind(AssertUnwindSafe(|| {
        // A panic poisons the lock: later calls find it poisoned and skip.
        if let Ok(mut f) = progress.f.lock() {
            (*f)(&phase, done, total);
        }
    }));
    if let Err(payload) = result {
        if let Ok(mut slot) = progress.panic.lock() {
            if slot.is_none() {
                *slot = Some(payload);
            }
        }
    }
}

/// Options for [`Db::open`](crate::Db::open): every knob of synap.h's table
/// by name ([`Options::set`]), plus typed helpers for the common ones.
///
/// ```no_run
/// use synap::{Db, Fsync, Options};
/// let opts = Options::new().set("wal.segment_bytes", "16M")?.fsync(Fsync::Always);
/// let db = Db::open("/tmp/synap-doc", &opts)?;
/// # Ok::<(), synap::Error>(())
/// ```
///
/// An `Options` may be moved to another thread but not shared (synap.h: the
/// object is not thread-safe); a `Db` copies what it needs at open, so one
/// `Options` may open several databases.
pub struct Options {
    raw: NonNull<sys::synap_options>,
    progress: Option<Box<Progress>>,
    /// The first error of an infallible-looking typed setter, reported by open.
    deferred: Option<Error>,
}

// The C object is only ever touched through &self/&mut self, never shared
// across threads (Options is not Sync); the progress closure is Send.
unsafe impl Send for Options {}

impl Options {
    /// Every option at its default.
    ///
    /// # Panics
    /// If libsynap cannot allocate the object (out of memory).
    pub fn new() -> Options {
        let mut raw = ptr::null_mut();
        let rc = unsafe { sys::synap_options_create(&mut raw) };
        if rc != sys::SYNAP_OK || raw.is_null() {
            panic!("synap_options_create failed: {}", Error::last(rc));
        }
        Options { raw: NonNull::new(raw).unwrap(), progress: None, deferred: None }
    }

    /// Sets option `name` from a string, e.g. `("wal.fsync_mode", "always")`
    /// or `("kv.maxmemory", "512M")`. `ErrorCode::InvalidArgument` for an
    /// unknown name or a bad value; the message names the option and its
    /// limits.
    pub fn set(mut self, name: &str, value: &str) -> Result<Options> {
        self.set_option(name, value)?;
        Ok(self)
    }

    /// [`Options::set`] in place.
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<()> {
        let n = cstring(name, "option name")?;
        let v = cstring(value, "option value")?;
        let rc = unsafe { sys::synap_options_set(self.raw.as_ptr(), n.as_ptr(), v.as_ptr()) };
        check("synap_options_set", rc)
    }

    /// The current value of option `name`, as a string.
    pub fn get(&self, name: &str) -> Result<String> {
        let n = cstring(name, "option name")?;
        let mut buf: Vec<u8> = vec![0; 64];
        loop {
            let mut len = 0usize;
            let rc = unsafe {
                sys::synap_options_get(
                    self.raw.as_ptr(),
                    n.as_ptr(),
                    buf.as_mut_ptr() as *mut c_char,
                    buf.len(),
                    &mut len,
                )
            };
            check("synap_options_get", rc)?;
            if len < buf.len() {
                buf.truncate(len);
                return Ok(String::from_utf8_lossy(&buf).into_owned());
            }
            buf = vec![0; len + 1];
        }
    }

    /// `wal.fsync_mode`.
    pub fn fsync(mut self, mode: Fsync) -> Options {
        let rc = unsafe { sys::synap_options_set_fsync_mode(self.raw.as_ptr(), mode.raw()) };
        self.defer(check("synap_options_set_fsync_mode", rc));
        self
    }

    /// `wal.fsync_interval_ms` (periodic's period), 1..60000 ms.
    pub fn fsync_interval_ms(self, ms: u32) -> Result<Options> {
        self.set("wal.fsync_interval_ms", &ms.to_string())
    }

    /// `kv.maxmemory` in bytes (0: no limit).
    pub fn maxmemory(self, bytes: u64) -> Result<Options> {
        let rc = unsafe { sys::synap_options_set_maxmemory(self.raw.as_ptr(), bytes) };
        check("synap_options_set_maxmemory", rc)?;
        Ok(self)
    }

    /// `snapshot.interval_secs` (0: never by time).
    pub fn snapshot_interval(self, secs: u32) -> Result<Options> {
        let rc = unsafe { sys::synap_options_set_snapshot_interval(self.raw.as_ptr(), secs) };
        check("synap_options_set_snapshot_interval", rc)?;
        Ok(self)
    }

    /// `kv.allow_flushall` (false by default: `Db::flushall` is refused).
    pub fn allow_flushall(mut self, allow: bool) -> Options {
        let r = self.set_option("kv.allow_flushall", if allow { "true" } else { "false" });
        self.defer(r);
        self
    }

    /// Recovery progress: `f(phase, done, total)` is called during
    /// `Db::open` while it loads a snapshot (`"snapshot"`, bytes) and replays
    /// the log (`"log"`, bytes). If `f` panics it is not called again, and
    /// the panic resumes in `Db::open` once libsynap has returned.
    pub fn progress<F>(mut self, f: F) -> Options
    where
        F: FnMut(&str, u64, u64) + Send + 'static,
    {
        let boxed = Box::new(Progress { f: Mutex::new(Box::new(f)), panic: Mutex::new(None) });
        let user = &*boxed as *const Progress as *mut c_void;
        let rc = unsafe { sys::synap_options_set_progress(self.raw.as_ptr(), Some(progress_trampoline), user) };
        // Keep the box even on error: libsynap's object may hold the pointer.
        self.progress = Some(boxed);
        self.defer(check("synap_options_set_progress", rc));
        self
    }

    fn defer(&mut self, r: Result<()>) {
        if let Err(e) = r {
            if self.deferred.is_none() {
                self.deferred = Some(e);
            }
        }
    }

    pub(crate) fn raw(&self) -> *const sys::synap_options {
        self.raw.as_ptr()
    }

    pub(crate) fn deferred_error(&self) -> Option<Error> {
        self.deferred.clone()
    }

    pub(crate) fn progress_state(&self) -> Option<&Progress> {
        self.progress.as_deref()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::new()
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        unsafe { sys::synap_options_destroy(self.raw.as_ptr()) };
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("fsync_mode", &self.get("wal.fsync_mode").unwrap_or_default())
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

/// A NUL-terminated copy, or InvalidArgument if `s` holds a NUL.
pub(crate) fn cstring(s: impl Into<Vec<u8>>, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{} contains a NUL byte", what)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cstring_refuses_nul() {
        assert_eq!(cstring("a\0b", "x").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(cstring("ab", "x").unwrap().as_bytes(), b"ab");
    }
}
