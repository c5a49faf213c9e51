// Database: recovery = newest valid snapshot + log replay, snapshots taken
// while writers run, fallback past a damaged snapshot, log retention.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "engine/snapshot/snapshot_file.h"
#include "tests/support/db_fixture.h"

namespace synap::db {
namespace {

using testing::DbTest;
using SV = std::string_view;
using log::Lsn;
namespace fs = std::filesystem;

// Every key with its value and expiry, read through the public API.
std::map<std::string, std::pair<std::string, int64_t>> Dump(kv::KvStore& kv) {
  std::map<std::string, std::pair<std::string, int64_t>> out;
  uint64_t cursor = 0;
  do {
    std::vector<std::string> keys;
    cursor = *kv.Scan(cursor, "", 1000, &keys);
    for (const std::string& k : keys) {
      std::string v;
      if (!*kv.Get(k, &v)) continue;
      out[k] = {v, *kv.PTtl(k)};
    }
  } while (cursor != 0);
  return out;
}

std::vector<std::string> Files(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// One random command on a small key space, so keys are written, deleted,
// appended and re-expired many times over.
void RandomWrite(kv::KvStore& kv, std::mt19937_64& rng) {
  std::string key = "k" + std::to_string(rng() % 200);
  switch (rng() % 6) {
    case 0:
    case 1: {
      kv::SetArgs a;
      if (rng() % 4 == 0) a.unit = kv::ExpiryUnit::kSeconds, a.expire = 1000 + rng() % 1000;
      ASSERT_TRUE(kv.Set(key, std::string(rng() % 64, 'a' + rng() % 26), a, nullptr).ok());
      break;
    }
    case 2: {
      std::vector<SV> keys = {key};
      ASSERT_TRUE(kv.Del(keys).ok());
      break;
    }
    case 3: ASSERT_TRUE(kv.Append(key, "+x").ok()); break;
    case 4: (void)kv.IncrBy("n" + std::to_string(rng() % 10), 1); break;
    case 5: ASSERT_TRUE(kv.Expire(key, kv::ExpiryUnit::kSeconds, 500, kv::ExpireCond::kAlways).ok()); break;
  }
}

// 256 KiB segments (and records small enough for them), so a few thousand
// writes span many segments.
void SmallSegments(DbOptions* o) {
  o->wal.segment_bytes = 256 << 10;
  o->wal.max_record_bytes = 32 << 10;
  o->wal.max_batch_bytes = 32 << 10;
  o->kv.max_value_bytes = 16 << 10;
  o->kv.max_key_bytes = 1024;
}

TEST_F(DbTest, SnapshotPlusReplayRestoresStateWrittenDuringSnapshots) {
  opts_.wal.fsync = wal::FsyncMode::kPeriodic;
  Open();
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; t++)
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      while (!stop.load()) RandomWrite(kv(), rng);
    });
  // At least five snapshots, and on until the writers made 2000 writes
  // (a loaded machine runs them slowly).
  for (int i = 0; i < 5 || (kv().stats().writes < 2000 && i < 500); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(db_->Snapshot().ok());
  }
  stop = true;
  for (auto& w : writers) w.join();
  auto before = Dump(kv());
  ASSERT_GT(before.size(), 50u);
  ASSERT_GT(kv().stats().writes, 1000u);
  Reopen();
  // The reopen used the newest snapshot and replayed the writes after it.
  EXPECT_FALSE(db_->report().snapshot.empty());
  EXPECT_GT(db_->report().snapshot_start_lsn, 1u);
  EXPECT_GT(db_->report().log.replayed, 0u);
  EXPECT_EQ(Dump(kv()), before);
}

TEST_F(DbTest, DamagedNewestSnapshotFallsBackToAnOlderOne) {
  Open();
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 300; i++) RandomWrite(kv(), rng);
    ASSERT_TRUE(db_->Snapshot().ok());
  }
  for (int i = 0; i < 100; i++) RandomWrite(kv(), rng);
  auto before = Dump(kv());
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  std::vector<std::string> snaps = Files(dir_ + "/snapshots", ".snap");
  ASSERT_EQ(snaps.size(), 3u);
  {  // flip a byte in the middle of the newest
    std::fstream f(snaps.back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    std::streamoff mid = f.tellg() / 2;
    f.seekg(mid);
    char c;
    f.get(c);
    f.seekp(mid);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  Open();
  EXPECT_EQ(db_->report().snapshots_skipped.size(), 1u);
  EXPECT_EQ(db_->report().snapshot, snaps[1]);
  EXPECT_EQ(Dump(kv()), before);
}

TEST_F(DbTest, LogSegmentsBelowTheOldestKeptSnapshotAreDeleted) {
  SmallSegments(&opts_);
  opts_.snapshot.keep = 2;
  Open();
  std::string value(2000, 'v');
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 400; i++) ASSERT_TRUE(kv().Set("k" + std::to_string(i), value, {}, nullptr).ok());
    ASSERT_TRUE(db_->Snapshot().ok());
  }
  EXPECT_EQ(Files(dir_ + "/snapshots", ".snap").size(), 2u);
  auto segs = Files(dir_ + "/wal", ".log");
  // 1600 records of ~2 KB = 3.2 MB of log in 256 KiB segments; only what the
  // older kept snapshot still needs remains.
  EXPECT_LT(segs.size(), 8u);
  // ...and the log still reaches back to the older kept snapshot's start.
  Lsn first_segment = 0, oldest_snapshot = 0;
  ASSERT_TRUE(log::ParseSegmentFileName(fs::path(segs.front()).filename().string(), &first_segment));
  std::string oldest = Files(dir_ + "/snapshots", ".snap").front();
  ASSERT_TRUE(snapshot::ParseSnapshotFileName(fs::path(oldest).filename().string(), &oldest_snapshot));
  EXPECT_LE(first_segment, oldest_snapshot);
  auto before = Dump(kv());
  Reopen();
  EXPECT_EQ(Dump(kv()), before);
}

TEST_F(DbTest, AllSnapshotsDamagedAndLogTrimmedRefusesToOpen) {
  SmallSegments(&opts_);
  opts_.snapshot.keep = 1;
  Open();
  std::string value(2000, 'v');
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(kv().Set("k" + std::to_string(i), value, {}, nullptr).ok());
  ASSERT_TRUE(db_->Snapshot().ok());
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  for (const std::string& s : Files(dir_ + "/snapshots", ".snap")) fs::resize_file(s, fs::file_size(s) - 1);
  auto r = Database::Open(dir_, opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
}

TEST_F(DbTest, LogThatEndsBeforeTheSnapshotContinuesAfterIt) {
  // fsync=never can lose a log tail that a (synced) snapshot already holds:
  // the state is the snapshot's, and new writes must not reuse its LSNs.
  Open();
  for (int i = 0; i < 50; i++) ASSERT_TRUE(kv().Set("k" + std::to_string(i), "v", {}, nullptr).ok());
  ASSERT_TRUE(db_->Snapshot().ok());
  Lsn start = db_->wal().acked_lsn() + 1;
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  for (const std::string& s : Files(dir_ + "/wal", ".log")) fs::remove(s);
  Open();
  EXPECT_EQ(kv().DbSize(), 50u);
  ASSERT_TRUE(kv().Set("after", "x", {}, nullptr).ok());
  EXPECT_GE(db_->wal().last_lsn(), start);
  Reopen();
  EXPECT_EQ(kv().DbSize(), 51u);
  EXPECT_EQ(Get("after"), "x");
}

TEST_F(DbTest, SecondOpenOfTheDirectoryIsLocked) {
  Open();
  auto r = Database::Open(dir_, opts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kLocked);
  db_.reset();
  auto again = Database::Open(dir_, opts_);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(DbTest, TriggersTakeSnapshotsInTheBackground) {
  opts_.snapshot.operation_threshold = 100;
  opts_.kv.active_expire_ms = 10;  // the background thread ticks this often
  Open();
  for (int i = 0; i < 150; i++) ASSERT_TRUE(kv().Set("k" + std::to_string(i), "v", {}, nullptr).ok());
  // Wait (up to 10 s on a loaded machine) for the background thread to finish one.
  for (int i = 0; i < 1000 && db_->StatsJson().find("\"taken\":1") == std::string::npos; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_NE(db_->StatsJson().find("\"taken\":1"), std::string::npos) << db_->StatsJson();
  EXPECT_EQ(Files(dir_ + "/snapshots", ".snap").size(), 1u);
}

TEST(DbOptions, SetGetByName) {
  DbOptions o;
  EXPECT_TRUE(o.Set("wal.fsync_mode", "never").ok());
  EXPECT_EQ(*o.Get("wal.fsync_mode"), "never");
  EXPECT_TRUE(o.Set("kv.maxmemory", "64M").ok());
  EXPECT_EQ(o.kv.maxmemory, 64u << 20);
  EXPECT_TRUE(o.Set("kv.maxmemory_policy", "volatile-ttl").ok());
  EXPECT_EQ(*o.Get("kv.maxmemory_policy"), "volatile-ttl");
  EXPECT_EQ(o.Set("wal.fsync_mode", "sometimes").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*o.Get("wal.fsync_mode"), "never");  // unchanged on error
  EXPECT_EQ(o.Set("no.such", "1").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(o.Set("wal.max_in_flight", "3").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(o.Set("kv.allow_flushall", "maybe").code(), Status::Code::kInvalidArgument);
  for (const std::string& name : DbOptions::Names()) {
    auto v = o.Get(name);
    ASSERT_TRUE(v.ok()) << name;
    EXPECT_TRUE(o.Set(name, *v).ok()) << name << " does not take back its own value " << *v;
  }
  o.kv.shards = 3;
  EXPECT_EQ(o.Validate().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace synap::db
