//! Errors: libsynap's negative result codes, with the message it gave.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use synap_sys as sys;

/// What went wrong: one variant per negative `SYNAP_E*` code of synap.h, and
/// `NotFound` for the calls (the queue and stream ones) where
/// `SYNAP_NOTFOUND` is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `SYNAP_EINVAL`: invalid argument (bad name, bad option value, not an integer, ...).
    InvalidArgument,
    /// `SYNAP_ETOOLARGE`: a named limit was exceeded (key, value, batch size, ...).
    TooLarge,
    /// `SYNAP_ECORRUPT`: stored data failed validation.
    Corrupt,
    /// `SYNAP_EIO`: the operating system reported an I/O error.
    Io,
    /// `SYNAP_ENOSPC`: no space left on the device.
    NoSpace,
    /// `SYNAP_EREADONLY`: the handle turned read-only after a failed write or fsync.
    ReadOnly,
    /// `SYNAP_ELOCKED`: another process (or handle) holds the data directory.
    Locked,
    /// `SYNAP_ECLOSED`: the handle is closing or closed.
    Closed,
    /// `SYNAP_EBUSY`: a bounded resource is full; retry later.
    Busy,
    /// `SYNAP_EUNSUPPORTED`: not possible here (e.g. a newer on-disk format).
    Unsupported,
    /// `SYNAP_ENOMEM`: out of memory, or over kv.maxmemory under noeviction.
    NoMemory,
    /// `SYNAP_EINTERNAL`: a bug in libsynap.
    Internal,
    /// `SYNAP_ERANGE`: a number out of range (an increment would overflow).
    Range,
    /// `SYNAP_EPERM`: not permitted by the configuration (e.g. FLUSHALL).
    Permission,
    /// `SYNAP_EEXIST`: a create found it already there (a stream room, a
    /// partitioned topic).
    AlreadyExists,
    /// `SYNAP_NOTFOUND` where it means an error: the queue, or the message
    /// in the state asked (in flight, dead-lettered), the stream room or the
    /// partitioned topic does not exist. (The KV reads answer a missing key
    /// with `None` instead.)
    NotFound,
    /// A code this crate does not know (a newer libsynap), or an unexpected
    /// non-negative answer of a call.
    Unknown(i32),
}

impl ErrorCode {
    /// The code for a raw result; `Unknown` for anything not a known error.
    pub fn from_raw(code: c_int) -> ErrorCode {
        match code {
            sys::SYNAP_EINVAL => ErrorCode::InvalidArgument,
            sys::SYNAP_ETOOLARGE => ErrorCode::TooLarge,
            sys::SYNAP_ECORRUPT => ErrorCode::Corrupt,
            sys::SYNAP_EIO => ErrorCode::Io,
            sys::SYNAP_ENOSPC => ErrorCode::NoSpace,
            sys::SYNAP_EREADONLY => ErrorCode::ReadOnly,
            sys::SYNAP_ELOCKED => ErrorCode::Locked,
            sys::SYNAP_ECLOSED => ErrorCode::Closed,
            sys::SYNAP_EBUSY => ErrorCode::Busy,
            sys::SYNAP_EUNSUPPORTED => ErrorCode::Unsupported,
            sys::SYNAP_ENOMEM => ErrorCode::NoMemory,
            sys::SYNAP_EINTERNAL => ErrorCode::Internal,
            sys::SYNAP_ERANGE => ErrorCode::Range,
            sys::SYNAP_EPERM => ErrorCode::Permission,
            sys::SYNAP_EEXIST => ErrorCode::AlreadyExists,
            sys::SYNAP_NOTFOUND => ErrorCode::NotFound,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The raw `SYNAP_E*` value.
    pub fn raw(self) -> c_int {
        match self {
            ErrorCode::InvalidArgument => sys::SYNAP_EINVAL,
            ErrorCode::TooLarge => sys::SYNAP_ETOOLARGE,
            ErrorCode::Corrupt => sys::SYNAP_ECORRUPT,
            ErrorCode::Io => sys::SYNAP_EIO,
            ErrorCode::NoSpace => sys::SYNAP_ENOSPC,
            ErrorCode::ReadOnly => sys::SYNAP_EREADONLY,
            ErrorCode::Locked => sys::SYNAP_ELOCKED,
            ErrorCode::Closed => sys::SYNAP_ECLOSED,
            ErrorCode::Busy => sys::SYNAP_EBUSY,
            ErrorCode::Unsupported => sys::SYNAP_EUNSUPPORTED,
            ErrorCode::NoMemory => sys::SYNAP_ENOMEM,
            ErrorCode::Internal => sys::SYNAP_EINTERNAL,
            ErrorCode::Range => sys::SYNAP_ERANGE,
            ErrorCode::Permission => sys::SYNAP_EPERM,
            ErrorCode::AlreadyExists => sys::SYNAP_EEXIST,
            ErrorCode::NotFound => sys::SYNAP_NOTFOUND,
            ErrorCode::Unknown(c) => c,
        }
    }

    /// A short English description, from libsynap's `synap_strerror()`.
    pub fn description(self) -> String {
        // synap_strerror: static, never NULL, thread-safe.
        let p = unsafe { sys::synap_strerror(self.raw()) };
        if p.is_null() {
            return format!("result code {}", self.raw());
        }
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// The C name of the code, e.g. "SYNAP_EINVAL" (never calls libsynap).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "SYNAP_EINVAL",
            ErrorCode::TooLarge => "SYNAP_ETOOLARGE",
            ErrorCode::Corrupt => "SYNAP_ECORRUPT",
            ErrorCode::Io => "SYNAP_EIO",
            ErrorCode::NoSpace => "SYNAP_ENOSPC",
            ErrorCode::ReadOnly => "SYNAP_EREADONLY",
            ErrorCode::Locked => "SYNAP_ELOCKED",
            ErrorCode::Closed => "SYNAP_ECLOSED",
            ErrorCode::Busy => "SYNAP_EBUSY",
            ErrorCode::Unsupported => "SYNAP_EUNSUPPORTED",
            ErrorCode::NoMemory => "SYNAP_ENOMEM",
            ErrorCode::Internal => "SYNAP_EINTERNAL",
            ErrorCode::Range => "SYNAP_ERANGE",
            ErrorCode::Permission => "SYNAP_EPERM",
            ErrorCode::AlreadyExists => "SYNAP_EEXIST",
            ErrorCode::NotFound => "SYNAP_NOTFOUND",
            ErrorCode::Unknown(_) => "unknown result code",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(c) => write!(f, "result code {}", c),
            other => f.write_str(other.name()),
        }
    }
}

/// An error from libsynap (or from this crate's checks before calling it):
/// the code, and the message `synap_last_error()` gave for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of error.
    pub code: ErrorCode,
    /// libsynap's message for it (or this crate's), e.g. naming the limit
    /// or the option that was exceeded.
    pub message: String,
}

/// `std::result::Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of this code with this message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// The error of a call that just returned `rc` (< 0) on this thread. Must
    /// run before any other call into libsynap on this thread (including
    /// synap_free), which may clear the message.
    pub(crate) fn last(rc: c_int) -> Error {
        let p = unsafe { sys::synap_last_error() };
        let mut message =
            if p.is_null() { String::new() } else { unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned() };
        let code = ErrorCode::from_raw(rc);
        if message.is_empty() {
            message = code.description();
        }
        Error { code, message }
    }

    /// A call answered with a result its contract does not allow.
    pub(crate) fn unexpected(what: &str, rc: c_int) -> Error {
        Error::new(ErrorCode::Unknown(rc), format!("{}: unexpected result code {}", what, rc))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        let kind = match e.code {
            ErrorCode::InvalidArgument | ErrorCode::Range => std::io::ErrorKind::InvalidInput,
            ErrorCode::Corrupt => std::io::ErrorKind::InvalidData,
            ErrorCode::Busy => std::io::ErrorKind::WouldBlock,
            ErrorCode::Permission => std::io::ErrorKind::PermissionDenied,
            ErrorCode::NoMemory => std::io::ErrorKind::OutOfMemory,
            ErrorCode::Unsupported => std::io::ErrorKind::Unsupported,
            ErrorCode::NotFound => std::io::ErrorKind::NotFound,
            ErrorCode::AlreadyExists => std::io::ErrorKind::AlreadyExists,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// Ok(()) for SYNAP_OK; the error for a negative code; anything else is a
/// contract violation reported as `Unknown`.
pub(crate) fn check(what: &str, rc: c_int) -> Result<()> {
    match rc {
        sys::SYNAP_OK => Ok(()),
        rc if rc < 0 => Err(Error::last(rc)),
        rc => Err(Error::unexpected(what, rc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for raw in -15..=-1 {
            let code = ErrorCode::from_raw(raw);
            assert!(!matches!(code, ErrorCode::Unknown(_)), "{}", raw);
            assert_eq!(code.raw(), raw);
            assert!(code.name().starts_with("SYNAP_E"));
        }
        assert_eq!(ErrorCode::from_raw(-99), ErrorCode::Unknown(-99));
        assert_eq!(ErrorCode::Unknown(-99).raw(), -99);
        assert_eq!(ErrorCode::from_raw(sys::SYNAP_ERANGE), ErrorCode::Range);
        assert_eq!(ErrorCode::from_raw(sys::SYNAP_EEXIST), ErrorCode::AlreadyExists);
        assert_eq!(ErrorCode::AlreadyExists.name(), "SYNAP_EEXIST");
        assert_eq!(ErrorCode::from_raw(sys::SYNAP_NOTFOUND), ErrorCode::NotFound);
        assert_eq!(ErrorCode::NotFound.raw(), sys::SYNAP_NOTFOUND);
        assert_eq!(ErrorCode::NotFound.name(), "SYNAP_NOTFOUND");
        assert_eq!(ErrorCode::from_raw(sys::SYNAP_NOTSET), ErrorCode::Unknown(sys::SYNAP_NOTSET));
    }

    #[test]
    fn display_has_message_and_code() {
        let e = Error::new(ErrorCode::Range, "increment or decrement would overflow");
        assert_eq!(e.to_string(), "increment or decrement would overflow (SYNAP_ERANGE)");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
        assert!(!ErrorCode::InvalidArgument.description().is_empty());
        assert_ne!(ErrorCode::AlreadyExists.description(), "unknown result code");
        let io: std::io::Error = Error::new(ErrorCode::AlreadyExists, "room r already exists").into();
        assert_eq!(io.kind(), std::io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn check_maps_results() {
        assert!(check("x", 0).is_ok());
        assert_eq!(check("x", 7).unwrap_err().code, ErrorCode::Unknown(7));
        assert_eq!(check("x", sys::SYNAP_ELOCKED).unwrap_err().code, ErrorCode::Locked);
    }
}
