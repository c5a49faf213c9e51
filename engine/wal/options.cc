#include "engine/wal/options.h"

namespace synap::wal {

Result<FsyncMode> ParseFsyncMode(const std::string& s) {
  if (s == "always") return FsyncMode::kAlways;
  if (s == "periodic") return FsyncMode::kPeriodic;
  if (s == "never") return FsyncMode::kNever;
  return Status::InvalidArgument("unknown fsync mode '" + s + "' (expected always, periodic or never)");
}

const char* FsyncModeName(FsyncMode m) {
  switch (m) {
    case FsyncMode::kAlways: return "always";
    case FsyncMode::kPeriodic: return "periodic";
    case FsyncMode::kNever: return "never";
  }
  return "unknown";
}

Result<Mechanism> ParseMechanism(const std::string& s) {
  if (s == "buffered") return Mechanism::kBuffered;
  if (s == "direct") return Mechanism::kDirect;
  return Status::InvalidArgument("unknown mechanism '" + s + "' (expected buffered or direct)");
}

const char* MechanismName(Mechanism m) { return m == Mechanism::kDirect ? "direct" : "buffered"; }

namespace {
Status OutOfRange(const char* field, uint64_t v, uint64_t lo, uint64_t hi) {
  return Status::InvalidArgument(std::string("wal.") + field + " = " + std::to_string(v) + " is outside [" +
                                 std::to_string(lo) + ", " + std::to_string(hi) + "]");
}
}  // namespace

Status WalOptions::Validate() const {
  if (dir.empty()) return Status::InvalidArgument("wal.dir is empty");
  if (fsync_interval_ms < 1 || fsync_interval_ms > 60000) return OutOfRange("fsync_interval_ms", fsync_interval_ms, 1, 60000);
  if (segment_bytes < kMinSegmentBytes || segment_bytes > kMaxSegmentBytes)
    return OutOfRange("segment_bytes", segment_bytes, kMinSegmentBytes, kMaxSegmentBytes);
  if (segment_bytes % 4096 != 0)
    return Status::InvalidArgument("wal.segment_bytes = " + std::to_string(segment_bytes) + " is not a multiple of 4096");
  if (max_record_bytes > kMaxRecordBytesLimit) return OutOfRange("max_record_bytes", max_record_bytes, 0, kMaxRecordBytesLimit);
  if (max_batch_bytes < 1 || max_batch_bytes > kMaxBatchBytesLimit)
    return OutOfRange("max_batch_bytes", max_batch_bytes, 1, kMaxBatchBytesLimit);
  if (max_batch_records < 1 || max_batch_records > (1u << 24))
    return OutOfRange("max_batch_records", max_batch_records, 1, 1u << 24);
  if (linger_us > 1000000) return OutOfRange("linger_us", linger_us, 0, 1000000);
  if (max_in_flight < 1 || max_in_flight > 2) return OutOfRange("max_in_flight", max_in_flight, 1, 2);
  if (max_pending_bytes < max_batch_bytes || max_pending_bytes < uint64_t{max_record_bytes} + 4)
    return Status::InvalidArgument("wal.max_pending_bytes must be at least max_batch_bytes and max_record_bytes");
  // The largest batch (one record of max_record_bytes, or max_batch_bytes of
  // records), after the segment header block, must fit in one segment.
  uint64_t largest = std::max<uint64_t>(max_batch_bytes, uint64_t{max_record_bytes} + 4) + 72 + 8;
  if (4096 + largest > segment_bytes)
    return Status::InvalidArgument("wal.segment_bytes (" + std::to_string(segment_bytes) +
                                   ") cannot hold the largest batch (max_record_bytes/max_batch_bytes)");
  if (segment_name_bias > 1) return OutOfRange("segment_name_bias", segment_name_bias, 0, 1);
  if (zstd_level < 1 || zstd_level > 19) return OutOfRange("zstd_level", static_cast<uint64_t>(zstd_level), 1, 19);
  return Status::Ok();
}

}  // namespace synap::wal
