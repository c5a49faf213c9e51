// Mailbox: how libsynap's threads reach an event loop. Callbacks (ticket
// acknowledgements, stream-append completions) hold a shared_ptr to it, so
// it outlives its loop: once the loop has closed it, a late callback's post
// is dropped instead of writing to a closed eventfd or freed memory.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace synap::server {

class Mailbox {
 public:
  explicit Mailbox(int wake_fd) : fd_(wake_fd) {}

  // A token for one deferred reply (the loop's thread).
  uint64_t NewToken() { return ++tokens_; }
  // Any thread: wake the loop.
  void Wake() {
    std::lock_guard lk(mu_);
    WakeLocked();
  }
  // Any thread: the deferred reply `token` is `bytes`.
  void Post(uint64_t token, std::string bytes) {
    std::lock_guard lk(mu_);
    if (!open_) return;
    inbox_.emplace_back(token, std::move(bytes));
    WakeLocked();
  }
  // The loop: what was posted since the last call.
  std::vector<std::pair<uint64_t, std::string>> Take() {
    std::lock_guard lk(mu_);
    return std::exchange(inbox_, {});
  }
  // The loop, before it closes the eventfd: later posts and wakes do nothing.
  void Close() {
    std::lock_guard lk(mu_);
    open_ = false;
    inbox_.clear();
  }

 private:
  void WakeLocked() {
    if (!open_) return;
    uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
  std::mutex mu_;
  int fd_;
  bool open_ = true;
  std::vector<std::pair<uint64_t, std::string>> inbox_;
  uint64_t tokens_ = 0;  // the loop's thread only
};

}  // namespace synap::server
