//! One `Db` shared by many threads (synap.h: a handle may be used by any
//! number of threads at once).

mod common;

use std::sync::Arc;
use std::thread;

use common::{fast_options, open_fast, TempDir};
use synap::Db;

#[test]
fn eight_threads_write_distinct_keys() {
    let (dir, db) = open_fast("threads");
    let db = Arc::new(db);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                for i in 0..250 {
                    db.set(format!("t{}:{}", t, i), format!("{}-{}", t, i)).unwrap();
                    // Each thread reads its own writes at once.
                    assert_eq!(db.get(format!("t{}:{}", t, i)).unwrap(), Some(format!("{}-{}", t, i).into_bytes()));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(db.dbsize().unwrap(), 2000);
    for t in 0..8 {
        for i in 0..250 {
            assert_eq!(db.get(format!("t{}:{}", t, i)).unwrap(), Some(format!("{}-{}", t, i).into_bytes()));
        }
    }
    // And all of it survives a reopen.
    let db = Arc::try_unwrap(db).expect("threads still hold the Db");
    db.close().unwrap();
    let db = Db::open(dir.data(), &fast_options()).unwrap();
    assert_eq!(db.dbsize().unwrap(), 2000);
}

#[test]
fn concurrent_increments_are_atomic() {
    let (_dir, db) = open_fast("incrs");
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..200 {
                    db.incr("counter").unwrap();
                }
            });
        }
        // Readers alongside the writers see valid integers only.
        s.spawn(|| {
            for _ in 0..200 {
                if let Some(v) = db.get("counter").unwrap() {
                    let n: i64 = String::from_utf8(v).unwrap().parse().unwrap();
                    assert!((0..=1600).contains(&n));
                }
            }
        });
    });
    assert_eq!(db.get("counter").unwrap(), Some(b"1600".to_vec()));
}

#[test]
fn db_moves_to_another_thread() {
    let dir = TempDir::new("move");
    let db = Db::open(dir.data(), &fast_options()).unwrap();
    let db = thread::spawn(move || {
        db.set("k", "from another thread").unwrap();
        db
    })
    .join()
    .unwrap();
    assert_eq!(db.get("k").unwrap(), Some(b"from another thread".to_vec()));
    // Options may be built on one thread and used on another.
    let opts = thread::spawn(fast_options).join().unwrap();
    drop(db);
    let db = Db::open(dir.data(), &opts).unwrap();
    assert_eq!(db.dbsize().unwrap(), 1);
}
