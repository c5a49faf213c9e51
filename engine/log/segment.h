// Segment files: naming, creation, and what the log keeps about each one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/io/backend.h"
#include "engine/log/format.h"

namespace synap::log {

// How a new segment's space is reserved before the first batch is written.
enum class Preallocate : uint8_t {
  kNone,       // the file grows with each write (every fdatasync also updates the size)
  kFallocate,  // fallocate: space reserved, extents unwritten (cheap to create; writes still
               // pay an extent conversion at fdatasync)
  kZero,       // fallocate + written zeros + fsync: later writes are pure overwrites, the
               // cheapest kind of durable write (see ../shared/peers/RESULTS.md)
};

Result<Preallocate> ParsePreallocate(const std::string& name);  // "none", "fallocate", "zero"
const char* PreallocateName(Preallocate p);

// "<20-digit base LSN>.log".
std::string SegmentFileName(Lsn base_lsn);
// True for names made by SegmentFileName; sets *base_lsn.
bool ParseSegmentFileName(std::string_view name, Lsn* base_lsn);

struct SegmentSpec {
  SegmentHeader header;        // segment_id, base_lsn, alignment, data_offset, flags
  uint64_t size_bytes = 0;     // target size; the space preallocated
  Preallocate preallocate = Preallocate::kFallocate;
  bool direct = false;         // open with O_DIRECT (header.flags has kSegmentDirect)
};

// Creates dir/SegmentFileName(base_lsn): writes the header (and zeros up to
// data_offset), reserves space as asked, fdatasyncs the file, then fsyncs the
// directory, so the segment is durable before any batch goes into it.
// Returns the open handle. Fails with Unsupported if `direct` is refused.
Result<io::FileHandle> CreateSegment(io::IoBackend* io, const std::string& dir, const SegmentSpec& spec);

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
