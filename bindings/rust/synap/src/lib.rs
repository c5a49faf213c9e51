//! Safe Rust API of libsynap, the Synap storage engine: an embedded,
//! durable key-value store with Redis's string commands over a group-commit
//! write-ahead log.
//!
//! ```no_run
//! use synap::{Db, Expiry, Fsync, Options, SetOptions};
//!
//! let db = Db::open("/tmp/synap-example", &Options::new().fsync(Fsync::Always))?;
//! db.set("greeting", "hello")?;                    // returns once fsynced
//! assert_eq!(db.get("greeting")?, Some(b"hello".to_vec()));
//! let (written, _) = db.set_with("lock", "me", SetOptions {
//!     nx: true,
//!     expiry: Some(Expiry::Px(30_000)),
//!     ..Default::default()
//! })?;
//! assert!(written);
//! assert_eq!(db.incr_by("hits", 5)?, 5);
//! # Ok::<(), synap::Error>(())
//! ```
//!
//! Durable work queues (priorities, ack deadlines, retries, dead letters)
//! are methods of [`Db`] too: [`Db::queue_declare`], [`Db::publish`],
//! [`Db::consume`], [`Db::ack`], [`Db::nack`], [`Db::dead_letters`], ...
//!
//! In-memory pub/sub with wildcard patterns: [`Db::subscribe`] (a
//! [`Subscription`] to read or iterate), [`Db::subscribe_callback`] (a
//! closure on a delivery thread), [`Db::pubsub_publish`].
//!
//! Streams, Kafka-style event logs ("rooms") with consumer groups and
//! partitioned topics: [`Db::stream_create`], [`Db::stream_append`],
//! [`Db::stream_read`], [`Db::stream_iter`], [`Db::group_commit`],
//! [`Db::topic_produce`], ...
//!
//! synap.h (capi/include/synap/synap.h) is the manual of the C ABI below;
//! its rules hold here: reads see every acknowledged write, writes return
//! once acknowledged under the fsync mode, a failed log turns the handle
//! read-only until it is reopened. Every buffer libsynap returns is copied
//! and freed with `synap_free`; no Rust panic ever unwinds into C.

#![warn(missing_docs)]

mod db;
mod error;
mod ffi_util;
mod options;
mod pubsub;
mod queue;
mod stream;
mod topic;
mod types;

pub use db::{Db, ScanIter};
pub use error::{Error, ErrorCode, Result};
pub use options::Options;
pub use pubsub::{CallbackSubscription, Delivery, Overflow, PubSubMessage, Subscription};
pub use queue::{Message, Publish, QueueSettings};
pub use stream::{Bounds, Cleanup, Codec, Event, ReadBatch, RecordRead, RoomSettings, StreamIter, Trimmed};
pub use types::{ExpireCondition, Expiry, Fsync, SetOptions, Ticket, Ttl};

/// The raw C ABI (synap-sys), for what the safe API does not cover.
pub use synap_sys as sys;

use std::ffi::CStr;

/// The version of the libsynap actually loaded, e.g. "0.3.0".
pub fn version() -> &'static str {
    // Static, never NULL, never freed.
    let p = unsafe { sys::synap_version_string() };
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// The loaded library's MAJOR * 10000 + MINOR * 100 + PATCH.
pub fn version_number() -> i32 {
    unsafe { sys::synap_version_number() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_headers() {
        assert_eq!(super::version(), super::sys::SYNAP_VERSION_STRING);
        assert_eq!(super::version_number(), super::sys::SYNAP_VERSION_NUMBER);
    }
}
