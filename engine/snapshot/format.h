// The on-disk format of a snapshot file. docs/format.md ("Snapshot files") is
// the prose specification; this file is its one implementation.
//
// A snapshot is one file of opaque typed records, written once, front to
// back, and never modified:
//
//   [FileHeader 64 B][block 0][block 1]...[block N-1][Footer 56 B]
//   block: [BlockHeader 48 B][stored payload (stored_len bytes)]
//
// Blocks are packed with no padding, so every byte of a file is covered by
// exactly one hash. A block's raw payload is record_count records laid end to
// end, each [type u8 (1..255)][length varint][length bytes]; a record never
// spans two blocks. The stored payload is the raw payload or its Zstd frame.
//
// Integers are little-endian. Hashes are XXH3-64. The header hash is seeded
// with 0; every block and footer hash is seeded with the header's file_id, a
// random value per file, so a block from another snapshot never validates in
// this one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/log/format.h"

namespace synap::snapshot {

using Lsn = log::Lsn;

inline constexpr uint32_t kFileMagic = 0x48504E53;    // "SNPH" on disk
inline constexpr uint32_t kBlockMagic = 0x42504E53;   // "SNPB" on disk
inline constexpr uint32_t kFooterMagic = 0x46504E53;  // "SNPF" on disk
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kFileHeaderSize = 64;
inline constexpr size_t kBlockHeaderSize = 48;
inline constexpr size_t kFooterSize = 56;
// The smallest well-formed file: a header and a footer, no block.
inline constexpr size_t kMinFileSize = kFileHeaderSize + kFooterSize;

// ---- Limits ----
// A record's payload. 2^26 bytes: its length fits a 4-byte varint.
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;
inline constexpr size_t kMaxVarintBytes = 4;  // 28 bits > kMaxRecordBytes
// type byte + the longest length varint.
inline constexpr size_t kMaxRecordOverhead = 1 + kMaxVarintBytes;
inline constexpr size_t kMinRecordEncodedBytes = 2;  // type + a 1-byte length 0
// The writer's target raw bytes per block (WriterOptions::block_bytes).
inline constexpr uint32_t kMinBlockBytes = 4u << 10;
inline constexpr uint32_t kMaxBlockBytes = 64u << 20;
// A block holds records up to block_bytes raw bytes, or one record of any
// size. So no raw payload exceeds one largest record or kMaxBlockBytes.
inline constexpr uint32_t kMaxBlockRawBytes = kMaxRecordBytes + kMaxRecordOverhead;
static_assert(kMaxBlockBytes <= kMaxBlockRawBytes);
// Records per block; the writer starts a new block when a block reaches it.
inline constexpr uint32_t kMaxBlockRecords = 1u << 20;

enum class Codec : uint8_t { kNone = 0, kZstd = 2 };  // the log's codec numbers

struct FileHeader {
  Lsn start_lsn = 0;            // >= 1; the log is replayed from here
  int64_t created_unix_ms = 0;  // wall clock; informational
  uint64_t file_id = 0;         // random per file; seeds block and footer hashes
  uint32_t block_bytes = 0;     // kMinBlockBytes..kMaxBlockBytes
};

struct BlockHeader {
  Codec codec = Codec::kNone;
  uint32_t raw_len = 0;       // payload bytes once decompressed
  uint32_t stored_len = 0;    // payload bytes as stored after the header
  uint32_t record_count = 0;  // 1..kMaxBlockRecords
  uint64_t first_record = 0;  // records in all earlier blocks of the file
  uint64_t payload_hash = 0;  // XXH3-64(file_id, stored payload)
};

struct Footer {
  uint64_t block_count = 0;
  uint64_t record_count = 0;
  uint64_t raw_bytes = 0;      // sum of the blocks' raw_len
  uint64_t footer_offset = 0;  // where the footer starts = file size - kFooterSize
  uint64_t blocks_digest = 0;  // BlocksDigest chained over every block header hash
};

// Encodes the header, computing its hash.
void EncodeFileHeader(const FileHeader& h, uint8_t out[kFileHeaderSize]);
// Checks magic, hash, then version (Unsupported when another version stands
// under an intact hash), then every field. `len` is the bytes available.
Status DecodeFileHeader(const uint8_t* p, size_t len, FileHeader* out);

// Encodes the header, computing its hash, which it returns (for the digest).
uint64_t EncodeBlockHeader(const BlockHeader& h, uint64_t file_id, uint8_t out[kBlockHeaderSize]);
// Checks magic, hash, reserved bytes, codec and the length and count limits
// (against the file's block_bytes). Does not look at the payload. Sets
// *header_hash for the digest.
Status DecodeBlockHeader(const uint8_t* p, uint64_t file_id, uint32_t block_bytes, BlockHeader* out,
                         uint64_t* header_hash);

void EncodeFooter(const Footer& f, uint64_t file_id, uint8_t out[kFooterSize]);
// Checks magic, hash, reserved bytes, and that the counts are possible for a
// footer at `footer_offset` (it must equal f.footer_offset).
Status DecodeFooter(const uint8_t* p, uint64_t file_id, uint64_t footer_offset, Footer* out);

// The footer's digest of the block sequence: starts at file_id, then
// digest = XXH3-64(seed digest, the 8 bytes of the block's header hash).
inline uint64_t BlocksDigestStart(uint64_t file_id) { return file_id; }
uint64_t BlocksDigestStep(uint64_t digest, uint64_t block_header_hash);

// ---- Records ----
// Bytes of a record's encoding: type, length varint, payload.
size_t RecordEncodedSize(uint32_t payload_len);
// Writes the type and the length varint at `out` (room for
// kMaxRecordOverhead bytes); returns the bytes written.
size_t EncodeRecordPrefix(uint8_t type, uint32_t payload_len, uint8_t* out);

// Walks a raw payload that must hold exactly `count` well-formed records
// (type != 0, minimal varint, length <= kMaxRecordBytes, nothing left over),
// calling fn(type, payload) for each. A non-ok Status from fn stops the walk
// and is returned as is. Malformed bytes give Corruption whose message is
// "record <i> at raw byte <off>: <why>".
template <typename Fn>
Status ForEachRecord(std::span<const uint8_t> raw, uint32_t count, Fn&& fn);

// ---- File names ----
// "<20-digit start_lsn>.snap" and "<20-digit start_lsn>.snap.tmp".
std::string SnapshotFileName(Lsn start_lsn);
std::string TempFileName(Lsn start_lsn);
bool ParseSnapshotFileName(std::string_view name, Lsn* start_lsn);
bool ParseTempFileName(std::string_view name, Lsn* start_lsn);

// ---- implementation of the template ----
template <typename Fn>
Status ForEachRecord(std::span<const uint8_t> raw, uint32_t count, Fn&& fn) {
  const uint8_t* p = raw.data();
  const size_t n = raw.size();
  size_t pos = 0;
  auto bad = [&](uint32_t i, size_t at, const char* why) {
    return Status::Corruption("record " + std::to_string(i) + " at raw byte " + std::to_string(at) + ": " + why);
  };
  for (uint32_t i = 0; i < count; ++i) {
    const size_t start = pos;
    if (n - pos < kMinRecordEncodedBytes) return bad(i, start, "record past block end");
    const uint8_t type = p[pos++];
    if (type == 0) return bad(i, start, "record type 0");
    // The length: LEB128, at most kMaxVarintBytes bytes, minimal encoding.
    uint32_t len = 0;
    for (size_t shift = 0;; shift += 7) {
      if (pos == n) return bad(i, start, "length varint past block end");
      if (shift == 7 * kMaxVarintBytes) return bad(i, start, "length varint too long");
      const uint8_t b = p[pos++];
      len |= static_cast<uint32_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && shift != 0) return bad(i, start, "length varint not minimal");
        break;
      }
    }
    if (len > kMaxRecordBytes) return bad(i, start, "record longer than the limit");
    if (n - pos < len) return bad(i, start, "record payload past block end");
    Status st = fn(type, raw.subspan(pos, len));
    if (!st.ok()) return st;
    pos += len;
  }
  if (pos != n) return bad(count, pos, "bytes after the last record");
  return Status::Ok();
}

}  // namespace synap::snapshot
