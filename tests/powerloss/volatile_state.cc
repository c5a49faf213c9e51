// The unsynced state of powerloss_fs: see volatile_state.h.
#include "volatile_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace powerloss {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSector = 512;

// Writes all of buf at off; -errno on failure.
int pwrite_all(int fd, const char* buf, size_t len, uint64_t off) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, buf, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    buf += n;
    len -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  return 0;
}

// Reads up to len bytes at off, zero-filling past the backing file's end.
int pread_zero(int fd, char* buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  std::memset(buf + done, 0, len - done);
  return 0;
}

}  // namespace

void remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(path.c_str())) {
      std::vector<std::string> names;
      while (struct dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
      }
      ::closedir(d);
      for (const auto& n : names) remove_tree(path + "/" + n);
    }
    ::rmdir(path.c_str());
  } else {
    ::unlink(path.c_str());
  }
}

namespace {

bool dir_is_empty(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return true;
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

VolatileState::VolatileState(std::string backing, std::string trash)
    : backing_(std::move(backing)), trash_(std::move(trash)) {}

VolatileState::~VolatileState() {
  for (auto& [key, f] : files_) ::close(f->fd);
}

int VolatileState::attach(int fd, FileOverlay** out) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return -errno;
  Key key{st.st_dev, st.st_ino};
  auto it = files_.find(key);
  if (it == files_.end()) {
    auto f = std::make_unique<FileOverlay>();
    f->fd = ::dup(fd);
    if (f->fd < 0) return -errno;
    f->size = f->backing_valid = static_cast<uint64_t>(st.st_size);
    it = files_.emplace(key, std::move(f)).first;
  }
  *out = it->second.get();
  return 0;
}

void VolatileState::forget_inode(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return;
  auto it = files_.find(Key{st.st_dev, st.st_ino});
  if (it == files_.end()) return;
  ::close(it->second->fd);
  files_.erase(it);
}

int64_t VolatileState::visible_size(dev_t dev, ino_t ino) const {
  auto it = files_.find(Key{dev, ino});
  return it == files_.end() ? -1 : static_cast<int64_t>(it->second->size);
}

int VolatileState::load_page(FileOverlay* f, uint64_t index, std::vector<char>* page) {
  page->assign(kPage, 0);
  uint64_t start = index * kPage;
  if (start >= f->backing_valid) return 0;
  return pread_zero(f->fd, page->data(), std::min(kPage, f->backing_valid - start), start);
}

int VolatileState::read(FileOverlay* f, char* buf, size_t size, uint64_t off, size_t* got) {
  *got = 0;
  if (off >= f->size) return 0;
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, f->size - off));
  size_t from_backing = off < f->backing_valid ? static_cast<size_t>(std::min<uint64_t>(n, f->backing_valid - off)) : 0;
  if (int e = pread_zero(f->fd, buf, from_backing, off)) return e;
  std::memset(buf + from_backing, 0, n - from_backing);
  for (auto it = f->pages.lower_bound(off / kPage); it != f->pages.end() && it->first * kPage < off + n; ++it) {
    uint64_t p0 = it->first * kPage;
    uint64_t lo = std::max(p0, off), hi = std::min(p0 + kPage, off + n);
    std::memcpy(buf + (lo - off), it->second.data() + (lo - p0), hi - lo);
  }
  *got = n;
  return 0;
}

int VolatileState::write(FileOverlay* f, const char* buf, size_t size, uint64_t off) {
  for (uint64_t pos = off; pos < off + size;) {
    uint64_t index = pos / kPage, p0 = index * kPage;
    auto [it, fresh] = f->pages.try_emplace(index);
    if (fresh) {
      if (int e = load_page(f, index, &it->second)) {
        f->pages.erase(it);
        return e;
      }
    }
    uint64_t hi = std::min(p0 + kPage, off + size);
    std::memcpy(it->second.data() + (pos - p0), buf + (pos - off), hi - pos);
    pos = hi;
  }
  f->size = std::max(f->size, off + size);
  f->last_off = off;
  f->last_data.assign(buf, buf + size);
  f->dirty = true;
  counters.writes++;
  counters.write_bytes += size;
  return 0;
}

int VolatileState::truncate(FileOverlay* f, uint64_t size) {
  if (size < f->size) {
    f->pages.erase(f->pages.lower_bound((size + kPage - 1) / kPage), f->pages.end());
    auto tail = f->pages.find(size / kPage);
    if (tail != f->pages.end()) {
      std::memset(tail->second.data() + size % kPage, 0, kPage - size % kPage);
    }
    f->backing_valid = std::min(f->backing_valid, size);
  }
  f->size = size;
  f->last_data.clear();  // the last unsynced operation is no longer a write
  f->dirty = true;
  counters.truncates++;
  return 0;
}

int VolatileState::fallocate(FileOverlay* f, int mode, uint64_t off, uint64_t len) {
  counters.fallocates++;
  bool keep = (mode & FALLOC_FL_KEEP_SIZE) != 0;
  int kind = mode & ~FALLOC_FL_KEEP_SIZE;
  uint64_t end = off + len;
  if (kind == 0) {  // reserve: contents unchanged, size may grow
    if (!keep && end > f->size) return truncate(f, end);
    return 0;
  }
  if (kind != FALLOC_FL_ZERO_RANGE && kind != FALLOC_FL_PUNCH_HOLE) return -EOPNOTSUPP;
  if (kind == FALLOC_FL_PUNCH_HOLE && !keep) return -EINVAL;
  uint64_t zero_end = keep ? std::min(end, f->size) : end;
  std::vector<char> zeros(kPage, 0);
  for (uint64_t pos = off; pos < zero_end;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kPage - pos % kPage, zero_end - pos));
    if (int e = write(f, zeros.data(), n, pos)) return e;
    pos += n;
  }
  f->last_data.clear();
  return 0;
}

int VolatileState::sync(FileOverlay* f) {
  if (!f->dirty) return 0;
  // Shrinks since the last sync: cut the backing first, so that a later
  // extension reads zeros there.
  if (::ftruncate(f->fd, static_cast<off_t>(f->backing_valid)) != 0) return -errno;
  for (auto& [index, page] : f->pages) {
    uint64_t p0 = index * kPage;
    if (p0 >= f->size) break;
    if (int e = pwrite_all(f->fd, page.data(), std::min(kPage, f->size - p0), p0)) return e;
  }
  if (::ftruncate(f->fd, static_cast<off_t>(f->size)) != 0) return -errno;
  f->pages.clear();
  f->last_data.clear();
  f->backing_valid = f->size;
  f->dirty = false;
  return 0;
}

int VolatileState::sync_range(FileOverlay* f, const char* buf, size_t size, uint64_t off) {
  counters.dsync_writes++;
  if (off + size > f->backing_valid) return sync(f);
  if (int e = pwrite_all(f->fd, buf, size, off)) return e;
  f->last_data.clear();  // durable: nothing of it to tear
  return 0;
}

void VolatileState::journal_create(const std::string& path, bool is_dir) {
  journal_.push_back(DirOp{is_dir ? DirOp::kMkdir : DirOp::kCreate, path, "", "", {parent_of(path)}});
}

std::string VolatileState::new_trash_name() { return trash_ + "/" + std::to_string(++trash_seq_); }

int VolatileState::journal_remove(const std::string& path, bool is_dir) {
  std::string from = backing_path(path);
  struct stat st;
  if (::lstat(from.c_str(), &st) != 0) return -errno;
  if (is_dir && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (!is_dir && S_ISDIR(st.st_mode)) return -EISDIR;
  if (is_dir && !dir_is_empty(from)) return -ENOTEMPTY;
  std::string t = new_trash_name();
  if (::rename(from.c_str(), t.c_str()) != 0) return -errno;
  journal_.push_back(DirOp{DirOp::kRemove, path, "", t, {parent_of(path)}});
  return 0;
}

int VolatileState::journal_rename(const std::string& from, const std::string& to) {
  std::string bfrom = backing_path(from), bto = backing_path(to);
  struct stat sf, st;
  if (::lstat(bfrom.c_str(), &sf) != 0) return -errno;
  std::string t;
  if (::lstat(bto.c_str(), &st) == 0) {
    if (sf.st_ino == st.st_ino && sf.st_dev == st.st_dev) return 0;  // same entry: a no-op
    if (S_ISDIR(sf.st_mode) && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    if (!S_ISDIR(sf.st_mode) && S_ISDIR(st.st_mode)) return -EISDIR;
    if (S_ISDIR(st.st_mode) && !dir_is_empty(bto)) return -ENOTEMPTY;
    t = new_trash_name();
    if (::rename(bto.c_str(), t.c_str()) != 0) return -errno;
  }
  if (::rename(bfrom.c_str(), bto.c_str()) != 0) {
    int e = -errno;
    if (!t.empty()) ::rename(t.c_str(), bto.c_str());
    return e;
  }
  journal_.push_back(DirOp{DirOp::kRename, from, to, t, {parent_of(from), parent_of(to)}});
  return 0;
}

void VolatileState::sync_dir(const std::string& dir) {
  counters.dir_fsyncs++;
  // Directories whose removal is durable now: what happened inside them no
  // longer matters, as if each had been fsynced.
  std::vector<std::string> synced{dir};
  while (!synced.empty()) {
    std::string d = synced.back();
    synced.pop_back();
    std::vector<DirOp> left;
    for (auto& op : journal_) {
      std::erase_if(op.pending_dirs, [&](const std::string& p) { return p == d || p.rfind(d + "/", 0) == 0; });
      if (!op.pending_dirs.empty()) {
        left.push_back(std::move(op));
        continue;
      }
      if (!op.trash.empty()) doomed_.push_back(op.trash);  // the removal is durable: the old entry goes
      if (op.kind == DirOp::kRemove && d != op.a) synced.push_back(op.a);
    }
    journal_ = std::move(left);
  }
}

void VolatileState::undo(const DirOp& op, CutReport* r) {
  std::string a = backing_path(op.a);
  int rc = 0;
  switch (op.kind) {
    case DirOp::kCreate: rc = ::unlink(a.c_str()); break;
    case DirOp::kMkdir: remove_tree(a); break;
    case DirOp::kRemove: rc = ::rename(op.trash.c_str(), a.c_str()); break;
    case DirOp::kRename:
      rc = ::rename(backing_path(op.b).c_str(), a.c_str());
      if (rc == 0 && !op.trash.empty()) rc = ::rename(op.trash.c_str(), backing_path(op.b).c_str());
      break;
  }
  r->dirops_undone++;
  if (rc != 0) r->undo_failures++;
}

CutReport VolatileState::cut(bool tear, std::mt19937_64& rng) {
  CutReport r;
  counters.cuts++;
  for (auto& [key, f] : files_) {
    if (f->dirty) {
      r.files++;
      r.pages += f->pages.size();
    }
    if (tear && f->dirty && !f->last_data.empty()) {
      // The write's 512-byte sectors (aligned in the file): a prefix of them
      // reached the disk, from none to all.
      uint64_t end = f->last_off + f->last_data.size();
      uint64_t sectors = (end + kSector - 1) / kSector - f->last_off / kSector;
      uint64_t keep = std::uniform_int_distribution<uint64_t>(0, sectors)(rng);
      uint64_t keep_end = std::min(end, (f->last_off / kSector + keep) * kSector);
      if (keep_end > f->last_off) {
        pwrite_all(f->fd, f->last_data.data(), keep_end - f->last_off, f->last_off);
        r.torn_sectors += keep;
      }
    }
    ::close(f->fd);
  }
  files_.clear();
  for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) undo(*it, &r);
  journal_.clear();
  return r;
}

}  // namespace powerloss
