// OpenBackend: picks the kernel backend, falling back from io_uring to the
// synchronous one with a reason a person can act on.
#include <fstream>
#include <string>

#include "engine/io/backend.h"
#include "engine/io/sync_backend.h"
#include "engine/io/uring_backend.h"

namespace synap::io {

namespace {

// Explains kernel.io_uring_disabled when it is set: 1 limits io_uring to
// members of kernel.io_uring_group, 2 disables it for everyone.
std::string IoUringSysctlNote() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  int value = 0;
  if (!(in >> value) || value == 0) return "";
  if (value == 1) return "; kernel.io_uring_disabled=1 (only kernel.io_uring_group may use it)";
  return "; kernel.io_uring_disabled=" + std::to_string(value) + " (io_uring off for all)";
}

}  // namespace

Result<std::unique_ptr<IoBackend>> OpenBackend(BackendKind kind, unsigned queue_depth,
                                               std::string* reason) {
  if (reason != nullptr) reason->clear();
  if (kind == BackendKind::kSync) return std::unique_ptr<IoBackend>(new SyncBackend());
  auto uring = UringBackend::Create(queue_depth);
  if (uring.ok()) return std::unique_ptr<IoBackend>(std::move(uring).value());
  // An invalid queue depth is the caller's mistake, not the kernel's refusal.
  if (kind == BackendKind::kUring ||
      uring.status().code() == Status::Code::kInvalidArgument) {
    return uring.status();
  }
  if (reason != nullptr) *reason = uring.status().message() + IoUringSysctlNote();
  return std::unique_ptr<IoBackend>(new SyncBackend());
}

}  // namespace synap::io
