// Fuzz target: the log's format decoders called directly, without recovery
// around them: DecodeSegmentHeader, DecodeBatchHeader at every aligned
// offset, Decompress (lz4, zstd) and the record walk (log::ForEachRecord).
//
// Input: a segment file (the same shape as fuzz_log_recovery's seeds); run
// as it is and with its hashes fixed up (fuzz_support.h). When the segment
// header does not decode, the walk still runs with segment id 0 and
// alignment 8 from byte 64, so batch headers are reached either way.
//
// Invariants, besides no crash and no sanitizer report (which covers every
// read staying inside the input):
//  * a decoded batch header's fields obey the rules the decoder promises
//    (record_count >= 1, first LSN >= 1, stored == raw when uncompressed,
//    the segment id it was asked for);
//  * Decompress fills exactly raw_len bytes, or fails with Corruption;
//  * a record walk that succeeds covers exactly the raw payload.
#include <cstdint>
#include <vector>

#include "engine/log/codec.h"
#include "engine/log/format.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using synap::Status;
namespace log = synap::log;
namespace fz = synap::fuzz;

void Walk(const std::vector<uint8_t>& b) {
  log::SegmentHeader seg;
  Status hs = log::DecodeSegmentHeader(b.data(), b.size(), &seg);
  uint64_t segment_id = 0, align = log::kMinAlignment, pos = log::kSegmentHeaderSize;
  if (hs.ok()) {
    FUZZ_CHECK(seg.alignment >= log::kMinAlignment && (seg.alignment & (seg.alignment - 1)) == 0 &&
                   seg.data_offset >= log::kSegmentHeaderSize && seg.data_offset % seg.alignment == 0 &&
                   seg.base_lsn != 0,
               "DecodeSegmentHeader accepted bad fields");
    segment_id = seg.segment_id;
    align = seg.alignment;
    pos = seg.data_offset;
  }
  std::vector<uint8_t> raw_buf;
  for (; pos < b.size(); pos += align) {
    log::BatchHeader h;
    Status st = log::DecodeBatchHeader(b.data() + pos, b.size() - pos, segment_id, &h);
    if (!st.ok()) continue;
    FUZZ_CHECK(h.record_count >= 1 && h.first_lsn >= 1 && h.segment_id == segment_id, "bad header fields");
    FUZZ_CHECK(h.codec != log::Codec::kNone || h.stored_len == h.raw_len, "uncompressed with stored != raw");
    const uint64_t avail = b.size() - pos - log::kBatchHeaderSize;
    if (h.stored_len > avail) continue;
    std::span<const uint8_t> stored(b.data() + pos + log::kBatchHeaderSize, h.stored_len);
    std::span<const uint8_t> raw = stored;
    if (h.codec != log::Codec::kNone) {
      Status ds = log::Decompress(h.codec, stored, h.raw_len, &raw_buf);
      if (!ds.ok()) {
        FUZZ_CHECK(ds.code() == Status::Code::kCorruption, "Decompress: %s", ds.ToString().c_str());
        continue;
      }
      FUZZ_CHECK(raw_buf.size() == h.raw_len, "Decompress gave %zu bytes, raw_len %u", raw_buf.size(), h.raw_len);
      raw = std::span<const uint8_t>(raw_buf);
    }
    uint64_t covered = 0;
    uint32_t seen = 0;
    Status ws = log::ForEachRecord(raw, h.record_count, [&](uint32_t i, std::span<const uint8_t> rec) {
      FUZZ_CHECK(i == seen, "record index %u, expected %u", i, seen);
      ++seen;
      covered += log::kRecordPrefixSize + rec.size();
    });
    if (ws.ok())
      FUZZ_CHECK(seen == h.record_count && covered == raw.size(), "walk covered %llu of %zu bytes",
                 (unsigned long long)covered, raw.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return -1;
  std::vector<uint8_t> b(data, data + size);
  Walk(b);
  std::vector<uint8_t> fixed = b;
  fz::FixLogHashes(&fixed);
  if (fixed != b) Walk(fixed);
  return 0;
}
