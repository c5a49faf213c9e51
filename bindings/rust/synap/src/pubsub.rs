//! In-memory pub/sub (synap.h "Pub/sub", docs/pubsub.md): the pub/sub
//! methods of [`Db`], [`Subscription`] (pull: `next_message` or iterate)
//! and [`CallbackSubscription`] (push: a closure on a delivery thread).
//!
//! Nothing here is durable: a message reaches the subscriptions open when it
//! is published. Topics are '.'-separated levels ("orders.eu.created"); a
//! pattern level is a literal, `*` (exactly one level), a glob within one
//! level (`eu*`), or, as the whole last level, `#` (zero or more levels).
//!
//! ```no_run
//! use synap::{Db, Options, Overflow};
//!
//! let db = Db::open("/tmp/synap-pubsub-example", &Options::new())?;
//! let mut sub = db.subscribe("orders.*.created", 1024, Overflow::DropOldest)?;
//! assert_eq!(db.pubsub_publish("orders.eu.created", "42")?, 1); // one subscription took it
//! let m = sub.next_message(1000)?.expect("a message");             // waits up to 1 s
//! assert_eq!((m.topic.as_str(), &m.payload[..]), ("orders.eu.created", &b"42"[..]));
//!
//! let _printer = db.subscribe_callback("orders.#", 1024, Overflow::DropOldest, |d| {
//!     if let synap::Delivery::Message { topic, payload } = d {
//!         println!("{}: {} bytes", topic, payload.len());
//!     }
//! })?;
//! # Ok::<(), synap::Error>(())
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::ffi::CStr;
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::slice;
use std::sync::Mutex;

use synap_sys as sys;

use crate::db::{answer, Db};
use crate::error::{check, Error, ErrorCode, Result};
use crate::ffi_util::{ptr_of, CBuf};
use crate::options::cstring;

/// What a subscription does when its buffer is full and a message comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Overflow {
    /// Drop the oldest buffered message to make room, and count it
    /// ([`Subscription::dropped`]). `SYNAP_OVERFLOW_DROP_OLDEST`.
    #[default]
    DropOldest,
    /// Close the subscription: what is buffered can still be read, then
    /// reads fail with `ErrorCode::Closed` ("buffer overflow").
    /// `SYNAP_OVERFLOW_CLOSE`.
    Close,
}

impl Overflow {
    pub(crate) fn raw(self) -> c_int {
        match self {
            Overflow::DropOldest => sys::SYNAP_OVERFLOW_DROP_OLDEST,
            Overflow::Close => sys::SYNAP_OVERFLOW_CLOSE,
        }
    }
}

/// A message received by a [`Subscription`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PubSubMessage {
    /// The subscription's sequence number of this message, from 1. A gap
    /// does not mean a loss: [`Subscription::dropped`] counts those.
    pub seq: u64,
    /// The topic it was published to (a topic that is not UTF-8, which only
    /// a C publisher can send, has its bad bytes replaced by U+FFFD).
    pub topic: String,
    /// The payload, as published.
    pub payload: Vec<u8>,
}

/// Subscribes `pattern` (shared by both kinds of subscription).
fn subscribe_raw(
    db: &Db,
    pattern: &str,
    capacity: u32,
    overflow: Overflow,
) -> Result<NonNull<sys::synap_subscription>> {
    let p = cstring(pattern, "pattern")?;
    let mut raw = ptr::null_mut();
    let rc = unsafe { sys::synap_subscribe(db.as_raw(), p.as_ptr(), capacity, overflow.raw(), &mut raw) };
    check("synap_subscribe", rc)?;
    NonNull::new(raw).ok_or_else(|| Error::new(ErrorCode::Internal, "synap_subscribe returned no subscription"))
}

fn dropped_of(raw: NonNull<sys::synap_subscription>) -> Result<u64> {
    let mut n = 0u64;
    check("synap_subscription_dropped", unsafe { sys::synap_subscription_dropped(raw.as_ptr(), &mut n) })?;
    Ok(n)
}

/// The pub/sub methods. Topics and patterns are strings without NUL (else
/// `InvalidArgument`, as for a topic or pattern libsynap refuses).
impl Db {
    /// Subscribes to the topics matching `pattern`, with a buffer of
    /// `capacity` (1..1048576) messages and the given overflow policy.
    /// `InvalidArgument` for a bad pattern or capacity. The subscription
    /// borrows the `Db` (it must end before the handle closes) and
    /// unsubscribes when dropped.
    pub fn subscribe(&self, pattern: &str, capacity: u32, overflow: Overflow) -> Result<Subscription<'_>> {
        let raw = subscribe_raw(self, pattern, capacity, overflow)?;
        Ok(Subscription { _db: self, raw, pattern: pattern.to_string(), iter_wait_ms: 1000, done: false })
    }

    /// Subscribes to the topics matching `pattern` and has libsynap deliver
    /// each message to `f`, in order, one at a time, on a thread of the
    /// subscription's own. When the subscription closes (an overflow under
    /// [`Overflow::Close`], or unsubscribing), `f` gets one last
    /// [`Delivery::Closed`] with the reason. The closure is dropped once
    /// that thread has ended (when the subscription is dropped or
    /// [`CallbackSubscription::unsubscribe`]d), never while it may run.
    ///
    /// `f` runs on another thread, hence `Send`; it must not block for long
    /// (the subscription's buffer fills meanwhile). A panic in `f` is caught:
    /// `f` is not called again, and [`CallbackSubscription::unsubscribe`]
    /// resumes the panic.
    ///
    /// `f` must be `'static` (own what it uses, e.g. through an `Arc` or a
    /// channel): a subscription that is leaked (`mem::forget`) is never
    /// unsubscribed, and libsynap may call `f` until the handle closes.
    ///
    /// ```compile_fail
    /// # let db = synap::Db::open("/tmp/synap-doc-cb", &synap::Options::new())?;
    /// let seen = std::sync::Mutex::new(Vec::new());
    /// // error: the closure borrows `seen`, which does not live for 'static
    /// let sub = db.subscribe_callback("a", 8, synap::Overflow::DropOldest, |d| seen.lock().unwrap().push(format!("{:?}", d)))?;
    /// # Ok::<(), synap::Error>(())
    /// ```
    pub fn subscribe_callback<F>(
        &self,
        pattern: &str,
        capacity: u32,
        overflow: Overflow,
        f: F,
    ) -> Result<CallbackSubscription<'_>>
    where
        F: FnMut(Delivery<'_>) + Send + 'static,
    {
        let raw = subscribe_raw(self, pattern, capacity, overflow)?;
        let ctx: *mut CallbackCtx =
            Box::into_raw(Box::new(CallbackCtx { state: Mutex::new(CallbackState { f: Box::new(f), panic: None }) }));
        let rc =
            unsafe { sys::synap_subscription_set_callback(raw.as_ptr(), Some(message_trampoline), ctx as *mut c_void) };
        if rc != sys::SYNAP_OK {
            let err = if rc < 0 { Error::last(rc) } else { Error::unexpected("synap_subscription_set_callback", rc) };
            // No delivery thread was started: nothing can be using ctx.
            unsafe { sys::synap_unsubscribe(raw.as_ptr()) };
            drop(unsafe { Box::from_raw(ctx) });
            return Err(err);
        }
        Ok(CallbackSubscription { _db: self, raw, ctx, pattern: pattern.to_string() })
    }

    /// Publishes `payload` to `topic`: every subscription whose pattern
    /// matches it and is open now gets it. Returns how many took it. Never
    /// blocks on a slow subscriber. `InvalidArgument` for a bad topic (empty
    /// level, `*` or `#`, over 1024 bytes). (Named so beside
    /// [`Db::publish`], which publishes to a durable queue.)
    pub fn pubsub_publish(&self, topic: &str, payload: impl AsRef<[u8]>) -> Result<u64> {
        let t = cstring(topic, "topic")?;
        let p = payload.as_ref();
        let mut delivered = 0u64;
        check("synap_publish", unsafe {
            sys::synap_publish(self.as_raw(), t.as_ptr(), ptr_of(p), p.len(), &mut delivered)
        })?;
        Ok(delivered)
    }
}

// ---------------------------------------------------------------------------
// Pull subscriptions.

/// A pub/sub subscription read by [`Subscription::next_message`] or as an
/// iterator. It borrows its [`Db`] and unsubscribes when dropped.
///
/// Iterating yields `Ok(message)` until a wait of
/// [`Subscription::iter_wait_ms`] (1 s unless set) brings nothing, then
/// ends; a closed subscription (after an overflow under
/// [`Overflow::Close`]) yields its buffered messages, then one
/// `Err(Closed)`, then ends. Use `for m in &mut sub` to keep the
/// subscription for later.
///
/// The borrow keeps the handle open for as long as the subscription lives
/// (synap.h: unsubscribe before synap_close):
///
/// ```compile_fail
/// let db = synap::Db::open("/tmp/synap-doc-sub", &synap::Options::new())?;
/// let sub = db.subscribe("a.#", 8, synap::Overflow::DropOldest)?;
/// db.close()?; // error: `db` is still borrowed by `sub`
/// drop(sub);
/// # Ok::<(), synap::Error>(())
/// ```
pub struct Subscription<'db> {
    _db: &'db Db,
    raw: NonNull<sys::synap_subscription>,
    pattern: String,
    iter_wait_ms: u32,
    /// The iterator has ended with an error; it yields nothing more.
    done: bool,
}

// synap.h: subscriptions are thread-safe (read by one thread while others
// publish). The one non-thread-safe part of synap_subscription_next (its
// sequence counter) is only reached through &mut self; &self methods
// (dropped, pattern) read atomics or owned data. Drop owns the value, so no
// call is inside when synap_unsubscribe frees it.
unsafe impl Send for Subscription<'_> {}
unsafe impl Sync for Subscription<'_> {}

impl<'db> Subscription<'db> {
    /// The next message, waiting up to `wait_ms` for one (0: return at
    /// once): `Ok(None)` when the wait ended with none. `Closed` once the
    /// subscription is closed (by an overflow under [`Overflow::Close`]) and
    /// what it had buffered has been read; the message says why.
    pub fn next_message(&mut self, wait_ms: u32) -> Result<Option<PubSubMessage>> {
        let mut msg: *mut sys::synap_message = ptr::null_mut();
        let rc = unsafe { sys::synap_subscription_next(self.raw.as_ptr(), wait_ms, &mut msg) };
        let r = answer("synap_subscription_next", rc, &[sys::SYNAP_NOTFOUND]);
        let guard = CBuf(msg as *mut c_void);
        if r? != sys::SYNAP_OK {
            return Ok(None);
        }
        if guard.0.is_null() {
            return Err(Error::new(ErrorCode::Internal, "synap_subscription_next returned no message"));
        }
        // One block: the struct, the payload, the NUL-terminated topic (in `reason`).
        let m = unsafe { &*(guard.0 as *const sys::synap_message) };
        let payload = unsafe { bytes(m.payload, m.payload_len) };
        let topic = if m.reason.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(m.reason) }.to_string_lossy().into_owned()
        };
        Ok(Some(PubSubMessage { seq: m.id, topic, payload }))
    }

    /// How many messages [`Overflow::DropOldest`] has dropped so far.
    pub fn dropped(&self) -> Result<u64> {
        dropped_of(self.raw)
    }

    /// The pattern subscribed to.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// How long iterating waits for each message before it ends (ms).
    pub fn iter_wait_ms(&self) -> u32 {
        self.iter_wait_ms
    }

    /// Sets how long iterating waits for each message before it ends (ms;
    /// 0: iterate what is buffered now). Iteration may resume after it ended.
    pub fn set_iter_wait_ms(&mut self, wait_ms: u32) {
        self.iter_wait_ms = wait_ms;
    }

    /// Unsubscribes now (dropping the subscription does the same).
    pub fn unsubscribe(self) {
        drop(self);
    }

    /// The `synap_subscription*`, for calling synap-sys directly. Valid
    /// while this lives; do not unsubscribe it or set a callback on it.
    pub fn as_raw(&self) -> *mut sys::synap_subscription {
        self.raw.as_ptr()
    }
}

impl Iterator for Subscription<'_> {
    type Item = Result<PubSubMessage>;

    fn next(&mut self) -> Option<Result<PubSubMessage>> {
        if self.done {
            return None;
        }
        match self.next_message(self.iter_wait_ms) {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        // Always frees it (also when an overflow closed it already).
        unsafe { sys::synap_unsubscribe(self.raw.as_ptr()) };
    }
}

impl fmt::Debug for Subscription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").field("pattern", &self.pattern).field("raw", &self.raw).finish()
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

// ---------------------------------------------------------------------------
// Callback subscriptions.

/// What a [`Db::subscribe_callback`] closure receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery<'a> {
    /// A message (borrowed for the call only).
    Message {
        /// The topic it was published to (bytes that are not UTF-8 replaced
        /// by U+FFFD).
        topic: &'a str,
        /// The payload.
        payload: &'a [u8],
    },
    /// The subscription closed; the last call. The reason is libsynap's
    /// message, e.g. "subscription 'a.#' closed: unsubscribed" (or "...:
    /// buffer overflow: more than 1024 messages waiting").
    Closed {
        /// Why it closed.
        reason: &'a str,
    },
}

type MessageFn = dyn FnMut(Delivery<'_>) + Send;

struct CallbackState {
    f: Box<MessageFn>,
    /// The first panic of `f`; `f` is not called after one.
    panic: Option<Box<dyn Any + Send>>,
}

/// Where libsynap's `user` pointer points: owned by the CallbackSubscription,
/// freed only after synap_unsubscribe has joined the delivery thread.
struct CallbackCtx {
    state: Mutex<CallbackState>,
}

/// Runs on the subscription's delivery thread. Never unwinds into C.
unsafe extern "C" fn message_trampoline(
    user: *mut c_void,
    topic: *const c_char,
    topic_len: usize,
    payload: *const c_void,
    len: usize,
) {
    if user.is_null() {
        return;
    }
    let ctx = &*(user as *const CallbackCtx);
    let mut state = match ctx.state.lock() {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    };
    if state.panic.is_some() {
        return;
    }
    let body: &[u8] =
        if payload.is_null() || len == 0 { &[] } else { slice::from_raw_parts(payload as *const u8, len) };
    let topic_text: Option<Cow<'_, str>> = if topic.is_null() {
        None
    } else {
        let t: &[u8] = if topic_len == 0 { &[] } else { slice::from_raw_parts(topic as *const u8, topic_len) };
        Some(String::from_utf8_lossy(t))
    };
    let reason_text;
    let delivery = match &topic_text {
        Some(t) => Delivery::Message { topic: t, payload: body },
        None => {
            reason_text = String::from_utf8_lossy(body);
            Delivery::Closed { reason: &reason_text }
        }
    };
    let f = &mut state.f;
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(delivery))) {
        state.panic = Some(p);
    }
}

/// A pub/sub subscription whose messages go to a closure (see
/// [`Db::subscribe_callback`]). It borrows its [`Db`]; dropping it
/// unsubscribes, waits for a call of the closure in progress (and the final
/// [`Delivery::Closed`]) to return, then drops the closure.
pub struct CallbackSubscription<'db> {
    _db: &'db Db,
    raw: NonNull<sys::synap_subscription>,
    /// Owned; null once freed (or leaked after a failed unsubscribe).
    ctx: *mut CallbackCtx,
    pattern: String,
}

// The subscription is thread-safe (synap.h); the only &self call is
// synap_subscription_dropped (an atomic read). The closure is Send and only
// touched under ctx's Mutex, by the delivery thread, or by Drop after it
// ended.
unsafe impl Send for CallbackSubscription<'_> {}
unsafe impl Sync for CallbackSubscription<'_> {}

impl<'db> CallbackSubscription<'db> {
    /// How many messages [`Overflow::DropOldest`] has dropped so far.
    pub fn dropped(&self) -> Result<u64> {
        dropped_of(self.raw)
    }

    /// The pattern subscribed to.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the closure has panicked (it is not called again then).
    pub fn panicked(&self) -> bool {
        // ctx is only freed by close(), which takes &mut self.
        let state = match unsafe { &*self.ctx }.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.panic.is_some()
    }

    /// Unsubscribes, waits for the delivery thread to end (after the
    /// closure's final [`Delivery::Closed`]) and drops the closure. If the
    /// closure panicked, the panic resumes here.
    pub fn unsubscribe(mut self) -> Result<()> {
        let (result, panic) = self.close();
        if let Some(p) = panic {
            resume_unwind(p);
        }
        result
    }

    /// Unsubscribes and frees the closure; returns libsynap's result and
    /// the closure's panic. Does nothing the second time (unsubscribe, then Drop).
    fn close(&mut self) -> (Result<()>, Option<Box<dyn Any + Send>>) {
        let ctx = std::mem::replace(&mut self.ctx, ptr::null_mut());
        if ctx.is_null() {
            return (Ok(()), None);
        }
        let rc = unsafe { sys::synap_unsubscribe(self.raw.as_ptr()) };
        if rc != sys::SYNAP_OK {
            // Not freed, and its thread may still run the closure (e.g. this
            // is that thread): leak the closure rather than free it under it.
            let err = if rc < 0 { Error::last(rc) } else { Error::unexpected("synap_unsubscribe", rc) };
            return (Err(err), None);
        }
        // synap_unsubscribe joined the delivery thread: nothing uses ctx now.
        let ctx = unsafe { Box::from_raw(ctx) };
        let state = match ctx.state.into_inner() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let panic = state.panic;
        // Dropping the user's closure may itself panic: keep that out of Drop.
        let f = state.f;
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(f)));
        (Ok(()), panic.or(dropped.err()))
    }
}

impl Drop for CallbackSubscription<'_> {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl fmt::Debug for CallbackSubscription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSubscription").field("pattern", &self.pattern).field("raw", &self.raw).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn overflow_raw_values() {
        assert_eq!(Overflow::default(), Overflow::DropOldest);
        assert_eq!(Overflow::DropOldest.raw(), sys::SYNAP_OVERFLOW_DROP_OLDEST);
        assert_eq!(Overflow::Close.raw(), sys::SYNAP_OVERFLOW_CLOSE);
    }

    #[test]
    fn subscriptions_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Subscription<'static>>();
        send_sync::<CallbackSubscription<'static>>();
    }

    #[test]
    fn trampoline_delivers_then_closes_and_survives_panics() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (s, c) = (seen.clone(), calls.clone());
        let f = move |d: Delivery<'_>| {
            c.fetch_add(1, Ordering::SeqCst);
            match d {
                Delivery::Message { topic, payload } => {
                    if payload == b"boom" {
                        panic!("boom");
                    }
                    s.lock().unwrap().push(format!("{}={}", topic, String::from_utf8_lossy(payload)));
                }
                Delivery::Closed { reason } => s.lock().unwrap().push(format!("closed: {}", reason)),
            }
        };
        let ctx =
            Box::into_raw(Box::new(CallbackCtx { state: Mutex::new(CallbackState { f: Box::new(f), panic: None }) }));
        let user = ctx as *mut c_void;
        let call = |topic: Option<&[u8]>, payload: &[u8]| unsafe {
            let (tp, tl) = topic.map_or((ptr::null(), 0), |t| (t.as_ptr() as *const c_char, t.len()));
            message_trampoline(user, tp, tl, payload.as_ptr() as *const c_void, payload.len());
        };
        call(Some(b"a.b"), b"1");
        call(Some(b"a.\xff"), b"");
        call(None, b"unsubscribed");
        assert_eq!(*seen.lock().unwrap(), vec!["a.b=1", "a.\u{fffd}=", "closed: unsubscribed"]);
        call(Some(b"a.b"), b"boom");
        call(Some(b"a.b"), b"after");
        assert_eq!(calls.load(Ordering::SeqCst), 4, "not called after its panic");
        unsafe { message_trampoline(ptr::null_mut(), ptr::null(), 0, ptr::null(), 0) };
        let ctx = unsafe { Box::from_raw(ctx) };
        assert!(ctx.state.lock().unwrap_or_else(|p| p.into_inner()).panic.is_some());
    }
}
