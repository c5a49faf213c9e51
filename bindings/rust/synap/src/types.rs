//! Plain values of the API: expiries, SET's options, TTLs and tickets.

use std::os::raw::c_uint;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use synap_sys as sys;

/// When a key expires, in the four ways Redis's SET and EXPIRE take.
///
/// Relative times (`Ex`, `Px`) must be > 0 for SET (else
/// `ErrorCode::InvalidArgument`, as in Redis); for `expire`, a time in the
/// past deletes the key. Absolute times are Unix times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// In this many seconds (SET EX, EXPIRE).
    Ex(i64),
    /// In this many milliseconds (SET PX, PEXPIRE).
    Px(i64),
    /// At this Unix time in seconds (SET EXAT, EXPIREAT).
    ExAt(i64),
    /// At this Unix time in milliseconds (SET PXAT, PEXPIREAT).
    PxAt(i64),
}

impl Expiry {
    /// `Px` of a duration (saturating at i64::MAX milliseconds).
    pub fn after(d: Duration) -> Expiry {
        Expiry::Px(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// `PxAt` of a point in time (times before 1970 are 0, i.e. the past).
    pub fn at(t: SystemTime) -> Expiry {
        let ms = t.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        Expiry::PxAt(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// (SYNAP_SET_* unit flag, value)
    pub(crate) fn set_flag(self) -> (c_uint, i64) {
        match self {
            Expiry::Ex(v) => (sys::SYNAP_SET_EX, v),
            Expiry::Px(v) => (sys::SYNAP_SET_PX, v),
            Expiry::ExAt(v) => (sys::SYNAP_SET_EXAT, v),
            Expiry::PxAt(v) => (sys::SYNAP_SET_PXAT, v),
        }
    }

    /// (SYNAP_EXPIRE_* unit flag, value)
    pub(crate) fn expire_flag(self) -> (c_uint, i64) {
        match self {
            Expiry::Ex(v) => (sys::SYNAP_EXPIRE_SECONDS, v),
            Expiry::Px(v) => (sys::SYNAP_EXPIRE_MILLIS, v),
            Expiry::ExAt(v) => (sys::SYNAP_EXPIRE_AT_SECONDS, v),
            Expiry::PxAt(v) => (sys::SYNAP_EXPIRE_AT_MILLIS, v),
        }
    }
}

/// The condition of EXPIRE (Redis 7's NX / XX / GT / LT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExpireCondition {
    /// Always set the expiry.
    #[default]
    Always,
    /// Only if the key has no expiry.
    Nx,
    /// Only if the key has an expiry.
    Xx,
    /// Only if the new expiry is later (no expiry counts as infinite).
    Gt,
    /// Only if the new expiry is earlier.
    Lt,
}

impl ExpireCondition {
    pub(crate) fn flag(self) -> c_uint {
        match self {
            ExpireCondition::Always => 0,
            ExpireCondition::Nx => sys::SYNAP_EXPIRE_NX,
            ExpireCondition::Xx => sys::SYNAP_EXPIRE_XX,
            ExpireCondition::Gt => sys::SYNAP_EXPIRE_GT,
            ExpireCondition::Lt => sys::SYNAP_EXPIRE_LT,
        }
    }
}

/// The options of SET, as in Redis. `Default` is a plain SET (which removes
/// any expiry the key had). Contradictions (NX with XX, KEEPTTL with an
/// expiry) are refused by libsynap with `ErrorCode::InvalidArgument`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SetOptions {
    /// Only set if the key does not exist.
    pub nx: bool,
    /// Only set if the key exists.
    pub xx: bool,
    /// Keep the key's current expiry.
    pub keepttl: bool,
    /// Return the previous value (GETSET).
    pub get: bool,
    /// Give the key this expiry.
    pub expiry: Option<Expiry>,
}

impl SetOptions {
    /// The SYNAP_SET_* flags and the expiry value for synap_set_ex().
    pub(crate) fn flags(&self) -> (c_uint, i64) {
        let mut flags = 0;
        let mut expire = 0;
        if let Some(e) = self.expiry {
            let (f, v) = e.set_flag();
            flags |= f;
            expire = v;
        }
        if self.nx {
            flags |= sys::SYNAP_SET_NX;
        }
        if self.xx {
            flags |= sys::SYNAP_SET_XX;
        }
        if self.keepttl {
            flags |= sys::SYNAP_SET_KEEPTTL;
        }
        if self.get {
            flags |= sys::SYNAP_SET_GET;
        }
        (flags, expire)
    }
}

/// A key's time to live (PTTL / TTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// The key does not exist (Redis: -2).
    Missing,
    /// The key exists and has no expiry (Redis: -1).
    Persistent,
    /// The key expires after this long.
    Expires(Duration),
}

impl Ttl {
    /// Redis's PTTL answer: -2, -1, or the milliseconds left.
    pub fn as_redis_millis(&self) -> i64 {
        match self {
            Ttl::Missing => -2,
            Ttl::Persistent => -1,
            Ttl::Expires(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Redis's TTL answer: -2, -1, or the seconds left, rounded to nearest.
    pub fn as_redis_secs(&self) -> i64 {
        match self {
            Ttl::Expires(_) => {
                let ms = self.as_redis_millis();
                ms / 1000 + i64::from(ms % 1000 >= 500)
            }
            other => other.as_redis_millis(),
        }
    }

    /// The time left, if the key expires.
    pub fn remaining(&self) -> Option<Duration> {
        match self {
            Ttl::Expires(d) => Some(*d),
            _ => None,
        }
    }

    /// From synap_pttl's millisecond answer for an existing key.
    pub(crate) fn from_millis(ms: i64) -> Ttl {
        if ms < 0 {
            Ttl::Persistent
        } else {
            Ttl::Expires(Duration::from_millis(ms as u64))
        }
    }
}

/// A position in log order of an asynchronous write: it is acknowledged
/// (durable under the fsync mode, and visible) once `Db::acked()` reaches it.
/// `Ticket::NONE` (0) means nothing to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ticket(pub u64);

impl Ticket {
    /// Ticket 0: nothing to wait for.
    pub const NONE: Ticket = Ticket(0);
}

/// The fsync mode of the log (`wal.fsync_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fsync {
    /// A write returns after a completed fsync covers it.
    Always,
    /// fsync every `wal.fsync_interval_ms`.
    Periodic,
    /// Never fsync (the OS writes back when it likes; close still syncs).
    Never,
}

impl Fsync {
    pub(crate) fn raw(self) -> std::os::raw::c_int {
        match self {
            Fsync::Always => sys::SYNAP_FSYNC_ALWAYS,
            Fsync::Periodic => sys::SYNAP_FSYNC_PERIODIC,
            Fsync::Never => sys::SYNAP_FSYNC_NEVER,
        }
    }

    /// The option value: "always", "periodic" or "never".
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Periodic => "periodic",
            Fsync::Never => "never",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_options_flags() {
        assert_eq!(SetOptions::default().flags(), (0, 0));
        let o = SetOptions { nx: true, get: true, expiry: Some(Expiry::Px(1500)), ..Default::default() };
        assert_eq!(o.flags(), (sys::SYNAP_SET_NX | sys::SYNAP_SET_GET | sys::SYNAP_SET_PX, 1500));
        let o = SetOptions { xx: true, keepttl: true, ..Default::default() };
        assert_eq!(o.flags(), (sys::SYNAP_SET_XX | sys::SYNAP_SET_KEEPTTL, 0));
        assert_eq!(Expiry::ExAt(7).set_flag(), (sys::SYNAP_SET_EXAT, 7));
        assert_eq!(Expiry::PxAt(7).expire_flag(), (sys::SYNAP_EXPIRE_AT_MILLIS, 7));
        assert_eq!(Expiry::Ex(7).expire_flag(), (sys::SYNAP_EXPIRE_SECONDS, 7));
        assert_eq!(ExpireCondition::default().flag(), 0);
        assert_eq!(ExpireCondition::Gt.flag(), sys::SYNAP_EXPIRE_GT);
    }

    #[test]
    fn expiry_helpers() {
        assert_eq!(Expiry::after(Duration::from_secs(2)), Expiry::Px(2000));
        assert_eq!(Expiry::at(UNIX_EPOCH + Duration::from_millis(1234)), Expiry::PxAt(1234));
        assert_eq!(Expiry::at(UNIX_EPOCH - Duration::from_secs(1)), Expiry::PxAt(0));
    }

    #[test]
    fn ttl_redis_conventions() {
        assert_eq!(Ttl::Missing.as_redis_millis(), -2);
        assert_eq!(Ttl::Missing.as_redis_secs(), -2);
        assert_eq!(Ttl::Persistent.as_redis_secs(), -1);
        assert_eq!(Ttl::from_millis(-1), Ttl::Persistent);
        let t = Ttl::from_millis(2499);
        assert_eq!(t.as_redis_millis(), 2499);
        assert_eq!(t.as_redis_secs(), 2);
        assert_eq!(Ttl::from_millis(2500).as_redis_secs(), 3);
        assert_eq!(t.remaining(), Some(Duration::from_millis(2499)));
        assert_eq!(Ttl::Missing.remaining(), None);
        assert!(Ticket(3) > Ticket::NONE);
    }
}
