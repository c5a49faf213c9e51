// The simulated disk's file model, behind SimBackend: inodes with live and
// durable images, unsynced writes, directory listings, and what a crash
// leaves of a file. Internal to engine/io; sim_backend.cc states the
// invariants (D), (L) and (G) these functions keep.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/sim_backend.h"

namespace synap::io::sim {


using InodeId = uint64_t;
constexpr InodeId kRoot = 0;
using Comps = std::vector<std::string>;
__extension__ typedef unsigned __int128 U128;

// SplitMix64. Specified here rather than taken from <random> so that a seed
// yields the same run with every standard library.
class Rng {
 public:
  void seed(uint64_t s) { s_ = s; }
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. Multiply-shift: no modulo bias worth naming.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((U128{next()} * n) >> 64); }
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  // Draws nothing when p <= 0, so a disabled fault leaves the stream alone.
  bool chance(double p) {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
  }

 private:
  uint64_t s_ = 0;
};

// A write not yet covered by a sync, with its own copy of the bytes: a crash
// replays the write's bytes, not whatever later writes left in the live file.
struct UnsyncedWrite {
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
  uint64_t end() const { return offset + bytes.size(); }
};

struct Inode {
  bool is_dir = false;
  // Files: live = page cache; durable = the image a crash keeps (size is
  // durable.size()); unsynced = writes since the last sync, oldest first.
  std::vector<uint8_t> live;
  std::vector<uint8_t> durable;
  std::vector<UnsyncedWrite> unsynced;
  uint64_t low_water = 0;  // invariant (L)
  // Directories: name -> inode, as lookups see it and as a crash keeps it.
  std::map<std::string, InodeId> live_entries;
  std::map<std::string, InodeId> durable_entries;
};

struct Fs {
  std::unordered_map<InodeId, Inode> inodes;
  InodeId next_id = kRoot + 1;

  Fs() { inodes[kRoot].is_dir = true; }
  Inode* get(InodeId id) {
    auto it = inodes.find(id);
    return it == inodes.end() ? nullptr : &it->second;
  }
  InodeId add(bool is_dir) {
    const InodeId id = next_id++;
    inodes[id].is_dir = is_dir;
    return id;
  }
};

Status Fail(int err, const char* op, const std::string& what);

// "/a//b/" -> {"a", "b"}; "" and "/" -> {} (the root). Returns an errno.
int SplitPath(const std::string& path, Comps* out);

// Follows live listings through comps[0, n). Returns 0 and *id, or an errno.
int Walk(const Fs& fs, const Comps& c, size_t n, InodeId* id);

// The directory holding the last component of `c` (which is not the root).
int WalkParent(const Fs& fs, const Comps& c, InodeId* dir);

void Put(std::vector<uint8_t>& v, uint64_t off, const uint8_t* data, size_t n);

void WriteUnsynced(Inode& f, uint64_t off, const uint8_t* data, size_t n);

// Cuts [off, end) out of every unsynced write: newer durable bytes cover that
// range, so a crash must not replay older bytes over them (invariant D).
void TrimUnsynced(Inode& f, uint64_t off, uint64_t end);

// An RWF_DSYNC write: exactly its range becomes durable.
void WriteDurable(Inode& f, uint64_t off, const uint8_t* data, size_t n);

// fdatasync: durable := live, in O(unsynced bytes + tail) thanks to (L).
void SyncFile(Inode& f);

void SetSize(Inode& f, uint64_t size);

// kTornUnsynced: the write is lost, kept whole, or torn at sector boundaries
// (aligned to file offsets), each sector surviving with probability 1/2.
void ReplayTorn(std::vector<uint8_t>& img, const UnsyncedWrite& w, Rng& rng);

// What a crash leaves of one file: its durable image, plus (torn mode) the
// surviving parts of its unsynced writes; a kept write may extend the size.
Inode CrashFile(const Inode& f, SimBackend::CrashMode mode, Rng& rng);

}  // namespace synap::io::sim
