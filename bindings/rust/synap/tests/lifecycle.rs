//! Opening, options, closing, reopening.

mod common;

use std::sync::{Arc, Mutex};

use common::{fast_options, TempDir};
use synap::{Db, ErrorCode, Expiry, Fsync, Options, SetOptions, Ttl};

#[test]
fn reopen_keeps_data() {
    let dir = TempDir::new("reopen");
    let opts = Options::new().fsync(Fsync::Always);
    {
        let db = Db::open(dir.data(), &opts).unwrap();
        db.set("a", "1").unwrap();
        db.mset(&[("b", "2"), ("c", "3")]).unwrap();
        db.incr_by("n", 7).unwrap();
        db.append("a", "+").unwrap();
        db.set_with("ttl", "v", SetOptions { expiry: Some(Expiry::Ex(1000)), ..Default::default() }).unwrap();
        db.set(b"\x00bin", b"\xff\x00").unwrap();
        db.del(&["c"]).unwrap();
        db.close().unwrap();
    }
    {
        let db = Db::open(dir.data(), &opts).unwrap();
        assert_eq!(db.get("a").unwrap(), Some(b"1+".to_vec()));
        assert_eq!(db.get("b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(db.get("c").unwrap(), None);
        assert_eq!(db.get("n").unwrap(), Some(b"7".to_vec()));
        assert_eq!(db.get(b"\x00bin").unwrap(), Some(b"\xff\x00".to_vec()));
        let s = db.ttl("ttl").unwrap().as_redis_secs();
        assert!(s > 990 && s <= 1000, "{}", s);
        // A snapshot, more writes, and a reopen from snapshot + log tail.
        db.snapshot().unwrap();
        db.set("after-snapshot", "x").unwrap();
        db.persist("ttl").unwrap();
    } // Drop closes.
    let db = Db::open(dir.data(), &opts).unwrap();
    assert_eq!(db.dbsize().unwrap(), 6);
    assert_eq!(db.get("after-snapshot").unwrap(), Some(b"x".to_vec()));
    assert_eq!(db.pttl("ttl").unwrap(), Ttl::Persistent);
}

#[test]
fn second_open_is_locked() {
    let dir = TempDir::new("locked");
    let db = Db::open(dir.data(), &fast_options()).unwrap();
    let e = Db::open(dir.data(), &fast_options()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Locked, "{}", e);
    assert!(!e.message.is_empty());
    db.set("k", "v").unwrap(); // the first handle is unaffected
    drop(db);
    let db = Db::open(dir.data(), &fast_options()).unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn bad_options_are_invalid_argument() {
    let cases = [
        ("no.such.option", "1"),
        ("wal.fsync_mode", "sometimes"),
        ("wal.fsync_interval_ms", "0"),
        ("snapshot.keep", "banana"),
        ("kv.allow_flushall", "maybe"),
    ];
    for (name, value) in cases {
        let e = Options::new().set(name, value).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument, "{}={}: {}", name, value, e);
        assert!(!e.message.is_empty(), "{}={}", name, value);
    }
    // NUL bytes are refused before reaching C.
    assert_eq!(Options::new().set("wal.fsync_mode\0", "always").unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(Options::new().fsync_interval_ms(0).unwrap_err().code, ErrorCode::InvalidArgument);
    // The object is unchanged on error.
    let mut o = Options::new();
    let before = o.get("wal.fsync_mode").unwrap();
    assert!(o.set_option("wal.fsync_mode", "nope").is_err());
    assert_eq!(o.get("wal.fsync_mode").unwrap(), before);
}

#[test]
fn options_that_fail_only_together_fail_at_open() {
    // Values valid one by one that open() must refuse (synap_options_set
    // accepts kv.shards=3 today; either refusal is InvalidArgument).
    let cases: [&[(&str, &str)]; 2] = [
        &[("kv.shards", "3")], // not a power of two
        &[("wal.max_record_bytes", "1M"), ("kv.max_value_bytes", "4M")],
    ];
    for pairs in cases {
        let dir = TempDir::new("badopen");
        let mut opts = fast_options();
        let mut refused = None;
        for (name, value) in pairs.iter() {
            if let Err(e) = opts.set_option(name, value) {
                refused = Some(e);
                break;
            }
        }
        let e = match refused {
            Some(e) => e,
            None => Db::open(dir.data(), &opts).expect_err("open accepted invalid options"),
        };
        assert_eq!(e.code, ErrorCode::InvalidArgument, "{:?}: {}", pairs, e);
        assert!(!e.message.is_empty());
    }
}

#[test]
fn options_get_and_typed_setters() {
    let o = Options::new();
    assert_eq!(o.get("wal.fsync_mode").unwrap(), "always");
    assert_eq!(o.get("kv.allow_flushall").unwrap(), "false");
    assert_eq!(o.get("nope").unwrap_err().code, ErrorCode::InvalidArgument);
    let o = o
        .fsync(Fsync::Periodic)
        .allow_flushall(true)
        .set("wal.fsync_interval_ms", "25")
        .unwrap()
        .maxmemory(1 << 30)
        .unwrap()
        .snapshot_interval(0)
        .unwrap();
    assert_eq!(o.get("wal.fsync_mode").unwrap(), "periodic");
    assert_eq!(o.get("wal.fsync_interval_ms").unwrap(), "25");
    assert_eq!(o.get("kv.allow_flushall").unwrap(), "true");
    assert_eq!(o.get("snapshot.interval_secs").unwrap(), "0");
    assert!(!o.get("kv.maxmemory").unwrap().is_empty());
    assert_eq!(Options::new().fsync(Fsync::Never).get("wal.fsync_mode").unwrap(), "never");
    // A value longer than the first guess of a buffer still comes back whole.
    let policy = Options::new().set("kv.maxmemory_policy", "volatile-random").unwrap();
    assert_eq!(policy.get("kv.maxmemory_policy").unwrap(), "volatile-random");
    assert!(format!("{:?}", policy).contains("Options"));
}

#[test]
fn one_options_opens_several_databases() {
    let opts = fast_options().allow_flushall(true);
    let (d1, d2) = (TempDir::new("multi1"), TempDir::new("multi2"));
    let a = Db::open(d1.data(), &opts).unwrap();
    let b = Db::open(d2.data(), &opts).unwrap();
    a.set("k", "a").unwrap();
    b.set("k", "b").unwrap();
    assert_eq!(a.get("k").unwrap(), Some(b"a".to_vec()));
    assert_eq!(b.get("k").unwrap(), Some(b"b".to_vec()));
    drop(opts); // the handles copied what they need
    a.flushall().unwrap();
    assert_eq!(b.dbsize().unwrap(), 1);
}

#[test]
fn bad_paths() {
    assert_eq!(Db::open("/tmp/a\0b", &Options::new()).unwrap_err().code, ErrorCode::InvalidArgument);
    let dir = TempDir::new("file");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    assert!(Db::open(&file, &fast_options()).is_err());
}

#[test]
fn progress_reports_recovery() {
    let dir = TempDir::new("progress");
    {
        let db = Db::open(dir.data(), &fast_options()).unwrap();
        for i in 0..2000 {
            db.set(format!("key{}", i), vec![b'x'; 100]).unwrap();
        }
        db.snapshot().unwrap();
        for i in 0..500 {
            db.set(format!("late{}", i), "y").unwrap();
        }
    }
    let calls: Arc<Mutex<Vec<(String, u64, u64)>>> = Arc::default();
    let sink = calls.clone();
    let opts =
        fast_options().progress(move |phase, done, total| sink.lock().unwrap().push((phase.to_string(), done, total)));
    let db = Db::open(dir.data(), &opts).unwrap();
    assert_eq!(db.dbsize().unwrap(), 2500);
    let calls = calls.lock().unwrap();
    assert!(!calls.is_empty(), "no progress reported");
    for (phase, done, total) in calls.iter() {
        assert!(phase == "snapshot" || phase == "log", "phase {:?}", phase);
        assert!(done <= total || *total == 0, "{} {} {}", phase, done, total);
    }
}

#[test]
fn progress_panic_resumes_in_open() {
    let dir = TempDir::new("progresspanic");
    {
        let db = Db::open(dir.data(), &fast_options()).unwrap();
        db.set("k", "v").unwrap();
    }
    let opts = fast_options().progress(|_, _, _| panic!("progress says no"));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Db::open(dir.data(), &opts)));
    let payload = r.expect_err("open did not resume the callback's panic");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"progress says no"));
    // The handle that open made was closed: the directory opens again.
    let db = Db::open(dir.data(), &fast_options()).unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn close_reports_and_version() {
    let dir = TempDir::new("close");
    let db = Db::open(dir.data(), &Options::default()).unwrap();
    db.set("k", "v").unwrap();
    assert!(format!("{:?}", db).starts_with("Db"));
    db.close().unwrap();
    assert_eq!(synap::version(), synap::sys::SYNAP_VERSION_STRING);
    assert_eq!(synap::version_number(), synap::sys::SYNAP_VERSION_NUMBER);
}
