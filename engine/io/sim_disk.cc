#include "engine/io/sim_disk.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace synap::io::sim {

Status Fail(int err, const char* op, const std::string& what) {
  return Status::FromErrno(err, std::string("sim ") + op + " " + what);
}

int SplitPath(const std::string& path, Comps* out) {
  out->clear();
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out->emplace_back(path, i, j - i);
    i = j + 1;
  }
  for (const auto& c : *out) {
    if (c == "." || c == "..") return EINVAL;
  }
  return 0;
}

int Walk(const Fs& fs, const Comps& c, size_t n, InodeId* id) {
  InodeId cur = kRoot;
  for (size_t i = 0; i < n; ++i) {
    const Inode& d = fs.inodes.at(cur);
    if (!d.is_dir) return ENOTDIR;
    auto it = d.live_entries.find(c[i]);
    if (it == d.live_entries.end()) return ENOENT;
    cur = it->second;
  }
  *id = cur;
  return 0;
}

int WalkParent(const Fs& fs, const Comps& c, InodeId* dir) {
  if (int e = Walk(fs, c, c.size() - 1, dir)) return e;
  return fs.inodes.at(*dir).is_dir ? 0 : ENOTDIR;
}

// ---- File data ----

void Put(std::vector<uint8_t>& v, uint64_t off, const uint8_t* data, size_t n) {
  if (n == 0) return;
  if (off + n > v.size()) v.resize(off + n);  // a gap reads as zeros
  std::memcpy(v.data() + off, data, n);
}

void WriteUnsynced(Inode& f, uint64_t off, const uint8_t* data, size_t n) {
  if (n == 0) return;
  Put(f.live, off, data, n);
  f.unsynced.push_back(UnsyncedWrite{off, std::vector<uint8_t>(data, data + n)});
}

static UnsyncedWrite Slice(const UnsyncedWrite& w, uint64_t from, uint64_t to) {
  auto first = w.bytes.begin() + static_cast<ptrdiff_t>(from - w.offset);
  return UnsyncedWrite{from, std::vector<uint8_t>(first, first + static_cast<ptrdiff_t>(to - from))};
}

void TrimUnsynced(Inode& f, uint64_t off, uint64_t end) {
  if (f.unsynced.empty()) return;
  std::vector<UnsyncedWrite> kept;
  kept.reserve(f.unsynced.size());
  for (auto& w : f.unsynced) {
    if (w.end() <= off || w.offset >= end) {
      kept.push_back(std::move(w));
      continue;
    }
    if (w.offset < off) kept.push_back(Slice(w, w.offset, off));
    if (w.end() > end) kept.push_back(Slice(w, end, w.end()));
  }
  f.unsynced = std::move(kept);
}

void WriteDurable(Inode& f, uint64_t off, const uint8_t* data, size_t n) {
  Put(f.live, off, data, n);
  TrimUnsynced(f, off, off + n);
  Put(f.durable, off, data, n);
}

static void CopyRange(const std::vector<uint8_t>& from, std::vector<uint8_t>& to, uint64_t a, uint64_t b) {
  if (a < b) std::memcpy(to.data() + a, from.data() + a, b - a);
}

void SyncFile(Inode& f) {
  const uint64_t size = f.live.size();
  const uint64_t lo = std::min<uint64_t>(f.low_water, f.durable.size());
  f.durable.resize(size);
  for (const auto& w : f.unsynced) CopyRange(f.live, f.durable, w.offset, std::min(w.end(), lo));
  CopyRange(f.live, f.durable, lo, size);
  f.unsynced.clear();
  f.low_water = size;
}

void SetSize(Inode& f, uint64_t size) {
  f.live.resize(size);
  f.low_water = std::min(f.low_water, size);
}

void ReplayTorn(std::vector<uint8_t>& img, const UnsyncedWrite& w, Rng& rng) {
  const uint64_t fate = rng.below(3);
  if (fate == 0) return;
  if (fate == 1) return Put(img, w.offset, w.bytes.data(), w.bytes.size());
  uint64_t bits = 0;
  int nbits = 0;
  for (uint64_t pos = w.offset; pos < w.end();) {
    const uint64_t sector_end =
        std::min(w.end(), (pos / SimBackend::kSectorSize + 1) * SimBackend::kSectorSize);
    if (nbits == 0) {
      bits = rng.next();
      nbits = 64;
    }
    if (bits & 1) Put(img, pos, w.bytes.data() + (pos - w.offset), sector_end - pos);
    bits >>= 1;
    --nbits;
    pos = sector_end;
  }
}

Inode CrashFile(const Inode& f, SimBackend::CrashMode mode, Rng& rng) {
  Inode out;
  out.durable = f.durable;
  if (mode == SimBackend::CrashMode::kTornUnsynced) {
    for (const auto& w : f.unsynced) ReplayTorn(out.durable, w, rng);
  }
  out.live = out.durable;
  out.low_water = out.live.size();
  return out;
}

}  // namespace synap::io::sim
