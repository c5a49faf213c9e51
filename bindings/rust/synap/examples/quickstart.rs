//! The README's Rust example, as a program: `cargo run --example quickstart [dir]`.
use synap::{Db, Expiry, Fsync, Options, SetOptions, Ttl};

fn main() -> Result<(), synap::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "./data/kv".to_string());
    let db = Db::open(&dir, &Options::new().fsync(Fsync::Always))?;
    db.set("user:1", "ada")?; // returns once fsynced
    assert_eq!(db.get("user:1")?, Some(b"ada".to_vec()));
    let (written, old) = db.set_with(
        "user:1",
        "grace",
        SetOptions { xx: true, get: true, expiry: Some(Expiry::Ex(60)), ..Default::default() },
    )?;
    assert!(written && old == Some(b"ada".to_vec()));
    assert!(matches!(db.ttl("user:1")?, Ttl::Expires(_)));
    let t = db.set_async("hits", "0")?; // non-blocking: a ticket
    db.on_acked(t, |r| println!("durable: {:?}", r))?;
    db.wait(t)?;
    println!("{} keys in {}; libsynap {}", db.dbsize()?, dir, synap::version());
    Ok(())
}
