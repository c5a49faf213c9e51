// SimBackend: an in-memory, seeded IoBackend that can crash and inject faults.
//
// It models what a power cut can leave on a disk, so the write-ahead log's
// crash tests can run thousands of seeded scenarios in seconds:
//
//  * Namespace. Paths are plain strings ("/data/wal/0001.log"; a missing
//    leading '/' means the same path, "." and ".." are refused). Directories
//    are explicit. Every directory has a live listing (what lookups see) and a
//    durable listing (what survives a crash); creating, removing or renaming
//    an entry changes only the live one until sync_dir() of that directory.
//    The exception is make_dir(): like the kernel backends, which fsync each
//    new directory's parent, it makes the directories it creates durable.
//  * File data. Every file has live bytes (the page cache: what reads see), a
//    durable image (bytes and size) and the ordered list of writes made since
//    its last sync, each with its own copy of the bytes. sync() (fdatasync)
//    makes the whole live content and size durable. Size changes (truncate,
//    allocate) are durable only through a sync.
//  * Async path. submit_and_wait() completes a seeded random number (at least
//    min_complete) of the requests in flight, in a seeded random order. A
//    request is one or two steps: its write, then for kDataSync the sync of
//    the whole file. A kDsyncWrite makes exactly its range durable.
//  * Faults: short writes, zero-byte writes, errno injection (the n-th
//    matching operation, or with a probability).
//  * Crash. crash() or crash_after(n) freezes the backend: every later
//    operation fails with EIO and completes nothing. The crash image is taken
//    at that instant: durable listings, durable images, and per CrashMode
//    none, or a seeded subset (whole writes or 512-byte sectors aligned to
//    file offsets), of the writes not covered by a sync. restart() makes that
//    image the live state, closes every handle and clears the faults.
//
// Determinism: given the same seed and the same sequence of calls, every
// completion order, fault and crash image is the same, on every platform
// (the generator is specified here, not taken from <random>). Scheduling,
// faults and crash tearing draw from separate streams, so enabling a fault
// does not change the completion order.
//
// Threading: every public method takes one mutex; submit_and_wait() releases
// it while it waits, so wake() and the test helpers may be called from other
// threads. Nothing user-supplied is called with the mutex held.
//
// Stats: only the async path is counted (requests, writes, syncs,
// dsync_writes, short_writes, bytes_written); enters stays 0.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"

namespace synap::io {

class SimBackend final : public IoBackend {
 public:
  // Operation classes that faults can target.
  enum class Op : uint8_t {
    kWrite,     // the write step of an async request (kNone, kDataSync or kDsyncWrite)
    kSync,      // the sync step of an async kDataSync request (also len == 0)
    kAnyAsync,  // either async step
    kOpen,      // open()
    kWriteAt,   // synchronous write_at()
    kSyncFile,  // synchronous sync()
    kSyncDir,   // sync_dir()
    kAllocate,  // allocate()
  };
  static constexpr int kOpCount = 8;

  // What a crash does to the writes not covered by a completed sync.
  enum class CrashMode : uint8_t {
    kDropUnsynced,  // all of them are lost
    kTornUnsynced,  // each one, by seed: lost, kept whole, or torn (a random
                    // subset of its 512-byte sectors, aligned to file offsets)
  };
  static constexpr uint32_t kSectorSize = 512;
  // Writes, truncates and allocations past this size fail with EFBIG, so a
  // wild offset fails the test instead of exhausting memory.
  static constexpr uint64_t kMaxFileSize = uint64_t{1} << 32;

  explicit SimBackend(uint64_t seed = 0);
  ~SimBackend() override;
  SimBackend(const SimBackend&) = delete;
  SimBackend& operator=(const SimBackend&) = delete;

  // ---- IoBackend ----
  const char* name() const override { return "sim"; }
  Result<FileHandle> open(const std::string& path, const OpenOptions& opts) override;
  Status close(FileHandle f) override;
  Result<uint64_t> file_size(FileHandle f) override;
  Result<size_t> read_at(FileHandle f, uint64_t off, uint8_t* buf, size_t len) override;
  Status write_at(FileHandle f, uint64_t off, const uint8_t* buf, size_t len) override;
  Status sync(FileHandle f) override;
  Status allocate(FileHandle f, uint64_t off, uint64_t len) override;
  Status truncate(FileHandle f, uint64_t size) override;
  uint32_t direct_alignment(FileHandle f) override;
  Status make_dir(const std::string& dir) override;
  Status sync_dir(const std::string& dir) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Result<FileHandle> lock_file(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  void prepare(const WriteRequest& req) override;
  Status submit_and_wait(unsigned min_complete, int64_t timeout_us,
                         std::vector<Completion>* out) override;
  size_t in_flight() const override;
  void wake() override;
  IoStats stats() const override;

  // ---- Configuration (kept across restart) ----
  void set_seed(uint64_t seed);              // re-seeds every random stream
  void set_direct_supported(bool supported); // false: open(direct) -> Unsupported
  void set_direct_alignment(uint32_t bytes); // default 4096; a power of two
  void set_allocate_supported(bool supported);  // false: allocate -> Unsupported
  void set_crash_mode(CrashMode mode);       // default kDropUnsynced

  // ---- Faults (cleared by restart) ----
  // An async write completes with written in [1, len-1] (for a direct handle a
  // multiple of the alignment); only those bytes reach the file, as unsynced
  // writes; a linked sync is skipped; durable = false, error = 0.
  void set_short_write_probability(double p);
  // An async write completes with written = 0 and error = 0.
  void set_zero_write_probability(double p);
  // The (after_n + 1)-th operation matching `op`, counted from this call,
  // fails with `err` (a positive errno). One-shot. A failed write applies
  // nothing; a failed sync leaves the durable image as it was.
  void inject_error(Op op, int err, uint64_t after_n = 0);
  // Every operation matching `op` fails with `err` with probability p (one
  // setting per op; p = 0 removes it).
  void set_error_probability(Op op, int err, double p);
  void clear_faults();

  // ---- Crash ----
  void crash();
  // Crashes right before the (n + 1)-th operation from now would execute:
  // exactly n more operations run. An operation is one async step (a write,
  // or a sync; a kDataSync write is two) or one synchronous mutation (open
  // with create, write_at, sync, allocate, truncate, make_dir, sync_dir,
  // remove, rename). The operation that meets the crash fails with EIO.
  void crash_after(uint64_t n_ops);
  // Makes the crash image the live state (crashing first if not crashed),
  // drops every handle and request, clears faults and a scheduled crash.
  void restart();
  bool crashed() const;
  uint64_t ops_executed() const;  // operations counted as above, since construction

  // ---- Test helpers (work while crashed) ----
  // Live bytes of a file (before restart, a crashed backend shows its state
  // at the crash, not the crash image).
  Result<std::vector<uint8_t>> contents(const std::string& path) const;
  // Bit rot: XORs one byte in the live bytes and in the durable image (in the
  // crash image while crashed). The offset must be below the live size.
  Status corrupt(const std::string& path, uint64_t offset, uint8_t xor_mask);

 private:
  struct State;
  Status wait_for_wake(std::unique_lock<std::mutex>& lock, int64_t timeout_us);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, FileHandle>> locks_;  // lock_file holders, guarded by mu_
  std::unique_ptr<State> s_;  // everything else, guarded by mu_
};

}  // namespace synap::io
