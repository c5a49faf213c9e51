// SyncBackend: the asynchronous write path done synchronously, for kernels
// or sandboxes without io_uring.
//
// prepare() only queues; submit_and_wait() runs the queued requests in order
// on the calling thread: one pwrite (or pwritev2 with RWF_DSYNC) per request,
// then fdatasync for kDataSync. A short write is reported as such and never
// retried here, the same contract as io_uring: the caller resubmits the rest.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "engine/io/posix_files.h"

namespace synap::io {

class SyncBackend final : public PosixFiles {
 public:
  const char* name() const override { return "sync"; }

  void prepare(const WriteRequest& req) override;
  Status submit_and_wait(unsigned min_complete, int64_t timeout_us,
                         std::vector<Completion>* out) override;
  size_t in_flight() const override { return queue_.size(); }
  void wake() override;
  IoStats stats() const override { return stats_.snapshot(); }

 private:
  Completion execute(const WriteRequest& req);
  // Blocks until wake() or `timeout_us` (< 0: no limit); consumes the wake.
  void wait_for_wake(int64_t timeout_us);

  std::vector<WriteRequest> queue_;  // submitter thread only
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;  // guarded by wake_mu_
  AtomicIoStats stats_;
};

}  // namespace synap::io
