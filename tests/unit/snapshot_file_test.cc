// Snapshot files (docs/format.md, "Snapshot files"): round trips, the
// directory rules, atomic Finish under simulated power loss, and detection of
// every flipped byte and every truncation.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/backend.h"
#include "engine/io/sim_backend.h"
#include "engine/snapshot/snapshot_file.h"
#include "tests/support/snapshot_fixture.h"

namespace synap::snapshot {
namespace {

using io::SimBackend;
using Code = Status::Code;
using namespace synap::snapshot::testing;  // NOLINT: the fixture's helpers

class SnapshotTest : public ::testing::Test {
 protected:
  SimBackend sim{7};
  const std::string dir = "/db/snap";
};

// ---- Round trips ----

TEST(SnapshotHeaderTest, StartLsnStaysWithinTheLogsRange) {
  uint8_t buf[snapshot::kFileHeaderSize];
  snapshot::FileHeader h, got;
  h.block_bytes = snapshot::kMinBlockBytes;
  h.start_lsn = log::kMaxLsn + 1;  // a log that handed out every LSN
  snapshot::EncodeFileHeader(h, buf);
  EXPECT_TRUE(snapshot::DecodeFileHeader(buf, sizeof buf, &got).ok());
  h.start_lsn = log::kMaxLsn + 2;
  snapshot::EncodeFileHeader(h, buf);
  EXPECT_TRUE(snapshot::DecodeFileHeader(buf, sizeof buf, &got).IsCorruption());
}

TEST_F(SnapshotTest, EmptySnapshotRoundTrips) {
  Result<SnapshotMeta> m = Write(&sim, dir, 7, {});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->path, dir + "/00000000000000000007.snap");
  EXPECT_EQ(m->records, 0u);
  EXPECT_EQ(m->raw_bytes, 0u);
  EXPECT_EQ(m->file_bytes, kMinFileSize);
  EXPECT_GT(m->created_unix_ms, 1600000000000);  // after 2020: a real clock value
  ReadBack rb = Read(&sim, m->path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  EXPECT_TRUE(rb.recs.empty());
  EXPECT_EQ(rb.meta.start_lsn, 7u);
  EXPECT_EQ(rb.meta.created_unix_ms, m->created_unix_ms);
  EXPECT_EQ(rb.meta.file_bytes, kMinFileSize);
  EXPECT_EQ(Contents(sim, m->path).size(), kMinFileSize);
}

TEST_F(SnapshotTest, ManyRecordsAcrossManyBlocks) {
  std::vector<Rec> recs = MakeRecords(20000, 0, 300, 1);
  Result<SnapshotMeta> m = Write(&sim, dir, 1000, recs);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ReadBack rb = Read(&sim, m->path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  EXPECT_TRUE(rb.recs == recs);
  EXPECT_EQ(rb.meta.records, recs.size());
  EXPECT_EQ(rb.meta.raw_bytes, m->raw_bytes);
  EXPECT_EQ(rb.meta.file_bytes, m->file_bytes);
  uint64_t raw = 0;
  for (const Rec& r : recs) raw += RecordEncodedSize(static_cast<uint32_t>(r.payload.size()));
  EXPECT_EQ(m->raw_bytes, raw);
  std::vector<BlockHeader> blocks = Blocks(Contents(sim, m->path));
  EXPECT_GT(blocks.size(), 300u);
  size_t zstd = 0;
  uint64_t first = 0;
  for (const BlockHeader& b : blocks) {
    EXPECT_LE(b.raw_len, kMinBlockBytes);
    EXPECT_EQ(b.first_record, first);
    first += b.record_count;
    zstd += b.codec == Codec::kZstd;
  }
  EXPECT_GT(zstd, 0u);  // half the records are a repeated byte
}

TEST_F(SnapshotTest, RecordsLargerThanABlockGoAloneInTheirBlock) {
  std::vector<Rec> recs;
  for (size_t len : {size_t{kMinBlockBytes} - 3, size_t{kMinBlockBytes}, size_t{kMinBlockBytes} + 1,
                     size_t{10000}, size_t{1} << 20, size_t{3} << 20}) {
    std::vector<Rec> big = MakeRecords(2, len, len, len);  // one compressible, one random
    std::vector<Rec> small = MakeRecords(3, 0, 50, len + 1);
    recs.insert(recs.end(), big.begin(), big.end());
    recs.insert(recs.end(), small.begin(), small.end());
  }
  Result<SnapshotMeta> m = Write(&sim, dir, 3, recs);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ReadBack rb = Read(&sim, m->path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  EXPECT_TRUE(rb.recs == recs);
  for (const BlockHeader& b : Blocks(Contents(sim, m->path))) {
    if (b.raw_len > kMinBlockBytes) {
      EXPECT_EQ(b.record_count, 1u);
    }
  }
}

TEST_F(SnapshotTest, EveryTypeRoundTrips) {
  std::vector<Rec> recs;
  for (int t = 1; t <= 255; ++t) recs.push_back(Rec{static_cast<uint8_t>(t), std::vector<uint8_t>(t, t)});
  Result<SnapshotMeta> m = Write(&sim, dir, 1, recs);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ReadBack rb = Read(&sim, m->path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  EXPECT_TRUE(rb.recs == recs);
}

TEST_F(SnapshotTest, BlockRecordLimitStartsANewBlock) {
  WriterOptions o;
  o.block_bytes = kMaxBlockBytes;  // only the record limit can close a block
  std::vector<Rec> recs(kMaxBlockRecords + 3, Rec{9, {}});
  Result<SnapshotMeta> m = Write(&sim, dir, 1, recs, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<BlockHeader> blocks = Blocks(Contents(sim, m->path));
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].record_count, kMaxBlockRecords);
  EXPECT_EQ(blocks[1].record_count, 3u);
  ReadBack rb = Read(&sim, m->path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  EXPECT_EQ(rb.recs.size(), recs.size());
}

TEST_F(SnapshotTest, ReaderStopsWhenTheCallbackSaysSo) {
  ASSERT_TRUE(Write(&sim, dir, 5, MakeRecords(100, 1, 10, 2)).ok());
  int calls = 0;
  Result<SnapshotMeta> m = ReadSnapshot(&sim, dir + "/00000000000000000005.snap", [&](uint8_t, auto) {
    return ++calls == 3 ? Status::Busy("enough") : Status::Ok();
  });
  EXPECT_EQ(m.status().code(), Code::kBusy);
  EXPECT_EQ(m.status().message(), "enough");  // as is, not wrapped
  EXPECT_EQ(calls, 3);
}

TEST_F(SnapshotTest, ProgressRunsToTheFileSize) {
  Result<SnapshotMeta> m = Write(&sim, dir, 5, MakeRecords(3000, 0, 100, 3));
  ASSERT_TRUE(m.ok());
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  ReadOptions ro;
  ro.progress = [&](uint64_t done, uint64_t total) { seen.emplace_back(done, total); };
  ASSERT_TRUE(Read(&sim, m->path, ro).status.ok());
  ASSERT_GT(seen.size(), 2u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LE(seen[i - 1].first, seen[i].first);
  for (const auto& s : seen) EXPECT_EQ(s.second, m->file_bytes);
  EXPECT_EQ(seen.back().first, m->file_bytes);
}

// The kernel backend, with the largest record the format allows.
TEST(SnapshotKernelTest, LargestRecordRoundTripsOnARealDisk) {
  const char* base = std::getenv("SYNAP_TEST_TMPDIR");
  const std::string dir = std::string(base != nullptr ? base : "/tmp") + "/snapshot_test_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::string why;
  auto io = io::OpenBackend(io::BackendKind::kSync, 8, &why);
  ASSERT_TRUE(io.ok());
  auto w = SnapshotWriter::Create(io->get(), dir, 12, WriterOptions{});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::vector<uint8_t> huge(kMaxRecordBytes + 1, 0x5a);
  EXPECT_EQ((*w)->Add(1, huge).code(), Code::kTooLarge);  // refused, writer unharmed
  huge.pop_back();
  huge[12345] = 1;
  ASSERT_TRUE((*w)->Add(2, {}).ok());
  ASSERT_TRUE((*w)->Add(3, huge).ok());
  ASSERT_TRUE((*w)->Add(4, std::vector<uint8_t>(100, 4)).ok());
  Result<SnapshotMeta> m = (*w)->Finish();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(std::filesystem::file_size(m->path), m->file_bytes);
  ReadBack rb = Read(io->get(), m->path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  ASSERT_EQ(rb.recs.size(), 3u);
  EXPECT_EQ(rb.recs[0], (Rec{2, {}}));
  EXPECT_TRUE(rb.recs[1] == (Rec{3, huge}));
  EXPECT_EQ(rb.recs[2], (Rec{4, std::vector<uint8_t>(100, 4)}));
  Result<std::vector<SnapshotMeta>> l = ListSnapshots(io->get(), dir);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(Lsns(*l), std::vector<Lsn>{12});
  std::filesystem::remove_all(dir);
}

// ---- Options and misuse ----

TEST_F(SnapshotTest, BadOptionsAreInvalidArgument) {
  auto code = [&](const WriterOptions& o, Lsn lsn = 1, const std::string& d = "/db/snap") {
    return SnapshotWriter::Create(&sim, d, lsn, o).status().code();
  };
  for (int level : {0, -1, 23}) {
    WriterOptions o;
    o.zstd_level = level;
    EXPECT_EQ(code(o), Code::kInvalidArgument) << "level " << level;
  }
  for (uint32_t bytes : {0u, kMinBlockBytes - 1, kMaxBlockBytes + 1}) {
    WriterOptions o;
    o.block_bytes = bytes;
    EXPECT_EQ(code(o), Code::kInvalidArgument) << "block_bytes " << bytes;
  }
  EXPECT_EQ(code(WriterOptions{}, 0), Code::kInvalidArgument);  // LSNs start at 1
  EXPECT_EQ(code(WriterOptions{}, 1, ""), Code::kInvalidArgument);
  WriterOptions edge;
  edge.zstd_level = 22;
  edge.block_bytes = kMaxBlockBytes;
  EXPECT_EQ(code(edge), Code::kOk);
  EXPECT_EQ(RetainNewest(&sim, dir, 0).status().code(), Code::kInvalidArgument);
}

TEST_F(SnapshotTest, MisuseIsReportedAndDoesNotPoison) {
  auto w = SnapshotWriter::Create(&sim, dir, 1, SmallBlocks());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Add(0, {}).code(), Code::kInvalidArgument);
  ASSERT_TRUE((*w)->Add(1, std::vector<uint8_t>{1, 2, 3}).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->Add(1, {}).code(), Code::kClosed);
  EXPECT_EQ((*w)->Finish().status().code(), Code::kClosed);
  ReadBack rb = Read(&sim, dir + "/00000000000000000001.snap");
  ASSERT_TRUE(rb.status.ok());
  EXPECT_EQ(rb.recs, (std::vector<Rec>{{1, {1, 2, 3}}}));
}

// ---- The directory ----

TEST_F(SnapshotTest, ListAndRetainOrderByLsnAndIgnoreOtherNames) {
  EXPECT_TRUE(ListSnapshots(&sim, "/nowhere")->empty());
  EXPECT_TRUE(RetainNewest(&sim, "/nowhere", 1)->empty());
  for (Lsn lsn : {5, 100, 42, 7}) ASSERT_TRUE(Write(&sim, dir, lsn, MakeRecords(3, 1, 9, lsn)).ok());
  const std::vector<std::string> junk = {"x.snap", "0001.snap", "00000000000000000009.snap.old",
                                         "000000000000000000009.snap", "99999999999999999999.snap",
                                         "0000000000000000000a.snap.tmp", "LOCK"};
  for (const std::string& n : junk) PutFile(&sim, dir + "/" + n, std::vector<uint8_t>{1});
  PutFile(&sim, dir + "/" + TempFileName(200), std::vector<uint8_t>{1});
  PutFile(&sim, dir + "/" + TempFileName(3), std::vector<uint8_t>{});
  ASSERT_TRUE(sim.sync_dir(dir).ok());

  Result<std::vector<SnapshotMeta>> l = ListSnapshots(&sim, dir);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(Lsns(*l), (std::vector<Lsn>{100, 42, 7, 5}));
  EXPECT_EQ((*l)[0].path, dir + "/00000000000000000100.snap");

  Result<std::vector<SnapshotMeta>> kept = RetainNewest(&sim, dir, 2);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(Lsns(*kept), (std::vector<Lsn>{100, 42}));
  // Removals are durable: they survive a power cut.
  sim.crash();
  sim.restart();
  std::vector<std::string> names = *sim.list_dir(dir);
  std::vector<std::string> expect = junk;
  expect.push_back("00000000000000000042.snap");
  expect.push_back("00000000000000000100.snap");
  std::sort(names.begin(), names.end());
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(names, expect);
  EXPECT_EQ(Lsns(*RetainNewest(&sim, dir, 5)), (std::vector<Lsn>{100, 42}));
  EXPECT_TRUE(Read(&sim, dir + "/00000000000000000042.snap").status.ok());
}

TEST_F(SnapshotTest, AWriterReplacesAStaleTempFileAndAbandonedWritersLeaveNone) {
  ASSERT_TRUE(sim.make_dir(dir).ok());
  PutFile(&sim, dir + "/" + TempFileName(9), std::vector<uint8_t>(100000, 0xee));  // longer than the new file
  std::vector<Rec> recs = MakeRecords(50, 0, 30, 4);
  Result<SnapshotMeta> m = Write(&sim, dir, 9, recs);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(Read(&sim, m->path).recs == recs);
  {
    auto w = SnapshotWriter::Create(&sim, dir, 10, SmallBlocks());
    ASSERT_TRUE(w.ok());
    for (const Rec& r : MakeRecords(2000, 0, 30, 5)) ASSERT_TRUE((*w)->Add(r.type, r.payload).ok());
    EXPECT_EQ(sim.list_dir(dir)->size(), 2u);  // the .snap and the writer's temp file
  }  // no Finish
  EXPECT_EQ(*sim.list_dir(dir), std::vector<std::string>{"00000000000000000009.snap"});
}

// ---- Power loss ----

TEST_F(SnapshotTest, FinishIsTheCommitPoint) {
  std::vector<Rec> recs = MakeRecords(3000, 0, 100, 6);
  auto w = SnapshotWriter::Create(&sim, dir, 77, SmallBlocks());
  ASSERT_TRUE(w.ok());
  for (const Rec& r : recs) ASSERT_TRUE((*w)->Add(r.type, r.payload).ok());
  sim.crash();  // everything written, nothing finished
  sim.restart();
  EXPECT_TRUE(ListSnapshots(&sim, dir)->empty());
  w->reset();

  ASSERT_TRUE(Write(&sim, dir, 77, recs).ok());
  sim.crash();  // unsynced writes dropped: Finish must have synced all it needs
  sim.restart();
  Result<std::vector<SnapshotMeta>> l = ListSnapshots(&sim, dir);
  ASSERT_EQ(Lsns(*l), std::vector<Lsn>{77});
  ReadBack rb = Read(&sim, (*l)[0].path);
  ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
  EXPECT_TRUE(rb.recs == recs);
}

// A crash before every operation of a writer's life, dropping or tearing (3
// seeds) the unsynced writes, with an older snapshot and a stale temp file of
// the same LSN around: afterwards there is no new snapshot or a complete one,
// always one when Finish returned ok, and the older one is intact.
TEST(SnapshotCrashTest, ACrashAnywhereLeavesNothingOrEverything) {
  const std::string dir = "/db/snap";
  const std::vector<Rec> recs = MakeRecords(1500, 0, 100, 8);
  const std::vector<Rec> old = MakeRecords(5, 0, 9, 9);
  struct Case {
    SimBackend::CrashMode mode;
    uint64_t seed;
  };
  for (Case c : {Case{SimBackend::CrashMode::kDropUnsynced, 0}, Case{SimBackend::CrashMode::kTornUnsynced, 1},
                 Case{SimBackend::CrashMode::kTornUnsynced, 2}, Case{SimBackend::CrashMode::kTornUnsynced, 3}}) {
    bool completed = false;
    uint64_t n = 0;
    for (; !completed; ++n) {
      SCOPED_TRACE("crash after " + std::to_string(n) + " ops, seed " + std::to_string(c.seed));
      SimBackend sim(c.seed * 1000 + n);
      sim.set_crash_mode(c.mode);
      ASSERT_TRUE(Write(&sim, dir, 1, old).ok());
      PutFile(&sim, dir + "/" + TempFileName(2), std::vector<uint8_t>(9000, 0xee));
      ASSERT_TRUE(sim.sync_dir(dir).ok());
      sim.crash_after(n);
      const bool finished = Write(&sim, dir, 2, recs).ok();
      completed = !sim.crashed();
      if (completed) {
        ASSERT_TRUE(finished);
      }
      sim.restart();
      std::vector<Lsn> lsns = Lsns(*ListSnapshots(&sim, dir));
      if (finished) {
        ASSERT_EQ(lsns, (std::vector<Lsn>{2, 1}));
      }
      ASSERT_TRUE(lsns == std::vector<Lsn>{1} || lsns == (std::vector<Lsn>{2, 1}));
      if (lsns.size() == 2) {
        ReadBack rb = Read(&sim, dir + "/00000000000000000002.snap");
        ASSERT_TRUE(rb.status.ok()) << rb.status.ToString();
        ASSERT_TRUE(rb.recs == recs);
      }
      ReadBack older = Read(&sim, dir + "/00000000000000000001.snap");
      ASSERT_TRUE(older.status.ok()) << older.status.ToString();
      ASSERT_TRUE(older.recs == old);
      ASSERT_LT(n, 1000u);
    }
    // make_dir, remove, open, header write, the blocks, footer, sync, rename, sync_dir
    EXPECT_GE(n, 20u);
  }
}

TEST_F(SnapshotTest, IoErrorsStickAndLeaveNoSnapshot) {
  auto w = SnapshotWriter::Create(&sim, dir, 4, SmallBlocks());
  ASSERT_TRUE(w.ok());
  sim.inject_error(SimBackend::Op::kWriteAt, ENOSPC);
  std::vector<Rec> recs = MakeRecords(200, 50, 100, 10);
  Status st;
  for (const Rec& r : recs)
    if (!(st = (*w)->Add(r.type, r.payload)).ok()) break;
  EXPECT_EQ(st.code(), Code::kNoSpace);
  EXPECT_EQ((*w)->Add(1, {}).code(), Code::kNoSpace);  // sticks
  EXPECT_EQ((*w)->Finish().status().code(), Code::kNoSpace);
  w->reset();
  EXPECT_TRUE(sim.list_dir(dir)->empty());

  w = SnapshotWriter::Create(&sim, dir, 4, SmallBlocks());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(1, std::vector<uint8_t>{1}).ok());
  sim.inject_error(SimBackend::Op::kSyncFile, EIO);
  EXPECT_EQ((*w)->Finish().status().code(), Code::kIoError);
  w->reset();
  EXPECT_TRUE(sim.list_dir(dir)->empty());  // never renamed, temp removed
}

// ---- Damage ----

class SnapshotDamageTest : public SnapshotTest {
 protected:
  std::string path;
  std::vector<Rec> recs;
  std::vector<uint8_t> good;

  void SetUp() override {
    // Four blocks: compressible and random ones, so both codecs are covered.
    // Random records first (raw blocks), then compressible ones (Zstd blocks).
    for (int pass = 1; pass >= 0; --pass) {
      std::vector<Rec> all = MakeRecords(40, 100, 400, 11);
      for (size_t i = pass; i < all.size(); i += 2) recs.push_back(all[i]);
    }
    Result<SnapshotMeta> m = Write(&sim, dir, 33, recs);
    ASSERT_TRUE(m.ok());
    path = m->path;
    good = Contents(sim, path);
    std::vector<BlockHeader> blocks = Blocks(good);
    ASSERT_GE(blocks.size(), 3u);
    ASSERT_TRUE(std::any_of(blocks.begin(), blocks.end(), [](auto& b) { return b.codec == Codec::kZstd; }));
    ASSERT_TRUE(std::any_of(blocks.begin(), blocks.end(), [](auto& b) { return b.codec == Codec::kNone; }));
  }

  void ExpectCorruption(const std::vector<uint8_t>& bytes, const std::string& what) {
    PutFile(&sim, path, bytes);
    ReadBack rb = Read(&sim, path);
    EXPECT_EQ(rb.status.code(), Code::kCorruption) << what << ": " << rb.status.ToString();
    EXPECT_NE(rb.status.message().find(path + ": offset "), std::string::npos) << rb.status.ToString();
  }
};

// No byte is ignored by the format (no padding), so every flip is Corruption,
// never a different set of records.
TEST_F(SnapshotDamageTest, EveryFlippedByteIsCorruption) {
  ASSERT_LT(good.size(), 20000u);
  for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
    for (uint64_t i = 0; i < good.size(); ++i) {
      ASSERT_TRUE(sim.corrupt(path, i, mask).ok());
      ReadBack rb = Read(&sim, path);
      ASSERT_EQ(rb.status.code(), Code::kCorruption) << "byte " << i << " mask " << int(mask) << ": "
                                                     << rb.status.ToString();
      ASSERT_TRUE(sim.corrupt(path, i, mask).ok());  // undo
    }
  }
  EXPECT_TRUE(Read(&sim, path).recs == recs);
}

TEST_F(SnapshotDamageTest, EveryTruncationAndAnyExtensionIsCorruption) {
  for (size_t len = 0; len < good.size(); ++len)
    ExpectCorruption(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(len)),
                     "truncated to " + std::to_string(len));
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  ExpectCorruption(longer, "one zero byte appended");
  std::vector<uint8_t> twice = good;
  twice.insert(twice.end(), good.begin(), good.end());
  ExpectCorruption(twice, "the file twice");
}

TEST_F(SnapshotDamageTest, ReorderedOrForeignBlocksAreCorruption) {
  // Two random records per file, each alone in a raw block of the same size.
  std::vector<Rec> big = MakeRecords(2, kMinBlockBytes, kMinBlockBytes, 12);
  big[0].payload = big[1].payload;  // the random one, which Zstd cannot shrink
  ASSERT_TRUE(Write(&sim, dir, 50, big).ok());
  ASSERT_TRUE(Write(&sim, "/db/other", 50, big).ok());
  std::vector<uint8_t> a = Contents(sim, dir + "/00000000000000000050.snap");
  std::vector<uint8_t> b = Contents(sim, "/db/other/00000000000000000050.snap");
  const size_t block = kBlockHeaderSize + RecordEncodedSize(kMinBlockBytes);
  ASSERT_EQ(a.size(), kMinFileSize + 2 * block);
  path = dir + "/00000000000000000050.snap";
  std::vector<uint8_t> swapped = a;
  std::swap_ranges(swapped.begin() + kFileHeaderSize, swapped.begin() + kFileHeaderSize + block,
                   swapped.begin() + kFileHeaderSize + block);
  ExpectCorruption(swapped, "blocks swapped");
  std::vector<uint8_t> foreign = a;
  std::copy(b.begin() + kFileHeaderSize, b.begin() + kFileHeaderSize + block, foreign.begin() + kFileHeaderSize);
  ExpectCorruption(foreign, "a block of another snapshot");
}

TEST_F(SnapshotDamageTest, AFileRenamedToAnotherLsnIsCorruption) {
  const std::string renamed = dir + "/00000000000000000034.snap";
  ASSERT_TRUE(sim.rename(path, renamed).ok());
  ReadBack rb = Read(&sim, renamed);
  EXPECT_EQ(rb.status.code(), Code::kCorruption) << rb.status.ToString();
  EXPECT_TRUE(Read(&sim, "/db/elsewhere.bin").status.code() == Code::kIoError);  // missing file
}

TEST_F(SnapshotDamageTest, ANewerVersionIsUnsupported) {
  std::vector<uint8_t> v2 = good;
  v2[4] = 2;  // version
  const uint64_t hash = log::Hash(v2.data(), 56, 0);
  std::memcpy(v2.data() + 56, &hash, 8);
  for (size_t keep : {v2.size(), kFileHeaderSize, size_t{100}}) {  // whatever follows the header
    PutFile(&sim, path, std::span<const uint8_t>(v2.data(), keep));
    ReadBack rb = Read(&sim, path);
    EXPECT_EQ(rb.status.code(), Code::kUnsupported) << rb.status.ToString();
    EXPECT_NE(rb.status.message().find("version 2"), std::string::npos) << rb.status.ToString();
    EXPECT_TRUE(rb.recs.empty());
  }
}

}  // namespace
}  // namespace synap::snapshot
