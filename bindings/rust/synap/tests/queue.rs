//! Durable work queues against the real libsynap.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{fast_options, open_fast, TempDir};
use synap::{Db, ErrorCode, Message, Publish, QueueSettings};

fn ids(msgs: &[Message]) -> Vec<u64> {
    msgs.iter().map(|m| m.id).collect()
}

fn payloads(msgs: &[Message]) -> Vec<Vec<u8>> {
    msgs.iter().map(|m| m.payload.clone()).collect()
}

/// Consumes until `want` messages came or 5 s passed.
fn consume_n(db: &Db, queue: &str, want: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        out.extend(db.consume(queue, "c", (want - out.len()) as u32, 100, 0).unwrap());
    }
    out
}

#[test]
fn priority_order_then_fifo() {
    let (_dir, db) = open_fast("q-priority");
    db.queue_declare("q", &QueueSettings::default()).unwrap();
    let a = db.publish("q", "a0", Publish::default()).unwrap();
    let b = db.publish("q", "b5", Publish::default().with_priority(5)).unwrap();
    let c = db.publish("q", "c9", Publish::default().with_priority(9)).unwrap();
    let d = db.publish("q", "d5", Publish::default().with_priority(5)).unwrap();
    let e = db.publish("q", "e0", Publish { priority: Some(0), ..Default::default() }).unwrap();
    assert!(a < b && b < c && c < d && d < e, "ids increase: {:?}", [a, b, c, d, e]);

    let msgs = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&msgs), vec![c, b, d, a, e]);
    assert_eq!(msgs.iter().map(|m| m.priority).collect::<Vec<_>>(), vec![9, 5, 5, 0, 0]);
    assert_eq!(payloads(&msgs)[0], b"c9".to_vec());
    for m in &msgs {
        assert_eq!(m.delivery_count, 1);
        assert!(!m.redelivered);
        assert!(m.headers.is_empty());
        assert_eq!(m.reason, "");
    }
    // Nothing ready: empty at once.
    assert!(db.consume("q", "w", 10, 0, 0).unwrap().is_empty());

    // max caps the batch; default_priority applies to publishes without one.
    db.queue_declare("d", &QueueSettings { default_priority: Some(7), ..Default::default() }).unwrap();
    db.publish("d", "low", Publish::default().with_priority(1)).unwrap();
    db.publish("d", "default", Publish::default()).unwrap();
    db.publish("d", "high", Publish::default().with_priority(8)).unwrap();
    let first = db.consume("d", "w", 2, 0, 0).unwrap();
    assert_eq!(payloads(&first), vec![b"high".to_vec(), b"default".to_vec()]);
    assert_eq!(first[1].priority, 7);
    assert_eq!(payloads(&db.consume("d", "w", 2, 0, 0).unwrap()), vec![b"low".to_vec()]);
}

#[test]
fn ack_and_double_ack() {
    let (_dir, db) = open_fast("q-ack");
    let ids_pub = db.publish_batch("q", &["one", "two", "three"]).unwrap();
    assert_eq!(ids_pub.len(), 3);
    assert!(ids_pub[0] < ids_pub[1] && ids_pub[1] < ids_pub[2]);
    let msgs = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&msgs), ids_pub);
    assert_eq!(payloads(&msgs), vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);

    db.ack("q", &[ids_pub[0]]).unwrap();
    let e = db.ack("q", &[ids_pub[0]]).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("'q'"), "{}", e.message);
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);

    // All or none: one bad id acks nothing.
    assert_eq!(db.ack("q", &[ids_pub[1], 999_999]).unwrap_err().code, ErrorCode::NotFound);
    db.ack("q", &[ids_pub[1], ids_pub[2]]).unwrap();
    db.ack("q", &[]).unwrap(); // nothing to ack
    let stats = db.queue_stats("q").unwrap();
    let compact: String = stats.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(compact.contains("\"acked\":3"), "{}", stats);
    assert!(compact.contains("\"in_flight\":0"), "{}", stats);
    assert!(compact.contains("\"published\":3"), "{}", stats);
    // Acked messages never come back, nor can they be nacked.
    assert_eq!(db.nack("q", ids_pub[0], true).unwrap_err().code, ErrorCode::NotFound);
    assert!(db.consume("q", "w", 10, 0, 0).unwrap().is_empty());
    // A queue that does not exist.
    assert_eq!(db.ack("nope", &[ids_pub[0]]).unwrap_err().code, ErrorCode::NotFound);
}

#[test]
fn nack_requeue_goes_to_the_head_and_is_redelivered() {
    let (_dir, db) = open_fast("q-nack");
    let a = db.publish("q", "a", Publish::default()).unwrap();
    let b = db.publish("q", "b", Publish::default()).unwrap();
    let first = db.consume("q", "w", 1, 0, 0).unwrap();
    assert_eq!(ids(&first), vec![a]);
    db.nack("q", a, true).unwrap();
    let again = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&again), vec![a, b], "a requeued at the head, before b");
    assert!(again[0].redelivered);
    assert_eq!(again[0].delivery_count, 2);
    assert!(!again[1].redelivered);
    assert_eq!(again[1].delivery_count, 1);
    db.ack("q", &[a, b]).unwrap();
}

#[test]
fn nack_without_requeue_then_dead_letter_calls() {
    let (_dir, db) = open_fast("q-dead");
    db.queue_declare("q", &QueueSettings::default()).unwrap();
    let a = db.publish("q", "a", Publish::default().header("h", "1")).unwrap();
    let b = db.publish("q", "b", Publish::default().with_priority(3)).unwrap();
    let msgs = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&msgs), vec![b, a]);
    db.nack("q", a, false).unwrap();
    db.nack("q", b, false).unwrap();
    assert_eq!(db.nack("q", a, false).unwrap_err().code, ErrorCode::NotFound);

    let dead = db.dead_letters("q", 0, 100).unwrap();
    assert_eq!(ids(&dead), vec![a, b], "oldest first");
    assert!(dead.iter().all(|m| m.reason == "rejected"), "{:?}", dead);
    assert_eq!(dead[0].payload, b"a".to_vec());
    assert_eq!(dead[0].header("h"), Some(&b"1"[..]));
    assert_eq!(dead[1].priority, 3);
    assert_eq!(ids(&db.dead_letters("q", 1, 100).unwrap()), vec![b]);
    assert_eq!(ids(&db.dead_letters("q", 0, 1).unwrap()), vec![a]);
    assert!(db.dead_letters("q", 2, 100).unwrap().is_empty());
    assert!(db.consume("q", "w", 10, 0, 0).unwrap().is_empty());

    // Requeue one: back to ready, delivery count reset.
    assert_eq!(db.requeue_dead("q", Some(a)).unwrap(), 1);
    assert_eq!(db.requeue_dead("q", Some(a)).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(db.requeue_dead("q", Some(0)).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(ids(&db.dead_letters("q", 0, 100).unwrap()), vec![b]);
    let back = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&back), vec![a]);
    assert_eq!(back[0].delivery_count, 1);
    assert_eq!(back[0].reason, "");
    db.nack("q", a, false).unwrap();

    // Requeue all.
    assert_eq!(db.requeue_dead("q", None).unwrap(), 2);
    assert_eq!(db.requeue_dead("q", None).unwrap(), 0);
    let all = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&all), vec![b, a]);
    for m in &all {
        db.nack("q", m.id, false).unwrap();
    }

    // Purge them.
    assert_eq!(db.purge_dead("q").unwrap(), 2);
    assert_eq!(db.purge_dead("q").unwrap(), 0);
    assert!(db.dead_letters("q", 0, 100).unwrap().is_empty());
    assert!(db.consume("q", "w", 10, 0, 0).unwrap().is_empty());
    assert_eq!(db.purge_dead("nope").unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(db.dead_letters("nope", 0, 10).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(db.requeue_dead("nope", None).unwrap_err().code, ErrorCode::NotFound);
}

#[test]
fn retries_spent_dead_letter_as_max_retries() {
    let (_dir, db) = open_fast("q-retries");
    db.queue_declare("q", &QueueSettings { max_retries: Some(1), ..Default::default() }).unwrap();
    let id = db.publish("q", "x", Publish::default()).unwrap();
    let mut deliveries = 0;
    for _ in 0..5 {
        let m = db.consume("q", "w", 1, 0, 0).unwrap();
        if m.is_empty() {
            break;
        }
        deliveries += 1;
        db.nack("q", id, true).unwrap();
    }
    assert!((1..=3).contains(&deliveries), "{}", deliveries);
    let dead = db.dead_letters("q", 0, 10).unwrap();
    assert_eq!(ids(&dead), vec![id]);
    assert_eq!(dead[0].reason, "max_retries");
}

#[test]
fn max_depth_is_busy_and_settings_are_checked() {
    let (_dir, db) = open_fast("q-depth");
    let s = QueueSettings { max_depth: Some(2), ack_deadline_ms: Some(60_000), ..Default::default() };
    db.queue_declare("q", &s).unwrap();
    db.queue_declare("q", &s).unwrap(); // same settings: fine
    let e = db.queue_declare("q", &QueueSettings { max_depth: Some(3), ..s }).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    db.publish("q", "1", Publish::default()).unwrap();
    db.publish("q", "2", Publish::default()).unwrap();
    let e = db.publish("q", "3", Publish::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy, "{}", e);
    assert_eq!(db.publish_batch("q", &["3", "4"]).unwrap_err().code, ErrorCode::Busy);
    let compact: String = db.queue_stats("q").unwrap().chars().filter(|c| !c.is_whitespace()).collect();
    assert!(compact.contains("\"max_depth\":2"), "{}", compact);
    assert!(compact.contains("\"ready\":2"), "{}", compact);
    // Acking frees room.
    let m = db.consume("q", "w", 1, 0, 0).unwrap();
    db.ack("q", &ids(&m)).unwrap();
    db.publish("q", "3", Publish::default()).unwrap();
}

#[test]
fn consume_wait_wakes_on_a_publish_from_another_thread() {
    let (_dir, db) = open_fast("q-wait");
    db.queue_declare("q", &QueueSettings::default()).unwrap();
    let db = Arc::new(db);
    let consumer = {
        let db = Arc::clone(&db);
        thread::spawn(move || {
            let start = Instant::now();
            let msgs = db.consume("q", "waiter", 10, 20_000, 0).unwrap();
            (msgs, start.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(200));
    let id = db.publish("q", "wake up", Publish::default()).unwrap();
    let (msgs, waited) = consumer.join().unwrap();
    assert_eq!(ids(&msgs), vec![id]);
    assert_eq!(msgs[0].payload, b"wake up".to_vec());
    assert!(waited < Duration::from_secs(10), "woke after {:?}", waited);
    assert!(waited >= Duration::from_millis(100), "returned before the publish: {:?}", waited);

    // A wait that nothing ends returns empty after about wait_ms.
    let start = Instant::now();
    assert!(db.consume("q", "waiter", 10, 150, 0).unwrap().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(100), "{:?}", start.elapsed());
}

#[test]
fn headers_round_trip() {
    let (_dir, db) = open_fast("q-headers");
    let opts = Publish::default()
        .header("content-type", "application/json")
        .header(b"\x00bin\xff", b"\xff\x00\x01")
        .header("", "empty key")
        .header("empty value", "")
        .header("content-type", "dup");
    let id = db.publish("q", b"", opts.clone()).unwrap();
    let big = vec![0xabu8; 100_000];
    let id2 = db.publish("q", &big, Publish::default().header("n", "2")).unwrap();
    let msgs = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&msgs), vec![id, id2]);
    assert_eq!(msgs[0].headers, opts.headers);
    assert!(msgs[0].payload.is_empty());
    assert_eq!(msgs[0].header("content-type"), Some(&b"application/json"[..]));
    assert_eq!(msgs[0].header(b"\x00bin\xff"), Some(&b"\xff\x00\x01"[..]));
    assert_eq!(msgs[0].header(""), Some(&b"empty key"[..]));
    assert_eq!(msgs[0].header("empty value"), Some(&b""[..]));
    assert_eq!(msgs[0].header("missing"), None);
    assert_eq!(msgs[1].payload, big);
    assert_eq!(msgs[1].headers, vec![(b"n".to_vec(), b"2".to_vec())]);
}

#[test]
fn delayed_messages_and_ack_deadlines() {
    let (_dir, db) = open_fast("q-delay");
    db.queue_declare("q", &QueueSettings { ack_deadline_ms: Some(200), ..Default::default() }).unwrap();
    let id = db.publish("q", "later", Publish::default().with_delay_ms(300)).unwrap();
    assert!(db.consume("q", "w", 10, 0, 0).unwrap().is_empty(), "delayed");
    let got = consume_n(&db, "q", 1);
    assert_eq!(ids(&got), vec![id]);
    // Not acked within its deadline: delivered again.
    let again = consume_n(&db, "q", 1);
    assert_eq!(ids(&again), vec![id]);
    assert!(again[0].redelivered);
    assert_eq!(again[0].delivery_count, 2);
    db.ack("q", &[id]).unwrap();
}

#[test]
fn queue_management_and_argument_errors() {
    let (_dir, db) = open_fast("q-manage");
    assert!(db.queues().unwrap().is_empty());
    db.queue_declare("b", &QueueSettings::default()).unwrap();
    db.publish("a", "auto-created", Publish::default()).unwrap();
    let mut names = db.queues().unwrap();
    names.sort();
    assert_eq!(names, vec!["a".to_string(), "b".to_string()]);

    db.publish_batch("b", &["1", "2", "3"]).unwrap();
    assert!(db.publish_batch::<&str>("b", &[]).unwrap().is_empty());
    let m = db.consume("b", "w", 1, 0, 0).unwrap();
    assert_eq!(db.queue_purge("b").unwrap(), 2, "ready ones, not the one in flight");
    assert!(db.consume("b", "w", 10, 0, 0).unwrap().is_empty());
    db.ack("b", &ids(&m)).unwrap();
    assert_eq!(db.queue_purge("nope").unwrap_err().code, ErrorCode::NotFound);

    assert!(db.queue_delete("b").unwrap());
    assert!(!db.queue_delete("b").unwrap());
    assert_eq!(db.queues().unwrap(), vec!["a".to_string()]);
    let e = db.queue_stats("b").unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("'b'"), "{}", e.message);
    assert_eq!(db.consume("b", "w", 1, 0, 0).unwrap_err().code, ErrorCode::NotFound);

    // Bad arguments.
    let inval = |r: synap::Result<u64>| assert_eq!(r.unwrap_err().code, ErrorCode::InvalidArgument);
    inval(db.publish("", "x", Publish::default()));
    inval(db.publish("a\0b", "x", Publish::default()));
    inval(db.publish(&"n".repeat(257), "x", Publish::default()));
    inval(db.publish("a", "x", Publish::default().with_priority(10)));
    assert_eq!(db.consume("a", "", 1, 0, 0).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.consume("a", "w", 0, 0, 0).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.consume("a", "w", 10_001, 0, 0).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.queue_declare("", &QueueSettings::default()).unwrap_err().code, ErrorCode::InvalidArgument);
    let e = db.queue_declare("c", &QueueSettings { default_priority: Some(10), ..Default::default() }).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(!e.message.is_empty());
}

#[test]
fn prefetch_caps_unacked_deliveries() {
    let (_dir, db) = open_fast("q-prefetch");
    db.publish_batch("q", &["1", "2", "3", "4"]).unwrap();
    let first = db.consume("q", "w", 10, 0, 2).unwrap();
    assert_eq!(first.len(), 2);
    assert!(db.consume("q", "w", 10, 0, 2).unwrap().is_empty(), "2 unacked already");
    assert_eq!(db.consume("q", "other", 10, 0, 1).unwrap().len(), 1, "per consumer");
    db.ack("q", &[first[0].id]).unwrap();
    assert_eq!(db.consume("q", "w", 10, 0, 2).unwrap().len(), 1);
}

#[test]
fn auto_create_off_is_not_found() {
    let dir = TempDir::new("q-noauto");
    let opts = fast_options().set("queue.auto_create", "false").unwrap();
    let db = Db::open(dir.data(), &opts).unwrap();
    let e = db.publish("q", "x", Publish::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("'q'"), "{}", e.message);
    db.queue_declare("q", &QueueSettings::default()).unwrap();
    db.publish("q", "x", Publish::default()).unwrap();
}

#[test]
fn reopen_keeps_ids_priorities_and_redelivers_in_flight() {
    let dir = TempDir::new("q-reopen");
    let (acked, in_flight, ready_low, ready_high, dead);
    {
        let db = Db::open(dir.data(), &fast_options()).unwrap();
        db.queue_declare("q", &QueueSettings { max_retries: Some(7), ..Default::default() }).unwrap();
        acked = db.publish("q", "acked", Publish::default().with_priority(9)).unwrap();
        in_flight = db.publish("q", "in-flight", Publish::default().with_priority(8).header("k", "v")).unwrap();
        dead = db.publish("q", "dead", Publish::default().with_priority(7)).unwrap();
        ready_low = db.publish("q", "low", Publish::default().with_priority(1)).unwrap();
        ready_high = db.publish("q", "high", Publish::default().with_priority(6)).unwrap();
        let got = db.consume("q", "w", 3, 0, 0).unwrap();
        assert_eq!(ids(&got), vec![acked, in_flight, dead]);
        db.ack("q", &[acked]).unwrap();
        db.nack("q", dead, false).unwrap();
        db.close().unwrap();
    }
    {
        let db = Db::open(dir.data(), &fast_options()).unwrap();
        assert_eq!(db.queues().unwrap(), vec!["q".to_string()]);
        let compact: String = db.queue_stats("q").unwrap().chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains("\"max_retries\":7"), "{}", compact);
        let msgs = db.consume("q", "w", 10, 0, 0).unwrap();
        assert_eq!(ids(&msgs), vec![in_flight, ready_high, ready_low], "the acked one never comes back");
        assert_eq!(msgs.iter().map(|m| m.priority).collect::<Vec<_>>(), vec![8, 6, 1]);
        assert!(msgs[0].redelivered, "in flight at close: redelivered");
        assert_eq!(msgs[0].delivery_count, 2);
        assert_eq!(msgs[0].payload, b"in-flight".to_vec());
        assert_eq!(msgs[0].header("k"), Some(&b"v"[..]));
        assert!(!msgs[1].redelivered && !msgs[2].redelivered);
        let dl = db.dead_letters("q", 0, 10).unwrap();
        assert_eq!(ids(&dl), vec![dead]);
        assert_eq!(dl[0].reason, "rejected");
        // New ids continue after the old ones.
        let next = db.publish("q", "new", Publish::default()).unwrap();
        assert!(next > ready_high, "{} after {}", next, ready_high);
        // Leave them in flight across a snapshot and another reopen.
        db.snapshot().unwrap();
    }
    let db = Db::open(dir.data(), &fast_options()).unwrap();
    let msgs = db.consume("q", "w", 10, 0, 0).unwrap();
    assert_eq!(ids(&msgs)[..3], [in_flight, ready_high, ready_low]);
    assert_eq!(msgs[0].delivery_count, 3);
    assert!(msgs.iter().take(3).all(|m| m.redelivered));
    db.ack("q", &ids(&msgs)).unwrap();
}

#[test]
fn per_message_max_retries_overrides_the_queue() {
    let (_dir, db) = open_fast("q-retries");
    db.queue_declare("q", &QueueSettings::default()).unwrap();
    let fragile = db.publish("q", "fragile", Publish { max_retries: Some(0), ..Default::default() }).unwrap();
    db.publish("q", "sturdy", Publish::default()).unwrap();
    let got = consume_n(&db, "q", 2);
    assert_eq!(got.len(), 2);
    for m in &got {
        db.nack("q", m.id, true).unwrap();
    }
    assert_eq!(payloads(&consume_n(&db, "q", 1)), vec![b"sturdy".to_vec()]);
    let dead = db.dead_letters("q", 0, 10).unwrap();
    assert_eq!(ids(&dead), vec![fragile]);
    assert_eq!(dead[0].reason, "max_retries");
}
