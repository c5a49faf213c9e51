//! Streams against the real libsynap: rooms, appends and reads, iteration
//! across segments, blocking reads, consumer groups, partitioned topics,
//! compaction, retention, trimming and the argument errors.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{fast_options, now_ms, TempDir};
use synap::{Cleanup, Db, ErrorCode, Event, Fsync, Options, RecordRead, RoomSettings};

/// Small segments, so that a few MiB of events span many of them.
/// stream.max_key_bytes must come down with stream.max_event_bytes: its
/// default (64 KiB) above max_event_bytes fails the open.
fn stream_options() -> Options {
    fast_options()
        .set("stream.segment_bytes", "131072")
        .unwrap()
        .set("stream.max_append_bytes", "65536")
        .unwrap()
        .set("stream.max_event_bytes", "16384")
        .unwrap()
        .set("stream.max_key_bytes", "4096")
        .unwrap()
}

fn open(dir: &TempDir) -> Db {
    Db::open(dir.data(), &stream_options()).expect("open")
}

fn open_streams(tag: &str) -> (TempDir, Db) {
    let dir = TempDir::new(tag);
    let db = open(&dir);
    (dir, db)
}

fn payloads(records: &[RecordRead]) -> Vec<Vec<u8>> {
    records.iter().map(|r| r.payload.clone()).collect()
}

fn offsets(records: &[RecordRead]) -> Vec<u64> {
    records.iter().map(|r| r.offset).collect()
}

/// A JSON number field `"name":N` of a flat object (no JSON crate here).
fn json_u64(json: &str, name: &str) -> u64 {
    let key = format!("\"{}\":", name);
    let at = json.find(&key).unwrap_or_else(|| panic!("{} not in {}", name, json)) + key.len();
    json[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().unwrap()
}

/// `n` events of about `size` bytes: payload "<i>:" padded with 'x'.
fn numbered(from: usize, n: usize, size: usize) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            let mut p = format!("{}:", i).into_bytes();
            p.resize(size.max(p.len()), b'x');
            Event::new(p)
        })
        .collect()
}

#[test]
fn offsets_start_at_zero_and_batches_are_consecutive() {
    let (_dir, db) = open_streams("st-offsets");
    db.stream_create("events", &RoomSettings::default()).unwrap();
    assert_eq!(db.stream_bounds("events").unwrap(), synap::Bounds { earliest: 0, next: 0 });
    assert!(db.stream_read("events", 0, 0, 0, 0).unwrap().is_empty(), "empty room, no wait");

    assert_eq!(db.stream_append("events", &Event::new("a")).unwrap(), 0);
    let batch = [Event::new("b"), Event::new("c"), Event::new("d")];
    assert_eq!(db.stream_append_batch("events", &batch).unwrap(), 1);
    assert_eq!(db.stream_append("events", &Event::new("e")).unwrap(), 4);
    assert_eq!(db.stream_bounds("events").unwrap(), synap::Bounds { earliest: 0, next: 5 });

    let all = db.stream_read("events", 0, 0, 0, 0).unwrap();
    assert_eq!(offsets(&all), vec![0, 1, 2, 3, 4]);
    assert_eq!(payloads(&all), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec(), b"e".to_vec()]);

    // An empty batch is refused; a missing room is created by an append.
    assert_eq!(db.stream_append_batch("events", &[]).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.stream_append("auto", &Event::new("x")).unwrap(), 0);
    assert_eq!(db.streams().unwrap(), vec!["auto".to_string(), "events".to_string()]);

    let info = db.stream_info("events").unwrap();
    assert_eq!(json_u64(&info, "next_offset"), 5, "{}", info);
    assert_eq!(json_u64(&info, "earliest_offset"), 0, "{}", info);
    assert!(info.contains("\"room\":\"events\""), "{}", info);

    // Delete: true once, then false; the room is gone.
    assert!(db.stream_delete("auto").unwrap());
    assert!(!db.stream_delete("auto").unwrap());
    assert_eq!(db.stream_bounds("auto").unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(db.stream_read("auto", 0, 0, 0, 0).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(db.stream_info("auto").unwrap_err().code, ErrorCode::NotFound);
    assert!(db.stream_info("auto").unwrap_err().message.contains("auto"));
    assert_eq!(db.streams().unwrap(), vec!["events".to_string()]);
}

#[test]
fn key_headers_and_timestamp_round_trip() {
    let (_dir, db) = open_streams("st-roundtrip");
    let before = now_ms();
    let events = vec![
        Event::new(b"\x00payload\xff")
            .with_key(b"k\x00ey")
            .header("trace", "42")
            .header(b"\x01bin", b"\x00\xff")
            .header("empty", "")
            .header("trace", "second")
            .with_timestamp_ms(1_600_000_000_123),
        Event::new("no key, no headers"), // stamped with the append time
        Event::new("").with_key("only-key").with_timestamp_ms(-5),
        Event::new("empty key").with_key(""), // an empty key is no key
    ];
    assert_eq!(db.stream_append_batch("rt", &events).unwrap(), 0);
    let after = now_ms();
    let got = db.stream_read("rt", 0, 0, 0, 0).unwrap();
    assert_eq!(got.len(), 4);

    let r = &got[0];
    assert_eq!(r.offset, 0);
    assert_eq!(r.key, Some(b"k\x00ey".to_vec()));
    assert_eq!(r.payload, b"\x00payload\xff");
    assert_eq!(r.timestamp_ms, 1_600_000_000_123);
    assert_eq!(r.headers, events[0].headers, "headers in order, duplicates kept");
    assert_eq!(r.header("trace"), Some(&b"42"[..]), "the first of a name");
    assert_eq!(r.header("empty"), Some(&b""[..]));
    assert_eq!(r.header("missing"), None);

    let r = &got[1];
    assert_eq!((r.key.clone(), r.headers.len()), (None, 0));
    assert!(r.timestamp_ms >= before - 1000 && r.timestamp_ms <= after + 1000, "append time {}", r.timestamp_ms);

    assert_eq!(got[2].key, Some(b"only-key".to_vec()));
    assert_eq!(got[2].payload, Vec::<u8>::new());
    assert_eq!(got[2].timestamp_ms, -5);
    assert_eq!(got[3].key, None);
    assert_eq!(got[3].payload, b"empty key".to_vec());
}

#[test]
fn read_limits() {
    let (_dir, db) = open_streams("st-limits");
    db.stream_append_batch("r", &numbered(0, 10, 100)).unwrap();

    let three = db.stream_read("r", 0, 3, 0, 0).unwrap();
    assert_eq!(offsets(&three), vec![0, 1, 2]);
    let b = db.stream_read_batch("r", 3, 4, 0, 0).unwrap();
    assert_eq!(offsets(&b.records), vec![3, 4, 5, 6]);
    assert_eq!((b.next_offset, b.high_watermark), (7, 10));
    let rest = db.stream_read("r", b.next_offset, 0, 0, 0).unwrap();
    assert_eq!(offsets(&rest), vec![7, 8, 9]);

    // max_bytes: about that many bytes, but at least one event.
    let one = db.stream_read("r", 0, 0, 1, 0).unwrap();
    assert_eq!(offsets(&one), vec![0]);
    let some = db.stream_read("r", 0, 0, 350, 0).unwrap();
    assert!(!some.is_empty() && some.len() < 10, "{} records for 350 bytes", some.len());
    assert_eq!(some[0].offset, 0);

    // At the high watermark without a wait: nothing, at once. Beyond: Range.
    let b = db.stream_read_batch("r", 10, 0, 0, 0).unwrap();
    assert!(b.records.is_empty());
    assert_eq!((b.next_offset, b.high_watermark), (10, 10));
    let e = db.stream_read("r", 11, 0, 0, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::Range);
    assert!(e.message.contains("11"), "{}", e.message);

    // Size limits of the options: one event over 16 KiB, one batch over 64 KiB.
    let e = db.stream_append("r", &Event::new(vec![0u8; 20_000])).unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{}", e);
    let e = db.stream_append_batch("r", &numbered(0, 10, 10_000)).unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{}", e);
    assert_eq!(db.stream_bounds("r").unwrap().next, 10, "all or none");
}

#[test]
fn iteration_across_segments() {
    let (_dir, db) = open_streams("st-segments");
    let settings = RoomSettings { fsync: Some(Fsync::Never), ..Default::default() };
    db.stream_create("big", &settings).unwrap();
    // 2000 events of 1 KiB in 40 batches of ~50 KiB: about 16 segments of 128 KiB.
    for batch in 0..40 {
        let first = db.stream_append_batch("big", &numbered(batch * 50, 50, 1024)).unwrap();
        assert_eq!(first, batch as u64 * 50);
    }
    let info = db.stream_info("big").unwrap();
    assert!(json_u64(&info, "segments") >= 10, "{}", info);
    assert!(info.contains("\"fsync\":\"never\""), "{}", info);

    let check = |from: u64, iter: synap::StreamIter<'_>| {
        let mut want = from;
        for r in iter {
            let r = r.unwrap();
            assert_eq!(r.offset, want);
            assert!(r.payload.starts_with(format!("{}:", want).as_bytes()));
            assert_eq!(r.payload.len(), 1024);
            want += 1;
        }
        assert_eq!(want, 2000, "iterated up to the high watermark");
    };
    check(0, db.stream_iter("big", 0));
    check(0, db.stream_iter("big", 0).batch(7, 0));
    check(0, db.stream_iter("big", 0).batch(0, 3000));
    check(1234, db.stream_iter("big", 1234).batch(100, 0));
    check(1999, db.stream_iter("big", 1999));
    assert!(db.stream_iter("big", 2000).next().is_none());

    // The iterator tells where it is, and reads on after it ended.
    let mut it = db.stream_iter("big", 1990).batch(4, 0);
    assert_eq!(it.position(), 1990);
    assert_eq!(it.next().unwrap().unwrap().offset, 1990);
    assert_eq!(it.position(), 1991);
    assert_eq!(it.by_ref().count(), 9);
    assert_eq!(it.position(), 2000);
    assert_eq!(it.room(), "big");
    db.stream_append("big", &Event::new("late")).unwrap();
    assert_eq!(it.next().unwrap().unwrap().payload, b"late".to_vec());

    // A read that starts inside a segment lands on the right event.
    let r = db.stream_read("big", 777, 1, 0, 0).unwrap();
    assert_eq!(offsets(&r), vec![777]);

    // An iterator over a missing room yields its error once.
    let mut missing = db.stream_iter("nope", 0);
    assert_eq!(missing.next().unwrap().unwrap_err().code, ErrorCode::NotFound);
    assert!(missing.next().is_none());
}

#[test]
fn blocking_read_is_woken_by_an_append() {
    let (_dir, db) = open_streams("st-block");
    db.stream_append("live", &Event::new("0")).unwrap();
    thread::scope(|s| {
        let start = Instant::now();
        let appender = s.spawn(|| {
            thread::sleep(Duration::from_millis(150));
            db.stream_append("live", &Event::new("woke")).unwrap()
        });
        let got = db.stream_read("live", 1, 0, 0, 20_000).unwrap();
        let waited = start.elapsed();
        assert_eq!(appender.join().unwrap(), 1);
        assert_eq!(offsets(&got), vec![1]);
        assert_eq!(got[0].payload, b"woke".to_vec());
        assert!(waited >= Duration::from_millis(100), "it waited: {:?}", waited);
        assert!(waited < Duration::from_secs(10), "woken by the append, not the timeout: {:?}", waited);
    });
    // A wait that nothing ends returns empty after about wait_ms.
    let start = Instant::now();
    assert!(db.stream_read("live", 2, 0, 0, 100).unwrap().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(80));

    // A following iterator: waits at the end for appends from another thread.
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..3 {
                thread::sleep(Duration::from_millis(50));
                db.stream_append("live", &Event::new(format!("tail{}", i))).unwrap();
            }
        });
        let got: Vec<RecordRead> = db.stream_iter("live", 2).wait_ms(5_000).take(3).map(|r| r.unwrap()).collect();
        assert_eq!(payloads(&got), vec![b"tail0".to_vec(), b"tail1".to_vec(), b"tail2".to_vec()]);
    });
}

#[test]
fn consumer_group_commits_survive_reopen() {
    let dir = TempDir::new("st-groups");
    {
        let db = open(&dir);
        db.stream_append_batch("orders", &numbered(0, 10, 10)).unwrap();
        db.stream_append_batch("audit", &numbered(0, 4, 10)).unwrap();
        assert_eq!(db.group_committed("billing", "orders").unwrap(), None);
        db.group_commit("billing", "orders", 3).unwrap();
        db.group_commit("billing", "orders", 7).unwrap(); // the latest wins
        db.group_commit("billing", "audit", 4).unwrap(); // = the high watermark: fine
        db.group_commit("search", "orders", 0).unwrap();
        assert_eq!(db.group_committed("billing", "orders").unwrap(), Some(7));

        let e = db.group_commit("billing", "orders", 11).unwrap_err();
        assert_eq!(e.code, ErrorCode::Range, "{}", e);
        let e = db.group_commit("billing", "nope", 0).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert!(e.message.contains("nope"), "{}", e.message);
        assert_eq!(db.group_commit("", "orders", 0).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(db.group_commit(&"g".repeat(256), "orders", 0).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(db.group_commit("a\0b", "orders", 0).unwrap_err().code, ErrorCode::InvalidArgument);
        db.close().unwrap();
    }
    let db = open(&dir);
    assert_eq!(db.group_committed("billing", "orders").unwrap(), Some(7));
    assert_eq!(db.group_committed("billing", "audit").unwrap(), Some(4));
    assert_eq!(db.group_committed("search", "orders").unwrap(), Some(0));
    assert_eq!(db.group_committed("search", "audit").unwrap(), None);
    assert_eq!(db.stream_bounds("orders").unwrap().next, 10, "the events too");

    // Resume where the group left off.
    let rest: Vec<u64> = db.stream_iter("orders", 7).map(|r| r.unwrap().offset).collect();
    assert_eq!(rest, vec![7, 8, 9]);

    let billing = db.group_lag_json(Some("billing")).unwrap();
    assert!(billing.starts_with("{\"commits\":["), "{}", billing);
    assert!(billing.contains("\"room\":\"orders\",\"committed\":7,\"next_offset\":10,\"lag\":3"), "{}", billing);
    assert!(billing.contains("\"room\":\"audit\",\"committed\":4,\"next_offset\":4,\"lag\":0"), "{}", billing);
    assert!(!billing.contains("search"), "{}", billing);
    let all = db.group_lag_json(None).unwrap();
    assert!(all.contains("\"group\":\"search\"") && all.contains("\"group\":\"billing\""), "{}", all);
    assert_eq!(db.group_lag_json(Some("nobody")).unwrap(), "{\"commits\":[]}");
}

#[test]
fn topic_key_partitioning_is_stable() {
    let dir = TempDir::new("st-topics");
    let mut placed: BTreeMap<String, u32> = BTreeMap::new();
    {
        let db = open(&dir);
        db.topic_create("clicks", 4, &RoomSettings::default()).unwrap();
        assert_eq!(db.topic_partitions("clicks").unwrap(), 4);
        assert_eq!(db.streams().unwrap(), vec!["clicks-0", "clicks-1", "clicks-2", "clicks-3"]);

        for user in 0..40 {
            let key = format!("user-{}", user);
            let (p, _) = db.topic_produce("clicks", &Event::new("1").with_key(&key)).unwrap();
            assert!(p < 4);
            placed.insert(key, p);
        }
        let used: BTreeSet<u32> = placed.values().copied().collect();
        assert!(used.len() >= 3, "40 keys spread over the partitions: {:?}", used);
        // The same key, the same partition, in order.
        for round in 2..=5 {
            let key = "user-7";
            let (p, off) = db.topic_produce("clicks", &Event::new(round.to_string()).with_key(key)).unwrap();
            assert_eq!(p, placed[key]);
            let room = Db::topic_partition_room("clicks", p);
            let last = db.stream_read(&room, off, 1, 0, 0).unwrap();
            assert_eq!(last[0].key, Some(key.as_bytes().to_vec()));
            assert_eq!(last[0].payload, round.to_string().into_bytes());
        }
        // Without a key: round-robin over every partition.
        let keyless: BTreeSet<u32> =
            (0..8).map(|_| db.topic_produce("clicks", &Event::new("anon")).unwrap().0).collect();
        assert_eq!(keyless.len(), 4);

        let e = db.topic_produce("nope", &Event::new("x")).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(db.topic_partitions("nope").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(db.topic_create("zero", 0, &RoomSettings::default()).unwrap_err().code, ErrorCode::InvalidArgument);
        db.close().unwrap();
    }
    // After a reopen: the same topic, the same placement.
    let db = open(&dir);
    assert_eq!(db.topic_partitions("clicks").unwrap(), 4);
    for (key, p) in &placed {
        assert_eq!(db.topic_produce("clicks", &Event::new("again").with_key(key)).unwrap().0, *p, "{}", key);
    }
    // Every event of user-7 is in its partition, in order.
    let room = Db::topic_partition_room("clicks", placed["user-7"]);
    let mine: Vec<Vec<u8>> = db
        .stream_iter(&room, 0)
        .map(|r| r.unwrap())
        .filter(|r| r.key.as_deref() == Some(&b"user-7"[..]))
        .map(|r| r.payload)
        .collect();
    assert_eq!(
        mine,
        vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"4".to_vec(), b"5".to_vec(), b"again".to_vec()]
    );
}

#[test]
fn double_create_is_already_exists() {
    let (_dir, db) = open_streams("st-exists");
    db.stream_create("r", &RoomSettings::default()).unwrap();
    let e = db.stream_create("r", &RoomSettings::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists);
    assert!(e.message.contains("r"), "{}", e.message);
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::AlreadyExists);

    db.topic_create("t", 2, &RoomSettings::default()).unwrap();
    assert_eq!(db.topic_create("t", 2, &RoomSettings::default()).unwrap_err().code, ErrorCode::AlreadyExists);
    assert_eq!(db.topic_create("t", 3, &RoomSettings::default()).unwrap_err().code, ErrorCode::AlreadyExists);
    // A room of the topic exists already: "t-0" as a plain room, then a topic "t2" over "t2-0".
    assert_eq!(db.stream_create("t-1", &RoomSettings::default()).unwrap_err().code, ErrorCode::AlreadyExists);
    db.stream_create("u-0", &RoomSettings::default()).unwrap();
    assert_eq!(db.topic_create("u", 2, &RoomSettings::default()).unwrap_err().code, ErrorCode::AlreadyExists);
    assert_eq!(db.topic_partitions("u").unwrap_err().code, ErrorCode::NotFound, "nothing was created");

    // Bad settings are InvalidArgument.
    let bad = RoomSettings { segment_bytes: Some(1000), ..Default::default() };
    assert_eq!(db.stream_create("s", &bad).unwrap_err().code, ErrorCode::InvalidArgument);
    let ok = RoomSettings { segment_bytes: Some(1 << 20), cleanup: Some(Cleanup::CompactDelete), ..Default::default() };
    db.stream_create("s", &ok).unwrap();
    let info = db.stream_info("s").unwrap();
    assert!(info.contains("\"cleanup\":\"compact,delete\""), "{}", info);
    assert_eq!(json_u64(&info, "segment_bytes"), 1 << 20, "{}", info);
}

#[test]
fn bad_room_names_are_invalid_argument() {
    let (dir, db) = open_streams("st-names");
    let long = "r".repeat(201);
    let bad = ["../x", "a/b", "", "..", ".hidden", "a..b", "__meta", "__x", "sp ace", "a\0b", "é", long.as_str()];
    let ev = Event::new("x");
    for name in bad {
        let codes = [
            db.stream_create(name, &RoomSettings::default()).unwrap_err().code,
            db.stream_append(name, &ev).unwrap_err().code,
            db.stream_read(name, 0, 0, 0, 0).unwrap_err().code,
            db.stream_bounds(name).unwrap_err().code,
            db.stream_delete(name).unwrap_err().code,
            db.stream_offset_for_time(name, 0).unwrap_err().code,
            db.group_commit("g", name, 0).unwrap_err().code,
            db.topic_create(name, 1, &RoomSettings::default()).unwrap_err().code,
        ];
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(*code, ErrorCode::InvalidArgument, "room name {:?}, call #{}", name, i);
        }
        let e = db.stream_create(name, &RoomSettings::default()).unwrap_err();
        assert!(!e.message.is_empty());
    }
    // Nothing escaped the streams directory.
    assert!(!Path::new(dir.path()).join("x").exists());
    assert!(!dir.data().join("x").exists());
    assert!(!dir.data().join("a").exists());
    assert!(db.streams().unwrap().is_empty());
    // Every allowed character, and the longest name.
    for good in ["a.b_c-d:E9", "r".repeat(200).as_str()] {
        db.stream_create(good, &RoomSettings::default()).unwrap();
    }
}

#[test]
fn offset_for_time() {
    let (_dir, db) = open_streams("st-time");
    let events: Vec<Event> =
        [1000, 2000, 3000, 2500, 4000].iter().map(|&t| Event::new(t.to_string()).with_timestamp_ms(t)).collect();
    db.stream_append_batch("t", &events).unwrap();
    assert_eq!(db.stream_offset_for_time("t", 0).unwrap(), 0);
    assert_eq!(db.stream_offset_for_time("t", 1000).unwrap(), 0);
    assert_eq!(db.stream_offset_for_time("t", 1500).unwrap(), 1);
    assert_eq!(db.stream_offset_for_time("t", 2600).unwrap(), 2, "running maximum: 2500 at offset 3 counts as 3000");
    assert_eq!(db.stream_offset_for_time("t", 3500).unwrap(), 4);
    assert_eq!(db.stream_offset_for_time("t", 5000).unwrap(), 5, "none: the high watermark");
    assert_eq!(db.stream_offset_for_time("nope", 0).unwrap_err().code, ErrorCode::NotFound);
}

#[test]
fn compaction_keeps_the_latest_of_each_key() {
    let (_dir, db) = open_streams("st-compact");
    db.stream_create("c", &RoomSettings { fsync: Some(Fsync::Never), ..Default::default() }).unwrap();
    // 600 events of ~1 KiB over 5 keys, plus keyless ones: several sealed segments.
    let mut events = Vec::new();
    for i in 0..600usize {
        let mut e = numbered(i, 1, 1000).pop().unwrap();
        if i % 10 != 9 {
            e = e.with_key(format!("k{}", i % 5));
        }
        events.push(e);
    }
    for chunk in events.chunks(40) {
        db.stream_append_batch("c", chunk).unwrap();
    }
    let before = db.stream_bounds("c").unwrap();
    let dropped = db.stream_compact("c").unwrap();
    assert!(dropped > 0, "sealed segments had superseded keys");
    assert_eq!(db.stream_bounds("c").unwrap(), before, "offsets do not change");

    let records: Vec<RecordRead> = db.stream_iter("c", 0).batch(13, 0).map(|r| r.unwrap()).collect();
    assert_eq!(records.len() as u64, 600 - dropped);
    assert!(records.windows(2).all(|w| w[0].offset < w[1].offset), "offset order, with gaps");
    // Keyless events all stay; each key keeps its latest event.
    assert_eq!(records.iter().filter(|r| r.key.is_none()).count(), 60);
    for k in 0..5 {
        let key = format!("k{}", k);
        let last = records.iter().rev().find(|r| r.key.as_deref() == Some(key.as_bytes())).unwrap();
        let latest = (0..600).filter(|i| i % 10 != 9 && i % 5 == k).max().unwrap() as u64;
        assert_eq!(last.offset, latest, "{}", key);
    }
    // A read from inside a compacted gap starts at the next kept event.
    let gap = (1..records.len()).find(|&i| records[i].offset > records[i - 1].offset + 1).unwrap();
    let b = db.stream_read_batch("c", records[gap - 1].offset + 1, 1, 0, 0).unwrap();
    assert_eq!(offsets(&b.records), vec![records[gap].offset]);
    assert_eq!(b.next_offset, records[gap].offset + 1);
}

#[test]
fn retention_moves_the_earliest_offset() {
    let dir = TempDir::new("st-retention");
    let opts = stream_options().set("stream.maintenance_ms", "10").unwrap();
    let db = Db::open(dir.data(), &opts).unwrap();
    let settings = RoomSettings { retention_bytes: Some(262_144), fsync: Some(Fsync::Never), ..Default::default() };
    db.stream_create("ret", &settings).unwrap();
    for batch in 0..20 {
        db.stream_append_batch("ret", &numbered(batch * 50, 50, 1024)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.stream_bounds("ret").unwrap().earliest == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    // A pass that began during the appends may have left work for the next
    // one: wait until the earliest offset stops moving.
    let mut b = db.stream_bounds("ret").unwrap();
    loop {
        thread::sleep(Duration::from_millis(100));
        let now = db.stream_bounds("ret").unwrap();
        if now.earliest == b.earliest || Instant::now() >= deadline {
            break;
        }
        b = now;
    }
    assert!(b.earliest > 0, "old segments deleted: {:?}", b);
    assert_eq!(b.next, 1000);
    let e = db.stream_read("ret", 0, 0, 0, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::Range, "{}", e);
    let mut it = db.stream_iter("ret", 0);
    assert_eq!(it.next().unwrap().unwrap_err().code, ErrorCode::Range);
    assert!(it.next().is_none());
    let kept: Vec<u64> = db.stream_iter("ret", b.earliest).map(|r| r.unwrap().offset).collect();
    assert_eq!(kept, (b.earliest..1000).collect::<Vec<_>>());
}

#[test]
fn trim_deletes_whole_segments_below_an_offset() {
    let dir = TempDir::new("st-trim");
    let db = open(&dir);
    for batch in 0..20 {
        db.stream_append_batch("t", &numbered(batch * 50, 50, 1024)).unwrap();
    }
    assert_eq!(db.stream_trim("t", 0).unwrap(), synap::Trimmed { removed: 0, earliest: 0 });
    let t = db.stream_trim("t", 500).unwrap();
    // Whole segments only: some events below 500 may stay, none above it go.
    assert!(t.earliest > 0 && t.earliest <= 500, "{:?}", t);
    assert_eq!(t.removed, t.earliest);
    assert_eq!(db.stream_bounds("t").unwrap(), synap::Bounds { earliest: t.earliest, next: 1000 });
    assert_eq!(db.stream_read("t", t.earliest - 1, 1, 0, 0).unwrap_err().code, ErrorCode::Range);
    let first = db.stream_read("t", t.earliest, 1, 0, 0).unwrap();
    assert!(first[0].payload.starts_with(format!("{}:", t.earliest).as_bytes()));
    // Past the end: every segment but the newest.
    let all = db.stream_trim("t", u64::MAX).unwrap();
    assert!(all.earliest > t.earliest && all.earliest < 1000, "{:?}", all);
    assert_eq!(all.removed, all.earliest - t.earliest);
    drop(db);
    let db = open(&dir);
    assert_eq!(db.stream_bounds("t").unwrap().earliest, all.earliest);
    let kept: Vec<u64> = db.stream_iter("t", all.earliest).map(|r| r.unwrap().offset).collect();
    assert_eq!(kept, (all.earliest..1000).collect::<Vec<_>>());
    assert_eq!(db.stream_trim("missing", 1).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(db.stream_trim("__meta", 1).unwrap_err().code, ErrorCode::InvalidArgument);
}

#[test]
fn appends_from_many_threads() {
    let (_dir, db) = open_streams("st-threads");
    thread::scope(|s| {
        for t in 0..4 {
            let db = &db;
            s.spawn(move || {
                for i in 0..50 {
                    let room = if i % 2 == 0 { "shared" } else { "odd" };
                    db.stream_append(room, &Event::new(format!("{}-{}", t, i)).with_key(t.to_string())).unwrap();
                }
            });
        }
    });
    assert_eq!(db.stream_bounds("shared").unwrap().next, 100);
    assert_eq!(db.stream_bounds("odd").unwrap().next, 100);
    // Each thread's events are in its order.
    let shared: Vec<RecordRead> = db.stream_iter("shared", 0).map(|r| r.unwrap()).collect();
    for t in 0..4 {
        let mine: Vec<Vec<u8>> =
            shared.iter().filter(|r| r.key == Some(t.to_string().into_bytes())).map(|r| r.payload.clone()).collect();
        let want: Vec<Vec<u8>> = (0..50).filter(|i| i % 2 == 0).map(|i| format!("{}-{}", t, i).into_bytes()).collect();
        assert_eq!(mine, want);
    }
}

#[test]
fn group_delete_forgets_a_commit() {
    let dir = TempDir::new("st-group-delete");
    {
        let db = open(&dir);
        db.stream_append_batch("orders", &numbered(0, 5, 10)).unwrap();
        db.group_commit("billing", "orders", 3).unwrap();
        db.group_commit("search", "orders", 1).unwrap();
        assert!(db.group_delete("billing", "orders").unwrap());
        assert_eq!(db.group_committed("billing", "orders").unwrap(), None);
        assert!(!db.group_delete("billing", "orders").unwrap(), "nothing left to delete");
        assert!(!db.group_delete("billing", "no-such-room").unwrap());
        assert_eq!(db.group_delete("", "orders").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(db.group_delete("billing", "../x").unwrap_err().code, ErrorCode::InvalidArgument);
        let all = db.group_lag_json(None).unwrap();
        assert!(!all.contains("billing") && all.contains("search"), "{}", all);
        db.close().unwrap();
    }
    let db = open(&dir);
    assert_eq!(db.group_committed("billing", "orders").unwrap(), None, "the delete is durable");
    assert_eq!(db.group_committed("search", "orders").unwrap(), Some(1));
    db.group_commit("billing", "orders", 4).unwrap(); // afresh
    assert_eq!(db.group_committed("billing", "orders").unwrap(), Some(4));
}

// ---- Engine bugs found while writing these bindings (fixed since). ----

#[test]
fn deleted_rooms_commits_stay_deleted_after_reopen() {
    let dir = TempDir::new("st-bug-delete-commits");
    {
        let db = open(&dir);
        db.stream_append("r", &Event::new("a")).unwrap();
        db.group_commit("g", "r", 1).unwrap();
        assert!(db.stream_delete("r").unwrap());
        assert_eq!(db.group_committed("g", "r").unwrap(), None);
        db.close().unwrap();
    }
    let db = open(&dir);
    assert_eq!(db.group_committed("g", "r").unwrap(), None, "the commit of a deleted room came back");
    // A new room of the same name must not inherit it (it would be beyond its high watermark).
    db.stream_append("r", &Event::new("new")).unwrap();
    assert_eq!(db.group_committed("g", "r").unwrap(), None);
}

#[test]
fn failed_topic_create_leaves_nothing() {
    let dir = TempDir::new("st-bug-topic-partial");
    let db = Db::open(dir.data(), &stream_options().set("stream.max_rooms", "3").unwrap()).unwrap();
    let e = db.topic_create("t", 5, &RoomSettings::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge);
    assert_eq!(db.topic_partitions("t").unwrap_err().code, ErrorCode::NotFound, "the topic was recorded");
    assert!(db.streams().unwrap().is_empty(), "rooms were left behind");
}
