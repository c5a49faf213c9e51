#include "engine/io/posix_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace synap::io {

IoStats AtomicIoStats::snapshot() const {
  IoStats s;
  s.enters = enters_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  s.writes = writes_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.dsync_writes = dsync_writes_.load(std::memory_order_relaxed);
  s.short_writes = short_writes_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  return s;
}

namespace {

constexpr uint32_t kDefaultDirectAlignment = 4096;

// Runs `call` until it does not fail with EINTR; returns its last result.
template <typename Call>
auto RetryEintr(Call call) {
  auto r = call();
  while (r < 0 && errno == EINTR) r = call();
  return r;
}

int OpenFlags(const OpenOptions& o) {
  int flags = O_CLOEXEC | (o.read_only ? O_RDONLY : O_RDWR);
  if (o.create) flags |= O_CREAT;
  if (o.exclusive) flags |= O_EXCL;
  if (o.direct) flags |= O_DIRECT;
  return flags;
}

// The directory that holds `path` ("." for a bare name, "/" for "/x").
std::string ParentOf(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status FsyncDir(const std::string& dir) {
  int fd = RetryEintr([&] { return ::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC); });
  if (fd < 0) return Status::FromErrno(errno, "open directory " + dir);
  int rc = RetryEintr([&] { return ::fsync(fd); });
  int err = errno;
  ::close(fd);
  if (rc < 0) return Status::FromErrno(err, "fsync directory " + dir);
  return Status::Ok();
}

// Creates one directory level. A new directory becomes durable only once its
// parent's entry is, so the parent is fsynced right after the mkdir.
Status MakeOneDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return FsyncDir(ParentOf(dir));
  int err = errno;
  if (err != EEXIST) return Status::FromErrno(err, "mkdir " + dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + dir);
  if (!S_ISDIR(st.st_mode)) return Status::FromErrno(ENOTDIR, "mkdir " + dir);
  return Status::Ok();
}

}  // namespace

std::string PosixFiles::describe(const char* op, FileHandle f) const {
  std::lock_guard<std::mutex> lock(paths_mu_);
  auto it = paths_.find(f);
  if (it != paths_.end()) return std::string(op) + " " + it->second;
  return std::string(op) + " fd " + std::to_string(f);
}

Result<FileHandle> PosixFiles::open(const std::string& path, const OpenOptions& opts) {
  if (opts.exclusive && !opts.create) {
    return Status::InvalidArgument("open " + path + ": exclusive requires create");
  }
  int fd = RetryEintr([&] { return ::open(path.c_str(), OpenFlags(opts), 0644); });
  if (fd < 0) {
    int err = errno;
    // open(2) reports a filesystem without direct I/O support as EINVAL.
    if (err == EINVAL && opts.direct) {
      return Status::Unsupported("open " + path + ": the filesystem refuses O_DIRECT");
    }
    return Status::FromErrno(err, "open " + path);
  }
  std::lock_guard<std::mutex> lock(paths_mu_);
  paths_[fd] = path;
  return FileHandle{fd};
}

Status PosixFiles::close(FileHandle f) {
  std::string what = describe("close", f);
  {
    std::lock_guard<std::mutex> lock(paths_mu_);
    paths_.erase(f);
  }
  // On Linux the descriptor is released even when close fails (EINTR
  // included), so it is never retried: that could close a reused number.
  if (::close(f) != 0 && errno != EINTR) return Status::FromErrno(errno, what);
  return Status::Ok();
}

Result<uint64_t> PosixFiles::file_size(FileHandle f) {
  struct stat st;
  if (::fstat(f, &st) != 0) return Status::FromErrno(errno, describe("fstat", f));
  return static_cast<uint64_t>(st.st_size);
}

Result<size_t> PosixFiles::read_at(FileHandle f, uint64_t off, uint8_t* buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = RetryEintr([&] {
      return ::pread(f, buf + done, len - done, static_cast<off_t>(off + done));
    });
    if (n < 0) return Status::FromErrno(errno, describe("pread", f));
    if (n == 0) break;  // end of file: the only reason to return short
    done += static_cast<size_t>(n);
  }
  return done;
}

Status PosixFiles::write_at(FileHandle f, uint64_t off, const uint8_t* buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = RetryEintr([&] {
      return ::pwrite(f, buf + done, len - done, static_cast<off_t>(off + done));
    });
    if (n < 0) return Status::FromErrno(errno, describe("pwrite", f));
    // A write that makes no progress would loop forever; the device is
    // refusing the bytes without saying why.
    if (n == 0) return Status::FromErrno(EIO, describe("pwrite (0 bytes written)", f));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status PosixFiles::sync(FileHandle f) {
  if (RetryEintr([&] { return ::fdatasync(f); }) != 0) {
    return Status::FromErrno(errno, describe("fdatasync", f));
  }
  return Status::Ok();
}

Status PosixFiles::allocate(FileHandle f, uint64_t off, uint64_t len) {
  int rc = RetryEintr([&] {
    return ::fallocate(f, 0, static_cast<off_t>(off), static_cast<off_t>(len));
  });
  if (rc == 0) return Status::Ok();
  int err = errno;
  if (err == EOPNOTSUPP) {
    return Status::Unsupported(describe("fallocate", f) + ": not supported by the filesystem");
  }
  return Status::FromErrno(err, describe("fallocate", f));
}

Status PosixFiles::truncate(FileHandle f, uint64_t size) {
  if (RetryEintr([&] { return ::ftruncate(f, static_cast<off_t>(size)); }) != 0) {
    return Status::FromErrno(errno, describe("ftruncate", f));
  }
  return Status::Ok();
}

uint32_t PosixFiles::direct_alignment(FileHandle f) {
  struct statx stx = {};
  if (::statx(f, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) != 0) return kDefaultDirectAlignment;
  if (!(stx.stx_mask & STATX_DIOALIGN)) return kDefaultDirectAlignment;
  // An offset alignment of 0 means "no direct I/O for this file".
  if (stx.stx_dio_offset_align == 0) return kDefaultDirectAlignment;
  uint32_t align = std::max(stx.stx_dio_offset_align, stx.stx_dio_mem_align);
  // The kernel only reports powers of two; anything else is not trusted.
  if ((align & (align - 1)) != 0) return kDefaultDirectAlignment;
  return align;
}

Status PosixFiles::make_dir(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("make_dir: empty path");
  // Every prefix ending before a '/' is one level: "a", "a/b", then "a/b/c".
  // Starting the search at 1 skips the root of an absolute path.
  for (size_t slash = dir.find('/', 1); slash != std::string::npos;
       slash = dir.find('/', slash + 1)) {
    SYNAP_RETURN_IF_ERROR(MakeOneDir(dir.substr(0, slash)));
  }
  return MakeOneDir(dir);
}

Status PosixFiles::sync_dir(const std::string& dir) { return FsyncDir(dir); }

Result<std::vector<std::string>> PosixFiles::list_dir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return Status::FromErrno(errno, "opendir " + dir);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;  // readdir signals an error only through errno
    struct dirent* e = ::readdir(d.get());
    if (e == nullptr) break;
    std::string_view name(e->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  if (errno != 0) return Status::FromErrno(errno, "readdir " + dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<FileHandle> PosixFiles::lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status::Locked(path + " is locked: another process (or handle) has this directory open");
    return Status::FromErrno(err, "flock " + path);
  }
  return fd;
}

Status PosixFiles::remove(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return Status::Ok();
  if (errno != EISDIR) return Status::FromErrno(errno, "unlink " + path);
  if (::rmdir(path.c_str()) != 0) return Status::FromErrno(errno, "rmdir " + path);
  return Status::Ok();
  return Status::Ok();
}

Status PosixFiles::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno(errno, "rename " + from + " -> " + to);
  }
  return Status::Ok();
}

}  // namespace synap::io
