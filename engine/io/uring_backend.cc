#include "engine/io/uring_backend.h"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <iterator>
#include <utility>

namespace synap::io {

namespace {

// io_uring_setup refuses more than 32768 SQEs; a request may take two.
constexpr unsigned kMaxQueueDepth = 16384;

// Destroying the backend waits this long for requests still in flight.
constexpr std::chrono::seconds kExitDrainLimit{10};

struct SetupVariant {
  unsigned flags;
  const char* name;
};

// Indexed by UringSetup. SINGLE_ISSUER fixes the submitting task at
// creation unless the ring starts disabled: R_DISABLED defers that choice to
// the thread that enables it (see UringBackend::ensure_enabled).
constexpr SetupVariant kSetupChain[] = {
    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
     "SINGLE_ISSUER|DEFER_TASKRUN"},
    {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
    {0, "none"},
};

// user_data layout: 0 is the wake read; a request step is
// ((slot + 1) << 1) | step, so no step can collide with 0 or with liburing's
// LIBURING_UDATA_TIMEOUT (all ones).
constexpr uint64_t kWakeUserData = 0;
constexpr uint64_t kWriteStep = 0;
constexpr uint64_t kSyncStep = 1;

uint64_t UserData(uint32_t slot, uint64_t step) { return ((uint64_t{slot} + 1) << 1) | step; }
uint32_t SlotOf(uint64_t user_data) { return static_cast<uint32_t>((user_data >> 1) - 1); }
bool IsSyncStep(uint64_t user_data) { return (user_data & 1) == kSyncStep; }

bool HasWriteStep(const WriteRequest& r) { return !(r.durability == Durability::kDataSync && r.len == 0); }
bool HasSyncStep(const WriteRequest& r) { return r.durability == Durability::kDataSync; }

// Results of io_uring_enter that are not a failure of the ring: a timeout, a
// signal, or a transient shortage the next pass retries.
bool IsBenignEnterResult(int rc) {
  return rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY;
}

std::string SetupFailure(int err) {
  std::string what = "io_uring_setup";
  if (err == EPERM) what += " (blocked by seccomp or kernel.io_uring_disabled?)";
  if (err == ENOSYS) what += " (kernel built without io_uring)";
  if (err == ENOMEM) what += " (RLIMIT_MEMLOCK too low?)";
  return what;
}

}  // namespace

Result<std::unique_ptr<UringBackend>> UringBackend::Create(unsigned queue_depth,
                                                           const UringOptions& options) {
  std::unique_ptr<UringBackend> backend(new UringBackend());
  SYNAP_RETURN_IF_ERROR(backend->init(queue_depth, options));
  return backend;
}

Status UringBackend::init(unsigned queue_depth, const UringOptions& options) {
  if (queue_depth == 0 || queue_depth > kMaxQueueDepth) {
    return Status::InvalidArgument("io_uring queue depth must be in [1, " +
                                   std::to_string(kMaxQueueDepth) + "]");
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);  // blocking: io_uring then polls it
  if (wake_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  SYNAP_RETURN_IF_ERROR(setup_ring(2 * queue_depth, options));
  slots_.reserve(queue_depth);
  arm_wake();  // sits in the SQ until the first submission
  return Status::Ok();
}

Status UringBackend::setup_ring(unsigned entries, const UringOptions& options) {
  int rc = -EINVAL;
  for (size_t i = static_cast<size_t>(options.first_setup); i < std::size(kSetupChain); ++i) {
    io_uring_params params = {};
    params.flags = kSetupChain[i].flags;
    rc = io_uring_queue_init_params(entries, &ring_, &params);
    if (rc == 0) {
      ring_ready_ = true;
      needs_enable_ = (params.flags & IORING_SETUP_R_DISABLED) != 0;
      single_issuer_ = (params.flags & IORING_SETUP_SINGLE_ISSUER) != 0;
      setup_name_ = kSetupChain[i].name;
      skip_write_cqes_ = options.skip_write_cqes && (params.features & IORING_FEAT_CQE_SKIP);
      // Bounded waits must not cost an SQE (liburing's fallback would).
      if (!(params.features & IORING_FEAT_EXT_ARG)) {
        return Status::Unsupported("io_uring: kernel lacks IORING_FEAT_EXT_ARG (needs 5.11+)");
      }
      return Status::Ok();
    }
    if (rc != -EINVAL) break;  // only unknown flags are worth another variant
  }
  return Status::FromErrno(-rc, SetupFailure(-rc));
}

UringBackend::~UringBackend() {
  if (ring_ready_) {
    drain_before_exit();
    io_uring_queue_exit(&ring_);
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

// The kernel reads a request's buffer until the request's CQE; the owner may
// free those buffers as soon as the backend is gone. Wait for them here when
// this thread is allowed to (with SINGLE_ISSUER: it is the submitter).
void UringBackend::drain_before_exit() {
  if (needs_enable_ || live_requests_ == 0) return;  // nothing reached the kernel
  if (single_issuer_ && submitter_ != std::this_thread::get_id()) return;
  const auto deadline = Clock::now() + kExitDrainLimit;
  std::vector<Completion> discarded;
  while (live_requests_ > 0 && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    if (!submit_and_wait(static_cast<unsigned>(live_requests_), left.count(), &discarded).ok()) {
      return;
    }
  }
}

// liburing 2.3 declares io_uring_enable_rings() but leaves it out of the
// shared library's symbol map, hence the raw io_uring_register call.
Status UringBackend::ensure_enabled() {
  if (!needs_enable_) return Status::Ok();
  if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0) {
    return Status::FromErrno(errno, "io_uring_register(ENABLE_RINGS)");
  }
  needs_enable_ = false;
  submitter_ = std::this_thread::get_id();
  return Status::Ok();
}

void UringBackend::wake() {
  const uint64_t one = 1;
  // The counter cannot overflow in practice, so the write never blocks; any
  // failure (only EINTR is plausible) is retried.
  while (::write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void UringBackend::arm_wake() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) return;  // SQ full: retried at the next submit_and_wait
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, kWakeUserData);
  wake_armed_ = true;
}

uint32_t UringBackend::alloc_slot(const WriteRequest& req) {
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  slots_[slot] = Slot{req, req.len, 0, 0};
  return slot;
}

void UringBackend::prepare(const WriteRequest& req) {
  uint32_t slot = alloc_slot(req);
  ++live_requests_;
  if (HasWriteStep(req)) stats_.add_write();
  if (req.durability == Durability::kDsyncWrite) stats_.add_dsync_write();
  // Requests enter the SQ in prepare() order; once one waits, all behind it do.
  if (!backlog_.empty() || !queue_sqes(slot)) backlog_.push_back(slot);
}

// Makes room for `n` SQEs, submitting what is queued if needed. Both SQEs of
// a linked pair must go in one submission, so they are reserved together.
bool UringBackend::reserve_sqes(unsigned n) {
  if (io_uring_sq_space_left(&ring_) >= n) return true;
  Status st = ensure_enabled();
  if (st.ok()) {
    stats_.add_enter();
    int rc = io_uring_submit(&ring_);
    if (!IsBenignEnterResult(rc)) st = Status::FromErrno(-rc, "io_uring_submit");
  }
  if (!st.ok() && deferred_error_.ok()) deferred_error_ = st;
  return io_uring_sq_space_left(&ring_) >= n;
}

bool UringBackend::queue_sqes(uint32_t slot) {
  Slot& s = slots_[slot];
  const WriteRequest& r = s.req;
  const bool linked = HasWriteStep(r) && HasSyncStep(r);
  const unsigned n = linked ? 2 : 1;
  if (!reserve_sqes(n)) return false;
  if (HasWriteStep(r)) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_write(sqe, r.file, r.data, r.len, r.offset);
    if (r.durability == Durability::kDsyncWrite) sqe->rw_flags = RWF_DSYNC;
    // The link makes the fsync wait for the write, and cancels it
    // (-ECANCELED) when the write fails or comes back short.
    if (linked) sqe->flags |= IOSQE_IO_LINK;
    if (linked && skip_write_cqes_) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, UserData(slot, kWriteStep));
  }
  if (HasSyncStep(r)) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_fsync(sqe, r.file, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sqe, UserData(slot, kSyncStep));
  }
  // With skipped write CQEs exactly one CQE ends the pair: the fsync's after
  // a full write, or the write's after a failed or short one.
  s.cqes_left = static_cast<uint8_t>(linked && skip_write_cqes_ ? 1 : n);
  return true;
}

Status UringBackend::flush_backlog() {
  size_t queued = 0;
  while (queued < backlog_.size() && queue_sqes(backlog_[queued])) ++queued;
  backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<ptrdiff_t>(queued));
  if (!deferred_error_.ok()) return std::exchange(deferred_error_, Status::Ok());
  return Status::Ok();
}

Status UringBackend::submit_and_wait(unsigned min_complete, int64_t timeout_us,
                                     std::vector<Completion>* out) {
  SYNAP_RETURN_IF_ERROR(ensure_enabled());
  if (!wake_armed_) arm_wake();
  const bool bounded = timeout_us >= 0;
  const auto deadline = Clock::now() + std::chrono::microseconds(bounded ? timeout_us : 0);
  unsigned done = 0;
  bool woken = false;
  for (;;) {
    // Normally empty after the first pass; it only holds requests when a
    // submission failed transiently (EAGAIN/EBUSY) and is retried each pass.
    SYNAP_RETURN_IF_ERROR(flush_backlog());
    int64_t left_us = -1;  // no limit
    if (bounded) {
      left_us = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(
                                         deadline - Clock::now()).count());
    }
    // A pass that does not wait (nothing asked for, or no time left) still
    // enters the kernel once: it submits and reaps deferred task work.
    const bool wait = done < min_complete && !woken && left_us != 0;
    SYNAP_RETURN_IF_ERROR(enter(wait, left_us));
    done += drain(out, &woken);
    if (!wait || done >= min_complete || woken) break;
    if (bounded && Clock::now() >= deadline) break;
  }
  if (!wake_armed_) arm_wake();  // submitted by the next call
  return Status::Ok();
}

Status UringBackend::enter(bool wait, int64_t left_us) {
  int rc;
  if (!wait) {
    stats_.add_enter();
    rc = io_uring_submit_and_get_events(&ring_);
  } else {
    // liburing skips the syscall when nothing is queued and a CQE is ready.
    if (io_uring_sq_ready(&ring_) > 0 || io_uring_cq_ready(&ring_) == 0) stats_.add_enter();
    __kernel_timespec ts = {};
    ts.tv_sec = left_us / 1000000;
    ts.tv_nsec = (left_us % 1000000) * 1000;
    io_uring_cqe* cqe = nullptr;
    // One CQE is enough to return: the caller counts requests, and the
    // wake read must be able to end the wait on its own.
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, left_us >= 0 ? &ts : nullptr, nullptr);
  }
  if (IsBenignEnterResult(rc)) return Status::Ok();
  return Status::FromErrno(-rc, "io_uring_enter");
}

unsigned UringBackend::drain(std::vector<Completion>* out, bool* woken) {
  unsigned head;
  unsigned seen = 0;
  unsigned completed = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    if (on_cqe(cqe->user_data, cqe->res, out, woken)) ++completed;
  }
  io_uring_cq_advance(&ring_, seen);
  return completed;
}

// Records one CQE; returns true when it was the last of its request.
bool UringBackend::on_cqe(uint64_t user_data, int32_t res, std::vector<Completion>* out,
                          bool* woken) {
  if (user_data == LIBURING_UDATA_TIMEOUT) return false;  // liburing's own
  if (user_data == kWakeUserData) {
    wake_armed_ = false;
    // A failed read is not a wake; the read is re-armed by the next call.
    if (res > 0) *woken = true;
    return false;
  }
  const uint32_t slot = SlotOf(user_data);
  Slot& s = slots_[slot];
  assert(s.cqes_left > 0);
  if (IsSyncStep(user_data)) {
    s.sync_res = res;
    if (res != -ECANCELED) stats_.add_sync();  // it ran
  } else {
    s.write_res = res;
  }
  if (--s.cqes_left > 0) return false;
  out->push_back(finish(s));
  free_slots_.push_back(slot);
  --live_requests_;
  stats_.add_request();
  return true;
}

Completion UringBackend::finish(const Slot& s) {
  const WriteRequest& r = s.req;
  Completion c;
  c.tag = r.tag;
  if (HasWriteStep(r)) {
    if (s.write_res < 0) {
      c.error = static_cast<int32_t>(-s.write_res);
    } else {
      c.written = static_cast<uint32_t>(s.write_res);
      stats_.add_bytes(c.written);
      if (c.written < r.len) stats_.add_short_write();
    }
  }
  const bool full = c.error == 0 && c.written == r.len;
  if (HasSyncStep(r) && s.sync_res < 0 && c.error == 0) {
    // After a short write the link cancels the fsync: that -ECANCELED is the
    // link doing its job. The request reports a short write, not an error.
    const bool cancelled_by_link = !full && s.sync_res == -ECANCELED;
    if (!cancelled_by_link) c.error = -s.sync_res;
  }
  c.durable = full && c.error == 0;
  return c;
}

}  // namespace synap::io
