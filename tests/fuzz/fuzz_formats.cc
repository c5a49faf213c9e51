#include "tests/fuzz/fuzz_support.h"

#include "engine/log/format.h"
#include "engine/snapshot/format.h"

namespace synap::fuzz {
namespace {

// Field offsets of docs/format.md that the fix-ups touch.
constexpr size_t kSegIdAt = 8, kSegAlignAt = 36, kSegDataAt = 32, kSegHashAt = 56;
constexpr size_t kBatchStoredAt = 8, kBatchPayloadHashAt = 56, kBatchHashAt = 64;
constexpr size_t kSnapFileIdAt = 24, kSnapHashAt = 56;
constexpr size_t kBlockStoredAt = 12, kBlockPayloadHashAt = 32, kBlockHashAt = 40;
constexpr size_t kFooterOffsetAt = 32, kFooterDigestAt = 40, kFooterHashAt = 48;

}  // namespace

std::vector<std::vector<uint8_t>> SplitSegments(const uint8_t* data, size_t size, size_t max_pieces) {
  std::vector<std::vector<uint8_t>> out;
  size_t start = 0;
  for (size_t at = 8; at + 4 <= size && out.size() + 1 < max_pieces; at += 8) {
    if (Load32(data + at) != log::kSegmentMagic) continue;
    out.emplace_back(data + start, data + at);
    start = at;
  }
  out.emplace_back(data + start, data + size);
  return out;
}

void FixLogHashes(std::vector<uint8_t>* seg) {
  std::vector<uint8_t>& b = *seg;
  if (b.size() < log::kSegmentHeaderSize || Load32(b.data()) != log::kSegmentMagic) return;
  Store64(b.data() + kSegHashAt, log::Hash(b.data(), kSegHashAt, 0));
  const uint64_t segment_id = Load64(b.data() + kSegIdAt);
  uint32_t align = Load32(b.data() + kSegAlignAt);
  if (align < log::kMinAlignment || (align & (align - 1)) != 0 || align > (1u << 20)) align = log::kMinAlignment;
  uint64_t pos = Load32(b.data() + kSegDataAt);
  pos = pos < log::kSegmentHeaderSize ? log::kSegmentHeaderSize : log::AlignUp(pos, align);
  for (; pos + log::kBatchHeaderSize <= b.size(); pos += align) {
    uint8_t* h = b.data() + pos;
    if (Load32(h) != log::kBatchMagic) continue;
    const uint32_t stored = Load32(h + kBatchStoredAt);
    if (b.size() - pos - log::kBatchHeaderSize >= stored)
      Store64(h + kBatchPayloadHashAt, log::Hash(h + log::kBatchHeaderSize, stored, segment_id));
    Store64(h + kBatchHashAt, log::Hash(h, kBatchHashAt, segment_id));
  }
}

void FixSnapshotHashes(std::vector<uint8_t>* file) {
  namespace snap = synap::snapshot;
  std::vector<uint8_t>& b = *file;
  if (b.size() < snap::kMinFileSize || Load32(b.data()) != snap::kFileMagic) return;
  Store64(b.data() + kSnapHashAt, log::Hash(b.data(), kSnapHashAt, 0));
  const uint64_t file_id = Load64(b.data() + kSnapFileIdAt);
  const uint64_t footer_at = b.size() - snap::kFooterSize;
  uint64_t digest = snap::BlocksDigestStart(file_id);
  uint64_t pos = snap::kFileHeaderSize;
  while (pos + snap::kBlockHeaderSize <= footer_at) {
    uint8_t* h = b.data() + pos;
    if (Load32(h) != snap::kBlockMagic) break;
    const uint32_t stored = Load32(h + kBlockStoredAt);
    if (footer_at - pos - snap::kBlockHeaderSize < stored) break;
    Store64(h + kBlockPayloadHashAt, log::Hash(h + snap::kBlockHeaderSize, stored, file_id));
    const uint64_t hash = log::Hash(h, kBlockHashAt, file_id);
    Store64(h + kBlockHashAt, hash);
    digest = snap::BlocksDigestStep(digest, hash);
    pos += snap::kBlockHeaderSize + stored;
  }
  uint8_t* f = b.data() + footer_at;
  if (Load32(f) != snap::kFooterMagic) return;
  Store64(f + kFooterOffsetAt, footer_at);
  Store64(f + kFooterDigestAt, digest);
  Store64(f + kFooterHashAt, log::Hash(f, kFooterHashAt, file_id));
}

}  // namespace synap::fuzz
