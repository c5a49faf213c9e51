// engine/check: verify, repair and inspect on data directories damaged in
// each of recovery's cases — a torn tail, a flipped byte mid-log, a bad
// segment header, a missing middle segment, a truncated snapshot, damaged
// room indexes, a room's torn tail — asserting verify's exact findings, and
// that after a repair the directory opens with every record before the
// damage intact while the backup holds exactly the bytes removed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/check/inspector.h"
#include "engine/check/repairer.h"
#include "engine/check/verifier.h"
#include "engine/io/sync_backend.h"
#include "engine/log/format.h"
#include "engine/stream/segment_index.h"
#include "tests/support/db_fixture.h"

namespace synap::check {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr int kKeys = 300;  // one record, one batch each: ~56 per 64 KiB segment, so 6 segments

std::string Value(int i) { return std::string(1000, static_cast<char>('a' + i % 26)) + std::to_string(i); }

Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void Overwrite(const std::string& path, uint64_t off, const Bytes& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(off));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void FlipByte(const std::string& path, uint64_t off) {
  Bytes b = ReadAll(path);
  ASSERT_LT(off, b.size());
  Overwrite(path, off, {static_cast<uint8_t>(b[off] ^ 0x5a)});
}

struct BatchPos {
  uint64_t offset;
  log::BatchHeader h;
};

// The valid batches of a segment file, read with the format's own decoders.
std::vector<BatchPos> Batches(const std::string& path) {
  Bytes c = ReadAll(path);
  log::SegmentHeader sh;
  std::vector<BatchPos> out;
  if (!log::DecodeSegmentHeader(c.data(), c.size(), &sh).ok()) return out;
  log::BatchHeader h;
  for (uint64_t pos = sh.data_offset; pos + log::kBatchHeaderSize <= c.size() &&
                                      log::DecodeBatchHeader(c.data() + pos, c.size() - pos, sh.segment_id, &h).ok();
       pos += log::BatchFootprint(h.stored_len, sh.alignment))
    out.push_back({pos, h});
  return out;
}

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = testing::FreshDir(std::string("check-") + info->name());
    backup_ = dir_ + ".backup";
    fs::remove_all(backup_);
    opts_.wal.fsync = wal::FsyncMode::kAlways;  // every Set waits for its own batch
    opts_.wal.segment_bytes = 64 << 10;  // small segments: records must be small too
    opts_.wal.max_record_bytes = 32 << 10;
    opts_.wal.max_batch_bytes = 32 << 10;
    opts_.kv.max_key_bytes = 1024;
    opts_.kv.max_value_bytes = 16 << 10;
    opts_.kv.active_expire_ms = 0;
    opts_.snapshot.interval_secs = 0;
    opts_.snapshot.operation_threshold = 0;
    opts_.stream.maintenance_ms = 3600000;
    opts_.stream.defaults.segment_bytes = 64 << 10;
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
    fs::remove_all(backup_);
  }
  void Open() {
    auto r = db::Database::Open(dir_, opts_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    db_ = std::move(*r);
  }
  void Close() {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
  }
  void Write(int from, int to) {
    for (int i = from; i < to; i++) ASSERT_TRUE(db_->kv().Set("k" + std::to_string(i), Value(i), {}, nullptr).ok());
  }
  std::vector<std::string> Segments(const std::string& sub) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ + "/" + sub))
      if (e.path().extension() == ".log") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::unique_ptr<VerifyReport> Verify() {
    Result<std::unique_ptr<VerifyReport>> r = check::Verify(&io_, dir_, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  RepairReport Repair() {
    RepairReport rep;
    Status st = check::Repair(&io_, dir_, backup_, nullptr, &rep);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return rep;
  }
  // After a repair: the directory opens, keys [0, intact) hold their values
  // and keys [intact, kKeys) are gone.
  void ExpectKeys(int intact) {
    Open();
    for (int i = 0; i < kKeys; i++) {
      std::string v;
      Result<bool> got = db_->kv().Get("k" + std::to_string(i), &v);
      ASSERT_TRUE(got.ok());
      if (i < intact) {
        ASSERT_TRUE(*got) << "k" << i;
        EXPECT_EQ(v, Value(i));
      } else {
        EXPECT_FALSE(*got) << "k" << i << " should be gone";
      }
    }
    Close();
  }
  static std::string Rel(const std::string& path) { return "wal/" + fs::path(path).filename().string(); }

  io::SyncBackend io_;
  std::string dir_, backup_;
  db::DbOptions opts_;
  std::unique_ptr<db::Database> db_;
};

TEST_F(CheckTest, CleanDirectoryIsClean) {
  Open();
  Write(0, kKeys);
  Close();
  ASSERT_GE(Segments("wal").size(), 5u);
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  Result<std::unique_ptr<VerifyReport>> r =
      check::Verify(&io_, dir_, [&](const char*, uint64_t done, uint64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->clean()) << (*r)->ToJson();
  EXPECT_TRUE((*r)->opens());
  uint64_t records = 0;
  for (const SegmentScan& s : (*r)->log.segments) records += s.records;
  EXPECT_EQ(records, static_cast<uint64_t>(kKeys));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, progress.back().second);  // ends at 100%
  for (size_t i = 1; i < progress.size(); i++) EXPECT_GE(progress[i].first, progress[i - 1].first);
  EXPECT_NE((*r)->ToJson().find(R"("clean":true,"opens":true)"), std::string::npos);
  // Nothing to repair: no backup directory appears.
  RepairReport rep = Repair();
  EXPECT_TRUE(rep.actions.empty());
  EXPECT_FALSE(fs::exists(backup_));
}

TEST_F(CheckTest, TornTailIsTrimmedHarmlesslyAndCutByRepair) {
  Open();
  Write(0, kKeys);
  Close();
  std::string last = Segments("wal").back();
  std::vector<BatchPos> b = Batches(last);
  ASSERT_GE(b.size(), 2u);
  const BatchPos& tail = b.back();
  // A write that reached the disk only in part: the end of its payload is zeros.
  Overwrite(last, tail.offset + log::kBatchHeaderSize + tail.h.stored_len - 40, Bytes(40, 0));
  Bytes before = ReadAll(last);

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  const Finding& f = v->findings[0];
  EXPECT_EQ(f.area, "log");
  EXPECT_EQ(f.file, Rel(last));
  EXPECT_EQ(f.offset, tail.offset);
  EXPECT_EQ(f.problem, Problem::kTornTail);
  EXPECT_EQ(f.verdict, Verdict::kTrims);
  EXPECT_TRUE(v->opens());

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), 1u) << rep.ToJson();
  const RepairAction& a = rep.actions[0];
  EXPECT_EQ(a.kind, RepairAction::Kind::kTruncate);
  EXPECT_EQ(a.file, Rel(last));
  EXPECT_EQ(a.offset, tail.offset);
  EXPECT_EQ(a.bytes, before.size() - tail.offset);
  EXPECT_FALSE(a.has_lost);  // the torn batch held nothing readable
  EXPECT_EQ(fs::file_size(last), tail.offset);
  // The backup holds exactly the bytes cut, zeroed end (a hole) included.
  EXPECT_EQ(ReadAll(backup_ + "/" + a.backup), Bytes(before.begin() + static_cast<ptrdiff_t>(tail.offset), before.end()));
  EXPECT_TRUE(fs::exists(backup_ + "/REPAIR.json"));
  EXPECT_TRUE(rep.verified_after);
  EXPECT_EQ(rep.after_problems, 0u);
  ExpectKeys(kKeys - 1);
}

TEST_F(CheckTest, AllZeroFinalSegmentIsHarmlessAndRemoved) {
  Open();
  Write(0, 10);
  Close();
  // A segment created by a writer that crashed before its header was durable.
  char name[32];
  std::snprintf(name, sizeof name, "%020d.log", 11);
  std::string empty = dir_ + "/wal/" + name;
  std::ofstream(empty, std::ios::binary) << std::string(8192, '\0');

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].file, Rel(empty));
  EXPECT_EQ(v->findings[0].problem, Problem::kTornTail);
  EXPECT_EQ(v->findings[0].verdict, Verdict::kTrims);

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), 1u) << rep.ToJson();
  EXPECT_EQ(rep.actions[0].kind, RepairAction::Kind::kRemove);
  EXPECT_TRUE(rep.lost.empty());  // nothing was ever in it
  EXPECT_FALSE(fs::exists(empty));
  EXPECT_EQ(ReadAll(backup_ + "/" + rep.actions[0].backup), Bytes(8192, 0));
  Open();
  std::string v9;
  ASSERT_TRUE(*db_->kv().Get("k9", &v9));
  EXPECT_EQ(v9, Value(9));
  Close();
}

TEST_F(CheckTest, FlippedByteMidLogIsRefusedAndTruncatedThere) {
  Open();
  Write(0, kKeys);
  Close();
  std::vector<std::string> segs = Segments("wal");
  ASSERT_GE(segs.size(), 5u);
  std::vector<BatchPos> b = Batches(segs[1]);
  ASSERT_GE(b.size(), 4u);
  const BatchPos& hit = b[3];
  FlipByte(segs[1], hit.offset + log::kBatchHeaderSize + 10);
  std::vector<Bytes> originals;
  for (const std::string& s : segs) originals.push_back(ReadAll(s));

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].file, Rel(segs[1]));
  EXPECT_EQ(v->findings[0].offset, hit.offset);
  EXPECT_EQ(v->findings[0].problem, Problem::kChecksum);
  EXPECT_EQ(v->findings[0].detail, "batch payload hash mismatch");
  EXPECT_EQ(v->findings[0].verdict, Verdict::kRefuses);
  EXPECT_FALSE(v->opens());
  EXPECT_FALSE(db::Database::Open(dir_, opts_).ok());  // what verify predicted

  RepairReport rep = Repair();
  // The later segments go (newest first), then the damaged one is cut.
  ASSERT_EQ(rep.actions.size(), segs.size() - 1) << rep.ToJson();
  for (size_t i = 0; i + 1 < rep.actions.size(); i++) {
    const RepairAction& a = rep.actions[i];
    size_t seg = segs.size() - 1 - i;
    EXPECT_EQ(a.kind, RepairAction::Kind::kRemove);
    EXPECT_EQ(a.file, Rel(segs[seg]));
    EXPECT_FALSE(fs::exists(segs[seg]));
    EXPECT_EQ(ReadAll(backup_ + "/" + a.backup), originals[seg]);
    EXPECT_TRUE(a.has_lost);
  }
  const RepairAction& cut = rep.actions.back();
  EXPECT_EQ(cut.kind, RepairAction::Kind::kTruncate);
  EXPECT_EQ(cut.offset, hit.offset);
  EXPECT_EQ(ReadAll(backup_ + "/" + cut.backup),
            Bytes(originals[1].begin() + static_cast<ptrdiff_t>(hit.offset), originals[1].end()));
  ASSERT_TRUE(cut.has_lost);  // the batches after the flipped one in that segment were valid
  EXPECT_EQ(cut.lost_first, hit.h.first_lsn);
  ASSERT_EQ(rep.lost.size(), 1u);
  EXPECT_EQ(rep.lost[0].from, hit.h.first_lsn);
  EXPECT_TRUE(rep.lost[0].to_known);
  EXPECT_EQ(rep.lost[0].to, static_cast<uint64_t>(kKeys));
  EXPECT_TRUE(rep.after_opens);
  ExpectKeys(static_cast<int>(hit.h.first_lsn) - 1);  // key i has LSN i + 1
}

TEST_F(CheckTest, BadSegmentHeaderDropsItAndEveryLaterSegment) {
  Open();
  Write(0, kKeys);
  Close();
  std::vector<std::string> segs = Segments("wal");
  ASSERT_GE(segs.size(), 4u);
  log::Lsn first_lost = Batches(segs[2]).front().h.first_lsn;
  FlipByte(segs[2], 20);  // base_lsn, under the header hash

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].file, Rel(segs[2]));
  EXPECT_EQ(v->findings[0].offset, 0u);
  EXPECT_EQ(v->findings[0].problem, Problem::kBadHeader);
  EXPECT_EQ(v->findings[0].verdict, Verdict::kRefuses);

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), segs.size() - 2) << rep.ToJson();
  for (const RepairAction& a : rep.actions) EXPECT_EQ(a.kind, RepairAction::Kind::kRemove);
  for (size_t i = 2; i < segs.size(); i++) EXPECT_FALSE(fs::exists(segs[i]));
  EXPECT_TRUE(rep.after_opens);
  ExpectKeys(static_cast<int>(first_lost) - 1);
}

TEST_F(CheckTest, MissingMiddleSegmentIsAnLsnGap) {
  Open();
  Write(0, kKeys);
  Close();
  std::vector<std::string> segs = Segments("wal");
  ASSERT_GE(segs.size(), 4u);
  log::Lsn gap_from = Batches(segs[2]).front().h.first_lsn;
  fs::remove(segs[2]);

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].file, Rel(segs[3]));
  EXPECT_EQ(v->findings[0].offset, 0u);
  EXPECT_EQ(v->findings[0].problem, Problem::kLsnGap);
  EXPECT_NE(v->findings[0].detail.find("expected LSN " + std::to_string(gap_from)), std::string::npos)
      << v->findings[0].detail;
  EXPECT_EQ(v->findings[0].verdict, Verdict::kRefuses);

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), segs.size() - 3) << rep.ToJson();
  for (size_t i = 3; i < segs.size(); i++) EXPECT_FALSE(fs::exists(segs[i]));
  EXPECT_TRUE(rep.after_opens);
  ExpectKeys(static_cast<int>(gap_from) - 1);
}

TEST_F(CheckTest, TruncatedSnapshotIsSkippedForAnOlderOne) {
  Open();
  Write(0, 150);
  ASSERT_TRUE(db_->Snapshot().ok());
  Write(150, 250);
  ASSERT_TRUE(db_->Snapshot().ok());
  Write(250, kKeys);
  Close();
  std::vector<std::string> snaps;
  for (const auto& e : fs::directory_iterator(dir_ + "/snapshots")) snaps.push_back(e.path().string());
  std::sort(snaps.begin(), snaps.end());
  ASSERT_EQ(snaps.size(), 2u);
  Bytes newest = ReadAll(snaps[1]);
  fs::resize_file(snaps[1], newest.size() - 10);

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].area, "snapshot");
  EXPECT_EQ(v->findings[0].file, "snapshots/" + fs::path(snaps[1]).filename().string());
  EXPECT_EQ(v->findings[0].problem, Problem::kTruncated);
  EXPECT_EQ(v->findings[0].verdict, Verdict::kSkips);
  EXPECT_EQ(v->loaded_snapshot, "snapshots/" + fs::path(snaps[0]).filename().string());
  EXPECT_TRUE(v->opens());

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), 1u) << rep.ToJson();
  EXPECT_EQ(rep.actions[0].kind, RepairAction::Kind::kRemove);
  EXPECT_EQ(ReadAll(backup_ + "/" + rep.actions[0].backup), Bytes(newest.begin(), newest.end() - 10));
  EXPECT_EQ(rep.after_problems, 0u);
  ExpectKeys(kKeys);  // nothing lost: the older snapshot and the log hold it all
}

TEST_F(CheckTest, LogThatNoLongerReachesItsSnapshotCannotBeRepaired) {
  Open();
  Write(0, 200);
  ASSERT_TRUE(db_->Snapshot().ok());  // drops the log segments below it
  Write(200, kKeys);
  Close();
  std::string snap = fs::directory_iterator(dir_ + "/snapshots")->path().string();
  FlipByte(snap, 100);

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 2u) << v->ToJson();
  EXPECT_EQ(v->findings[0].problem, Problem::kChecksum);
  EXPECT_EQ(v->findings[0].verdict, Verdict::kSkips);
  EXPECT_EQ(v->findings[1].problem, Problem::kMissingSegments);
  EXPECT_EQ(v->findings[1].verdict, Verdict::kRefuses);
  EXPECT_FALSE(v->opens());

  RepairReport rep = Repair();
  ASSERT_EQ(rep.unrepaired.size(), 1u) << rep.ToJson();
  EXPECT_EQ(rep.unrepaired[0].problem, Problem::kMissingSegments);
  EXPECT_FALSE(rep.after_opens);
}

class RoomCheckTest : public CheckTest {
 protected:
  // 150 events of ~1 KiB, one append each: several 64 KiB segments, each
  // sealed one indexed at close.
  void WriteRoom() {
    Open();
    ASSERT_TRUE(db_->streams().CreateRoom("clicks", "").ok());
    std::string payload(1000, 'x');
    for (int i = 0; i < 150; i++) {
      stream::EventIn e;
      e.payload = payload;
      e.timestamp_ms = 1000 + i;
      ASSERT_TRUE(db_->streams().Append("clicks", std::span(&e, 1)).ok());
    }
    ASSERT_TRUE(db_->streams().CommitOffset("billing", "clicks", 42).ok());
    Close();
    ASSERT_GE(Segments("streams/clicks").size(), 3u);
  }
  uint64_t RoomEvents() {
    Open();
    stream::EventBatch b;
    uint64_t n = 0;
    for (uint64_t from = 0;;) {
      b.Clear();
      if (!db_->streams().Read("clicks", from, 1000, 1 << 20, 0, &b).ok() || b.events.empty()) break;
      n += b.events.size();
      from = b.next_offset;
    }
    Close();
    return n;
  }
};

TEST_F(RoomCheckTest, DamagedIndexIsRebuiltAndRepairRemovesIt) {
  WriteRoom();
  ASSERT_TRUE(Verify()->clean());
  std::string index = dir_ + "/streams/clicks/" + stream::IndexFileName(0);
  ASSERT_TRUE(fs::exists(index));
  FlipByte(index, 20);

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].area, "room");
  EXPECT_EQ(v->findings[0].room, "clicks");
  EXPECT_EQ(v->findings[0].file, "streams/clicks/" + stream::IndexFileName(0));
  EXPECT_EQ(v->findings[0].problem, Problem::kIndexMismatch);
  EXPECT_EQ(v->findings[0].verdict, Verdict::kRebuilds);

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), 2u) << rep.ToJson();  // the index and its time index
  EXPECT_FALSE(fs::exists(index));
  EXPECT_EQ(rep.after_problems, 0u);
  EXPECT_EQ(RoomEvents(), 150u);
  EXPECT_TRUE(Verify()->clean());  // the open rebuilt both files
}

TEST_F(RoomCheckTest, IndexThatPassesRecoveryButPointsAstrayIsFound) {
  WriteRoom();
  std::string dir = dir_ + "/streams/clicks";
  Result<stream::SegmentIndex> idx = stream::ReadIndexFiles(&io_, dir, 0);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_GE(idx->entries.size(), 2u);
  idx->entries[1].position += 8;  // a valid file, hash and all, with a wrong position
  ASSERT_TRUE(stream::WriteIndexFiles(&io_, dir, *idx).ok());

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].problem, Problem::kIndexMismatch);
  EXPECT_EQ(v->findings[0].verdict, Verdict::kAccepts);
  EXPECT_NE(v->findings[0].detail.find("index entry 1"), std::string::npos) << v->findings[0].detail;
}

TEST_F(RoomCheckTest, RoomTornTailIsCutPerRoom) {
  WriteRoom();
  std::string last = Segments("streams/clicks").back();
  std::vector<BatchPos> b = Batches(last);
  ASSERT_FALSE(b.empty());
  Overwrite(last, b.back().offset + log::kBatchHeaderSize, Bytes(16, 0xee));

  std::unique_ptr<VerifyReport> v = Verify();
  ASSERT_EQ(v->findings.size(), 1u) << v->ToJson();
  EXPECT_EQ(v->findings[0].area, "room");
  EXPECT_EQ(v->findings[0].offset, b.back().offset);
  EXPECT_EQ(v->findings[0].problem, Problem::kTornTail);

  RepairReport rep = Repair();
  ASSERT_EQ(rep.actions.size(), 1u) << rep.ToJson();
  EXPECT_EQ(rep.actions[0].kind, RepairAction::Kind::kTruncate);
  ASSERT_EQ(rep.lost.size(), 1u);
  EXPECT_EQ(rep.lost[0].unit, "offset");
  EXPECT_EQ(rep.lost[0].from, 149u);
  EXPECT_EQ(RoomEvents(), 149u);
}

TEST_F(CheckTest, LockedMissingAndBadBackupDirectoriesAreRefused) {
  Open();
  Write(0, 10);
  EXPECT_EQ(check::Verify(&io_, dir_, nullptr).status().code(), Status::Code::kLocked);
  EXPECT_EQ(check::InspectJson(&io_, dir_).status().code(), Status::Code::kLocked);
  RepairReport rep;
  EXPECT_EQ(check::Repair(&io_, dir_, backup_, nullptr, &rep).code(), Status::Code::kLocked);
  Close();
  EXPECT_EQ(check::Verify(&io_, dir_ + "/nope", nullptr).status().code(), Status::Code::kInvalidArgument);
  fs::create_directories(dir_ + "-empty");
  EXPECT_EQ(check::Verify(&io_, dir_ + "-empty", nullptr).status().code(), Status::Code::kInvalidArgument);
  fs::remove_all(dir_ + "-empty");
  EXPECT_EQ(check::Repair(&io_, dir_, dir_ + "/wal/backup", nullptr, &rep).code(), Status::Code::kInvalidArgument);
  fs::create_directories(backup_);
  std::ofstream(backup_ + "/something") << "x";
  EXPECT_EQ(check::Repair(&io_, dir_, backup_, nullptr, &rep).code(), Status::Code::kAlreadyExists);
}

TEST_F(CheckTest, DeclinedRepairChangesNothing) {
  Open();
  Write(0, kKeys);
  Close();
  std::string last = Segments("wal").back();
  Overwrite(last, Batches(last).back().offset + log::kBatchHeaderSize, Bytes(8, 0xff));
  uint64_t size = fs::file_size(last);
  std::string shown;
  RepairReport rep;
  Status st = check::Repair(&io_, dir_, backup_, [&](const RepairReport& plan) {
    shown = plan.ToJson();
    return false;
  }, &rep);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(rep.declined);
  EXPECT_FALSE(rep.applied);
  EXPECT_NE(shown.find(R"("action":"truncate")"), std::string::npos) << shown;
  EXPECT_EQ(fs::file_size(last), size);
  EXPECT_FALSE(fs::exists(backup_));
}

TEST_F(CheckTest, InspectShowsSegmentsQueuesRoomsAndGroups) {
  opts_.wal.codec = log::Codec::kZstd;
  opts_.wal.compress_min_bytes = 64;
  Open();
  Write(0, 20);
  queue::QueueSettings qs;
  ASSERT_TRUE(db_->queues().Declare("jobs", qs).ok());
  std::vector<queue::PublishArgs> msgs(5);
  for (auto& m : msgs) m.payload = "work";
  ASSERT_TRUE(db_->queues().Publish("jobs", msgs).ok());
  ASSERT_TRUE(db_->queues().Consume("jobs", "w1", 2, 0).ok());
  ASSERT_TRUE(db_->streams().CreateRoom("clicks", "codec=lz4").ok());
  stream::EventIn e;
  e.payload = "p";
  ASSERT_TRUE(db_->streams().Append("clicks", std::span(&e, 1)).ok());
  ASSERT_TRUE(db_->streams().CommitOffset("billing", "clicks", 1).ok());
  Close();

  Result<std::string> j = check::InspectJson(&io_, dir_);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  const std::string& s = *j;
  EXPECT_NE(s.find(R"("name":"jobs","ready":3,"in_flight":2,"delayed":0,"dead":0)"), std::string::npos) << s;
  EXPECT_NE(s.find(R"("group":"billing","room":"clicks","committed":1)"), std::string::npos) << s;
  EXPECT_NE(s.find(R"("name":"clicks","earliest_offset":0,"next_offset":1)"), std::string::npos) << s;
  EXPECT_NE(s.find(R"("codec":"lz4")"), std::string::npos) << s;
  EXPECT_NE(s.find(R"("first_lsn":1,"last_lsn":)"), std::string::npos) << s;
  std::string log = s.substr(0, s.find(R"("snapshots":)"));
  EXPECT_EQ(log.find(R"("zstd":0})"), std::string::npos) << "the KV batches were compressed: " << log;
  EXPECT_NE(s.find(R"("problems":0,"notes":[])"), std::string::npos) << s;
  // Read-only: the directory is unchanged and opens.
  Open();
  Result<queue::QueueStats> st = db_->queues().Stats("jobs");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->ready, 5u);  // in-flight ones come back ready at open
  Close();
}

}  // namespace
}  // namespace synap::check
