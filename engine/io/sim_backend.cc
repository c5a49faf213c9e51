// SimBackend: see sim_backend.h for the model. This file keeps three
// invariants that every function below relies on:
//
//  (D) A file's durable image plus its unsynced writes replayed in order is
//      what a crash may leave: the durable image alone is the least, all
//      unsynced writes replayed is the most (per sector, in between).
//  (L) Below `low_water` (the smallest live size since the last sync), a live
//      byte differs from its durable byte only where some unsynced write
//      covers it. So a sync copies the unsynced ranges plus the tail from
//      low_water, never the whole file: syncing stays O(new bytes).
//  (G) Every inode reachable through a live or durable listing, an open
//      handle or an in-flight request exists in the inode table.
#include "engine/io/sim_backend.h"
#include "engine/io/sim_disk.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace synap::io {
using namespace sim;  // the file model: sim_disk.h

struct SimBackend::State {
  struct Handle {
    InodeId inode = kRoot;
    bool read_only = false;
    bool direct = false;
    bool open = false;
  };
  // A submitted request, its handle resolved at submission (as the kernel
  // does): closing the handle later does not affect it.
  struct Flight {
    WriteRequest req;
    InodeId inode = kRoot;
    int pre_error = 0;  // found at submission; reported at completion
    bool direct = false;
  };
  struct Injection {
    Op op;
    int err;
    uint64_t remaining;  // matching operations to let pass first
  };
  struct RandomError {
    int err = 0;
    double p = 0;
  };

  Fs fs;
  std::optional<Fs> crash_image;  // set <=> crashed
  std::vector<Handle> handles;
  // Closed handles, oldest first. A slot is reused only once more than
  // kReuseDelay are free, so a use-after-close hits EBADF rather than another
  // file, while handles stay small (below peak open + kReuseDelay + 1).
  std::deque<FileHandle> free_handles;
  static constexpr size_t kReuseDelay = 4;
  std::vector<WriteRequest> prepared;
  std::vector<Flight> flight;  // submission order
  bool wake_pending = false;
  size_t gc_threshold = 64;

  Rng sched_rng, fault_rng, tear_rng;
  uint64_t ops = 0;
  std::optional<uint64_t> crash_at;  // crash when an op starts with ops == *crash_at
  CrashMode crash_mode = CrashMode::kDropUnsynced;
  bool direct_supported = true;
  bool allocate_supported = true;
  uint32_t alignment = 4096;
  double short_p = 0;
  double zero_p = 0;
  std::vector<Injection> injections;
  RandomError random_errors[kOpCount];
  IoStats stats;

  bool crashed() const { return crash_image.has_value(); }

  void seed(uint64_t s) {
    Rng base;
    base.seed(s);
    sched_rng.seed(base.next());
    fault_rng.seed(base.next());
    tear_rng.seed(base.next());
  }

  void clear_faults() {
    short_p = zero_p = 0;
    injections.clear();
    for (auto& r : random_errors) r = RandomError{};
  }

  // ---- Operation counting and crashes ----

  // Every counted operation starts here. False: the backend is (now) crashed
  // and the operation must fail with EIO, changing nothing.
  bool begin_op() {
    if (crashed()) return false;
    if (crash_at && ops >= *crash_at) {
      crash_now();
      return false;
    }
    ++ops;
    return true;
  }

  void crash_now() {
    if (crashed()) return;
    crash_image.emplace(build_crash_image());
    crash_at.reset();
  }

  // The image is built from durable listings, depth first in name order, so
  // the tearing draws are deterministic. An inode reachable under several
  // durable names (or in a cycle of renamed directories) is copied once.
  Fs build_crash_image() {
    Fs img;
    std::unordered_map<InodeId, InodeId> remap{{kRoot, kRoot}};
    clone_children(img, kRoot, kRoot, remap);
    return img;
  }

  void clone_children(Fs& img, InodeId from, InodeId to,
                      std::unordered_map<InodeId, InodeId>& remap) {
    for (const auto& [name, child] : fs.inodes.at(from).durable_entries) {
      const InodeId c = clone(img, child, remap);
      img.inodes.at(to).live_entries[name] = c;
      img.inodes.at(to).durable_entries[name] = c;
    }
  }

  InodeId clone(Fs& img, InodeId id, std::unordered_map<InodeId, InodeId>& remap) {
    if (auto it = remap.find(id); it != remap.end()) return it->second;
    const Inode& src = fs.inodes.at(id);
    const InodeId nid = img.add(src.is_dir);
    remap[id] = nid;
    if (src.is_dir) {
      clone_children(img, id, nid, remap);
    } else {
      img.inodes.at(nid) = CrashFile(src, crash_mode, tear_rng);
    }
    return nid;
  }

  void restart() {
    crash_now();
    fs = std::move(*crash_image);
    crash_image.reset();
    handles.clear();
    free_handles.clear();
    prepared.clear();
    flight.clear();
    wake_pending = false;
    crash_at.reset();
    clear_faults();
    gc_threshold = std::max<size_t>(64, 2 * fs.inodes.size());
  }

  // ---- Faults ----

  // The first ready injection matching `actual` fires (one-shot); the others
  // that match count this operation. Then the random errors are drawn.
  int fault(Op actual) {
    const bool async = actual == Op::kWrite || actual == Op::kSync;
    int err = 0;
    for (auto it = injections.begin(); it != injections.end();) {
      const bool match = it->op == actual || (async && it->op == Op::kAnyAsync);
      if (match && it->remaining == 0 && err == 0) {
        err = it->err;
        it = injections.erase(it);
        continue;
      }
      if (match && it->remaining > 0) --it->remaining;
      ++it;
    }
    if (err != 0) return err;
    if (int e = random_error(actual)) return e;
    return async ? random_error(Op::kAnyAsync) : 0;
  }

  int random_error(Op op) {
    const RandomError& r = random_errors[static_cast<int>(op)];
    return fault_rng.chance(r.p) ? r.err : 0;
  }

  // ---- Namespace ----

  // New inodes are where garbage grows, so collection is triggered here, when
  // the table has doubled since the last collection (amortized O(1)).
  InodeId new_inode(bool is_dir) {
    if (fs.inodes.size() >= gc_threshold) {
      collect_garbage();
      gc_threshold = std::max<size_t>(64, 2 * fs.inodes.size());
    }
    return fs.add(is_dir);
  }

  // Mark and sweep from the roots of invariant (G).
  void collect_garbage() {
    std::unordered_set<InodeId> marked;
    std::vector<InodeId> stack;
    auto mark = [&](InodeId id) {
      if (marked.insert(id).second) stack.push_back(id);
    };
    mark(kRoot);
    for (const auto& h : handles) {
      if (h.open) mark(h.inode);
    }
    for (const auto& f : flight) {
      if (f.pre_error == 0) mark(f.inode);
    }
    while (!stack.empty()) {
      const Inode& d = fs.inodes.at(stack.back());
      stack.pop_back();
      for (const auto& e : d.live_entries) mark(e.second);
      for (const auto& e : d.durable_entries) mark(e.second);
    }
    std::erase_if(fs.inodes, [&](const auto& kv) { return !marked.count(kv.first); });
  }

  FileHandle add_handle(const Handle& h) {
    if (free_handles.size() > kReuseDelay) {
      const FileHandle f = free_handles.front();
      free_handles.pop_front();
      handles[f] = h;
      return f;
    }
    handles.push_back(h);
    return static_cast<FileHandle>(handles.size() - 1);
  }

  // The open handle `f` (for writing if `write`), else nullptr (EBADF).
  Handle* handle(FileHandle f, bool write) {
    if (f < 0 || static_cast<size_t>(f) >= handles.size()) return nullptr;
    Handle& h = handles[f];
    if (!h.open || (write && h.read_only)) return nullptr;
    return &h;
  }

  Inode& file(const Handle& h) { return fs.inodes.at(h.inode); }

  Result<FileHandle> open(const std::string& path, const OpenOptions& o) {
    if (crashed() || (o.create && !begin_op())) return Fail(EIO, "open", path);
    Comps c;
    if (int e = SplitPath(path, &c)) return Fail(e, "open", path);
    if (c.empty()) return Fail(EISDIR, "open", path);
    if (o.direct && !direct_supported) return Status::Unsupported("sim: O_DIRECT disabled: " + path);
    InodeId dir;
    if (int e = WalkParent(fs, c, &dir)) return Fail(e, "open", path);
    if (int e = fault(Op::kOpen)) return Fail(e, "open", path);
    InodeId id;
    if (int e = lookup_or_create(dir, c.back(), o, &id)) return Fail(e, "open", path);
    return add_handle(Handle{id, o.read_only, o.direct, true});
  }

  int lookup_or_create(InodeId dir, const std::string& name, const OpenOptions& o, InodeId* id) {
    const auto& entries = fs.inodes.at(dir).live_entries;
    if (auto it = entries.find(name); it != entries.end()) {
      if (o.create && o.exclusive) return EEXIST;
      *id = it->second;
      return fs.inodes.at(*id).is_dir ? EISDIR : 0;
    }
    if (!o.create) return ENOENT;
    *id = new_inode(false);
    fs.inodes.at(dir).live_entries[name] = *id;
    return 0;
  }

  Status make_dir(const std::string& path) {
    if (!begin_op()) return Fail(EIO, "make_dir", path);
    Comps c;
    if (int e = SplitPath(path, &c)) return Fail(e, "make_dir", path);
    InodeId cur = kRoot;
    for (const auto& name : c) {
      const auto& entries = fs.inodes.at(cur).live_entries;
      auto it = entries.find(name);
      InodeId next;
      if (it != entries.end()) {
        next = it->second;
      } else {
        // Like PosixFiles: a directory make_dir creates is made durable at
        // once (its parent is fsynced), so a log directory cannot vanish.
        next = new_inode(true);
        fs.inodes.at(cur).live_entries[name] = next;
        fs.inodes.at(cur).durable_entries[name] = next;
      }
      if (!fs.inodes.at(next).is_dir) return Fail(ENOTDIR, "make_dir", path);
      cur = next;
    }
    return Status::Ok();
  }

  // Resolves an existing directory through live listings.
  int find_dir(const std::string& path, InodeId* id) {
    Comps c;
    if (int e = SplitPath(path, &c)) return e;
    if (int e = Walk(fs, c, c.size(), id)) return e;
    return fs.inodes.at(*id).is_dir ? 0 : ENOTDIR;
  }

  Status sync_dir(const std::string& path) {
    if (!begin_op()) return Fail(EIO, "sync_dir", path);
    InodeId id;
    if (int e = find_dir(path, &id)) return Fail(e, "sync_dir", path);
    if (int e = fault(Op::kSyncDir)) return Fail(e, "sync_dir", path);
    Inode& d = fs.inodes.at(id);
    d.durable_entries = d.live_entries;
    return Status::Ok();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) {
    if (crashed()) return Fail(EIO, "list_dir", path);
    InodeId id;
    if (int e = find_dir(path, &id)) return Fail(e, "list_dir", path);
    std::vector<std::string> names;
    for (const auto& e : fs.inodes.at(id).live_entries) names.push_back(e.first);
    return names;
  }

  Status remove(const std::string& path) {
    if (!begin_op()) return Fail(EIO, "remove", path);
    Comps c;
    if (int e = SplitPath(path, &c)) return Fail(e, "remove", path);
    if (c.empty()) return Fail(EBUSY, "remove", path);
    InodeId dir;
    if (int e = WalkParent(fs, c, &dir)) return Fail(e, "remove", path);
    auto& entries = fs.inodes.at(dir).live_entries;
    auto it = entries.find(c.back());
    if (it == entries.end()) return Fail(ENOENT, "remove", path);
    if (!fs.inodes.at(it->second).live_entries.empty()) return Fail(ENOTEMPTY, "remove", path);
    entries.erase(it);
    return Status::Ok();
  }

  Status rename(const std::string& from, const std::string& to) {
    const std::string what = from + " -> " + to;
    if (!begin_op()) return Fail(EIO, "rename", what);
    Comps a, b;
    if (int e = SplitPath(from, &a)) return Fail(e, "rename", what);
    if (int e = SplitPath(to, &b)) return Fail(e, "rename", what);
    if (a.empty() || b.empty()) return Fail(EBUSY, "rename", what);
    InodeId da, db;
    if (int e = WalkParent(fs, a, &da)) return Fail(e, "rename", what);
    if (int e = WalkParent(fs, b, &db)) return Fail(e, "rename", what);
    if (int e = rename_entry(a, da, b, db)) return Fail(e, "rename", what);
    return Status::Ok();
  }

  // POSIX rename(2) on live listings: replaces a file or an empty directory.
  int rename_entry(const Comps& a, InodeId da, const Comps& b, InodeId db) {
    auto& src_entries = fs.inodes.at(da).live_entries;
    auto src = src_entries.find(a.back());
    if (src == src_entries.end()) return ENOENT;
    const InodeId id = src->second;
    const bool is_dir = fs.inodes.at(id).is_dir;
    // A directory cannot move below itself.
    if (is_dir && b.size() > a.size() && std::equal(a.begin(), a.end(), b.begin())) return EINVAL;
    auto& dst_entries = fs.inodes.at(db).live_entries;
    if (auto dst = dst_entries.find(b.back()); dst != dst_entries.end()) {
      if (dst->second == id) return 0;  // the same inode: nothing to do
      const Inode& old = fs.inodes.at(dst->second);
      if (old.is_dir && !is_dir) return EISDIR;
      if (!old.is_dir && is_dir) return ENOTDIR;
      if (!old.live_entries.empty()) return ENOTEMPTY;
    }
    src_entries.erase(src);
    dst_entries[b.back()] = id;
    return 0;
  }

  // ---- Synchronous file operations ----

  Status close(FileHandle f) {
    if (crashed()) return Fail(EIO, "close", std::to_string(f));
    Handle* h = handle(f, false);
    if (h == nullptr) return Fail(EBADF, "close", std::to_string(f));
    h->open = false;
    free_handles.push_back(f);
    return Status::Ok();
  }

  Result<size_t> read_at(FileHandle f, uint64_t off, uint8_t* buf, size_t len) {
    if (crashed()) return Fail(EIO, "read_at", std::to_string(f));
    Handle* h = handle(f, false);
    if (h == nullptr) return Fail(EBADF, "read_at", std::to_string(f));
    const std::vector<uint8_t>& live = file(*h).live;
    if (off >= live.size()) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, live.size() - off));
    std::memcpy(buf, live.data() + off, n);
    return n;
  }

  // Shared prologue of the counted file mutations: count, crash check, handle.
  int begin_file_op(FileHandle f, Handle** h) {
    if (!begin_op()) return EIO;
    *h = handle(f, true);
    return *h == nullptr ? EBADF : 0;
  }

  static bool too_big(uint64_t off, uint64_t len) {
    return off > kMaxFileSize || len > kMaxFileSize - off;
  }

  Status write_at(FileHandle f, uint64_t off, const uint8_t* buf, size_t len) {
    Handle* h;
    if (int e = begin_file_op(f, &h)) return Fail(e, "write_at", std::to_string(f));
    if (too_big(off, len)) return Fail(EFBIG, "write_at", std::to_string(f));
    if (int e = fault(Op::kWriteAt)) return Fail(e, "write_at", std::to_string(f));
    WriteUnsynced(file(*h), off, buf, len);
    return Status::Ok();
  }

  Status sync(FileHandle f) {
    if (!begin_op()) return Fail(EIO, "sync", std::to_string(f));
    Handle* h = handle(f, false);  // fdatasync works on read-only descriptors
    if (h == nullptr) return Fail(EBADF, "sync", std::to_string(f));
    if (int e = fault(Op::kSyncFile)) return Fail(e, "sync", std::to_string(f));
    SyncFile(file(*h));
    return Status::Ok();
  }

  Status allocate(FileHandle f, uint64_t off, uint64_t len) {
    Handle* h;
    if (int e = begin_file_op(f, &h)) return Fail(e, "allocate", std::to_string(f));
    if (!allocate_supported) return Status::Unsupported("sim: allocate disabled");
    if (len == 0) return Fail(EINVAL, "allocate", std::to_string(f));
    if (too_big(off, len)) return Fail(EFBIG, "allocate", std::to_string(f));
    if (int e = fault(Op::kAllocate)) return Fail(e, "allocate", std::to_string(f));
    Inode& ino = file(*h);
    if (off + len > ino.live.size()) ino.live.resize(off + len);  // zeros
    return Status::Ok();
  }

  Status truncate(FileHandle f, uint64_t size) {
    Handle* h;
    if (int e = begin_file_op(f, &h)) return Fail(e, "truncate", std::to_string(f));
    if (size > kMaxFileSize) return Fail(EFBIG, "truncate", std::to_string(f));
    SetSize(file(*h), size);
    return Status::Ok();
  }

  // ---- Async path ----

  Flight resolve(const WriteRequest& r) {
    Flight f{r, kRoot, 0, false};
    const Handle* h = handle(r.file, true);
    if (h == nullptr) {
      f.pre_error = EBADF;
      return f;
    }
    f.inode = h->inode;
    f.direct = h->direct;
    const uint64_t a = alignment;
    const bool misaligned = reinterpret_cast<uintptr_t>(r.data) % a != 0 ||
                            r.offset % a != 0 || r.len % a != 0;
    if (f.direct && misaligned) f.pre_error = EINVAL;
    if (r.len > 0 && r.data == nullptr) f.pre_error = EFAULT;
    if (too_big(r.offset, r.len)) f.pre_error = EFBIG;
    return f;
  }

  void submit() {
    for (const auto& r : prepared) flight.push_back(resolve(r));
    prepared.clear();
  }

  // Completes a seeded number in [min(min_complete, n), n] of the n requests
  // in flight, each picked at random among those left. A crash (scheduled or
  // already there) completes everything left with EIO.
  void complete_some(unsigned min_complete, std::vector<Completion>* out) {
    if (crashed()) return drain(out);
    const size_t n = flight.size();
    if (n == 0) return;
    size_t k = sched_rng.range(std::min<size_t>(min_complete, n), n);
    while (k-- > 0) {
      const size_t i = sched_rng.below(flight.size());
      const Flight f = std::move(flight[i]);
      flight.erase(flight.begin() + static_cast<ptrdiff_t>(i));
      out->push_back(complete(f));
      if (crashed()) return drain(out);
    }
  }

  void drain(std::vector<Completion>* out) {
    for (const auto& f : flight) {
      ++stats.requests;
      out->push_back(Completion{f.req.tag, EIO, 0, false});
    }
    flight.clear();
  }

  // One request: a write step, then for kDataSync a sync step, each counted
  // as an operation, so a crash can fall between them.
  Completion complete(const Flight& f) {
    ++stats.requests;
    Completion c{f.req.tag, 0, 0, false};
    if (!begin_op()) return with_error(c, EIO);
    if (f.pre_error != 0) return with_error(c, f.pre_error);
    Inode& ino = fs.inodes.at(f.inode);  // alive: in-flight inodes are GC roots
    if (f.req.len > 0 && !write_step(f, ino, &c)) return c;
    if (f.req.durability == Durability::kDataSync) {
      if (f.req.len > 0 && !begin_op()) return with_error(c, EIO);
      if (!sync_step(ino, &c)) return c;
    }
    c.durable = f.req.durability != Durability::kNone;
    return c;
  }

  static Completion with_error(Completion c, int err) {
    c.error = err;
    return c;
  }

  // False when the chain stops here: an error, or a short or zero write.
  bool write_step(const Flight& f, Inode& ino, Completion* c) {
    const WriteRequest& r = f.req;
    const bool dsync = r.durability == Durability::kDsyncWrite;
    ++stats.writes;
    if (dsync) ++stats.dsync_writes;
    if (int e = fault(Op::kWrite)) {
      c->error = e;
      return false;
    }
    const uint32_t n = device_written(r.len, f.direct);
    stats.bytes_written += n;
    c->written = n;
    if (n < r.len) {
      ++stats.short_writes;
      WriteUnsynced(ino, r.offset, r.data, n);  // a short write is never durable
      return false;
    }
    if (dsync) {
      WriteDurable(ino, r.offset, r.data, n);
    } else {
      WriteUnsynced(ino, r.offset, r.data, n);
    }
    return true;
  }

  // How many bytes the "device" takes. A direct handle is cut at a multiple
  // of the alignment, so the caller's resubmission stays aligned.
  uint32_t device_written(uint32_t len, bool direct) {
    if (fault_rng.chance(zero_p)) return 0;
    if (!fault_rng.chance(short_p)) return len;
    const uint32_t unit = direct ? alignment : 1;
    const uint32_t units = len / unit;
    if (units < 2) return len;  // cannot be short by a whole unit
    return unit * static_cast<uint32_t>(fault_rng.range(1, units - 1));
  }

  bool sync_step(Inode& ino, Completion* c) {
    ++stats.syncs;
    if (int e = fault(Op::kSync)) {
      c->error = e;  // the durable image stays as it was
      return false;
    }
    SyncFile(ino);
    return true;
  }

  // ---- Test helpers ----

  static Inode* find_file(Fs& in, const std::string& path) {
    Comps c;
    InodeId id;
    if (SplitPath(path, &c) != 0 || Walk(in, c, c.size(), &id) != 0) return nullptr;
    Inode* ino = in.get(id);
    return ino != nullptr && !ino->is_dir ? ino : nullptr;
  }

  Status corrupt(const std::string& path, uint64_t offset, uint8_t mask) {
    Inode* ino = find_file(crashed() ? *crash_image : fs, path);
    if (ino == nullptr) return Fail(ENOENT, "corrupt", path);
    if (offset >= ino->live.size()) return Status::InvalidArgument("sim corrupt: offset past end");
    ino->live[offset] ^= mask;
    if (offset < ino->durable.size()) ino->durable[offset] ^= mask;
    return Status::Ok();
  }
};

// ---- SimBackend: lock, then delegate ----

SimBackend::SimBackend(uint64_t seed) : s_(std::make_unique<State>()) { s_->seed(seed); }
SimBackend::~SimBackend() = default;

Result<FileHandle> SimBackend::open(const std::string& path, const OpenOptions& opts) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->open(path, opts);
}

Status SimBackend::close(FileHandle f) {
  std::lock_guard<std::mutex> lk(mu_);
  std::erase_if(locks_, [f](const auto& l) { return l.second == f; });
  return s_->close(f);
}

// Locks live in memory only: a restart (a reboot) releases them all.
Result<FileHandle> SimBackend::lock_file(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& l : locks_)
    if (l.first == path) return Status::Locked(path + " is locked by another handle");
  OpenOptions oo;
  oo.create = true;
  Result<FileHandle> f = s_->open(path, oo);
  if (f.ok()) locks_.emplace_back(path, *f);
  return f;
}

Result<uint64_t> SimBackend::file_size(FileHandle f) {
  std::lock_guard<std::mutex> lk(mu_);
  if (s_->crashed()) return Fail(EIO, "file_size", std::to_string(f));
  const State::Handle* h = s_->handle(f, false);
  if (h == nullptr) return Fail(EBADF, "file_size", std::to_string(f));
  return static_cast<uint64_t>(s_->file(*h).live.size());
}

Result<size_t> SimBackend::read_at(FileHandle f, uint64_t off, uint8_t* buf, size_t len) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->read_at(f, off, buf, len);
}

Status SimBackend::write_at(FileHandle f, uint64_t off, const uint8_t* buf, size_t len) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->write_at(f, off, buf, len);
}

Status SimBackend::sync(FileHandle f) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->sync(f);
}

Status SimBackend::allocate(FileHandle f, uint64_t off, uint64_t len) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->allocate(f, off, len);
}

Status SimBackend::truncate(FileHandle f, uint64_t size) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->truncate(f, size);
}

uint32_t SimBackend::direct_alignment(FileHandle /*f*/) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->alignment;
}

Status SimBackend::make_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->make_dir(dir);
}

Status SimBackend::sync_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->sync_dir(dir);
}

Result<std::vector<std::string>> SimBackend::list_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->list_dir(dir);
}

Status SimBackend::remove(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->remove(path);
}

Status SimBackend::rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->rename(from, to);
}

void SimBackend::prepare(const WriteRequest& req) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->prepared.push_back(req);
}

// Completes what the seeded scheduler picks; waits (mutex released) only when
// min_complete is more than could be in flight, as a kernel would block.
Status SimBackend::submit_and_wait(unsigned min_complete, int64_t timeout_us,
                                   std::vector<Completion>* out) {
  if (out == nullptr) return Status::InvalidArgument("sim submit_and_wait: out is null");
  std::unique_lock<std::mutex> lk(mu_);
  s_->submit();
  const size_t in_flight = s_->flight.size();
  s_->complete_some(min_complete, out);
  const bool woken = std::exchange(s_->wake_pending, false);
  if (min_complete <= in_flight || woken || timeout_us == 0) return Status::Ok();
  return wait_for_wake(lk, timeout_us);
}

Status SimBackend::wait_for_wake(std::unique_lock<std::mutex>& lk, int64_t timeout_us) {
  auto woken = [this] { return s_->wake_pending; };
  if (timeout_us < 0) {
    cv_.wait(lk, woken);
  } else {
    cv_.wait_for(lk, std::chrono::microseconds(timeout_us), woken);
  }
  s_->wake_pending = false;
  return Status::Ok();
}

size_t SimBackend::in_flight() const {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->prepared.size() + s_->flight.size();
}

void SimBackend::wake() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    s_->wake_pending = true;
  }
  cv_.notify_all();
}

IoStats SimBackend::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->stats;
}

void SimBackend::set_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->seed(seed);
}

void SimBackend::set_direct_supported(bool supported) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->direct_supported = supported;
}

void SimBackend::set_direct_alignment(uint32_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->alignment = bytes == 0 ? 1 : bytes;
}

void SimBackend::set_allocate_supported(bool supported) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->allocate_supported = supported;
}

void SimBackend::set_crash_mode(CrashMode mode) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->crash_mode = mode;
}

void SimBackend::set_short_write_probability(double p) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->short_p = p;
}

void SimBackend::set_zero_write_probability(double p) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->zero_p = p;
}

void SimBackend::inject_error(Op op, int err, uint64_t after_n) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->injections.push_back(State::Injection{op, err, after_n});
}

void SimBackend::set_error_probability(Op op, int err, double p) {
  std::lock_guard<std::mutex> lk(mu_);
  s_->random_errors[static_cast<int>(op)] = State::RandomError{err, p};
}

void SimBackend::clear_faults() {
  std::lock_guard<std::mutex> lk(mu_);
  s_->clear_faults();
}

void SimBackend::crash() {
  std::lock_guard<std::mutex> lk(mu_);
  s_->crash_now();
}

void SimBackend::crash_after(uint64_t n_ops) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!s_->crashed()) s_->crash_at = s_->ops + n_ops;
}

void SimBackend::restart() {
  std::lock_guard<std::mutex> lk(mu_);
  locks_.clear();
  s_->restart();
}

bool SimBackend::crashed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->crashed();
}

uint64_t SimBackend::ops_executed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->ops;
}

Result<std::vector<uint8_t>> SimBackend::contents(const std::string& path) const {
  std::lock_guard<std::mutex> lk(mu_);
  const Inode* ino = State::find_file(s_->fs, path);
  if (ino == nullptr) return Fail(ENOENT, "contents", path);
  return ino->live;
}

Status SimBackend::corrupt(const std::string& path, uint64_t offset, uint8_t xor_mask) {
  std::lock_guard<std::mutex> lk(mu_);
  return s_->corrupt(path, offset, xor_mask);
}

}  // namespace synap::io
