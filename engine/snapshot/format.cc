#include "engine/snapshot/format.h"

#include <bit>
#include <cstdio>
#include <cstring>

namespace synap::snapshot {
namespace {

static_assert(std::endian::native == std::endian::little, "the format is little-endian; add byte swaps");

void StoreU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void StoreU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void StoreU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint16_t LoadU16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint32_t LoadU32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t LoadU64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

// File header layout (offsets in bytes). [44, 56) is reserved.
enum : size_t { kHMagic = 0, kHVersion = 4, kHSize = 6, kHStartLsn = 8, kHCreated = 16, kHFileId = 24,
                kHBlockBytes = 32, kHFlags = 36, kHReserved = 40, kHHash = 56 };
// Block header layout. Byte 5, [6, 8) and [20, 24) are reserved.
enum : size_t { kBMagic = 0, kBCodec = 4, kBReserved1 = 5, kBRaw = 8, kBStored = 12, kBCount = 16,
                kBReserved2 = 20, kBFirstRecord = 24, kBPayloadHash = 32, kBHash = 40 };
// Footer layout. [4, 8) is reserved.
enum : size_t { kFMagic = 0, kFReserved = 4, kFBlocks = 8, kFRecords = 16, kFRaw = 24, kFOffset = 32,
                kFDigest = 40, kFHash = 48 };
static_assert(kHHash + 8 == kFileHeaderSize && kBHash + 8 == kBlockHeaderSize && kFHash + 8 == kFooterSize);

std::string Num(uint64_t v) { return std::to_string(v); }

// ceil(x / d) > n, without overflow.
bool CeilDivExceeds(uint64_t x, uint64_t d, uint64_t n) { return x / d + (x % d != 0 ? 1 : 0) > n; }

bool ParseDigits(std::string_view digits, Lsn* out) {
  if (digits.size() != 20) return false;
  Lsn v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

void EncodeFileHeader(const FileHeader& h, uint8_t out[kFileHeaderSize]) {
  std::memset(out, 0, kFileHeaderSize);
  StoreU32(out + kHMagic, kFileMagic);
  StoreU16(out + kHVersion, kFormatVersion);
  StoreU16(out + kHSize, kFileHeaderSize);
  StoreU64(out + kHStartLsn, h.start_lsn);
  StoreU64(out + kHCreated, static_cast<uint64_t>(h.created_unix_ms));
  StoreU64(out + kHFileId, h.file_id);
  StoreU32(out + kHBlockBytes, h.block_bytes);
  StoreU64(out + kHHash, log::Hash(out, kHHash, 0));
}

Status DecodeFileHeader(const uint8_t* p, size_t len, FileHeader* out) {
  if (len < kFileHeaderSize) return Status::Corruption("file shorter than its header");
  if (LoadU32(p + kHMagic) != kFileMagic) return Status::Corruption("bad file magic (not a snapshot)");
  if (LoadU64(p + kHHash) != log::Hash(p, kHHash, 0)) return Status::Corruption("file header hash mismatch");
  // The hash held, so the version is really there: another writer, not damage.
  const uint16_t version = LoadU16(p + kHVersion);
  if (version != kFormatVersion)
    return Status::Unsupported("snapshot format version " + Num(version) + " (this reader knows version " +
                               Num(kFormatVersion) + ")");
  if (LoadU16(p + kHSize) != kFileHeaderSize) return Status::Corruption("bad file header size");
  if (LoadU32(p + kHFlags) != 0 || !AllZero(p + kHReserved, kHHash - kHReserved))
    return Status::Corruption("file header flags or reserved bytes not zero");
  out->start_lsn = LoadU64(p + kHStartLsn);
  out->created_unix_ms = static_cast<int64_t>(LoadU64(p + kHCreated));
  out->file_id = LoadU64(p + kHFileId);
  out->block_bytes = LoadU32(p + kHBlockBytes);
  if (out->start_lsn == 0) return Status::Corruption("start LSN is 0");
  if (out->start_lsn > log::kMaxLsn + 1) return Status::Corruption("start LSN past the largest LSN + 1");
  if (out->block_bytes < kMinBlockBytes || out->block_bytes > kMaxBlockBytes)
    return Status::Corruption("block size " + Num(out->block_bytes) + " out of range");
  return Status::Ok();
}

uint64_t EncodeBlockHeader(const BlockHeader& h, uint64_t file_id, uint8_t out[kBlockHeaderSize]) {
  std::memset(out, 0, kBlockHeaderSize);
  StoreU32(out + kBMagic, kBlockMagic);
  out[kBCodec] = static_cast<uint8_t>(h.codec);
  StoreU32(out + kBRaw, h.raw_len);
  StoreU32(out + kBStored, h.stored_len);
  StoreU32(out + kBCount, h.record_count);
  StoreU64(out + kBFirstRecord, h.first_record);
  StoreU64(out + kBPayloadHash, h.payload_hash);
  const uint64_t hash = log::Hash(out, kBHash, file_id);
  StoreU64(out + kBHash, hash);
  return hash;
}

Status DecodeBlockHeader(const uint8_t* p, uint64_t file_id, uint32_t block_bytes, BlockHeader* out,
                         uint64_t* header_hash) {
  if (LoadU32(p + kBMagic) != kBlockMagic) return Status::Corruption("bad block magic");
  *header_hash = LoadU64(p + kBHash);
  if (*header_hash != log::Hash(p, kBHash, file_id)) return Status::Corruption("block header hash mismatch");
  if (!AllZero(p + kBReserved1, kBRaw - kBReserved1) || !AllZero(p + kBReserved2, kBFirstRecord - kBReserved2))
    return Status::Corruption("block reserved bytes not zero");
  const uint8_t codec = p[kBCodec];
  if (codec != static_cast<uint8_t>(Codec::kNone) && codec != static_cast<uint8_t>(Codec::kZstd))
    return Status::Corruption("bad block codec " + Num(codec));
  out->codec = static_cast<Codec>(codec);
  out->raw_len = LoadU32(p + kBRaw);
  out->stored_len = LoadU32(p + kBStored);
  out->record_count = LoadU32(p + kBCount);
  out->first_record = LoadU64(p + kBFirstRecord);
  out->payload_hash = LoadU64(p + kBPayloadHash);
  if (out->record_count == 0 || out->record_count > kMaxBlockRecords)
    return Status::Corruption("block record count " + Num(out->record_count) + " out of range");
  if (out->raw_len > kMaxBlockRawBytes) return Status::Corruption("block raw length over the limit");
  // Only a block of one record may pass the file's block size.
  if (out->raw_len > block_bytes && out->record_count != 1)
    return Status::Corruption("block of several records longer than the block size");
  if (out->raw_len / kMinRecordEncodedBytes < out->record_count)
    return Status::Corruption("block record count exceeds its payload");
  // The writer stores a block raw unless Zstd makes it strictly smaller.
  if (out->codec == Codec::kNone ? out->stored_len != out->raw_len
                                 : (out->stored_len == 0 || out->stored_len >= out->raw_len))
    return Status::Corruption("block stored length " + Num(out->stored_len) + " impossible for raw length " +
                              Num(out->raw_len));
  return Status::Ok();
}

void EncodeFooter(const Footer& f, uint64_t file_id, uint8_t out[kFooterSize]) {
  std::memset(out, 0, kFooterSize);
  StoreU32(out + kFMagic, kFooterMagic);
  StoreU64(out + kFBlocks, f.block_count);
  StoreU64(out + kFRecords, f.record_count);
  StoreU64(out + kFRaw, f.raw_bytes);
  StoreU64(out + kFOffset, f.footer_offset);
  StoreU64(out + kFDigest, f.blocks_digest);
  StoreU64(out + kFHash, log::Hash(out, kFHash, file_id));
}

Status DecodeFooter(const uint8_t* p, uint64_t file_id, uint64_t footer_offset, Footer* out) {
  if (LoadU32(p + kFMagic) != kFooterMagic) return Status::Corruption("bad footer magic (truncated file?)");
  if (LoadU64(p + kFHash) != log::Hash(p, kFHash, file_id))
    return Status::Corruption("footer hash mismatch (truncated file?)");
  if (!AllZero(p + kFReserved, kFBlocks - kFReserved)) return Status::Corruption("footer reserved bytes not zero");
  out->block_count = LoadU64(p + kFBlocks);
  out->record_count = LoadU64(p + kFRecords);
  out->raw_bytes = LoadU64(p + kFRaw);
  out->footer_offset = LoadU64(p + kFOffset);
  out->blocks_digest = LoadU64(p + kFDigest);
  if (out->footer_offset != footer_offset)
    return Status::Corruption("footer says it starts at " + Num(out->footer_offset) + " (truncated file?)");
  // What blocks of at least a header and 2 stored bytes, each with 1 record
  // of at least 2 raw bytes, could hold between the header and the footer.
  const uint64_t data = footer_offset - kFileHeaderSize;
  if (out->block_count > data / (kBlockHeaderSize + kMinRecordEncodedBytes) ||
      out->record_count < out->block_count || out->record_count > out->raw_bytes / kMinRecordEncodedBytes ||
      CeilDivExceeds(out->raw_bytes, kMaxBlockRawBytes, out->block_count) ||
      CeilDivExceeds(out->record_count, kMaxBlockRecords, out->block_count))
    return Status::Corruption("footer counts impossible for the file size");
  return Status::Ok();
}

uint64_t BlocksDigestStep(uint64_t digest, uint64_t block_header_hash) {
  uint8_t b[8];
  StoreU64(b, block_header_hash);
  return log::Hash(b, sizeof b, digest);
}

size_t RecordEncodedSize(uint32_t payload_len) {
  size_t varint = 1;
  for (uint32_t v = payload_len; v >= 0x80; v >>= 7) ++varint;
  return 1 + varint + payload_len;
}

size_t EncodeRecordPrefix(uint8_t type, uint32_t payload_len, uint8_t* out) {
  size_t n = 0;
  out[n++] = type;
  uint32_t v = payload_len;
  while (v >= 0x80) {
    out[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

std::string SnapshotFileName(Lsn start_lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.snap", static_cast<unsigned long long>(start_lsn));
  return buf;
}

std::string TempFileName(Lsn start_lsn) { return SnapshotFileName(start_lsn) + ".tmp"; }

bool ParseSnapshotFileName(std::string_view name, Lsn* start_lsn) {
  return name.size() == 25 && name.substr(20) == ".snap" && ParseDigits(name.substr(0, 20), start_lsn);
}

bool ParseTempFileName(std::string_view name, Lsn* start_lsn) {
  return name.size() == 29 && name.substr(20) == ".snap.tmp" && ParseDigits(name.substr(0, 20), start_lsn);
}

}  // namespace synap::snapshot
