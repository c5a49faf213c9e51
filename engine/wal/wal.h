// Wal: a durable, group-committed, segmented write-ahead log in one directory.
//
// Append() copies a record into the pending batch and returns its LSN at once;
// LSNs are assigned in call order and the log stores records in that order.
// A record is *acknowledged* when the fsync mode's promise holds for it (see
// FsyncMode): the caller learns it by blocking (WaitFor), by a callback
// (OnAcked) or through an eventfd (event_fd + acked_lsn), so an event loop
// never blocks on fsync.
//
// Once a write or fsync fails, the log is poisoned: every waiter not yet
// acknowledged and every later append gets the error, and nothing is ever
// reported durable again until the log is reopened (and recovered).
//
// Thread-safety: every public method may be called from any thread, except
// that Close() must not race with itself.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <semaphore>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"
#include "engine/log/format.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"
#include "engine/wal/inflight.h"
#include "engine/wal/options.h"

namespace synap::wal {

using log::Lsn;
class GroupCommitter;

struct WalStats {
  uint64_t appends = 0;
  uint64_t batches = 0;          // batches written
  uint64_t batch_bytes = 0;      // bytes written for batches (headers and padding included)
  uint64_t payload_bytes = 0;    // raw record bytes appended (with length prefixes)
  uint64_t max_batch_records = 0;
  uint64_t syncs = 0;            // fsync-only requests (periodic timer, Sync(), seal)
  uint64_t short_writes = 0;     // resubmitted after a short write
  uint64_t segments_created = 0;
  Lsn last_lsn = 0;              // last LSN handed out
  Lsn written_lsn = 0;           // every record <= this is written
  Lsn durable_lsn = 0;           // every record <= this is covered by a completed fsync
  Lsn acked_lsn = 0;             // every record <= this is acknowledged
  std::string mechanism;         // the one in use (after any fallback)
  std::string fallback_reason;   // why the configured mechanism was replaced, if it was
};

// A batch being filled, written or reused. The buffer is aligned for O_DIRECT
// and starts with room for the batch header.
struct BatchBuffer {
  log::AlignedBuffer buf;
  size_t used = log::kBatchHeaderSize;  // header room + records
  uint32_t count = 0;                   // records
  Lsn first_lsn = 0;
  std::chrono::steady_clock::time_point since;  // first record's arrival (only with linger)
  void Reserve(size_t n);               // grows keeping contents; never shrinks
};

class Wal {
 public:
  // Opens (creating if needed) the log in opts.dir: takes <dir>/LOCK (Locked
  // if another Wal holds it), recovers the log — every record from
  // `replay_from` on goes to `replay` in LSN order; on any error the caller
  // must discard what it was given — and registers it with `committer`, which
  // must outlive it. `replay_from` > 1 says the caller holds every record
  // below it (a snapshot): the log must reach back to it (Corruption if its
  // first segment starts later), and if the log ends before it, its segments
  // are deleted and LSNs go on from replay_from. Errors: InvalidArgument (options), Locked, Corruption
  // (damage that is not a torn tail, under the default recovery mode),
  // Unsupported (a newer format version), IOError/NoSpace.
  static Result<std::unique_ptr<Wal>> Open(GroupCommitter* committer, const WalOptions& opts,
                                           const log::ReplayFn& replay, log::RecoveryReport* report,
                                           Lsn replay_from = 1);
  ~Wal();  // closes if still open

  // Appends one record. Returns its LSN, or TooLarge (over max_record_bytes),
  // ReadOnly (poisoned) or Closed. Blocks only while max_pending_bytes are
  // waiting to be written (backpressure).
  Result<Lsn> Append(std::span<const uint8_t> record);
  // Appends several records with consecutive LSNs in one batch (all or none);
  // returns the last LSN.
  Result<Lsn> AppendMany(std::span<const std::span<const uint8_t>> records);

  // Blocks until `lsn` is acknowledged, or returns the error that stops it.
  Status WaitFor(Lsn lsn);
  // Calls cb(status) once `lsn` is acknowledged or the log fails: at once on
  // this thread if that is already known, else on the committer thread (keep
  // it short; it must not call back into this Wal's blocking methods).
  void OnAcked(Lsn lsn, std::function<void(Status)> cb);
  // An eventfd (EFD_NONBLOCK) that becomes readable whenever acked_lsn() or
  // durable_lsn() may have advanced, or the log failed or closed: read it,
  // then look at acked_lsn() (a wake-up can bring nothing new). Owned by the Wal.
  Result<int> event_fd();

  // Deletes the sealed segments whose records are all below `lsn` (a
  // snapshot holds them); returns how many. Never the newest segment.
  Result<uint64_t> RemoveSegmentsBelow(Lsn lsn);

  // Makes everything appended so far durable, whatever the fsync mode, and
  // waits for it.
  Status Sync();
  // Stops accepting appends, writes and syncs what is pending, closes files.
  Status Close();

  Lsn acked_lsn() const { return acked_lsn_.load(std::memory_order_acquire); }
  Lsn durable_lsn() const { return durable_lsn_.load(std::memory_order_acquire); }
  Lsn last_lsn() const;
  Status status() const;  // ok, or the error that poisoned the log
  WalStats stats() const;
  const WalOptions& options() const { return opts_; }

 private:
  friend class GroupCommitter;
  using Clock = std::chrono::steady_clock;
  struct Waiter {  // a thread blocked in WaitFor
    std::binary_semaphore done{0};
    Status result;
  };
  struct AckEntry {
    Lsn lsn;
    uint64_t seq;
    Waiter* waiter;
    std::function<void(Status)> cb;
    bool operator>(const AckEntry& o) const { return lsn != o.lsn ? lsn > o.lsn : seq > o.seq; }
  };

  Wal(GroupCommitter* committer, const WalOptions& opts);
  Status Recover(const log::ReplayFn& replay, Lsn replay_from, log::RecoveryReport* report);
  Status AppendLocked(std::unique_lock<std::mutex>& lk, std::span<const std::span<const uint8_t>> records,
                      Lsn* last);
  std::unique_ptr<BatchBuffer> NewBuffer();  // under mu_
  void WaitState(const std::function<bool()>& pred);

  // ---- committer thread only ----
  // Prepares this log's I/O; returns when it next needs attention (linger,
  // periodic timer) or Clock::time_point::max().
  Clock::time_point PrepareWork(Clock::time_point now);
  void OnCompletion(InflightOp* op, const io::Completion& c);
  struct Work {  // what PrepareWork learned under mu_
    bool closing = false;
    Lsn sync_requested = 0;
    Clock::time_point linger_deadline = Clock::time_point::max();
  };
  Work TakePending(Clock::time_point now);
  void EncodeReady();
  void SubmitReady();
  Status Roll(Lsn base_lsn);
  Status ProbeDirect();
  Status ResumeLastSegment(const log::SegmentState& last);
  void ReleaseLock();
  void SubmitSync();
  void Resubmit(InflightOp* op);
  void Retire();
  void Poison(const Status& st);
  void Advance(Lsn written, Lsn durable);
  void FinishClose();
  void ReleaseAcked();
  void Recycle(std::unique_ptr<BatchBuffer> b);

  GroupCommitter* committer_;
  WalOptions opts_;
  io::IoBackend* io_;

  // ---- shared with appenders, under mu_ ----
  mutable std::mutex mu_;
  std::condition_variable space_cv_;  // appenders waiting for max_pending_bytes
  std::condition_variable state_cv_;  // Close() and Sync() waiting on the committer
  std::deque<std::unique_ptr<BatchBuffer>> pending_;  // batches not yet taken; the back one is open
  uint64_t pending_bytes_ = 0;                        // record bytes in pending_
  Lsn next_lsn_ = 1;
  Lsn sync_requested_ = 0;  // Sync() wants durable_lsn >= this
  bool closing_ = false;
  bool closed_ = false;
  Status status_;
  std::priority_queue<AckEntry, std::vector<AckEntry>, std::greater<>> acks_;
  uint64_t ack_seq_ = 0;
  std::vector<std::unique_ptr<BatchBuffer>> free_buffers_;
  WalStats stats_;
  int event_fd_ = -1;

  std::atomic<bool> status_ok_{true};  // status_.ok(), readable without mu_
  std::atomic<Lsn> acked_lsn_{0};
  std::atomic<Lsn> durable_lsn_{0};
  std::atomic<Lsn> written_lsn_{0};
  std::atomic<uint32_t> in_flight_{0};

  // ---- committer thread only ----
  struct Ready {
    std::unique_ptr<BatchBuffer> batch;
    log::BatchHeader header;  // all but the segment-dependent fields
  };
  std::vector<uint8_t> compress_scratch_;
  std::optional<Ready> ready_;
  std::deque<std::unique_ptr<InflightOp>> inflight_;  // batches, in LSN order
  std::unique_ptr<InflightOp> sync_op_;               // the fsync-only request, while out
  io::FileHandle file_ = io::kInvalidFile;
  io::FileHandle lock_file_ = io::kInvalidFile;  // <dir>/LOCK, held while open
  log::SegmentHeader segment_;
  uint64_t segment_offset_ = 0;  // where the next batch goes
  static constexpr uint64_t kWritebackBytes = 8ull << 20;
  uint64_t unsynced_bytes_ = 0;  // written since the last fsync request was sent
  bool segment_has_batches_ = false;
  bool must_roll_ = false;        // the resumed segment does not suit the mechanism
  bool direct_ = false;           // segments are written O_DIRECT (after any fallback)
  uint32_t alignment_ = log::kMinAlignment;
  uint64_t next_segment_id_ = 1;
  Clock::time_point next_periodic_;
  log::Preallocate preallocate_ = log::Preallocate::kNone;  // opts_.preallocate resolved
  std::unique_ptr<log::SpareSegment> spare_;                 // when preallocating
};

}  // namespace synap::wal
