#include "engine/check/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "engine/stream/stream_options.h"

namespace synap::check {

namespace {

constexpr const char* kMetaRoom = "__meta";
constexpr const char* kDeletedPrefix = ".deleted.";

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string CleanPath(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string DataDir::Relative(const std::string& path) const {
  if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/')
    return path.substr(root.size() + 1);
  return path;
}

Result<std::vector<std::string>> ListRoomDirs(io::IoBackend* io, const DataDir& dir) {
  std::vector<std::string> out;
  Result<std::vector<std::string>> names = io->list_dir(dir.Streams());
  if (!names.ok()) {
    if (names.status().os_error() == ENOENT) return out;
    return names.status();
  }
  for (const std::string& n : *names) {
    if (n.rfind(kDeletedPrefix, 0) == 0) continue;
    if (n != kMetaRoom && !stream::ValidateRoomName(n).ok()) continue;
    if (!io->list_dir(dir.Room(n)).ok()) continue;  // not a directory
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<DirLock> DirLock::Take(const std::string& root, Mode mode) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::InvalidArgument("no such directory: " + root);
  std::string lock = root + "/LOCK";
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err != ENOENT) return Status::FromErrno(err, "open " + lock);
    if (!Exists(root + "/wal") && !Exists(root + "/snapshots") && !Exists(root + "/streams"))
      return Status::InvalidArgument(root + " is not a Synap data directory (it holds no LOCK, wal/, snapshots/ "
                                            "or streams/)");
    return DirLock(-1);
  }
  if (::flock(fd, (mode == Mode::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status::Locked("data directory " + root + " is in use: a server (or another process or handle) holds " +
                            "its LOCK; stop it first" + (mode == Mode::kExclusive ? " (or the tool reading it)" : ""));
    return Status::FromErrno(err, "flock " + lock);
  }
  return DirLock(fd);
}

DirLock::DirLock(DirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

DirLock& DirLock::operator=(DirLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace synap::check
