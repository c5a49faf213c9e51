//! In-memory pub/sub against the real libsynap: wildcard delivery, overflow
//! policies, iteration, and callback subscriptions.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::open_fast;
use synap::{Delivery, ErrorCode, Overflow, PubSubMessage};

fn topics(msgs: &[PubSubMessage]) -> Vec<String> {
    msgs.iter().map(|m| m.topic.clone()).collect()
}

/// Everything buffered now (waits 0).
fn drain(sub: &mut synap::Subscription<'_>) -> Vec<PubSubMessage> {
    let mut out = Vec::new();
    while let Some(m) = sub.next_message(0).unwrap() {
        out.push(m);
    }
    out
}

#[test]
fn wildcard_delivery() {
    let (_dir, db) = open_fast("ps-wild");
    let mut star = db.subscribe("orders.*.created", 64, Overflow::DropOldest).unwrap();
    let mut hash = db.subscribe("orders.#", 64, Overflow::DropOldest).unwrap();
    let mut glob = db.subscribe("orders.e*", 64, Overflow::DropOldest).unwrap();
    let mut all = db.subscribe("#", 64, Overflow::DropOldest).unwrap();
    assert_eq!(star.pattern(), "orders.*.created");

    // (topic, how many of the four subscriptions match it)
    let published = [
        ("orders.eu.created", 3),      // star, hash, all (the glob is one level only)
        ("orders.eu.west.created", 2), // hash, all
        ("orders", 2),                 // hash (# is zero or more levels), all
        ("orders.eu", 3),              // hash, glob, all
        ("orders.us", 2),              // hash, all
        ("order", 1),                  // all
        ("other.eu.created", 1),       // all
    ];
    for (topic, matching) in &published {
        let n = db.pubsub_publish(topic, format!("payload of {}", topic)).unwrap();
        assert_eq!(n, *matching, "delivered count of {}", topic);
    }
    assert_eq!(db.pubsub_publish("orders.eu.created", "").unwrap(), 3);
    assert_eq!(db.pubsub_publish("orders.eu.west.created", "").unwrap(), 2);
    assert_eq!(db.pubsub_publish("orders.eu", b"\x00\xff").unwrap(), 3);

    let s = drain(&mut star);
    assert_eq!(topics(&s), vec!["orders.eu.created", "orders.eu.created"]);
    assert_eq!(s[0].payload, b"payload of orders.eu.created".to_vec());
    assert_eq!(s[1].payload, Vec::<u8>::new());
    assert_eq!((s[0].seq, s[1].seq), (1, 2), "sequence numbers from 1");

    let h = drain(&mut hash);
    assert_eq!(
        topics(&h),
        vec![
            "orders.eu.created",
            "orders.eu.west.created",
            "orders",
            "orders.eu",
            "orders.us",
            "orders.eu.created",
            "orders.eu.west.created",
            "orders.eu",
        ]
    );
    assert_eq!(h.last().unwrap().payload, b"\x00\xff".to_vec());
    assert_eq!(topics(&drain(&mut glob)), vec!["orders.eu", "orders.eu"]);
    assert_eq!(drain(&mut all).len(), published.len() + 3);
    assert_eq!(star.dropped().unwrap(), 0);

    // Unsubscribed: no longer counted.
    drop(star);
    glob.unsubscribe();
    assert_eq!(db.pubsub_publish("orders.eu.created", "x").unwrap(), 2);
}

#[test]
fn bad_topics_patterns_and_capacities() {
    let (_dir, db) = open_fast("ps-bad");
    for topic in ["", "a..b", "a.*", "a.#", ".a", "a\0b"] {
        let e = db.pubsub_publish(topic, "x").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument, "topic {:?}", topic);
        assert!(!e.message.is_empty());
    }
    for pattern in ["", "a.#.b", "a.b#", "a..b", "x\0"] {
        let e = db.subscribe(pattern, 8, Overflow::DropOldest).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument, "pattern {:?}", pattern);
    }
    assert_eq!(db.subscribe("a", 0, Overflow::DropOldest).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.subscribe("a", 2_000_000, Overflow::Close).unwrap_err().code, ErrorCode::InvalidArgument);
    let e = db.subscribe_callback("a..b", 8, Overflow::DropOldest, |_| {}).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    // Nobody listening is fine.
    assert_eq!(db.pubsub_publish("nobody.here", "x").unwrap(), 0);
}

#[test]
fn overflow_policies() {
    let (_dir, db) = open_fast("ps-overflow");
    let mut drop_oldest = db.subscribe("t", 3, Overflow::DropOldest).unwrap();
    let mut close = db.subscribe("t", 3, Overflow::Close).unwrap();
    for i in 0..5 {
        db.pubsub_publish("t", i.to_string()).unwrap();
    }
    // Drop oldest: the newest 3 stay, 2 counted.
    let kept: Vec<Vec<u8>> = drain(&mut drop_oldest).into_iter().map(|m| m.payload).collect();
    assert_eq!(kept, vec![b"2".to_vec(), b"3".to_vec(), b"4".to_vec()]);
    assert_eq!(drop_oldest.dropped().unwrap(), 2);

    // Close: what was buffered is read, then Closed (iteration: once, then the end).
    assert_eq!(db.pubsub_publish("t", "late").unwrap(), 1, "only drop_oldest takes it");
    close.set_iter_wait_ms(0);
    let got: Vec<_> = (&mut close).collect();
    assert_eq!(got.len(), 4, "{:?}", got);
    let payloads: Vec<Vec<u8>> = got[..3].iter().map(|r| r.as_ref().unwrap().payload.clone()).collect();
    assert_eq!(payloads, vec![b"0".to_vec(), b"1".to_vec(), b"2".to_vec()]);
    let e = got[3].as_ref().unwrap_err();
    assert_eq!(e.code, ErrorCode::Closed);
    assert!(e.message.contains("overflow"), "{}", e.message);
    assert!(close.next().is_none(), "fused after the error");
    assert_eq!(close.next_message(0).unwrap_err().code, ErrorCode::Closed);
}

#[test]
fn iteration_waits_then_ends() {
    let (_dir, db) = open_fast("ps-iter");
    let mut sub = db.subscribe("jobs.*", 16, Overflow::DropOldest).unwrap();
    assert_eq!(sub.iter_wait_ms(), 1000);
    sub.set_iter_wait_ms(50);
    assert!(sub.next().is_none(), "nothing published: ends after the wait");
    db.pubsub_publish("jobs.a", "1").unwrap();
    db.pubsub_publish("jobs.b", "2").unwrap();
    let got: Vec<PubSubMessage> = (&mut sub).map(|r| r.unwrap()).collect();
    assert_eq!(topics(&got), vec!["jobs.a", "jobs.b"]);
    // It may resume after it ended.
    db.pubsub_publish("jobs.c", "3").unwrap();
    assert_eq!(sub.next().unwrap().unwrap().topic, "jobs.c");
}

#[test]
fn blocking_next_is_woken_by_a_publish() {
    let (_dir, db) = open_fast("ps-block");
    let db = Arc::new(db);
    let mut sub = db.subscribe("wake.#", 16, Overflow::DropOldest).unwrap();
    thread::scope(|s| {
        let publisher = db.clone();
        s.spawn(move || {
            thread::sleep(Duration::from_millis(100));
            publisher.pubsub_publish("wake.up", "now").unwrap();
        });
        let start = Instant::now();
        let m = sub.next_message(10_000).unwrap().expect("woken with a message");
        assert_eq!(m.topic, "wake.up");
        assert!(start.elapsed() < Duration::from_secs(5), "woken, not timed out: {:?}", start.elapsed());
    });
    // A subscription may move to another thread.
    let handle = thread::scope(|s| s.spawn(move || sub.next_message(0).unwrap()).join().unwrap());
    assert!(handle.is_none());
}

#[test]
fn callback_subscription_delivers_in_order_then_closes() {
    let (_dir, db) = open_fast("ps-callback");
    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let sub = db
        .subscribe_callback("sensors.*.temp", 1024, Overflow::DropOldest, move |d| {
            let line = match d {
                Delivery::Message { topic, payload } => format!("{}={}", topic, String::from_utf8_lossy(payload)),
                Delivery::Closed { reason } => format!("closed: {}", reason),
            };
            tx.lock().unwrap().send(line).unwrap();
        })
        .unwrap();
    assert_eq!(sub.pattern(), "sensors.*.temp");
    for i in 0..100 {
        assert_eq!(db.pubsub_publish("sensors.a.temp", i.to_string()).unwrap(), 1);
    }
    assert_eq!(db.pubsub_publish("sensors.a.humidity", "x").unwrap(), 0);
    assert_eq!(db.pubsub_publish("sensors.b.temp", "last").unwrap(), 1);
    let mut got = Vec::new();
    for _ in 0..101 {
        got.push(rx.recv_timeout(Duration::from_secs(10)).expect("delivered"));
    }
    let want: Vec<String> =
        (0..100).map(|i| format!("sensors.a.temp={}", i)).chain(Some("sensors.b.temp=last".to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(sub.dropped().unwrap(), 0);
    assert!(!sub.panicked());

    // Unsubscribing waits for the thread: the closing call has happened by
    // then, and the closure (with its Sender) is dropped, ending the channel.
    sub.unsubscribe().unwrap();
    let last = rx.try_recv().unwrap();
    assert!(last.starts_with("closed: ") && last.ends_with("unsubscribed"), "{}", last);
    assert_eq!(rx.try_recv().unwrap_err(), mpsc::TryRecvError::Disconnected);
}

/// Counts live closures: the closure owns one, dropped with it.
struct Alive(Arc<AtomicUsize>);
impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn callback_closure_outlives_the_delivery_thread() {
    let (_dir, db) = open_fast("ps-callback-life");
    let live = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    for round in 0..20 {
        live.fetch_add(1, Ordering::SeqCst);
        let alive = Alive(live.clone());
        let c = calls.clone();
        let sub = db
            .subscribe_callback("busy", 4096, Overflow::DropOldest, move |d| {
                let _keep = &alive; // the closure owns it
                if let Delivery::Message { .. } = d {
                    thread::sleep(Duration::from_micros(200)); // slow: unsubscribe meets a call in progress
                }
                c.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        for i in 0..50 {
            db.pubsub_publish("busy", format!("{}-{}", round, i)).unwrap();
        }
        drop(sub); // unsubscribes (joining the thread), then frees the closure
        assert_eq!(live.load(Ordering::SeqCst), 0, "closure freed once its thread ended");
    }
    // Every message buffered before the unsubscribe was delivered, plus the closing call.
    assert_eq!(calls.load(Ordering::SeqCst), 20 * 51);
}

#[test]
fn callback_overflow_close_and_panics() {
    let (_dir, db) = open_fast("ps-callback-close");
    // A closure that blocks until released, so the buffer (capacity 2) overflows.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let sub = db
        .subscribe_callback("c", 2, Overflow::Close, move |d| {
            match d {
                Delivery::Message { payload, .. } => {
                    let _ = release_rx.lock().unwrap().recv_timeout(Duration::from_secs(10));
                    tx.lock().unwrap().send(String::from_utf8_lossy(payload).into_owned()).unwrap();
                }
                Delivery::Closed { reason } => tx.lock().unwrap().send(format!("closed: {}", reason)).unwrap(),
            };
        })
        .unwrap();
    db.pubsub_publish("c", "first").unwrap();
    // Wait until the thread holds "first" (the buffer is empty again).
    thread::sleep(Duration::from_millis(100));
    let mut taken = 0;
    for i in 0..10 {
        taken += db.pubsub_publish("c", format!("m{}", i)).unwrap();
    }
    assert!(taken <= 3, "a closed subscription takes nothing: {}", taken);
    for _ in 0..20 {
        let _ = release_tx.send(());
    }
    let mut got = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        let closed = line.starts_with("closed");
        got.push(line);
        if closed {
            break;
        }
    }
    assert_eq!(got.first().map(String::as_str), Some("first"));
    assert!(got.last().unwrap().contains("overflow"), "{:?}", got);
    sub.unsubscribe().unwrap();

    // A panicking closure: caught, not called again, resumed by unsubscribe.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let sub = db
        .subscribe_callback("p", 16, Overflow::DropOldest, move |d| {
            c.fetch_add(1, Ordering::SeqCst);
            if let Delivery::Message { .. } = d {
                panic!("callback panic");
            }
        })
        .unwrap();
    db.pubsub_publish("p", "1").unwrap();
    db.pubsub_publish("p", "2").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sub.panicked() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert!(sub.panicked());
    let resumed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sub.unsubscribe()));
    let payload = resumed.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"callback panic"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "not called after its panic (not even to close)");

    // Dropping (rather than unsubscribe) discards the panic.
    let sub = db.subscribe_callback("p", 16, Overflow::DropOldest, |_| panic!("dropped quietly")).unwrap();
    db.pubsub_publish("p", "x").unwrap();
    drop(sub);
}
