// Segment files: naming, creation, and what the log keeps about each one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "engine/base/status.h"
#include "engine/io/backend.h"
#include "engine/log/format.h"

namespace synap::log {

// How a new segment's space is reserved before the first batch is written.
enum class Preallocate : uint8_t {
  kAuto,       // the log's owner decides (the WAL: kZero under fsync=always, else kNone)
  kNone,       // the file grows with each write (every fdatasync also updates the size)
  kFallocate,  // fallocate: space reserved, extents unwritten (cheap to create; writes still
               // pay an extent conversion at fdatasync)
  kZero,       // fallocate + written zeros + fsync: later writes are pure overwrites, the
               // cheapest kind of durable write (see ../shared/peers/RESULTS.md)
};

Result<Preallocate> ParsePreallocate(const std::string& name);  // "auto", "none", "fallocate", "zero"
const char* PreallocateName(Preallocate p);

// "<20-digit base LSN>.log". A log may name its segments by a number offset
// from the LSN (`name_bias`): a stream room names each segment by the offset
// of its first event, which is base_lsn - 1 (offsets start at 0, LSNs at 1).
std::string SegmentFileName(Lsn base_lsn, uint64_t name_bias = 0);
// True for names made by SegmentFileName whose number is at most kMaxLsn;
// sets *base_lsn to that number (the base LSN less the log's name bias).
bool ParseSegmentFileName(std::string_view name, Lsn* base_lsn);

struct SegmentSpec {
  SegmentHeader header;        // segment_id, base_lsn, alignment, data_offset, flags
  uint64_t size_bytes = 0;     // target size; the space preallocated
  Preallocate preallocate = Preallocate::kFallocate;
  bool direct = false;         // open with O_DIRECT (header.flags has kSegmentDirect)
  uint64_t name_bias = 0;      // the file is SegmentFileName(header.base_lsn, name_bias)
};

// Creates dir/SegmentFileName(base_lsn, name_bias): writes the header (and zeros up to
// data_offset), reserves space as asked, fdatasyncs the file, then fsyncs the
// directory, so the segment is durable before any batch goes into it.
// Returns the open handle. Fails with Unsupported if `direct` is refused.
Result<io::FileHandle> CreateSegment(io::IoBackend* io, const std::string& dir, const SegmentSpec& spec);

// The next segment's file, prepared ahead so that a roll does not pay for
// preallocation on the commit path (ScyllaDB keeps spare segments the same
// way). A spare is "<dir>/spare.tmp": reserved (and zeroed) to the segment
// size and fsynced, but without a header, so recovery never takes it for a
// segment. Take() writes the header into it, fsyncs it, renames it to its
// segment name and fsyncs the directory.
//
// With `background`, Start() prepares on a thread of its own and Take() waits
// for it; without, Start() prepares inline (deterministic, for simulations).
class SpareSegment {
 public:
  SpareSegment(io::IoBackend* io, std::string dir, uint64_t size_bytes, Preallocate preallocate, bool direct,
               uint32_t alignment, bool background);
  ~SpareSegment();  // waits for a preparation in progress
  SpareSegment(const SpareSegment&) = delete;
  SpareSegment& operator=(const SpareSegment&) = delete;

  // Begins preparing a spare, unless one is ready or being prepared.
  void Start();
  // Creates the segment `spec` from the spare, or from scratch (CreateSegment)
  // when preparing the spare failed. Starts nothing: call Start() after.
  Result<io::FileHandle> Take(const SegmentSpec& spec);

 private:
  Status Prepare();
  void WaitForPreparation();
  std::string Path() const { return dir_ + "/spare.tmp"; }

  io::IoBackend* io_;
  std::string dir_;
  uint64_t size_;
  Preallocate preallocate_;
  bool direct_;
  uint32_t alignment_;
  bool background_;
  bool started_ = false;
  Status prepared_;  // valid once the preparation has finished
  io::FileHandle file_ = io::kInvalidFile;
  std::thread thread_;
};

// A buffer aligned for O_DIRECT. Move-only.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(size_t size, size_t alignment);
  AlignedBuffer(AlignedBuffer&& o) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  ~AlignedBuffer();
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace synap::log
