// The on-disk format of Synap's segmented log. docs/format.md is the prose
// specification; this file is its one implementation.
//
// A log is a directory of segment files named "<20-digit base LSN>.log".
// Each segment starts with a 64-byte SegmentHeader; batches follow from
// header.data_offset, each starting at a multiple of header.alignment:
//
//   [BatchHeader 72 B][stored payload][zero padding to alignment]
//
// The stored payload is the raw payload, compressed or not (codec in flags).
// The raw payload is record_count records, each [u32 length][bytes]. Record i
// of a batch has LSN first_lsn + i; LSNs start at 1 and have no gaps.
//
// Integers are little-endian. Hashes are XXH3-64. Batch hashes are seeded
// with the segment id, so a batch copied from (or left over in) another
// segment never validates here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace synap::log {

using Lsn = uint64_t;  // 1-based; 0 means "none"

inline constexpr uint32_t kSegmentMagic = 0x534E5953;  // "SYNS" on disk
inline constexpr uint32_t kBatchMagic = 0x424E5953;    // "SYNB" on disk
inline constexpr uint16_t kFormatVersion = 1;
// The largest LSN a log holds: INT64_MAX, so that an LSN, and a stream
// offset (LSN - 1), fits a signed 64-bit integer (Kafka's offsets, Redis's
// IDs) and the next LSN after it never wraps to 0. A reader takes a batch
// or segment header claiming LSNs beyond it as damage; Wal::Append refuses
// to hand them out.
inline constexpr uint64_t kMaxLsn = (uint64_t{1} << 63) - 1;
inline constexpr size_t kSegmentHeaderSize = 64;
inline constexpr size_t kBatchHeaderSize = 72;
inline constexpr size_t kRecordPrefixSize = 4;  // u32 length before each record
// Batches start at multiples of at least this; keeps headers 8-byte aligned
// and makes the forward scan for a later valid batch cheap.
inline constexpr uint32_t kMinAlignment = 8;

enum class Codec : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };
inline constexpr uint16_t kCodecMask = 0x3;

// Segment flags.
inline constexpr uint32_t kSegmentDirect = 1u << 0;  // written with O_DIRECT
// Rewritten by compaction (engine/stream): its batches may leave LSN gaps,
// inside it and up to the next segment's base. Only ever a sealed segment.
inline constexpr uint32_t kSegmentCompacted = 1u << 1;

struct SegmentHeader {
  uint64_t segment_id = 0;   // unique per log, increasing; seeds batch hashes
  Lsn base_lsn = 0;          // LSN of the first record this segment holds
  uint64_t created_us = 0;   // wall clock, microseconds since the epoch
  uint32_t data_offset = 0;  // where the first batch starts
  uint32_t alignment = 0;    // every batch starts at a multiple of this
  uint32_t flags = 0;        // kSegment*
};

struct BatchHeader {
  Codec codec = Codec::kNone;
  uint32_t stored_len = 0;    // payload bytes as stored
  uint32_t raw_len = 0;       // payload bytes once decompressed
  uint32_t record_count = 0;  // >= 1
  Lsn first_lsn = 0;
  uint64_t segment_id = 0;
  uint64_t timestamp_us = 0;
  // The log's durable LSN when this batch was built. Recovery uses it to tell
  // a torn tail from corruption: a valid batch whose watermark reaches past a
  // damaged region proves that region had been made durable, so the damage is
  // not a crash artefact.
  Lsn durable_watermark = 0;
  uint64_t payload_hash = 0;

  Lsn last_lsn() const { return first_lsn + record_count - 1; }
};

uint64_t Hash(const uint8_t* data, size_t len, uint64_t seed);

// Rounds `n` up to a multiple of `align` (a power of two).
inline uint64_t AlignUp(uint64_t n, uint64_t align) { return (n + align - 1) & ~(align - 1); }

// The bytes a batch occupies on disk, padding included.
inline uint64_t BatchFootprint(uint32_t stored_len, uint32_t alignment) {
  return AlignUp(kBatchHeaderSize + stored_len, alignment);
}

void EncodeSegmentHeader(const SegmentHeader& h, uint8_t out[kSegmentHeaderSize]);
// Validates magic, version, hash and field ranges (alignment a power of two
// >= kMinAlignment, data_offset aligned and >= the header size).
Status DecodeSegmentHeader(const uint8_t* p, size_t len, SegmentHeader* out);

// Writes the header into out[0..kBatchHeaderSize), computing the header hash.
// payload_hash must already be set.
void EncodeBatchHeader(const BatchHeader& h, uint8_t out[kBatchHeaderSize]);
// Validates magic, version, header hash (seeded with `segment_id`), codec and
// length fields. Does not look at the payload.
Status DecodeBatchHeader(const uint8_t* p, size_t len, uint64_t segment_id, BatchHeader* out);

// Walks a raw payload, checking that it holds exactly `count` well-formed
// records. Calls fn(index, record) for each when fn is non-null.
template <typename Fn>
Status ForEachRecord(std::span<const uint8_t> raw, uint32_t count, Fn&& fn);

// ---- implementation of the template ----
uint32_t LoadU32(const uint8_t* p);

template <typename Fn>
Status ForEachRecord(std::span<const uint8_t> raw, uint32_t count, Fn&& fn) {
  size_t pos = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (raw.size() - pos < kRecordPrefixSize) return Status::Corruption("record prefix past payload end");
    uint32_t len = LoadU32(raw.data() + pos);
    pos += kRecordPrefixSize;
    if (raw.size() - pos < len) return Status::Corruption("record length past payload end");
    fn(i, raw.subspan(pos, len));
    pos += len;
  }
  if (pos != raw.size()) return Status::Corruption("bytes after the last record");
  return Status::Ok();
}

}  // namespace synap::log
