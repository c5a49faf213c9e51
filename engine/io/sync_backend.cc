#include "engine/io/sync_backend.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace synap::io {

namespace {

// One write attempt (EINTR aside): returns bytes written or -errno.
ssize_t WriteOnce(const WriteRequest& req) {
  ssize_t n;
  do {
    if (req.durability == Durability::kDsyncWrite) {
      struct iovec iov = {const_cast<uint8_t*>(req.data), req.len};
      n = ::pwritev2(req.file, &iov, 1, static_cast<off_t>(req.offset), RWF_DSYNC);
    } else {
      n = ::pwrite(req.file, req.data, req.len, static_cast<off_t>(req.offset));
    }
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

}  // namespace

void SyncBackend::prepare(const WriteRequest& req) { queue_.push_back(req); }

Completion SyncBackend::execute(const WriteRequest& req) {
  Completion c;
  c.tag = req.tag;
  bool fsync_only = req.durability == Durability::kDataSync && req.len == 0;
  if (!fsync_only) {
    stats_.add_write();
    if (req.durability == Durability::kDsyncWrite) stats_.add_dsync_write();
    ssize_t n = WriteOnce(req);
    if (n < 0) {
      c.error = static_cast<int32_t>(-n);
    } else {
      c.written = static_cast<uint32_t>(n);
      stats_.add_bytes(static_cast<uint64_t>(n));
      if (c.written < req.len) stats_.add_short_write();
    }
  }
  bool full = c.error == 0 && c.written == req.len;
  // After a short or failed write the sync is skipped, as io_uring cancels a
  // linked fsync: nothing of the request is durable either way.
  if (full && req.durability == Durability::kDataSync) {
    stats_.add_sync();
    int rc;
    do rc = ::fdatasync(req.file); while (rc < 0 && errno == EINTR);
    if (rc < 0) c.error = errno;
  }
  c.durable = full && c.error == 0;
  stats_.add_request();
  return c;
}

Status SyncBackend::submit_and_wait(unsigned min_complete, int64_t timeout_us,
                                   std::vector<Completion>* out) {
  std::vector<WriteRequest> batch;
  batch.swap(queue_);  // in_flight() drops to 0: every request completes now
  for (const WriteRequest& req : batch) out->push_back(execute(req));
  // Nothing else can complete; like io_uring, wait for wake() or the timeout.
  if (batch.size() < min_complete) wait_for_wake(timeout_us);
  return Status::Ok();
}

void SyncBackend::wait_for_wake(int64_t timeout_us) {
  std::unique_lock<std::mutex> lock(wake_mu_);
  if (timeout_us < 0) {
    wake_cv_.wait(lock, [&] { return woken_; });
  } else {
    wake_cv_.wait_for(lock, std::chrono::microseconds(timeout_us), [&] { return woken_; });
  }
  woken_ = false;
}

void SyncBackend::wake() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

}  // namespace synap::io
