// GroupCommitter: the one thread that turns appends into I/O.
//
// It owns an IoBackend and serves every Wal registered with it. Each round it
// (1) asks every log for work — a batch to write, a short write to resume, a
// periodic fsync due — and prepares the requests, (2) sends them all with one
// submit_and_wait (one io_uring_enter for many logs where they meet), and
// (3) hands each completion back to its log, which advances its LSNs and
// wakes its waiters. While a batch is in flight the next one accumulates:
// that is the group commit.
//
// Threading: Notify() is thread-safe and cheap (a syscall only when the
// committer sleeps). Everything else runs on the committer thread, or — for
// deterministic tests built without a thread — on the thread calling RunOnce.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/io/backend.h"

namespace synap::wal {

class Wal;
struct InflightOp;

class GroupCommitter {
 public:
  enum class Threading { kOwnThread, kManual };

  GroupCommitter(std::unique_ptr<io::IoBackend> io, Threading threading = Threading::kOwnThread);
  ~GroupCommitter();  // every Wal must be closed before
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  io::IoBackend* io() const { return io_.get(); }
  bool manual() const { return !own_thread_; }

  // One round (see above), waiting at most `max_wait_us` for I/O or work.
  // Called by the own thread in a loop; by tests directly with kManual.
  void RunOnce(int64_t max_wait_us);

  // Some log has new work for the committer. Thread-safe.
  void Notify();

 private:
  friend class Wal;
  using Clock = std::chrono::steady_clock;
  void Register(Wal* w);
  void Unregister(Wal* w);
  void Loop();
  void SpinForWork(uint64_t epoch);

  std::unique_ptr<io::IoBackend> io_;
  // Fixed before the committer thread starts, so that thread may read it
  // (thread_ itself is written by the constructor after the thread starts).
  const bool own_thread_;
  std::mutex wals_mu_;          // guards wals_; held while logs prepare work
  std::vector<Wal*> wals_;
  std::atomic<uint64_t> work_epoch_{0};  // bumped by Notify()
  std::atomic<bool> sleeping_{false};    // the committer is (about to be) blocked in I/O
  std::atomic<bool> stop_{false};
  uint32_t spin_us_ = 30;  // SYNAP_COMMIT_SPIN_US overrides (experiments)
  std::vector<io::Completion> completions_;
  std::thread thread_;
};

}  // namespace synap::wal
