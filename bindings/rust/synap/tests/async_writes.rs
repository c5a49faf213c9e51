//! Non-blocking writes: tickets, acked, wait, the event fd and on_acked.

mod common;

use std::os::raw::{c_int, c_short, c_ulong, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{open_fast, TempDir};
use synap::{Db, ErrorCode, Fsync, Options, SetOptions, Ticket};

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}
const POLLIN: c_short = 1;

extern "C" {
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
}

fn open_always(tag: &str) -> (TempDir, Db) {
    let dir = TempDir::new(tag);
    let db = Db::open(dir.data(), &Options::new().fsync(Fsync::Always).snapshot_interval(0).unwrap()).unwrap();
    (dir, db)
}

#[test]
fn tickets_wait_and_acked() {
    let (_dir, db) = open_always("tickets");
    let t1 = db.set_async("a", "1").unwrap();
    let t2 = db.set_async("b", "2").unwrap();
    assert!(t1 > Ticket::NONE);
    assert!(t2 > t1, "tickets grow with log order: {:?} {:?}", t1, t2);
    db.wait(t2).unwrap();
    assert!(db.acked().unwrap() >= t2);
    assert_eq!(db.get("a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get("b").unwrap(), Some(b"2".to_vec()));
    db.wait(Ticket::NONE).unwrap();
    db.wait(t1).unwrap(); // already acknowledged: returns at once

    let (n, t3) = db.incr_by_async("n", 5).unwrap();
    assert_eq!(n, 5);
    let (n, t4) = db.incr_by_async("n", 5).unwrap();
    assert_eq!(n, 10);
    assert!(t4 > t3 && t3 > t2);
    let t5 = db.mset_async(&[("c", "3"), ("d", "4")]).unwrap();
    let (written, t6) = db.msetnx_async(&[("c", "x"), ("e", "5")]).unwrap();
    assert!(!written);
    let (deleted, t7) = db.del_async(&["a", "zz"]).unwrap();
    assert_eq!(deleted, 1);
    let (written, t8) = db.set_async_with("b", "new", SetOptions { nx: true, ..Default::default() }).unwrap();
    assert!(!written);
    for t in [t4, t5, t6, t7, t8] {
        db.wait(t).unwrap();
    }
    assert_eq!(
        db.mget(&["a", "b", "c", "d", "e", "n"]).unwrap(),
        vec![None, Some(b"2".to_vec()), Some(b"3".to_vec()), Some(b"4".to_vec()), None, Some(b"10".to_vec())]
    );
    let e = db.set_async_with("b", "x", SetOptions { get: true, ..Default::default() }).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
}

#[test]
fn on_acked_calls_each_closure_once_and_frees_it() {
    let (_dir, db) = open_always("onacked");
    let token = Arc::new(());
    let (tx, rx) = mpsc::channel();
    let mut tickets = Vec::new();
    for i in 0..200 {
        let t = db.set_async(format!("k{}", i), "v").unwrap();
        let tx = tx.clone();
        let token = Arc::clone(&token);
        db.on_acked(t, move |r| {
            let _keep = token; // dropped with the closure
            tx.send((t, r)).unwrap();
        })
        .unwrap();
        tickets.push(t);
    }
    drop(tx);
    let mut got: Vec<Ticket> = Vec::new();
    for _ in 0..200 {
        let (t, r) = rx.recv_timeout(Duration::from_secs(10)).expect("callback did not come");
        r.unwrap();
        got.push(t);
    }
    got.sort();
    assert_eq!(got, tickets);
    // Every closure was called and then freed: nothing holds the token, and
    // the channel has no sender left.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&token) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(Arc::strong_count(&token), 1);
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    assert_eq!(db.pending_callbacks(), 0);
    for i in 0..200 {
        assert!(db.get(format!("k{}", i)).unwrap().is_some());
    }
}

#[test]
fn on_acked_runs_at_once_when_already_known() {
    let (_dir, db) = open_fast("atonce");
    let t = db.set_async("k", "v").unwrap();
    db.wait(t).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    db.on_acked(t, move |r| tx.send(r).unwrap()).unwrap();
    assert_eq!(rx.try_recv().expect("not called at once on this thread"), Ok(()));
    db.on_acked(Ticket::NONE, move |r| tx2.send(r).unwrap()).unwrap();
    assert_eq!(rx.try_recv().expect("ticket 0 not called at once"), Ok(()));
    // A Box<dyn FnOnce> is accepted as it is.
    let called = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&called);
    let boxed: Box<dyn FnOnce(synap::Result<()>) + Send> = Box::new(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    db.on_acked(t, boxed).unwrap();
    assert_eq!(called.load(Ordering::SeqCst), 1);
    assert_eq!(db.pending_callbacks(), 0);
}

#[test]
fn on_acked_panics_stay_on_the_rust_side() {
    let (_dir, db) = open_always("ackpanic");
    let t = db.set_async("k", "v").unwrap();
    db.on_acked(t, |_| panic!("in on_acked (expected by the test)")).unwrap();
    db.wait(t).unwrap();
    let (tx, rx) = mpsc::channel();
    let t2 = db.set_async("k2", "v").unwrap();
    db.on_acked(t2, move |r| tx.send(r).unwrap()).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), Ok(()));
    db.set("k3", "still working").unwrap();
}

#[test]
fn closures_never_called_by_libsynap_are_called_on_close() {
    let (_dir, db) = open_fast("unfired");
    let token = Arc::new(());
    let calls = Arc::new(AtomicUsize::new(0));
    let (tk, c) = (Arc::clone(&token), Arc::clone(&calls));
    // A ticket far beyond the log: never acknowledged while the handle lives
    // (or refused at once).
    let registered = db
        .on_acked(Ticket(u64::MAX - 1), move |r| {
            let _keep = tk;
            assert!(r.is_err());
            c.fetch_add(1, Ordering::SeqCst);
        })
        .is_ok();
    drop(db);
    assert_eq!(calls.load(Ordering::SeqCst), if registered { 1 } else { 0 });
    assert_eq!(Arc::strong_count(&token), 1, "the closure leaked");
}

#[test]
fn event_fd_signals_acknowledgement() {
    let (_dir, db) = open_always("eventfd");
    let fd = db.event_fd().unwrap();
    assert!(fd >= 0);
    let t = db.set_async("k", "v").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut p = PollFd { fd, events: POLLIN, revents: 0 };
        let n = unsafe { poll(&mut p, 1, 100) };
        assert!(n >= 0, "poll failed");
        if n == 1 {
            let mut buf = [0u8; 8];
            let r = unsafe { read(fd, buf.as_mut_ptr() as *mut c_void, 8) };
            assert!(r == 8 || r == -1, "read {}", r); // -1: EAGAIN, someone drained it
        }
        if db.acked().unwrap() >= t {
            break;
        }
        assert!(Instant::now() < deadline, "ticket {:?} never acknowledged", t);
    }
    assert_eq!(db.get("k").unwrap(), Some(b"v".to_vec()));
    // Non-blocking: once drained, a read answers EAGAIN (-1) rather than
    // blocking (a hang here is the failure).
    let mut buf = [0u8; 8];
    for _ in 0..3 {
        let r = unsafe { read(fd, buf.as_mut_ptr() as *mut c_void, 8) };
        assert!(r == -1 || r == 8, "read {}", r);
    }
}
