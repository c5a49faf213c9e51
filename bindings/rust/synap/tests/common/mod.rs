//! Helpers shared by the integration tests: temporary directories (no
//! tempfile crate: std::env::temp_dir + pid + a counter) and quick opens.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use synap::{Db, Fsync, Options};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed (with its contents)
/// when dropped. The data directory of a test is a child of it, so that
/// "does not exist yet" is tested too.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("synap-rs-{}-{}-{}", std::process::id(), n, tag));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data directory used by `open`.
    pub fn data(&self) -> PathBuf {
        self.path.join("db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Options for tests that do not test durability: no fsync per write (close
/// still syncs), no background snapshots.
pub fn fast_options() -> Options {
    Options::new().fsync(Fsync::Never).snapshot_interval(0).unwrap()
}

/// A temp dir and a database in it, with `fast_options`.
pub fn open_fast(tag: &str) -> (TempDir, Db) {
    let dir = TempDir::new(tag);
    let db = Db::open(dir.data(), &fast_options()).expect("open");
    (dir, db)
}

/// Current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
