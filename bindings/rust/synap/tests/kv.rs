//! Every KV method of `Db` against the real libsynap, with Redis's semantics.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{fast_options, now_ms, open_fast, TempDir};
use synap::{Db, ErrorCode, ExpireCondition, Expiry, Options, SetOptions, Ttl};

fn v(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

#[test]
fn set_get_missing_and_empty() {
    let (_dir, db) = open_fast("setget");
    assert_eq!(db.get("nope").unwrap(), None);
    db.set("k", "v1").unwrap();
    assert_eq!(db.get("k").unwrap(), v("v1"));
    let owned: Vec<u8> = b"v2".to_vec();
    db.set(String::from("k"), owned).unwrap();
    assert_eq!(db.get(b"k").unwrap(), v("v2"));
    db.set("empty", "").unwrap();
    assert_eq!(db.get("empty").unwrap(), Some(Vec::new()));
    assert_eq!(db.strlen("empty").unwrap(), 0);
    assert_eq!(db.exists(&["empty"]).unwrap(), 1);
    // The empty key is a key like any other.
    db.set("", "empty key").unwrap();
    assert_eq!(db.get("").unwrap(), v("empty key"));
}

#[test]
fn binary_keys_and_values() {
    let (_dir, db) = open_fast("binary");
    let key: &[u8] = b"\x00k\xff\x00\x01";
    let val: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    db.set(key, &val).unwrap();
    assert_eq!(db.get(key).unwrap(), Some(val.clone()));
    // Keys differing only after a NUL are distinct.
    assert_eq!(db.get(b"\x00k").unwrap(), None);
    db.set(b"\x00k", b"\x00").unwrap();
    assert_eq!(db.get(b"\x00k").unwrap(), Some(vec![0]));
    assert_eq!(db.strlen(key).unwrap(), 512);
    let mut keys = db.keys("*").unwrap();
    keys.sort();
    assert_eq!(keys, vec![b"\x00k".to_vec(), key.to_vec()]);
    assert_eq!(db.append(key, b"\x00\x00").unwrap(), 514);
    assert_eq!(db.getdel(key).unwrap().unwrap().len(), 514);
}

#[test]
fn large_value_round_trips() {
    let (_dir, db) = open_fast("large");
    let val: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    db.set("big", &val).unwrap();
    assert_eq!(db.get("big").unwrap(), Some(val));
}

#[test]
fn get_into_reports_full_length() {
    let (_dir, db) = open_fast("getinto");
    db.set("k", "0123456789").unwrap();
    let mut small = [0u8; 4];
    assert_eq!(db.get_into("k", &mut small).unwrap(), Some(10));
    assert_eq!(&small, b"0123");
    let mut big = [0u8; 32];
    assert_eq!(db.get_into("k", &mut big).unwrap(), Some(10));
    assert_eq!(&big[..10], b"0123456789");
    assert_eq!(db.get_into("k", &mut []).unwrap(), Some(10));
    assert_eq!(db.get_into("missing", &mut big).unwrap(), None);
}

#[test]
fn getdel_del_exists() {
    let (_dir, db) = open_fast("del");
    db.mset(&[("a", "1"), ("b", "2"), ("c", "3")]).unwrap();
    assert_eq!(db.getdel("a").unwrap(), v("1"));
    assert_eq!(db.getdel("a").unwrap(), None);
    assert_eq!(db.get("a").unwrap(), None);
    assert_eq!(db.exists(&["a", "b", "c", "b", "zz"]).unwrap(), 3);
    assert_eq!(db.exists::<&str>(&[]).unwrap(), 0);
    assert_eq!(db.del(&["b", "zz", "c"]).unwrap(), 2);
    assert_eq!(db.del(&["b"]).unwrap(), 0);
    assert_eq!(db.dbsize().unwrap(), 0);
}

#[test]
fn incr_decr_and_their_errors() {
    let (_dir, db) = open_fast("incr");
    assert_eq!(db.incr("n").unwrap(), 1);
    assert_eq!(db.incr_by("n", 41).unwrap(), 42);
    assert_eq!(db.decr("n").unwrap(), 41);
    assert_eq!(db.decr_by("n", 50).unwrap(), -9);
    assert_eq!(db.get("n").unwrap(), v("-9"));
    assert_eq!(db.incr_by("fresh", -5).unwrap(), -5);

    // Not an integer: InvalidArgument, value unchanged.
    db.set("s", "abc").unwrap();
    let e = db.incr("s").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument, "{}", e);
    assert!(!e.message.is_empty());
    assert_eq!(db.get("s").unwrap(), v("abc"));
    db.set("f", "1.5").unwrap();
    assert_eq!(db.incr("f").unwrap_err().code, ErrorCode::InvalidArgument);
    db.set("huge", "99999999999999999999").unwrap(); // beyond int64
    assert_eq!(db.incr("huge").unwrap_err().code, ErrorCode::InvalidArgument);

    // Overflow: Range, value unchanged.
    db.set("max", i64::MAX.to_string()).unwrap();
    let e = db.incr("max").unwrap_err();
    assert_eq!(e.code, ErrorCode::Range, "{}", e);
    assert!(e.to_string().contains("SYNAP_ERANGE"));
    assert_eq!(db.get("max").unwrap(), v(&i64::MAX.to_string()));
    db.set("min", i64::MIN.to_string()).unwrap();
    assert_eq!(db.decr("min").unwrap_err().code, ErrorCode::Range);
    assert_eq!(db.incr_by("min", i64::MAX).unwrap(), -1);
    assert_eq!(db.decr_by("x", i64::MIN).unwrap_err().code, ErrorCode::Range);
    assert_eq!(db.get("x").unwrap(), None);
}

#[test]
fn append_and_strlen() {
    let (_dir, db) = open_fast("append");
    assert_eq!(db.strlen("k").unwrap(), 0);
    assert_eq!(db.append("k", "Hello").unwrap(), 5);
    assert_eq!(db.append("k", " World").unwrap(), 11);
    assert_eq!(db.get("k").unwrap(), v("Hello World"));
    assert_eq!(db.strlen("k").unwrap(), 11);
    assert_eq!(db.append("k", "").unwrap(), 11);
}

#[test]
fn mget_mset_msetnx() {
    let (_dir, db) = open_fast("mset");
    db.mset(&[("a", "1"), ("b", "2")]).unwrap();
    assert_eq!(db.mget(&["a", "missing", "b", "a"]).unwrap(), vec![v("1"), None, v("2"), v("1")]);
    assert_eq!(db.mget::<&str>(&[]).unwrap(), Vec::<Option<Vec<u8>>>::new());
    assert_eq!(db.mset::<&str, &str>(&[]).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.del::<&str>(&[]).unwrap(), 0);
    // MSETNX: all or nothing.
    assert!(!db.msetnx(&[("c", "3"), ("a", "x")]).unwrap());
    assert_eq!(db.get("c").unwrap(), None);
    assert_eq!(db.get("a").unwrap(), v("1"));
    assert!(db.msetnx(&[("c", "3"), ("d", "4")]).unwrap());
    assert_eq!(db.mget(&["c", "d"]).unwrap(), vec![v("3"), v("4")]);
    // MSET removes expiries; owned keys and values work too.
    db.set_with("a", "1", SetOptions { expiry: Some(Expiry::Ex(100)), ..Default::default() }).unwrap();
    db.mset(&[(String::from("a"), vec![b'z']), (String::from("e"), vec![])]).unwrap();
    assert_eq!(db.pttl("a").unwrap(), Ttl::Persistent);
    assert_eq!(db.mget(&["a", "e"]).unwrap(), vec![v("z"), Some(vec![])]);
}

#[test]
fn set_nx_xx_get() {
    let (_dir, db) = open_fast("setflags");
    let nx = SetOptions { nx: true, ..Default::default() };
    let xx = SetOptions { xx: true, ..Default::default() };
    let get = SetOptions { get: true, ..Default::default() };

    assert_eq!(db.set_with("k", "1", xx).unwrap(), (false, None));
    assert_eq!(db.get("k").unwrap(), None);
    assert_eq!(db.set_with("k", "1", nx).unwrap(), (true, None));
    assert_eq!(db.set_with("k", "2", nx).unwrap(), (false, None));
    assert_eq!(db.get("k").unwrap(), v("1"));
    assert_eq!(db.set_with("k", "3", xx).unwrap(), (true, None));
    assert_eq!(db.get("k").unwrap(), v("3"));

    // GET returns the old value (GETSET); None when there was none.
    assert_eq!(db.set_with("k", "4", get).unwrap(), (true, v("3")));
    assert_eq!(db.set_with("new", "x", get).unwrap(), (true, None));
    assert_eq!(
        db.set_with("k", "5", SetOptions { xx: true, get: true, ..Default::default() }).unwrap(),
        (true, v("4"))
    );
    assert_eq!(db.get("k").unwrap(), v("5"));
    // NX with GET on an existing key: not written, the old value comes back
    // (Redis 7's SET NX GET).
    assert_eq!(
        db.set_with("k", "6", SetOptions { nx: true, get: true, ..Default::default() }).unwrap(),
        (false, v("5"))
    );
    assert_eq!(db.get("k").unwrap(), v("5"));

    // Contradictions are refused.
    let both = SetOptions { nx: true, xx: true, ..Default::default() };
    assert_eq!(db.set_with("k", "6", both).unwrap_err().code, ErrorCode::InvalidArgument);
    let keep_and_ex = SetOptions { keepttl: true, expiry: Some(Expiry::Ex(10)), ..Default::default() };
    assert_eq!(db.set_with("k", "6", keep_and_ex).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(db.get("k").unwrap(), v("5"));
}

#[test]
fn set_expiries() {
    let (_dir, db) = open_fast("setexp");
    let with = |e: Expiry| SetOptions { expiry: Some(e), ..Default::default() };

    db.set_with("ex", "v", with(Expiry::Ex(100))).unwrap();
    let ms = db.pttl("ex").unwrap().as_redis_millis();
    assert!(ms > 98_000 && ms <= 100_000, "{}", ms);
    assert_eq!(db.ttl("ex").unwrap().as_redis_secs(), 100);

    db.set_with("px", "v", with(Expiry::after(Duration::from_millis(5_000)))).unwrap();
    let ms = db.pttl("px").unwrap().as_redis_millis();
    assert!(ms > 3_000 && ms <= 5_000, "{}", ms);

    db.set_with("pxat", "v", with(Expiry::PxAt(now_ms() + 60_000))).unwrap();
    let ms = db.pttl("pxat").unwrap().as_redis_millis();
    assert!(ms > 58_000 && ms <= 60_000, "{}", ms);
    db.set_with("exat", "v", with(Expiry::ExAt(now_ms() / 1000 + 3600))).unwrap();
    let s = db.ttl("exat").unwrap().as_redis_secs();
    assert!(s > 3590 && s <= 3600, "{}", s);

    // A time in the past writes the key already expired.
    db.set("past", "old").unwrap();
    db.set_with("past", "v", with(Expiry::ExAt(1))).unwrap();
    assert_eq!(db.get("past").unwrap(), None);

    // A relative expiry <= 0 is an invalid expire time, as in Redis.
    for e in [Expiry::Ex(0), Expiry::Px(-5), Expiry::Ex(-1)] {
        let err = db.set_with("bad", "v", with(e)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{:?}", e);
    }
    assert_eq!(db.get("bad").unwrap(), None);

    // KEEPTTL keeps it; a plain SET removes it.
    db.set_with("ex", "v2", SetOptions { keepttl: true, ..Default::default() }).unwrap();
    assert!(matches!(db.pttl("ex").unwrap(), Ttl::Expires(_)));
    assert_eq!(db.get("ex").unwrap(), v("v2"));
    db.set("ex", "v3").unwrap();
    assert_eq!(db.pttl("ex").unwrap(), Ttl::Persistent);
}

#[test]
fn keys_expire_for_real() {
    let (_dir, db) = open_fast("expiring");
    db.set_with("short", "v", SetOptions { expiry: Some(Expiry::Px(50)), ..Default::default() }).unwrap();
    assert_eq!(db.get("short").unwrap(), v("v"));
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(db.get("short").unwrap(), None);
    assert_eq!(db.exists(&["short"]).unwrap(), 0);
    assert_eq!(db.pttl("short").unwrap(), Ttl::Missing);
    assert_eq!(db.strlen("short").unwrap(), 0);
}

#[test]
fn ttl_conventions() {
    let (_dir, db) = open_fast("ttl");
    assert_eq!(db.pttl("missing").unwrap(), Ttl::Missing);
    assert_eq!(db.ttl("missing").unwrap().as_redis_secs(), -2);
    db.set("plain", "v").unwrap();
    assert_eq!(db.pttl("plain").unwrap(), Ttl::Persistent);
    assert_eq!(db.ttl("plain").unwrap().as_redis_secs(), -1);
    assert_eq!(db.pttl("plain").unwrap().remaining(), None);
    db.set_with("t", "v", SetOptions { expiry: Some(Expiry::Ex(10)), ..Default::default() }).unwrap();
    let d = db.pttl("t").unwrap().remaining().unwrap();
    assert!(d > Duration::from_secs(9) && d <= Duration::from_secs(10), "{:?}", d);
    assert_eq!(db.ttl("t").unwrap(), Ttl::Expires(Duration::from_secs(10)));
}

#[test]
fn expire_persist_and_conditions() {
    let (_dir, db) = open_fast("expire");
    assert!(!db.expire("missing", Expiry::Ex(10), ExpireCondition::Always).unwrap());
    db.set("k", "v").unwrap();

    // XX needs an expiry, NX needs none.
    assert!(!db.expire("k", Expiry::Ex(100), ExpireCondition::Xx).unwrap());
    assert_eq!(db.pttl("k").unwrap(), Ttl::Persistent);
    // GT: no expiry counts as infinite, so nothing is greater; LT always is.
    assert!(!db.expire("k", Expiry::Ex(100), ExpireCondition::Gt).unwrap());
    assert!(db.expire("k", Expiry::Ex(100), ExpireCondition::Nx).unwrap());
    assert!(!db.expire("k", Expiry::Ex(200), ExpireCondition::Nx).unwrap());
    assert!(db.expire("k", Expiry::Ex(200), ExpireCondition::Xx).unwrap());
    assert_eq!(db.ttl("k").unwrap().as_redis_secs(), 200);
    assert!(!db.expire("k", Expiry::Ex(50), ExpireCondition::Gt).unwrap());
    assert!(db.expire("k", Expiry::Ex(300), ExpireCondition::Gt).unwrap());
    assert!(!db.expire("k", Expiry::Ex(400), ExpireCondition::Lt).unwrap());
    assert!(db.expire("k", Expiry::Px(20_000), ExpireCondition::Lt).unwrap());
    assert_eq!(db.ttl("k").unwrap().as_redis_secs(), 20);
    assert!(db.expire("k", Expiry::PxAt(now_ms() + 30_000), ExpireCondition::Always).unwrap());
    assert_eq!(db.ttl("k").unwrap().as_redis_secs(), 30);
    assert!(db.expire("k", Expiry::ExAt(now_ms() / 1000 + 40), ExpireCondition::Always).unwrap());
    let s = db.ttl("k").unwrap().as_redis_secs();
    assert!((38..=40).contains(&s), "{}", s);

    // PERSIST.
    assert!(db.persist("k").unwrap());
    assert_eq!(db.pttl("k").unwrap(), Ttl::Persistent);
    assert!(!db.persist("k").unwrap());
    assert!(!db.persist("missing").unwrap());
    // LT on a key without expiry sets it (no expiry counts as infinite).
    db.set("p", "v").unwrap();
    assert!(db.expire("p", Expiry::Ex(100), ExpireCondition::Lt).unwrap());
    assert!(matches!(db.pttl("p").unwrap(), Ttl::Expires(_)));

    // A time in the past deletes the key.
    db.set("gone", "v").unwrap();
    assert!(db.expire("gone", Expiry::ExAt(1), ExpireCondition::Always).unwrap());
    assert_eq!(db.get("gone").unwrap(), None);
    db.set("gone2", "v").unwrap();
    assert!(db.expire("gone2", Expiry::Px(-1), ExpireCondition::Always).unwrap());
    assert_eq!(db.get("gone2").unwrap(), None);
}

#[test]
fn incr_and_append_keep_the_expiry() {
    let (_dir, db) = open_fast("keepexp");
    db.set_with("n", "1", SetOptions { expiry: Some(Expiry::Ex(100)), ..Default::default() }).unwrap();
    db.incr("n").unwrap();
    assert!(matches!(db.pttl("n").unwrap(), Ttl::Expires(_)));
    db.append("n", "0").unwrap();
    assert!(matches!(db.pttl("n").unwrap(), Ttl::Expires(_)));
    assert_eq!(db.get("n").unwrap(), v("20"));
}

#[test]
fn raw_flags_contradictions_are_invalid() {
    // Through the raw ABI: two units, or two conditions, are SYNAP_EINVAL.
    let (_dir, db) = open_fast("rawflags");
    db.set("k", "v").unwrap();
    let rc = unsafe {
        synap::sys::synap_expire(
            db.as_raw(),
            b"k".as_ptr() as *const _,
            1,
            10,
            synap::sys::SYNAP_EXPIRE_SECONDS | synap::sys::SYNAP_EXPIRE_NX | synap::sys::SYNAP_EXPIRE_XX,
        )
    };
    assert_eq!(rc, synap::sys::SYNAP_EINVAL);
    let rc = unsafe { synap::sys::synap_expire(db.as_raw(), b"k".as_ptr() as *const _, 1, 10, 0) };
    assert_eq!(rc, synap::sys::SYNAP_EINVAL);
    assert_eq!(db.pttl("k").unwrap(), Ttl::Persistent);
}

#[test]
fn scan_keys_and_patterns() {
    let (_dir, db) = open_fast("scan");
    for i in 0..120 {
        db.set(format!("user:{}", i), "u").unwrap();
    }
    for i in 0..30 {
        db.set(format!("other:{}", i), "o").unwrap();
    }
    assert_eq!(db.dbsize().unwrap(), 150);

    // A full scan by cursor reports every user key (maybe some twice).
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    let mut steps = 0;
    loop {
        let (next, keys) = db.scan(cursor, "user:*", 10).unwrap();
        for k in keys {
            assert!(k.starts_with(b"user:"), "{:?}", k);
            seen.insert(k);
        }
        steps += 1;
        assert!(steps < 10_000, "scan does not end");
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 120);
    assert!(steps > 1, "count 10 over 150 keys took a single step");

    let all: BTreeSet<Vec<u8>> = db.scan_iter("*", 0).map(|k| k.unwrap()).collect();
    assert_eq!(all.len(), 150);

    let mut other = db.keys("other:*").unwrap();
    other.sort();
    other.dedup();
    assert_eq!(other.len(), 30);
    assert_eq!(db.keys("other:?").unwrap().len(), 10);
    assert_eq!(db.keys("other:[12]?").unwrap().len(), 20);
    assert_eq!(db.keys("user:1[^0-9]*").unwrap().len(), 0);
    assert_eq!(db.keys("nothing*").unwrap().len(), 0);
    let mut n = 0;
    db.keys_each("user:11?", |k| {
        assert!(k.starts_with(b"user:11"));
        n += 1;
    })
    .unwrap();
    assert_eq!(n, 10);
}

#[test]
fn scan_callback_panic_resumes_after_the_call() {
    let (_dir, db) = open_fast("scanpanic");
    for i in 0..20 {
        db.set(format!("k{}", i), "v").unwrap();
    }
    let mut calls = 0;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.keys_each("*", |_| {
            calls += 1;
            panic!("from the key callback");
        });
    }));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"from the key callback"));
    assert_eq!(calls, 1, "the closure was called again after it panicked");
    // The handle is fine afterwards.
    assert_eq!(db.keys("*").unwrap().len(), 20);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.scan_each(0, "*", 100, |_| panic!("scan"));
    }));
    assert!(r.is_err());
    db.set("after", "ok").unwrap();
}

#[test]
fn flushall_needs_permission() {
    let (_dir, db) = open_fast("flush-denied");
    db.set("k", "v").unwrap();
    let e = db.flushall().unwrap_err();
    assert_eq!(e.code, ErrorCode::Permission, "{}", e);
    assert_eq!(db.dbsize().unwrap(), 1);
    drop(db);

    let dir = TempDir::new("flush");
    let db = Db::open(dir.data(), &fast_options().allow_flushall(true)).unwrap();
    db.mset(&[("a", "1"), ("b", "2")]).unwrap();
    db.flushall().unwrap();
    assert_eq!(db.dbsize().unwrap(), 0);
    assert_eq!(db.get("a").unwrap(), None);
    db.set("c", "3").unwrap();
    assert_eq!(db.dbsize().unwrap(), 1);
}

#[test]
fn sync_snapshot_stats() {
    let (_dir, db) = open_fast("stats");
    db.mset(&[("a", "1"), ("b", "2")]).unwrap();
    db.sync().unwrap();
    db.snapshot().unwrap();
    db.set("c", "3").unwrap();
    let json = db.stats_json().unwrap();
    assert!(json.starts_with('{') && json.ends_with('}'), "{}", json);
    for field in ["\"version\"", "\"kv\"", "\"keys\"", "\"wal\"", "\"snapshot\"", "\"recovery\""] {
        assert!(json.contains(field), "{} not in {}", field, json);
    }
    assert!(json.contains(synap::version()));
}

#[test]
fn limits_are_too_large() {
    let dir = TempDir::new("limits");
    let opts = fast_options().set("kv.max_key_bytes", "100").unwrap().set("kv.max_value_bytes", "1000").unwrap();
    let db = Db::open(dir.data(), &opts).unwrap();
    let long_key = vec![b'k'; 101];
    let e = db.set(&long_key, "v").unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{}", e);
    assert!(!e.message.is_empty());
    assert_eq!(db.get(&long_key).unwrap_err().code, ErrorCode::TooLarge);
    db.set(vec![b'k'; 100], vec![b'v'; 1000]).unwrap();
    assert_eq!(db.set("k", vec![b'v'; 1001]).unwrap_err().code, ErrorCode::TooLarge);
    db.set("k", vec![b'v'; 999]).unwrap();
    assert_eq!(db.append("k", "xx").unwrap_err().code, ErrorCode::TooLarge);
    assert_eq!(db.strlen("k").unwrap(), 999);
}

#[test]
fn errors_carry_message_and_code() {
    let (_dir, db) = open_fast("errors");
    db.set("s", "not a number").unwrap();
    let e = db.incr("s").unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains(&e.message) && shown.contains("SYNAP_EINVAL"), "{}", shown);
    let as_std: Box<dyn std::error::Error> = Box::new(e.clone());
    assert_eq!(as_std.to_string(), shown);
    // A later success does not bring back an old message.
    db.set("ok", "1").unwrap();
    assert_eq!(db.incr("s").unwrap_err(), e);
    let _ = Options::new();
}
