#include "engine/log/format.h"

#include <bit>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace synap::log {
namespace {

void StoreU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }  // x86-64/aarch64: little-endian
void StoreU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void StoreU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint16_t LoadU16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint64_t LoadU64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

static_assert(std::endian::native == std::endian::little, "the format is little-endian; add byte swaps");

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Segment header layout (offsets in bytes).
enum : size_t { kSegMagic = 0, kSegVersion = 4, kSegHeaderSize = 6, kSegId = 8, kSegBaseLsn = 16,
                kSegCreated = 24, kSegDataOffset = 32, kSegAlignment = 36, kSegFlags = 40,
                kSegHash = 56 };
// Batch header layout.
enum : size_t { kBMagic = 0, kBVersion = 4, kBFlags = 6, kBStored = 8, kBRaw = 12, kBCount = 16,
                kBFirstLsn = 24, kBSegment = 32, kBTime = 40, kBWatermark = 48, kBPayloadHash = 56,
                kBHeaderHash = 64 };

}  // namespace

uint32_t LoadU32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

uint64_t Hash(const uint8_t* data, size_t len, uint64_t seed) {
  return XXH3_64bits_withSeed(data, len, seed);
}

void EncodeSegmentHeader(const SegmentHeader& h, uint8_t out[kSegmentHeaderSize]) {
  std::memset(out, 0, kSegmentHeaderSize);
  StoreU32(out + kSegMagic, kSegmentMagic);
  StoreU16(out + kSegVersion, kFormatVersion);
  StoreU16(out + kSegHeaderSize, kSegmentHeaderSize);
  StoreU64(out + kSegId, h.segment_id);
  StoreU64(out + kSegBaseLsn, h.base_lsn);
  StoreU64(out + kSegCreated, h.created_us);
  StoreU32(out + kSegDataOffset, h.data_offset);
  StoreU32(out + kSegAlignment, h.alignment);
  StoreU32(out + kSegFlags, h.flags);
  StoreU64(out + kSegHash, Hash(out, kSegHash, 0));
}

Status DecodeSegmentHeader(const uint8_t* p, size_t len, SegmentHeader* out) {
  if (len < kSegmentHeaderSize) return Status::Corruption("segment shorter than its header");
  if (LoadU32(p + kSegMagic) != kSegmentMagic) return Status::Corruption("bad segment magic");
  if (LoadU64(p + kSegHash) != Hash(p, kSegHash, 0)) return Status::Corruption("segment header hash mismatch");
  // The hash held, so the version is really there: a newer writer, not damage.
  if (LoadU16(p + kSegVersion) != kFormatVersion)
    return Status::Unsupported("segment format version " + std::to_string(LoadU16(p + kSegVersion)) +
                               " (this reader knows version " + std::to_string(kFormatVersion) + ")");
  if (LoadU16(p + kSegHeaderSize) != kSegmentHeaderSize) return Status::Corruption("bad segment header size");
  out->segment_id = LoadU64(p + kSegId);
  out->base_lsn = LoadU64(p + kSegBaseLsn);
  out->created_us = LoadU64(p + kSegCreated);
  out->data_offset = LoadU32(p + kSegDataOffset);
  out->alignment = LoadU32(p + kSegAlignment);
  out->flags = LoadU32(p + kSegFlags);
  if (!IsPowerOfTwo(out->alignment) || out->alignment < kMinAlignment)
    return Status::Corruption("bad segment alignment " + std::to_string(out->alignment));
  if (out->data_offset < kSegmentHeaderSize || out->data_offset % out->alignment != 0)
    return Status::Corruption("bad segment data offset " + std::to_string(out->data_offset));
  if (out->base_lsn == 0) return Status::Corruption("segment base LSN is 0");
  if (out->base_lsn > kMaxLsn) return Status::Corruption("segment base LSN past the largest LSN");
  return Status::Ok();
}

void EncodeBatchHeader(const BatchHeader& h, uint8_t out[kBatchHeaderSize]) {
  std::memset(out, 0, kBatchHeaderSize);
  StoreU32(out + kBMagic, kBatchMagic);
  StoreU16(out + kBVersion, kFormatVersion);
  StoreU16(out + kBFlags, static_cast<uint16_t>(h.codec));
  StoreU32(out + kBStored, h.stored_len);
  StoreU32(out + kBRaw, h.raw_len);
  StoreU32(out + kBCount, h.record_count);
  StoreU64(out + kBFirstLsn, h.first_lsn);
  StoreU64(out + kBSegment, h.segment_id);
  StoreU64(out + kBTime, h.timestamp_us);
  StoreU64(out + kBWatermark, h.durable_watermark);
  StoreU64(out + kBPayloadHash, h.payload_hash);
  StoreU64(out + kBHeaderHash, Hash(out, kBHeaderHash, h.segment_id));
}

Status DecodeBatchHeader(const uint8_t* p, size_t len, uint64_t segment_id, BatchHeader* out) {
  if (len < kBatchHeaderSize) return Status::Corruption("batch header past segment end");
  if (LoadU32(p + kBMagic) != kBatchMagic) return Status::Corruption("bad batch magic");
  if (LoadU64(p + kBHeaderHash) != Hash(p, kBHeaderHash, segment_id))
    return Status::Corruption("batch header hash mismatch");
  if (LoadU16(p + kBVersion) != kFormatVersion)
    return Status::Unsupported("batch format version " + std::to_string(LoadU16(p + kBVersion)) +
                               " (this reader knows version " + std::to_string(kFormatVersion) + ")");
  uint16_t flags = LoadU16(p + kBFlags);
  if ((flags & ~kCodecMask) != 0 || (flags & kCodecMask) > static_cast<uint16_t>(Codec::kZstd))
    return Status::Corruption("bad batch flags");
  out->codec = static_cast<Codec>(flags & kCodecMask);
  out->stored_len = LoadU32(p + kBStored);
  out->raw_len = LoadU32(p + kBRaw);
  out->record_count = LoadU32(p + kBCount);
  out->first_lsn = LoadU64(p + kBFirstLsn);
  out->segment_id = LoadU64(p + kBSegment);
  out->timestamp_us = LoadU64(p + kBTime);
  out->durable_watermark = LoadU64(p + kBWatermark);
  out->payload_hash = LoadU64(p + kBPayloadHash);
  if (out->segment_id != segment_id) return Status::Corruption("batch belongs to another segment");
  if (out->record_count == 0) return Status::Corruption("batch with no records");
  if (out->first_lsn == 0) return Status::Corruption("batch LSN is 0");
  if (out->first_lsn > kMaxLsn - (out->record_count - 1)) return Status::Corruption("batch LSNs past the largest LSN");
  if (out->codec == Codec::kNone && out->stored_len != out->raw_len)
    return Status::Corruption("uncompressed batch with stored != raw length");
  // Every record costs at least its length prefix.
  if (out->raw_len / kRecordPrefixSize < out->record_count)
    return Status::Corruption("batch record count exceeds its payload");
  return Status::Ok();
}

}  // namespace synap::log
