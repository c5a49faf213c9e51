// Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.cc).
//
// FUZZ_CHECK: an invariant a target asserts. A failure prints what broke
// and aborts, which libFuzzer reports as a crash (and saves the input), and
// which fails the replay test of the ordinary build.
//
// Hash fix-up: every structure of the log and snapshot formats carries an
// XXH3 hash, so random bytes almost never get past the first check. Each
// of those targets therefore runs an input twice: as it is (the damage
// paths: hash mismatches, torn bytes) and after FixLogHashes /
// FixSnapshotHashes, which recompute every hash the bytes seem to need, so
// the fuzzer reaches the checks behind them (lengths, counts, LSN chains,
// codecs, record walks) with fields it chose. The fix-ups know the field
// offsets of docs/format.md; they only write hash fields, and leave bytes
// that do not look like a header alone. They live in fuzz_formats.cc (it
// needs the engine); ScratchDir and RemoveTree in fuzz_support.cc (it does
// not: the C ABI target links only libsynap).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__,     \
                   __LINE__, #cond);                                           \
      std::fprintf(stderr, __VA_ARGS__);                                       \
      std::fprintf(stderr, "\n");                                              \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace synap::fuzz {

inline uint32_t Load32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t Load64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
inline void Store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// Splits a concatenation of log segment files at every 8-aligned segment
// magic ("SYNS"): the first piece starts at 0 whatever it holds. At most
// `max_pieces`; the last one keeps the rest.
std::vector<std::vector<uint8_t>> SplitSegments(const uint8_t* data, size_t size, size_t max_pieces);

// Recomputes, in place, the segment header hash (when the segment magic is
// at 0) and, at every aligned offset holding the batch magic, the payload
// hash (when the stored length fits) and the batch header hash.
void FixLogHashes(std::vector<uint8_t>* seg);

// Recomputes, in place, the file header hash, every block's payload and
// header hash along the chain of blocks, and the footer's offset, digest
// and hash (the last kFooterSize bytes), when the file magic is at 0.
void FixSnapshotHashes(std::vector<uint8_t>* file);

// A directory for targets that need a real file system: $SYNAP_FUZZ_TMPDIR,
// else /dev/shm (fast; fsync is free), else $TMPDIR or /tmp; then
// "<that>/synap-fuzz-<tag>-<pid>". Created if missing.
std::string ScratchDir(const std::string& tag);
// rm -rf `path` (nothing if missing).
void RemoveTree(const std::string& path);

}  // namespace synap::fuzz
