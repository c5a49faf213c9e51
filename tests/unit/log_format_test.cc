// Framing, checksums and compression of the log format (docs/format.md).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "engine/log/codec.h"
#include "engine/log/format.h"
#include "engine/log/segment.h"

namespace synap::log {
namespace {

SegmentHeader SampleSegment() {
  SegmentHeader h;
  h.segment_id = 7;
  h.base_lsn = 1001;
  h.created_us = 1234567;
  h.data_offset = 4096;
  h.alignment = 8;
  h.flags = kSegmentDirect;
  return h;
}

BatchHeader SampleBatch(const std::vector<uint8_t>& payload, uint64_t segment_id) {
  BatchHeader h;
  h.stored_len = h.raw_len = static_cast<uint32_t>(payload.size());
  h.record_count = 2;
  h.first_lsn = 1001;
  h.segment_id = segment_id;
  h.timestamp_us = 99;
  h.durable_watermark = 1000;
  h.payload_hash = Hash(payload.data(), payload.size(), segment_id);
  return h;
}

std::vector<uint8_t> TwoRecords() {
  std::vector<uint8_t> p;
  for (std::string s : {"hello", "log"}) {
    uint32_t n = static_cast<uint32_t>(s.size());
    p.insert(p.end(), reinterpret_cast<uint8_t*>(&n), reinterpret_cast<uint8_t*>(&n) + 4);
    p.insert(p.end(), s.begin(), s.end());
  }
  return p;
}

TEST(SegmentHeaderTest, RoundTrips) {
  uint8_t buf[kSegmentHeaderSize];
  EncodeSegmentHeader(SampleSegment(), buf);
  SegmentHeader got;
  ASSERT_TRUE(DecodeSegmentHeader(buf, sizeof buf, &got).ok());
  EXPECT_EQ(got.segment_id, 7u);
  EXPECT_EQ(got.base_lsn, 1001u);
  EXPECT_EQ(got.created_us, 1234567u);
  EXPECT_EQ(got.data_offset, 4096u);
  EXPECT_EQ(got.alignment, 8u);
  EXPECT_EQ(got.flags, kSegmentDirect);
  EXPECT_EQ(std::memcmp(buf, "SYNS", 4), 0);  // the magic reads as ASCII on disk
}

TEST(SegmentHeaderTest, EveryFlippedByteIsDetected) {
  uint8_t good[kSegmentHeaderSize];
  EncodeSegmentHeader(SampleSegment(), good);
  for (size_t i = 0; i < kSegmentHeaderSize; ++i) {
    uint8_t bad[kSegmentHeaderSize];
    std::memcpy(bad, good, sizeof bad);
    bad[i] ^= 0x01;
    SegmentHeader got;
    EXPECT_TRUE(DecodeSegmentHeader(bad, sizeof bad, &got).IsCorruption()) << "byte " << i;
  }
}

TEST(SegmentHeaderTest, RejectsShortAndBadFields) {
  uint8_t buf[kSegmentHeaderSize];
  SegmentHeader h = SampleSegment();
  EncodeSegmentHeader(h, buf);
  SegmentHeader got;
  EXPECT_TRUE(DecodeSegmentHeader(buf, kSegmentHeaderSize - 1, &got).IsCorruption());
  h.alignment = 12;  // not a power of two
  EncodeSegmentHeader(h, buf);
  EXPECT_TRUE(DecodeSegmentHeader(buf, sizeof buf, &got).IsCorruption());
  h = SampleSegment();
  h.data_offset = 4100;  // not aligned
  EncodeSegmentHeader(h, buf);
  EXPECT_TRUE(DecodeSegmentHeader(buf, sizeof buf, &got).IsCorruption());
}

TEST(SegmentHeaderTest, RejectsABaseLsnPastTheLargest) {
  uint8_t buf[kSegmentHeaderSize];
  SegmentHeader h = SampleSegment(), got;
  h.base_lsn = kMaxLsn;
  EncodeSegmentHeader(h, buf);
  EXPECT_TRUE(DecodeSegmentHeader(buf, sizeof buf, &got).ok());
  h.base_lsn = kMaxLsn + 1;
  EncodeSegmentHeader(h, buf);
  EXPECT_TRUE(DecodeSegmentHeader(buf, sizeof buf, &got).IsCorruption());
}

// A batch whose last LSN passes kMaxLsn is damage, or the next LSN would
// wrap (the log_recovery fuzzer found skip mode accepting LSN 2^64 - 1 and
// answering a next LSN of 1).
TEST(BatchHeaderTest, RejectsLsnsPastTheLargest) {
  std::vector<uint8_t> payload = TwoRecords();
  uint8_t buf[kBatchHeaderSize];
  BatchHeader h = SampleBatch(payload, 7), got;
  h.first_lsn = kMaxLsn - 1;  // two records: the last one is kMaxLsn
  EncodeBatchHeader(h, buf);
  EXPECT_TRUE(DecodeBatchHeader(buf, sizeof buf, 7, &got).ok());
  for (uint64_t first : {kMaxLsn, kMaxLsn + 1, ~uint64_t{0}}) {
    h.first_lsn = first;
    EncodeBatchHeader(h, buf);
    EXPECT_TRUE(DecodeBatchHeader(buf, sizeof buf, 7, &got).IsCorruption()) << first;
  }
}

TEST(BatchHeaderTest, RoundTrips) {
  std::vector<uint8_t> payload = TwoRecords();
  uint8_t buf[kBatchHeaderSize];
  EncodeBatchHeader(SampleBatch(payload, 7), buf);
  BatchHeader got;
  ASSERT_TRUE(DecodeBatchHeader(buf, sizeof buf, 7, &got).ok());
  EXPECT_EQ(got.first_lsn, 1001u);
  EXPECT_EQ(got.last_lsn(), 1002u);
  EXPECT_EQ(got.record_count, 2u);
  EXPECT_EQ(got.durable_watermark, 1000u);
  EXPECT_EQ(got.payload_hash, Hash(payload.data(), payload.size(), 7));
  EXPECT_EQ(std::memcmp(buf, "SYNB", 4), 0);
}

TEST(BatchHeaderTest, EveryFlippedByteIsDetected) {
  std::vector<uint8_t> payload = TwoRecords();
  uint8_t good[kBatchHeaderSize];
  EncodeBatchHeader(SampleBatch(payload, 7), good);
  for (size_t i = 0; i < kBatchHeaderSize; ++i) {
    uint8_t bad[kBatchHeaderSize];
    std::memcpy(bad, good, sizeof bad);
    bad[i] ^= 0x80;
    BatchHeader got;
    EXPECT_TRUE(DecodeBatchHeader(bad, sizeof bad, 7, &got).IsCorruption()) << "byte " << i;
  }
}

TEST(BatchHeaderTest, ABatchFromAnotherSegmentFails) {
  std::vector<uint8_t> payload = TwoRecords();
  uint8_t buf[kBatchHeaderSize];
  EncodeBatchHeader(SampleBatch(payload, 7), buf);
  BatchHeader got;
  EXPECT_TRUE(DecodeBatchHeader(buf, sizeof buf, 8, &got).IsCorruption());
  // The payload hash is seeded too: the same bytes hash differently.
  EXPECT_NE(Hash(payload.data(), payload.size(), 7), Hash(payload.data(), payload.size(), 8));
}

TEST(RecordsTest, WalksWellFormedPayload) {
  std::vector<uint8_t> payload = TwoRecords();
  std::vector<std::string> seen;
  ASSERT_TRUE(ForEachRecord(payload, 2, [&](uint32_t, std::span<const uint8_t> r) {
                seen.emplace_back(r.begin(), r.end());
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"hello", "log"}));
}

TEST(RecordsTest, RejectsMalformedPayloads) {
  std::vector<uint8_t> payload = TwoRecords();
  auto none = [](uint32_t, std::span<const uint8_t>) {};
  EXPECT_TRUE(ForEachRecord(payload, 3, none).IsCorruption());  // count too high
  EXPECT_TRUE(ForEachRecord(payload, 1, none).IsCorruption());  // bytes left over
  std::vector<uint8_t> cut(payload.begin(), payload.end() - 1);
  EXPECT_TRUE(ForEachRecord(cut, 2, none).IsCorruption());  // last record cut short
  std::vector<uint8_t> huge = payload;
  huge[0] = 0xff;  // first length points far past the end
  EXPECT_TRUE(ForEachRecord(huge, 2, none).IsCorruption());
}

TEST(CodecTest, RoundTripsEachCodec) {
  std::vector<uint8_t> raw(64 * 1024);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>("synap log "[i % 10]);
  for (Codec c : {Codec::kLz4, Codec::kZstd}) {
    std::vector<uint8_t> stored;
    ASSERT_TRUE(Compress(c, 3, raw, &stored, 16)) << CodecName(c);
    EXPECT_LT(stored.size() - 16, raw.size() / 10);
    std::vector<uint8_t> back;
    ASSERT_TRUE(Decompress(c, std::span<const uint8_t>(stored).subspan(16), static_cast<uint32_t>(raw.size()), &back).ok());
    EXPECT_EQ(back, raw);
    // A damaged stream or a wrong length never decodes silently.
    stored[20] ^= 0xff;
    std::vector<uint8_t> bad;
    Status st = Decompress(c, std::span<const uint8_t>(stored).subspan(16), static_cast<uint32_t>(raw.size()), &bad);
    EXPECT_TRUE(!st.ok() || bad != raw);
    EXPECT_FALSE(Decompress(c, std::span<const uint8_t>(stored).subspan(16), 10, &bad).ok());
  }
}

TEST(CodecTest, IncompressibleDataIsStoredRaw) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> raw(8192);
  for (auto& b : raw) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> out;
  EXPECT_FALSE(Compress(Codec::kLz4, 1, raw, &out, 0));
  EXPECT_FALSE(Compress(Codec::kZstd, 1, raw, &out, 0));
  EXPECT_FALSE(Compress(Codec::kNone, 1, raw, &out, 0));
}

TEST(CodecTest, ParsesNames) {
  EXPECT_EQ(*ParseCodec("lz4"), Codec::kLz4);
  EXPECT_EQ(*ParseCodec("zstd"), Codec::kZstd);
  EXPECT_EQ(*ParseCodec("none"), Codec::kNone);
  EXPECT_EQ(ParseCodec("gzip").status().code(), Status::Code::kInvalidArgument);
}

TEST(SegmentNameTest, RoundTripsAndRejectsOthers) {
  EXPECT_EQ(SegmentFileName(42), "00000000000000000042.log");
  Lsn base = 0;
  ASSERT_TRUE(ParseSegmentFileName("00000000000000000042.log", &base));
  EXPECT_EQ(base, 42u);
  ASSERT_TRUE(ParseSegmentFileName(SegmentFileName(kMaxLsn), &base));
  EXPECT_EQ(base, kMaxLsn);
  EXPECT_FALSE(ParseSegmentFileName(SegmentFileName(kMaxLsn + 1), &base));  // past the largest LSN
  for (const char* bad : {"42.log", "0000000000000000004a.log", "00000000000000000042.lo",
                          "99999999999999999999.log", "18446744073709551615.log", ".direct-probe",
                          "00000000000000000042.log.tmp"})
    EXPECT_FALSE(ParseSegmentFileName(bad, &base)) << bad;
}

TEST(AlignTest, Footprints) {
  EXPECT_EQ(BatchFootprint(0, 8), 72u);
  EXPECT_EQ(BatchFootprint(1, 8), 80u);
  EXPECT_EQ(BatchFootprint(100, 4096), 4096u);
  EXPECT_EQ(BatchFootprint(4096 - 72 + 1, 4096), 8192u);
}

}  // namespace
}  // namespace synap::log
