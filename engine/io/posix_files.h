// PosixFiles: the synchronous half of IoBackend over plain POSIX syscalls.
//
// Both kernel backends (UringBackend, SyncBackend) derive from it and add
// only the asynchronous write path. Every call here is thread-safe: each is a
// self-contained syscall sequence, and the one piece of shared state (the
// handle -> path map used to name files in error messages) sits behind a
// mutex.
//
// Errors come back as Status::FromErrno with a message naming the operation
// and the path (for handle-based calls, the path the handle was opened with).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/backend.h"

namespace synap::io {

// IoStats with relaxed atomic counters: written by the submitter thread,
// readable from any thread (a benchmark or a stats endpoint) without a race.
class AtomicIoStats {
 public:
  void add_enter() { bump(enters_); }
  void add_request() { bump(requests_); }
  void add_write() { bump(writes_); }
  void add_sync() { bump(syncs_); }
  void add_dsync_write() { bump(dsync_writes_); }
  void add_short_write() { bump(short_writes_); }
  void add_bytes(uint64_t n) { bytes_written_.fetch_add(n, std::memory_order_relaxed); }
  IoStats snapshot() const;

 private:
  static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<uint64_t> enters_{0}, requests_{0}, writes_{0}, syncs_{0};
  std::atomic<uint64_t> dsync_writes_{0}, short_writes_{0}, bytes_written_{0};
};

class PosixFiles : public IoBackend {
 public:
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

 protected:
  // "<op> <path>" for an error message about handle `f`.
  std::string describe(const char* op, FileHandle f) const;

 private:
  mutable std::mutex paths_mu_;
  std::unordered_map<FileHandle, std::string> paths_;  // open handles only
};

}  // namespace synap::io
