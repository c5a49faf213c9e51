// UringBackend: the asynchronous write path over io_uring (liburing).
//
// One request becomes one or two SQEs:
//   kNone        write
//   kDsyncWrite  write with RWF_DSYNC
//   kDataSync    write (IOSQE_IO_LINK) -> fsync(IORING_FSYNC_DATASYNC);
//                with len == 0, the fsync alone
// Each request lives in a slab slot until its CQEs are in (one, or two for a
// write+fsync pair without UringOptions::skip_write_cqes); the slot index and
// the step ("write" or "sync") travel in the CQE's user_data, and exactly one
// Completion is produced per request. A short write is a completion with
// error == 0 and written < len (its linked fsync's -ECANCELED is not an
// error); the caller resubmits the rest.
//
// Ring setup, best first (the first the kernel accepts wins):
//   SINGLE_ISSUER|DEFER_TASKRUN  (6.1+) created R_DISABLED, see below
//   COOP_TASKRUN                 (5.19+)
//   no flags
// SINGLE_ISSUER binds the ring to one submitting task. The engine creates the
// backend on the opening thread but drives it from the group-commit thread,
// so the ring is created disabled and enabled by the first thread that
// submits (prepare()'s flush or submit_and_wait()); from then on only that
// thread may submit or wait.
//
// wake(): an eventfd whose read SQE is kept armed in the ring. wake() writes
// 1 to it; the read completes, which ends the kernel wait of a current
// submit_and_wait() or makes the next one return at once. Every kernel wait
// asks for a single CQE and the loop around it counts requests, so
// min_complete is in requests, not CQEs. Waiting in the kernel for N > 1 CQEs
// would save nothing here (with skipped write CQEs a request is one CQE) and
// the wake CQE could not end such a wait on its own.
//
// Destruction: the kernel reads a request's buffer until its CQE, so the
// destructor waits (bounded) for requests in flight when it runs on the
// submitter thread; elsewhere the owner must have drained them first.
#pragma once

#include <liburing.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/posix_files.h"

namespace synap::io {

// Where the ring-setup fallback chain starts (see above). Tests start later
// in the chain to run every variant on a kernel that would accept the first.
enum class UringSetup { kSingleIssuerDeferTaskrun, kCoopTaskrun, kPlain };

struct UringOptions {
  UringSetup first_setup = UringSetup::kSingleIssuerDeferTaskrun;
  // Mark the write of a write+fsync pair IOSQE_CQE_SKIP_SUCCESS where the
  // kernel has it (IORING_FEAT_CQE_SKIP, 5.17+), so a request posts exactly
  // one CQE: the fsync's on success; the write's on failure or a short write
  // (the kernel then posts no CQE for the cancelled fsync). One CQE per
  // request means one wake-up and one io_uring_enter per committed batch.
  // Off: two CQEs, and the fsync's -ECANCELED is read and discarded.
  bool skip_write_cqes = true;
};

class UringBackend final : public PosixFiles {
 public:
  // `queue_depth` is the number of requests meant to be in flight at once;
  // the ring gets 2 * queue_depth SQEs since a request may need two.
  static Result<std::unique_ptr<UringBackend>> Create(unsigned queue_depth,
                                                      const UringOptions& options = {});
  ~UringBackend() override;

  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  const char* name() const override { return "io_uring"; }
  // The setup flags the kernel accepted, e.g. "SINGLE_ISSUER|DEFER_TASKRUN".
  const char* setup_flags() const { return setup_name_; }
  // Whether successful writes of write+fsync pairs post no CQE (see UringOptions).
  bool skips_write_cqes() const { return skip_write_cqes_; }

  void prepare(const WriteRequest& req) override;
  Status submit_and_wait(unsigned min_complete, int64_t timeout_us,
                         std::vector<Completion>* out) override;
  size_t in_flight() const override { return live_requests_; }
  void wake() override;
  IoStats stats() const override { return stats_.snapshot(); }

 private:
  using Clock = std::chrono::steady_clock;

  // One request between prepare() and its Completion.
  struct Slot {
    WriteRequest req;
    // CQE result of the write step. Starts at req.len: with skipped write
    // CQEs, no CQE is exactly what a full write looks like.
    int64_t write_res = 0;
    int32_t sync_res = 0;   // CQE result of the fsync step
    uint8_t cqes_left = 0;  // CQEs still to come; the slot is free at 0
  };

  UringBackend() = default;
  Status init(unsigned queue_depth, const UringOptions& options);
  Status setup_ring(unsigned entries, const UringOptions& options);

  uint32_t alloc_slot(const WriteRequest& req);
  bool queue_sqes(uint32_t slot);  // false: no room in the SQ even after a flush
  bool reserve_sqes(unsigned n);
  void arm_wake();
  Status ensure_enabled();
  Status flush_backlog();

  // One trip into the kernel: submit, then, when `wait`, wait for one CQE
  // for at most `left_us` (< 0: no limit).
  Status enter(bool wait, int64_t left_us);
  // Consumes every ready CQE; returns how many requests completed.
  unsigned drain(std::vector<Completion>* out, bool* woken);
  bool on_cqe(uint64_t user_data, int32_t res, std::vector<Completion>* out, bool* woken);
  Completion finish(const Slot& s);  // also counts bytes and short writes

  void drain_before_exit();

  io_uring ring_{};
  bool ring_ready_ = false;  // ring_ was initialised (and must be torn down)
  bool needs_enable_ = false;  // created R_DISABLED, not yet enabled
  bool single_issuer_ = false;  // only submitter_ may submit or wait
  bool skip_write_cqes_ = false;
  std::thread::id submitter_;  // the thread that enabled the ring
  const char* setup_name_ = "";

  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;  // target of the armed eventfd read
  bool wake_armed_ = false;  // a read SQE of wake_fd_ is queued or in flight

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> backlog_;  // prepared slots still waiting for SQEs
  size_t live_requests_ = 0;
  Status deferred_error_;  // a failure in prepare(), reported by submit_and_wait()
  AtomicIoStats stats_;
};

}  // namespace synap::io
