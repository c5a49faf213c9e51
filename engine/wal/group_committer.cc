#include "engine/wal/group_committer.h"

#include <algorithm>
#include <cstdlib>

#include "engine/wal/inflight.h"
#include "engine/wal/wal.h"

namespace synap::wal {

// How long the committer sleeps at most with nothing to do: bounds the delay
// of a lost wake-up to a harmless value (there should be none).
constexpr int64_t kIdleWaitUs = 100'000;

GroupCommitter::GroupCommitter(std::unique_ptr<io::IoBackend> io, Threading threading)
    : io_(std::move(io)), own_thread_(threading == Threading::kOwnThread) {
  if (const char* v = std::getenv("SYNAP_COMMIT_SPIN_US")) spin_us_ = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
  if (own_thread_) thread_ = std::thread([this] { Loop(); });
}

GroupCommitter::~GroupCommitter() {
  stop_.store(true);
  io_->wake();
  if (thread_.joinable()) thread_.join();
}

namespace {
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace

// With nothing in flight, the next append usually comes from a writer that
// the last completion just released: poll for it briefly before sleeping, so
// it needs no eventfd wake-up and no context switch (each is ~10 µs here).
void GroupCommitter::SpinForWork(uint64_t epoch) {
  auto until = Clock::now() + std::chrono::microseconds(spin_us_);
  while (work_epoch_.load(std::memory_order_relaxed) == epoch && Clock::now() < until) CpuRelax();
}

void GroupCommitter::Loop() {
  while (!stop_.load()) RunOnce(kIdleWaitUs);
}

void GroupCommitter::Notify() {
  work_epoch_.fetch_add(1);
  if (sleeping_.exchange(false)) io_->wake();
}

void GroupCommitter::Register(Wal* w) {
  std::lock_guard lk(wals_mu_);
  wals_.push_back(w);
}

void GroupCommitter::Unregister(Wal* w) {
  std::lock_guard lk(wals_mu_);
  wals_.erase(std::remove(wals_.begin(), wals_.end(), w), wals_.end());
}

void GroupCommitter::RunOnce(int64_t max_wait_us) {
  uint64_t epoch = work_epoch_.load();
  Clock::time_point now = Clock::now();
  Clock::time_point next = Clock::time_point::max();
  {
    std::lock_guard lk(wals_mu_);
    for (Wal* w : wals_) next = std::min(next, w->PrepareWork(now));
  }
  int64_t wait_us = max_wait_us;
  if (next != Clock::time_point::max()) {
    auto until = std::chrono::duration_cast<std::chrono::microseconds>(next - now).count();
    wait_us = std::clamp<int64_t>(until, 0, max_wait_us);
  }
  // Announce the sleep, then look again: a Notify() after this point either
  // sees sleeping_ and wakes us, or bumped the epoch we check here.
  if (wait_us > 0 && io_->in_flight() == 0 && !manual()) SpinForWork(epoch);
  sleeping_.store(true);
  if (work_epoch_.load() != epoch) wait_us = 0;
  completions_.clear();
  Status st = io_->submit_and_wait(1, wait_us, &completions_);
  sleeping_.store(false);
  if (!st.ok()) {
    // The backend itself failed: fail every log rather than spin.
    std::lock_guard lk(wals_mu_);
    for (Wal* w : wals_) w->Poison(st);
  }
  for (const io::Completion& c : completions_) {
    InflightOp* op = reinterpret_cast<InflightOp*>(c.tag);
    op->wal->OnCompletion(op, c);
  }
}

}  // namespace synap::wal
