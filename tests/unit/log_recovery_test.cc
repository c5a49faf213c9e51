// Every recovery case of docs/format.md: clean ends, torn tails, corruption,
// and the three recovery modes, on logs written by a real Wal over the
// simulated backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "engine/log/format.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"
#include "tests/support/wal_fixture.h"

namespace synap::testing {
namespace {

using log::Lsn;

struct BatchAt {
  uint64_t offset;
  log::BatchHeader h;
};

class RecoveryTest : public ::testing::Test {
 protected:
  SimLog db{42};

  // Appends n records one at a time, each waited for (so every batch's
  // watermark covers the batch before it), then closes.
  void Write(int n, int first_tag = 1) {
    ASSERT_TRUE(db.Open().ok());
    for (int i = 0; i < n; ++i) {
      Result<Lsn> lsn = db.wal->Append(RecordFor(first_tag + i));
      ASSERT_TRUE(lsn.ok());
      if (i % 3 == 2) {
        ASSERT_TRUE(db.wal->WaitFor(*lsn).ok());
      }
    }
    ASSERT_TRUE(db.wal->Close().ok());
    db.wal.reset();
  }

  std::vector<std::string> Segments() {
    std::vector<std::string> out;
    Result<std::vector<std::string>> names = db.sim->list_dir(db.opts.dir);
    EXPECT_TRUE(names.ok());
    if (!names.ok()) return out;
    for (const std::string& n : names.value()) {
      Lsn b;
      if (log::ParseSegmentFileName(n, &b)) out.push_back(db.opts.dir + "/" + n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<BatchAt> Batches(const std::string& path) {
    std::vector<uint8_t> c = *db.sim->contents(path);
    log::SegmentHeader sh;
    EXPECT_TRUE(log::DecodeSegmentHeader(c.data(), c.size(), &sh).ok());
    std::vector<BatchAt> out;
    uint64_t pos = sh.data_offset;
    log::BatchHeader h;
    while (pos + log::kBatchHeaderSize <= c.size() &&
           log::DecodeBatchHeader(c.data() + pos, c.size() - pos, sh.segment_id, &h).ok()) {
      out.push_back({pos, h});
      pos += log::BatchFootprint(h.stored_len, sh.alignment);
    }
    return out;
  }

  void Overwrite(const std::string& path, uint64_t off, const std::vector<uint8_t>& bytes) {
    io::FileHandle f = *db.sim->open(path, io::OpenOptions{});
    ASSERT_TRUE(db.sim->write_at(f, off, bytes.data(), bytes.size()).ok());
    ASSERT_TRUE(db.sim->sync(f).ok());
    db.sim->close(f);
  }

  void Truncate(const std::string& path, uint64_t size) {
    io::FileHandle f = *db.sim->open(path, io::OpenOptions{});
    ASSERT_TRUE(db.sim->truncate(f, size).ok());
    ASSERT_TRUE(db.sim->sync(f).ok());
    db.sim->close(f);
  }

  // Reopens with `mode`; returns the status, fills what was replayed.
  Status Reopen(log::RecoveryMode mode, Replayed* r, log::RecoveryReport* rep) {
    db.opts.recovery = mode;
    Status st = db.Open(r, rep);
    if (st.ok()) {
      EXPECT_TRUE(db.wal->Close().ok());
      db.wal.reset();
    }
    return st;
  }

  // Every replayed record is the one appended with that LSN (tag == LSN here).
  static void ExpectIntactPrefix(const Replayed& r, Lsn last) {
    ASSERT_EQ(r.records.size(), last);
    for (const auto& [lsn, rec] : r.records) EXPECT_EQ(TagOf(rec), lsn);
  }
};

TEST_F(RecoveryTest, CleanLogReplaysEveryRecordAcrossSegments) {
  Write(3000);
  EXPECT_GE(Segments().size(), 5u);
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok());
  ExpectIntactPrefix(r, 3000);
  EXPECT_TRUE(rep.cuts.empty()) << rep.ToString();
  EXPECT_EQ(rep.records, 3000u);
  EXPECT_EQ(rep.first_lsn, 1u);
  EXPECT_EQ(rep.last_lsn, 3000u);
  EXPECT_EQ(rep.segments, Segments().size());
}

TEST_F(RecoveryTest, AppendsContinueAfterReopen) {
  Write(100);
  Write(50, 101);
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok());
  ExpectIntactPrefix(r, 150);
}

TEST_F(RecoveryTest, ReplayFromSkipsOlderRecords) {
  Write(500);
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(db.Open(&r, &rep).ok() || true);
  db.wal->Close();
  db.wal.reset();
  Replayed later;
  Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(db.committer.get(), db.opts, later.fn(), &rep, 400);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(later.records.size(), 101u);
  EXPECT_EQ(later.records.begin()->first, 400u);
  EXPECT_EQ(rep.replayed, 101u);
  EXPECT_EQ(rep.records, 500u);
  (*w)->Close();
}

TEST_F(RecoveryTest, ZeroPreallocatedTailIsNotDamage) {
  db.opts.preallocate = log::Preallocate::kZero;
  Write(200);
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok());
  ExpectIntactPrefix(r, 200);
  EXPECT_TRUE(rep.cuts.empty()) << rep.ToString();
}

TEST_F(RecoveryTest, BatchTruncatedMidwayIsATornTail) {
  Write(200);
  std::string last = Segments().back();
  std::vector<BatchAt> b = Batches(last);
  ASSERT_GE(b.size(), 2u);
  Truncate(last, b.back().offset + log::kBatchHeaderSize + 3);
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok());
  ExpectIntactPrefix(r, b.back().h.first_lsn - 1);
  ASSERT_EQ(rep.cuts.size(), 1u);
  EXPECT_EQ(rep.cuts[0].offset, b.back().offset);
  EXPECT_NE(rep.cuts[0].reason.find("torn tail"), std::string::npos);
  // The next append takes the first lost LSN, and a second reopen is clean.
  ASSERT_TRUE(db.Open().ok());
  EXPECT_EQ(*db.wal->Append(RecordFor(b.back().h.first_lsn)), b.back().h.first_lsn);
  ASSERT_TRUE(db.wal->Close().ok());
  db.wal.reset();
  Replayed r2;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r2, &rep).ok());
  EXPECT_TRUE(rep.cuts.empty());
  ExpectIntactPrefix(r2, b.back().h.first_lsn);
}

TEST_F(RecoveryTest, GarbageAfterTheTailIsCutAndZeroed) {
  Write(100);
  std::string last = Segments().back();
  std::vector<BatchAt> b = Batches(last);
  uint64_t end = b.back().offset + log::BatchFootprint(b.back().h.stored_len, 8);
  Overwrite(last, end, std::vector<uint8_t>(300, 0xAB));
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok());
  ExpectIntactPrefix(r, 100);
  ASSERT_EQ(rep.cuts.size(), 1u);
  EXPECT_EQ(rep.cuts[0].offset, end);
  EXPECT_EQ(rep.cuts[0].bytes, 300u);
  std::vector<uint8_t> c = *db.sim->contents(last);
  EXPECT_TRUE(std::all_of(c.begin() + static_cast<long>(end), c.end(), [](uint8_t x) { return x == 0; }));
  Replayed r2;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r2, &rep).ok());
  EXPECT_TRUE(rep.cuts.empty());
}

TEST_F(RecoveryTest, FlippedByteInLastBatchIsATornTail) {
  for (bool in_header : {true, false}) {
    db.opts.dir = in_header ? "/db/h" : "/db/p";
    Write(60);
    std::string last = Segments().back();
    std::vector<BatchAt> b = Batches(last);
    uint64_t off = b.back().offset + (in_header ? 30 : log::kBatchHeaderSize + 2);
    std::vector<uint8_t> c = *db.sim->contents(last);
    Overwrite(last, off, {static_cast<uint8_t>(c[off] ^ 0x10)});
    Replayed r;
    log::RecoveryReport rep;
    ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok()) << in_header;
    ExpectIntactPrefix(r, b.back().h.first_lsn - 1);
    ASSERT_EQ(rep.cuts.size(), 1u);
  }
}

class MidLogCorruption : public RecoveryTest {
 protected:
  std::string last_;
  std::vector<BatchAt> b_;
  void SetUp() override {
    Write(60);
    last_ = Segments().back();
    b_ = Batches(last_);
    ASSERT_GE(b_.size(), 4u);
    // Damage the second batch's payload; later batches were written after it
    // was durable, and their watermarks say so.
    uint64_t off = b_[1].offset + log::kBatchHeaderSize + 1;
    std::vector<uint8_t> c = *db.sim->contents(last_);
    Overwrite(last_, off, {static_cast<uint8_t>(c[off] ^ 0x01)});
  }
};

TEST_F(MidLogCorruption, RefusesToOpenNamingFileAndOffset) {
  Replayed r;
  log::RecoveryReport rep;
  Status st = Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find(last_), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("offset " + std::to_string(b_[1].offset)), std::string::npos) << st.message();
  // Nothing was changed on disk: opening again fails the same way.
  Replayed r2;
  EXPECT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r2, &rep).IsCorruption());
}

TEST_F(MidLogCorruption, PointInTimeKeepsThePrefix) {
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kPointInTime, &r, &rep).ok());
  ExpectIntactPrefix(r, b_[1].h.first_lsn - 1);
  ASSERT_EQ(rep.cuts.size(), 1u);
  EXPECT_EQ(rep.cuts[0].offset, b_[1].offset);
  Replayed r2;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r2, &rep).ok());  // and it is clean now
  EXPECT_EQ(r2.records.size(), r.records.size());
}

TEST_F(MidLogCorruption, SkipKeepsEveryValidBatch) {
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kSkipCorrupted, &r, &rep).ok());
  EXPECT_EQ(r.records.size(), 60u - b_[1].h.record_count);
  for (Lsn l = b_[1].h.first_lsn; l <= b_[1].h.last_lsn(); ++l) EXPECT_EQ(r.records.count(l), 0u);
  for (const auto& [lsn, rec] : r.records) EXPECT_EQ(TagOf(rec), lsn);
  ASSERT_EQ(rep.cuts.size(), 1u);
}

// The batch that proved a skipped hole durable can itself be cut with a torn
// tail. The hole then no longer reads as proven: had it stayed in the final
// segment, the next open would take it for a torn tail and cut the batches
// the first open kept after it. The Wal seals that segment at open instead,
// so the next skip-mode open skips the hole again and keeps them.
TEST_F(MidLogCorruption, SkipSealsTheSegmentSoAHoleWhoseProofWasCutIsSkippedAgain) {
  ASSERT_GE(b_.size(), 6u);
  // b_[1] is damaged. b_[2] (the resume point) does not vouch for it; b_[3]
  // is damaged too; b_[4] vouches for b_[1] but not for b_[3]; nothing after.
  std::vector<uint8_t> c = *db.sim->contents(last_);
  log::SegmentHeader sh;
  ASSERT_TRUE(log::DecodeSegmentHeader(c.data(), c.size(), &sh).ok());
  auto set_watermark = [&](const BatchAt& b, Lsn wm) {
    log::BatchHeader h = b.h;
    h.segment_id = sh.segment_id;
    h.durable_watermark = wm;
    std::vector<uint8_t> bytes(log::kBatchHeaderSize);
    log::EncodeBatchHeader(h, bytes.data());
    Overwrite(last_, b.offset, bytes);
  };
  set_watermark(b_[2], 0);
  set_watermark(b_[4], b_[1].h.first_lsn);
  uint64_t off = b_[3].offset + log::kBatchHeaderSize + 1;
  Overwrite(last_, off, {static_cast<uint8_t>(c[off] ^ 0x01)});
  Truncate(last_, b_[5].offset);

  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kSkipCorrupted, &r, &rep).ok());
  const Lsn kept_last = b_[2].h.last_lsn();  // b_[0] and b_[2]; b_[3] on is a torn tail
  EXPECT_EQ(r.records.size(), b_[0].h.record_count + b_[2].h.record_count);
  ASSERT_EQ(r.records.count(kept_last), 1u);
  ASSERT_EQ(rep.cuts.size(), 2u);
  EXPECT_EQ(rep.cuts[0].offset, b_[1].offset);
  EXPECT_EQ(rep.cuts[1].offset, b_[3].offset);
  // Sealed: a new, empty final segment starts at the next LSN.
  std::vector<std::string> segs = Segments();
  EXPECT_EQ(segs.back(), db.opts.dir + "/" + log::SegmentFileName(kept_last + 1));
  EXPECT_EQ(segs.size(), 2u);

  Replayed again;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kSkipCorrupted, &again, &rep).ok());
  EXPECT_EQ(again.records, r.records);
  // The default mode now refuses the hole, as for any hole in a sealed segment.
  Replayed strict;
  EXPECT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &strict, &rep).IsCorruption());
}

// A file named past kMaxLsn is no segment: a log that takes the next file's
// name as the next base (a room trusting its sealed segments) would hand
// out LSNs past kMaxLsn, or wrap (found by review).
TEST_F(RecoveryTest, AFileNamedPastTheLargestLsnIsNoSegment) {
  db.opts.trust_sealed = [](const log::SegmentHeader&, Lsn, uint64_t) { return true; };
  Write(5);
  Lsn base = 0;
  EXPECT_FALSE(log::ParseSegmentFileName(log::SegmentFileName(log::kMaxLsn + 1), &base));
  EXPECT_TRUE(log::ParseSegmentFileName(log::SegmentFileName(log::kMaxLsn), &base));
  io::OpenOptions oo;
  oo.create = true;
  io::FileHandle f = *db.sim->open(db.opts.dir + "/" + log::SegmentFileName(UINT64_MAX - 3), oo);
  db.sim->close(f);
  ASSERT_TRUE(db.sim->sync_dir(db.opts.dir).ok());
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  EXPECT_EQ(r.records.size(), 5u);
  Result<Lsn> lsn = db.wal->Append(RecordFor(6));
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 6u);
}

TEST_F(RecoveryTest, DamageNoLaterBatchVouchesForIsATornTail) {
  // Under fsync=never nothing is synced before the segment is sealed, so no
  // watermark covers the damaged batch: a power cut could have produced this.
  db.opts.fsync = wal::FsyncMode::kNever;
  Write(60);
  std::string last = Segments().back();
  std::vector<BatchAt> b = Batches(last);
  ASSERT_GE(b.size(), 3u);
  uint64_t off = b[1].offset + log::kBatchHeaderSize;
  std::vector<uint8_t> c = *db.sim->contents(last);
  Overwrite(last, off, {static_cast<uint8_t>(c[off] ^ 0x01)});
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok());
  ExpectIntactPrefix(r, b[1].h.first_lsn - 1);
}

TEST_F(RecoveryTest, CorruptMiddleSegmentIsRefusedOrCutBySomeMode) {
  Write(5000);
  std::vector<std::string> segs = Segments();
  ASSERT_GE(segs.size(), 4u);
  std::string mid = segs[1];
  std::vector<BatchAt> b = Batches(mid);
  uint64_t off = b[2].offset + log::kBatchHeaderSize + 5;
  std::vector<uint8_t> c = *db.sim->contents(mid);
  Overwrite(mid, off, {static_cast<uint8_t>(c[off] ^ 0x04)});
  Replayed r;
  log::RecoveryReport rep;
  Status st = Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep);
  ASSERT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find(mid), std::string::npos);
  EXPECT_NE(st.message().find("non-final"), std::string::npos);

  Replayed skip;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kSkipCorrupted, &skip, &rep).ok());
  EXPECT_EQ(skip.records.size(), 5000u - b[2].h.record_count);
  EXPECT_EQ(Segments().size(), segs.size());

  Replayed pit;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kPointInTime, &pit, &rep).ok());
  EXPECT_EQ(pit.records.size(), b[2].h.first_lsn - 1);
  EXPECT_EQ(Segments().size(), 2u);  // the later segments were removed
  EXPECT_EQ(rep.removed.size(), segs.size() - 2);
}

TEST_F(RecoveryTest, MissingMiddleSegmentIsAGap) {
  Write(5000);
  std::vector<std::string> segs = Segments();
  ASSERT_GE(segs.size(), 4u);
  ASSERT_TRUE(db.sim->remove(segs[2]).ok());
  Replayed r;
  log::RecoveryReport rep;
  Status st = Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep);
  ASSERT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("expected"), std::string::npos) << st.message();
}

TEST_F(RecoveryTest, BadHeaderOfNonFinalSegmentIsRefused) {
  Write(5000);
  std::vector<std::string> segs = Segments();
  Overwrite(segs[1], 3, {0x00});
  Replayed r;
  log::RecoveryReport rep;
  EXPECT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).IsCorruption());
}

TEST_F(RecoveryTest, HeaderlessEmptyFinalSegmentIsRemoved) {
  Write(100);
  std::string name = db.opts.dir + "/" + log::SegmentFileName(101);
  std::vector<std::string> before = Segments();
  // A segment whose header never reached the disk: all zeros.
  io::OpenOptions oo;
  oo.create = true;
  io::FileHandle f = *db.sim->open(before.back() + ".x", oo);  // (wrong name: ignored)
  db.sim->close(f);
  std::string zero_seg = db.opts.dir + "/" + log::SegmentFileName(100000);
  f = *db.sim->open(zero_seg, oo);
  std::vector<uint8_t> zeros(8192, 0);
  db.sim->write_at(f, 0, zeros.data(), zeros.size());
  db.sim->close(f);
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep).ok()) << rep.ToString();
  ExpectIntactPrefix(r, 100);
  EXPECT_EQ(Segments().size(), before.size());
}

TEST_F(RecoveryTest, NewerFormatVersionIsRefusedInEveryMode) {
  Write(50);
  std::string last = Segments().back();
  std::vector<BatchAt> b = Batches(last);
  // Rewrite the last batch's header as a version-2 writer would (hash valid).
  std::vector<uint8_t> c = *db.sim->contents(last);
  std::vector<uint8_t> hdr(c.begin() + static_cast<long>(b.back().offset),
                           c.begin() + static_cast<long>(b.back().offset + log::kBatchHeaderSize));
  hdr[4] = 2;
  uint64_t seg_id = b.back().h.segment_id;
  uint64_t hh = log::Hash(hdr.data(), 64, seg_id);
  std::memcpy(hdr.data() + 64, &hh, 8);
  Overwrite(last, b.back().offset, hdr);
  for (auto mode : {log::RecoveryMode::kTolerateTornTail, log::RecoveryMode::kPointInTime,
                    log::RecoveryMode::kSkipCorrupted}) {
    Replayed r;
    log::RecoveryReport rep;
    Status st = Reopen(mode, &r, &rep);
    EXPECT_EQ(st.code(), Status::Code::kUnsupported) << st.ToString();
  }
  EXPECT_EQ(*db.sim->contents(last), [&] {  // and nothing was cut
    std::vector<uint8_t> x = c;
    std::copy(hdr.begin(), hdr.end(), x.begin() + static_cast<long>(b.back().offset));
    return x;
  }());
}

TEST_F(RecoveryTest, SegmentWhoseNameDisagreesWithItsHeaderIsCorrupt) {
  Write(5000);
  std::vector<std::string> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  ASSERT_TRUE(db.sim->rename(segs[1], db.opts.dir + "/" + log::SegmentFileName(2)).ok());
  Replayed r;
  log::RecoveryReport rep;
  Status st = Reopen(log::RecoveryMode::kTolerateTornTail, &r, &rep);
  ASSERT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("file name"), std::string::npos) << st.message();
}

TEST_F(RecoveryTest, ReadOnlyRecoveryChangesNothing) {
  Write(100);
  std::string last = Segments().back();
  std::vector<BatchAt> b = Batches(last);
  uint64_t end = b.back().offset + log::BatchFootprint(b.back().h.stored_len, 8);
  Overwrite(last, end, std::vector<uint8_t>(64, 0x5A));
  std::vector<uint8_t> before = *db.sim->contents(last);
  log::RecoveryOptions ro;
  ro.read_only = true;
  log::RecoveredLog rec;
  log::RecoveryReport rep;
  ASSERT_TRUE(log::RecoverLog(db.sim, db.opts.dir, ro, &rec, &rep).ok());
  EXPECT_EQ(rep.cuts.size(), 1u);
  EXPECT_EQ(*db.sim->contents(last), before);
  EXPECT_EQ(rec.next_lsn, 101u);
}

}  // namespace
}  // namespace synap::testing
