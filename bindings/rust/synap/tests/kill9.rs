//! kill -9: a child process writes with fsync=always and prints each key
//! once its write returned (acknowledged); the parent SIGKILLs it mid-stream,
//! reopens the directory, and finds every printed key.
//!
//! The child is this test binary itself, run with SYNAP_KILL9_CHILD_DIR set
//! and filtered to `kill9_child_writer`, which does nothing otherwise.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;
use synap::{Db, Fsync, Options};

const CHILD_ENV: &str = "SYNAP_KILL9_CHILD_DIR";
const MODE_ENV: &str = "SYNAP_KILL9_MODE";

fn value_of(i: u64) -> String {
    format!("value-{}-{}", i, "x".repeat((i % 50) as usize))
}

/// The child's side; a no-op in a normal test run.
#[test]
fn kill9_child_writer() {
    let dir = match std::env::var_os(CHILD_ENV) {
        Some(d) => d,
        None => return,
    };
    let mode = std::env::var(MODE_ENV).unwrap_or_default();
    let db = Db::open(&dir, &Options::new().fsync(Fsync::Always)).expect("child: open");
    let out = std::io::stdout();
    let started = Instant::now();
    let mut i = 0u64;
    // Bounded, so an orphaned child ends by itself.
    while started.elapsed() < Duration::from_secs(60) {
        let key = format!("key-{}", i);
        if mode == "async" {
            // Several writes in flight, each printed once its ticket is acknowledged.
            let t1 = db.set_async(&key, value_of(i)).unwrap();
            let key2 = format!("key-{}", i + 1);
            let t2 = db.set_async(&key2, value_of(i + 1)).unwrap();
            db.wait(t2).unwrap();
            let _ = t1;
            let mut o = out.lock();
            writeln!(o, "ACK {}", i).unwrap();
            writeln!(o, "ACK {}", i + 1).unwrap();
            o.flush().unwrap();
            i += 2;
        } else {
            db.set(&key, value_of(i)).unwrap();
            let mut o = out.lock();
            writeln!(o, "ACK {}", i).unwrap();
            o.flush().unwrap();
            i += 1;
        }
    }
}

/// The key number of a complete "ACK n" line. libtest may print its
/// "test kill9_child_writer ... " before the first one on the same line.
fn parse_ack(line: &str) -> Option<u64> {
    let line = line.strip_suffix('\n')?;
    let at = line.rfind("ACK ")?;
    line[at + 4..].trim().parse().ok()
}

fn run_and_kill(mode: &str) {
    let dir = TempDir::new(&format!("kill9-{}", mode));
    let data = dir.data();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["kill9_child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &data)
        .env(MODE_ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");

    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut acked: Vec<u64> = Vec::new();
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Let it get well into its stream of writes, then kill it mid-write.
    while acked.len() < 300 && Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break; // EOF: the child died by itself
        }
        if let Some(n) = parse_ack(&line) {
            acked.push(n);
        }
    }
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    let status = child.wait().unwrap();
    // Keys printed before the kill that we have not read yet count too; a
    // line cut by the kill (no newline) does not.
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    for l in rest.split_inclusive('\n') {
        if let Some(n) = parse_ack(l) {
            acked.push(n);
        }
    }
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(acked.len() >= 300, "child acknowledged only {} keys (status {:?}); stderr:\n{}", acked.len(), status, err);
    assert!(!status.success(), "the child was not killed: {:?}", status);
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "{:?}", status);
    }

    let db = Db::open(&data, &Options::new()).expect("reopen after kill -9");
    for &i in &acked {
        assert_eq!(
            db.get(format!("key-{}", i)).unwrap(),
            Some(value_of(i).into_bytes()),
            "acknowledged key-{} lost after kill -9 ({} acknowledged)",
            i,
            acked.len()
        );
    }
    // What recovery holds is a prefix of the write order.
    let n = db.dbsize().unwrap();
    assert!(n >= acked.len() as u64);
    for i in 0..n {
        assert!(db.get(format!("key-{}", i)).unwrap().is_some(), "hole at key-{} of {}", i, n);
    }
}

#[test]
fn kill9_keeps_every_acknowledged_write() {
    run_and_kill("sync");
}

#[test]
fn kill9_keeps_every_acknowledged_async_write() {
    run_and_kill("async");
}
