// powerloss_fs: a FUSE filesystem that can lose power.
//
//   powerloss_fs [--direct-io] BACKING TRASH CONTROL_SOCKET MOUNTPOINT [fuse options]
//
// Passes everything through to BACKING (the "disk"), except that a write, a
// truncate or a fallocate stays in this process's memory until an fsync or
// fdatasync of its file, and a create, mkdir, unlink, rmdir or rename stays
// undoable until an fsync of each directory it touched (volatile_state.h).
// TRASH is a directory on BACKING's filesystem that keeps removed entries
// until their removal is durable.
//
// CONTROL_SOCKET: a Unix stream socket. One command per line, one reply line
// ("ok ..." or "err ..."):
//   cut [tear] [seed=N]  power cut: every operation from now on fails with
//                        EIO; drop all unsynced writes (with "tear", keep a
//                        random 512-byte-aligned prefix of each file's last
//                        unsynced write, seeded by N) and undo the directory
//                        operations no directory fsync covered.
//   on                   power back on: operations work again.
//   stats                counters (writes, fsyncs, O_DIRECT opens, ...).
// Kill the processes using the mount between "cut" and "on": after "on", an
// old process would see the file system after the cut.
//
// --direct-io opens every file with FOPEN_DIRECT_IO (no kernel page cache).
// Without it, files use the kernel page cache, which is invalidated at each
// open and attribute caching is off, so a fresh process after a cut sees the
// backing state. Either way the kernel sends every write at once (no
// writeback cache), O_DIRECT opens are accepted, and a write made with
// RWF_DSYNC (or to an O_DSYNC file) arrives with O_DSYNC in its flags; for
// an asynchronous O_DIRECT write (io_uring) that flag is the only sign of
// it, no FSYNC follows, so it is honoured here (VolatileState::sync_range).
#define FUSE_USE_VERSION 35
#include <fuse.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "volatile_state.h"

namespace {

using powerloss::FileOverlay;

struct Globals {
  std::mutex mu;  // held by every operation and every control command
  powerloss::VolatileState* state = nullptr;
  bool off = false;  // between "cut" and "on"
  bool direct_io = false;
} g;

std::string real(const char* path) { return g.state->backing_path(path); }

// POWERLOSS_FS_TRACE=<file>: one line per operation that changes something
// (and per read), with CLOCK_MONOTONIC seconds (Python's time.monotonic())
// and how long it waited for the lock: for finding out when a lost write's
// file was last synced, and whether this file system stalled the engine.
FILE* trace_file = nullptr;
// Every operation runs under g.mu; lock_wait_us is how long the current one
// waited for it (for the trace).
uint64_t lock_wait_us = 0;

void trace(const char* op, int fd, const char* path, uint64_t off, uint64_t len) {
  if (trace_file == nullptr) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  struct stat st = {};
  if (fd >= 0) ::fstat(fd, &st);
  std::fprintf(trace_file, "%ld.%06ld %s ino=%lu off=%lu len=%lu wait_us=%lu %s\n", static_cast<long>(ts.tv_sec),
               ts.tv_nsec / 1000, op, static_cast<unsigned long>(st.st_ino), static_cast<unsigned long>(off),
               static_cast<unsigned long>(len), static_cast<unsigned long>(lock_wait_us), path ? path : "");
}

uint64_t now_us() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

#define GATE()                                \
  uint64_t gate_t0 = now_us();                \
  std::lock_guard<std::mutex> lock(g.mu);     \
  lock_wait_us = now_us() - gate_t0;          \
  if (g.off) return -EIO

void* fs_init(fuse_conn_info*, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->hard_remove = 1;  // no .fuse_hidden files: unlink is ours to model
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->kernel_cache = 0;
  cfg->auto_cache = 0;
  return nullptr;
}

// The backing file's attributes, with the visible size when the file has
// unsynced writes.
int fs_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  GATE();
  int rc = fi ? ::fstat(static_cast<int>(fi->fh), st) : ::lstat(real(path).c_str(), st);
  if (rc != 0) return -errno;
  if (S_ISREG(st->st_mode)) {
    int64_t size = g.state->visible_size(st->st_dev, st->st_ino);
    if (size >= 0) st->st_size = size;
  }
  return 0;
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags) {
  GATE();
  DIR* d = ::opendir(real(path).c_str());
  if (d == nullptr) return -errno;
  while (struct dirent* e = ::readdir(d)) {
    struct stat st = {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (fill(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  ::closedir(d);
  return 0;
}

int fs_mkdir(const char* path, mode_t mode) {
  GATE();
  trace("mkdir", -1, path, 0, 0);
  if (::mkdir(real(path).c_str(), mode) != 0) return -errno;
  g.state->journal_create(path, true);
  return 0;
}

int fs_rmdir(const char* path) {
  GATE();
  trace("rmdir", -1, path, 0, 0);
  return g.state->journal_remove(path, true);
}

int fs_unlink(const char* path) {
  GATE();
  trace("unlink", -1, path, 0, 0);
  return g.state->journal_remove(path, false);
}

int fs_rename(const char* from, const char* to, unsigned int flags) {
  GATE();
  trace("rename", -1, (std::string(from) + " -> " + to).c_str(), 0, 0);
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return -EINVAL;
  struct stat st;
  if ((flags & RENAME_NOREPLACE) && ::lstat(real(to).c_str(), &st) == 0) return -EEXIST;
  return g.state->journal_rename(from, to);
}

// Flags for the backing open: read-write always (the overlay reads pages
// and writes them back), and none of the caller's O_DIRECT / O_*SYNC /
// O_TRUNC, which this file system models itself.
int backing_flags(int flags) {
  flags &= ~(O_DIRECT | O_DSYNC | O_SYNC | O_TRUNC | O_CREAT | O_EXCL | O_ACCMODE);
  return flags | O_RDWR | O_CLOEXEC;
}

void count_open(int flags) {
  if (flags & O_DIRECT) g.state->counters.opens_direct++;
  if (flags & (O_DSYNC | O_SYNC)) g.state->counters.opens_dsync++;
}

// O_TRUNC of an existing file is an unsynced truncate to 0.
int finish_open(const char* path, int fd, fuse_file_info* fi) {
  if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
    FileOverlay* f;
    if (int e = g.state->attach(fd, &f)) return e;
    g.state->truncate(f, 0);
  }
  fi->fh = static_cast<uint64_t>(fd);
  fi->direct_io = g.direct_io;
  trace("open", fd, path, 0, 0);
  count_open(fi->flags);
  return 0;
}

int fs_create(const char* path, mode_t mode, fuse_file_info* fi) {
  GATE();
  std::string p = real(path);
  int fd = ::open(p.c_str(), backing_flags(fi->flags) | O_CREAT | O_EXCL, mode);
  if (fd >= 0) {
    g.state->forget_inode(fd);  // a new inode may reuse an old number
    g.state->journal_create(path, false);
  } else if (errno == EEXIST && !(fi->flags & O_EXCL)) {
    fd = ::open(p.c_str(), backing_flags(fi->flags));
  }
  if (fd < 0) return -errno;
  if (int e = finish_open(path, fd, fi)) {
    ::close(fd);
    return e;
  }
  return 0;
}

int fs_open(const char* path, fuse_file_info* fi) {
  GATE();
  int fd = ::open(real(path).c_str(), backing_flags(fi->flags));
  if (fd < 0) return -errno;
  if (int e = finish_open(path, fd, fi)) {
    ::close(fd);
    return e;
  }
  return 0;
}

// The overlay of fd if it has one; nullptr otherwise.
FileOverlay* existing_overlay(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || g.state->visible_size(st.st_dev, st.st_ino) < 0) return nullptr;
  FileOverlay* f = nullptr;
  g.state->attach(fd, &f);
  return f;
}

int fs_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  GATE();
  int fd = static_cast<int>(fi->fh);
  trace("read", fd, nullptr, static_cast<uint64_t>(off), size);
  if (FileOverlay* f = existing_overlay(fd)) {
    size_t got = 0;
    if (int e = g.state->read(f, buf, size, static_cast<uint64_t>(off), &got)) return e;
    return static_cast<int>(got);
  }
  ssize_t n = ::pread(fd, buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}

int fs_write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  GATE();
  FileOverlay* f;
  if (int e = g.state->attach(static_cast<int>(fi->fh), &f)) return e;
  if (int e = g.state->write(f, buf, size, static_cast<uint64_t>(off))) return e;
  // The kernel marks a write O_DSYNC when its file was opened so or the call
  // carried RWF_DSYNC; for an asynchronous O_DIRECT write (io_uring) that is
  // all it sends: no FSYNC follows.
  trace((fi->flags & (O_DSYNC | O_SYNC)) ? "dsync-write" : "write", static_cast<int>(fi->fh), nullptr,
        static_cast<uint64_t>(off), size);
  if (fi->flags & (O_DSYNC | O_SYNC)) {
    if (int e = g.state->sync_range(f, buf, size, static_cast<uint64_t>(off))) return e;
  }
  return static_cast<int>(size);
}

int fs_truncate(const char* path, off_t size, fuse_file_info* fi) {
  GATE();
  int fd = fi ? static_cast<int>(fi->fh) : ::open(real(path).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  trace("truncate", fd, path, static_cast<uint64_t>(size), 0);
  FileOverlay* f;
  int e = g.state->attach(fd, &f);
  if (e == 0) e = g.state->truncate(f, static_cast<uint64_t>(size));
  if (!fi) ::close(fd);
  return e;
}

int fs_fallocate(const char*, int mode, off_t off, off_t len, fuse_file_info* fi) {
  GATE();
  trace("fallocate", static_cast<int>(fi->fh), nullptr, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
  FileOverlay* f;
  if (int e = g.state->attach(static_cast<int>(fi->fh), &f)) return e;
  return g.state->fallocate(f, mode, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
}

int fs_fsync(const char*, int datasync, fuse_file_info* fi) {
  GATE();
  (datasync ? g.state->counters.fdatasyncs : g.state->counters.fsyncs)++;
  trace("fsync", static_cast<int>(fi->fh), nullptr, 0, 0);
  FileOverlay* f = existing_overlay(static_cast<int>(fi->fh));
  return f ? g.state->sync(f) : 0;
}

// Deletes trash entries on its own thread, so that no operation waits.
struct Deleter {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> queue;

  void add(std::vector<std::string> paths) {
    if (paths.empty()) return;
    std::lock_guard<std::mutex> lk(mu);
    queue.insert(queue.end(), paths.begin(), paths.end());
    cv.notify_one();
  }
  void run() {
    for (;;) {
      std::vector<std::string> batch;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return !queue.empty(); });
        batch.swap(queue);
      }
      for (const auto& p : batch) powerloss::remove_tree(p);
    }
  }
} deleter;

int fs_fsyncdir(const char* path, int, fuse_file_info*) {
  std::vector<std::string> doomed;
  {
    GATE();
    trace("fsyncdir", -1, path, 0, 0);
    g.state->sync_dir(path);
    doomed = g.state->take_doomed();
  }
  deleter.add(std::move(doomed));
  return 0;
}

int fs_flush(const char*, fuse_file_info*) {
  GATE();
  return 0;
}

int fs_release(const char*, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g.mu);  // also while off: the kill closes files
  ::close(static_cast<int>(fi->fh));
  return 0;
}

// Metadata the model does not cover: passed straight through.
int fs_chmod(const char* path, mode_t mode, fuse_file_info*) {
  GATE();
  return ::chmod(real(path).c_str(), mode) != 0 ? -errno : 0;
}

int fs_utimens(const char* path, const struct timespec tv[2], fuse_file_info*) {
  GATE();
  return ::utimensat(AT_FDCWD, real(path).c_str(), tv, AT_SYMLINK_NOFOLLOW) != 0 ? -errno : 0;
}

int fs_statfs(const char* path, struct statvfs* st) {
  GATE();
  return ::statvfs(real(path).c_str(), st) != 0 ? -errno : 0;
}

// ---- control socket ----

std::string run_command(const std::string& line) {
  std::istringstream in(line);
  std::string cmd, word;
  in >> cmd;
  std::lock_guard<std::mutex> lock(g.mu);
  if (cmd == "cut") {
    bool tear = false;
    uint64_t seed = 1;
    while (in >> word) {
      if (word == "tear") tear = true;
      else if (word.rfind("seed=", 0) == 0) seed = std::stoull(word.substr(5));
      else return "err unknown cut option " + word;
    }
    std::mt19937_64 rng(seed);
    g.off = true;
    trace("cut", -1, nullptr, 0, 0);
    if (trace_file) std::fflush(trace_file);
    powerloss::CutReport r = g.state->cut(tear, rng);
    std::ostringstream out;
    out << "ok files=" << r.files << " pages=" << r.pages << " torn_sectors=" << r.torn_sectors
        << " dirops_undone=" << r.dirops_undone << " undo_failures=" << r.undo_failures;
    return out.str();
  }
  if (cmd == "on") {
    g.off = false;
    return "ok";
  }
  if (cmd == "stats") {
    const powerloss::Counters& c = g.state->counters;
    std::ostringstream out;
    out << "ok writes=" << c.writes << " write_bytes=" << c.write_bytes << " fsyncs=" << c.fsyncs
        << " fdatasyncs=" << c.fdatasyncs << " dsync_writes=" << c.dsync_writes << " dir_fsyncs=" << c.dir_fsyncs << " opens_direct=" << c.opens_direct
        << " opens_dsync=" << c.opens_dsync << " fallocates=" << c.fallocates << " truncates=" << c.truncates
        << " cuts=" << c.cuts;
    return out.str();
  }
  return "err unknown command " + cmd;
}

void serve_connection(int fd) {
  std::string buf;
  char chunk[512];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string reply = run_command(buf.substr(0, nl)) + "\n";
      buf.erase(0, nl + 1);
      if (::write(fd, reply.data(), reply.size()) < 0) break;
    }
  }
  ::close(fd);
}

int listen_control(const std::string& path) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (s < 0 || path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ::unlink(path.c_str());
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 4) != 0) return -1;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  if (i < argc && std::strcmp(argv[i], "--direct-io") == 0) {
    g.direct_io = true;
    i++;
  }
  if (argc - i < 4) {
    std::fprintf(stderr, "usage: %s [--direct-io] BACKING TRASH CONTROL_SOCKET MOUNTPOINT [fuse options]\n", argv[0]);
    return 2;
  }
  char* backing_abs = ::realpath(argv[i], nullptr);
  char* trash_abs = ::realpath(argv[i + 1], nullptr);
  if (backing_abs == nullptr || trash_abs == nullptr) {
    std::fprintf(stderr, "powerloss_fs: %s or %s: %s\n", argv[i], argv[i + 1], std::strerror(errno));
    return 1;
  }
  // Absolute: fuse_main may change the working directory.
  std::string backing = backing_abs, trash = trash_abs, control = argv[i + 2];
  std::free(backing_abs);
  std::free(trash_abs);
  if (const char* t = std::getenv("POWERLOSS_FS_TRACE")) trace_file = std::fopen(t, "a");
  powerloss::VolatileState state(backing, trash);
  g.state = &state;
  int s = listen_control(control);
  if (s < 0) {
    std::fprintf(stderr, "powerloss_fs: cannot listen on %s: %s\n", control.c_str(), std::strerror(errno));
    return 1;
  }
  std::thread([] { deleter.run(); }).detach();
  std::thread([s] {
    for (;;) {
      int c = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) std::thread(serve_connection, c).detach();
    }
  }).detach();

  fuse_operations ops = {};
  ops.init = fs_init;
  ops.getattr = fs_getattr;
  ops.readdir = fs_readdir;
  ops.mkdir = fs_mkdir;
  ops.rmdir = fs_rmdir;
  ops.unlink = fs_unlink;
  ops.rename = fs_rename;
  ops.create = fs_create;
  ops.open = fs_open;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.truncate = fs_truncate;
  ops.fallocate = fs_fallocate;
  ops.fsync = fs_fsync;
  ops.fsyncdir = fs_fsyncdir;
  ops.flush = fs_flush;
  ops.release = fs_release;
  ops.chmod = fs_chmod;
  ops.utimens = fs_utimens;
  ops.statfs = fs_statfs;

  // fuse_main sees argv[0] and the arguments after ours.
  std::vector<char*> fargs{argv[0]};
  for (int j = i + 3; j < argc; j++) fargs.push_back(argv[j]);
  return fuse_main(static_cast<int>(fargs.size()), fargs.data(), &ops, nullptr);
}
