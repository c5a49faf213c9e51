// The Wal's contract: LSNs, acknowledgement per fsync mode, the three ways to
// learn of an ack, limits, compression, short writes, poisoning, the direct
// mechanism and its fallback, and many threads on the real backends.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/io/backend.h"
#include "engine/log/segment.h"
#include "tests/support/wal_fixture.h"

namespace synap::testing {
namespace {

using log::Lsn;
using wal::FsyncMode;
using wal::Mechanism;

TEST(WalOptionsTest, RejectsOutOfRangeValuesByName) {
  wal::WalOptions o;
  EXPECT_NE(o.Validate().message().find("wal.dir"), std::string::npos);
  o.dir = "/d";
  EXPECT_TRUE(o.Validate().ok());
  auto bad = [&](auto mutate, const char* field) {
    wal::WalOptions x = o;
    mutate(x);
    Status st = x.Validate();
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << field;
    EXPECT_NE(st.message().find(field), std::string::npos) << st.message();
  };
  bad([](auto& x) { x.segment_bytes = 1024; }, "segment_bytes");
  bad([](auto& x) { x.max_in_flight = 3; }, "max_in_flight");
  bad([](auto& x) { x.fsync_interval_ms = 0; }, "fsync_interval_ms");
  bad([](auto& x) { x.max_record_bytes = 1u << 30; }, "max_record_bytes");
  bad([](auto& x) { x.max_batch_records = 0; }, "max_batch_records");
  bad([](auto& x) { x.segment_bytes = 1 << 20; x.max_record_bytes = 2 << 20; x.max_pending_bytes = 8 << 20; },
      "segment_bytes");
  EXPECT_FALSE(wal::ParseFsyncMode("sometimes").ok());
  EXPECT_EQ(*wal::ParseMechanism("direct"), Mechanism::kDirect);
}

TEST(WalTest, LsnsAreConsecutiveAndReplayedInOrder) {
  SimLog db(1);
  ASSERT_TRUE(db.Open().ok());
  for (Lsn i = 1; i <= 100; ++i) EXPECT_EQ(*db.wal->Append(RecordFor(i)), i);
  std::vector<std::vector<uint8_t>> many = {RecordFor(101), RecordFor(102), RecordFor(103)};
  std::vector<std::span<const uint8_t>> spans(many.begin(), many.end());
  EXPECT_EQ(*db.wal->AppendMany(spans), 103u);
  ASSERT_TRUE(db.wal->WaitFor(103).ok());
  EXPECT_EQ(db.wal->acked_lsn(), 103u);
  EXPECT_EQ(db.wal->durable_lsn(), 103u);
  ASSERT_TRUE(db.wal->Close().ok());
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  ASSERT_EQ(r.records.size(), 103u);
  for (const auto& [lsn, rec] : r.records) EXPECT_EQ(TagOf(rec), lsn);
  EXPECT_EQ(*db.wal->Append(RecordFor(104)), 104u);
}

TEST(WalTest, ADirectoryHasOneWriterAtATime) {
  SimLog db(33);
  ASSERT_TRUE(db.Open().ok());
  Result<std::unique_ptr<wal::Wal>> second = wal::Wal::Open(db.committer.get(), db.opts, nullptr, nullptr);
  EXPECT_EQ(second.status().code(), Status::Code::kLocked) << second.status().ToString();
  ASSERT_TRUE(db.wal->Close().ok());
  Result<std::unique_ptr<wal::Wal>> third = wal::Wal::Open(db.committer.get(), db.opts, nullptr, nullptr);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  (*third)->Close();
}

TEST(WalTest, EmptyRecordsAreRecordsToo) {
  SimLog db(2);
  ASSERT_TRUE(db.Open().ok());
  ASSERT_EQ(*db.wal->Append({}), 1u);
  ASSERT_TRUE(db.wal->WaitFor(1).ok());
  ASSERT_TRUE(db.wal->Close().ok());
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_TRUE(r.records[1].empty());
}

TEST(WalTest, LimitsAreEnforced) {
  SimLog db(3);
  ASSERT_TRUE(db.Open().ok());
  std::vector<uint8_t> big(db.opts.max_record_bytes + 1);
  Status st = db.wal->Append(big).status();
  EXPECT_EQ(st.code(), Status::Code::kTooLarge);
  EXPECT_NE(st.message().find("max_record_bytes"), std::string::npos);
  EXPECT_EQ(db.wal->last_lsn(), 0u);  // nothing was taken
  EXPECT_EQ(db.wal->AppendMany({}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(db.wal->WaitFor(5).code(), Status::Code::kInvalidArgument);  // never appended
  std::vector<uint8_t> max(db.opts.max_record_bytes);
  EXPECT_TRUE(db.wal->Append(max).ok());
}

// LSNs stop at log::kMaxLsn: the log refuses the append that would pass it,
// rather than wrap the next LSN to 0.
TEST(WalTest, AppendsStopAtTheLargestLsn) {
  SimLog db(33);
  ASSERT_TRUE(db.sim->make_dir(db.opts.dir).ok());
  log::SegmentSpec spec;
  spec.header.segment_id = 1;
  spec.header.base_lsn = log::kMaxLsn - 1;
  spec.header.alignment = 8;
  spec.header.data_offset = 4096;
  spec.preallocate = log::Preallocate::kNone;
  Result<io::FileHandle> f = log::CreateSegment(db.sim, db.opts.dir, spec);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  db.sim->close(*f);
  // As after a snapshot that covers every record below the segment.
  auto open = [&](Replayed* r) -> Status {
    log::RecoveryReport rep;
    Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(db.committer.get(), db.opts, r->fn(), &rep, log::kMaxLsn - 1);
    if (w.ok()) db.wal = std::move(*w);
    return w.status();
  };
  Replayed none;
  ASSERT_TRUE(open(&none).ok());
  EXPECT_EQ(*db.wal->Append(RecordFor(1)), log::kMaxLsn - 1);
  std::vector<std::vector<uint8_t>> two(2, RecordFor(2));
  std::vector<std::span<const uint8_t>> spans(two.begin(), two.end());
  EXPECT_EQ(db.wal->AppendMany(spans).status().code(), Status::Code::kTooLarge);  // one LSN left
  EXPECT_EQ(*db.wal->Append(RecordFor(3)), log::kMaxLsn);
  Status st = db.wal->Append(RecordFor(4)).status();
  EXPECT_EQ(st.code(), Status::Code::kTooLarge);
  EXPECT_NE(st.message().find("every LSN"), std::string::npos) << st.message();
  db.Drain();
  Status waited = db.wal->WaitFor(log::kMaxLsn);
  ASSERT_TRUE(waited.ok()) << waited.ToString();
  ASSERT_TRUE(db.wal->Close().ok());
  db.wal.reset();
  Replayed r;
  ASSERT_TRUE(open(&r).ok());
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records.begin()->first, log::kMaxLsn - 1);
  EXPECT_EQ(db.wal->Append(RecordFor(5)).status().code(), Status::Code::kTooLarge);
  ASSERT_TRUE(db.wal->Close().ok());
  db.wal.reset();
  // A snapshot cannot ask the log to resume past kMaxLsn + 1.
  log::RecoveryReport rep;
  EXPECT_TRUE(wal::Wal::Open(db.committer.get(), db.opts, r.fn(), &rep, log::kMaxLsn + 2).status().IsCorruption());
}

TEST(WalTest, AppendManyMustFitOneBatch) {
  SimLog db(31);
  db.opts.max_batch_records = 4;
  ASSERT_TRUE(db.Open().ok());
  std::vector<std::vector<uint8_t>> five(5, RecordFor(1));
  std::vector<std::span<const uint8_t>> spans(five.begin(), five.end());
  EXPECT_EQ(db.wal->AppendMany(spans).status().code(), Status::Code::kTooLarge);
  std::vector<std::vector<uint8_t>> big(2, std::vector<uint8_t>(db.opts.max_batch_bytes / 2 + 1));
  std::vector<std::span<const uint8_t>> big_spans(big.begin(), big.end());
  EXPECT_EQ(db.wal->AppendMany(big_spans).status().code(), Status::Code::kTooLarge);
  EXPECT_EQ(db.wal->last_lsn(), 0u);
}

TEST(WalTest, ReopeningWithAnotherMechanismRollsToANewSegment) {
  SimLog db(32);
  ASSERT_TRUE(db.Open().ok());  // an empty first segment, buffered
  ASSERT_TRUE(db.wal->Close().ok());
  db.opts.mechanism = Mechanism::kDirect;
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.wal->Append(RecordFor(1)).ok());
  ASSERT_TRUE(db.wal->WaitFor(1).ok());
  ASSERT_TRUE(db.wal->Close().ok());
  db.opts.mechanism = Mechanism::kBuffered;
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  ASSERT_TRUE(db.wal->Append(RecordFor(2)).ok());
  ASSERT_TRUE(db.wal->WaitFor(2).ok());
  ASSERT_TRUE(db.wal->Close().ok());
  Replayed r2;
  ASSERT_TRUE(db.Open(&r2).ok());
  ASSERT_EQ(r2.records.size(), 2u);
  EXPECT_EQ(TagOf(r2.records[2]), 2u);
}

TEST(WalTest, BatchCapsSplitPendingRecords) {
  SimLog db(4);
  db.opts.max_batch_records = 10;
  ASSERT_TRUE(db.Open().ok());
  for (int i = 1; i <= 95; ++i) ASSERT_TRUE(db.wal->Append(RecordFor(i)).ok());
  ASSERT_TRUE(db.wal->WaitFor(95).ok());
  wal::WalStats s = db.wal->stats();
  EXPECT_EQ(s.max_batch_records, 10u);
  EXPECT_GE(s.batches, 10u);
}

TEST(WalTest, ClosedLogRefusesAppends) {
  SimLog db(5);
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.wal->Append(RecordFor(1)).ok());
  ASSERT_TRUE(db.wal->Close().ok());
  EXPECT_EQ(db.wal->Append(RecordFor(2)).status().code(), Status::Code::kClosed);
  EXPECT_TRUE(db.wal->Close().ok());  // twice is fine
  EXPECT_EQ(db.wal->acked_lsn(), 1u);  // close flushed it
}

TEST(WalTest, CallbacksAndEventFdReportAcks) {
  SimLog db(6);
  ASSERT_TRUE(db.Open().ok());
  int efd = *db.wal->event_fd();
  Lsn lsn = *db.wal->Append(RecordFor(1));
  std::vector<Status> seen;
  db.wal->OnAcked(lsn, [&](Status s) { seen.push_back(s); });
  EXPECT_TRUE(seen.empty());  // not acknowledged yet: nothing ran
  db.Drain();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].ok());
  pollfd p{efd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 1);
  uint64_t n;
  EXPECT_EQ(read(efd, &n, sizeof n), 8);
  // Already acknowledged: the callback runs at once on this thread.
  db.wal->OnAcked(lsn, [&](Status s) { seen.push_back(s); });
  EXPECT_EQ(seen.size(), 2u);
}

TEST(WalTest, CompressedBatchesRoundTrip) {
  for (log::Codec c : {log::Codec::kLz4, log::Codec::kZstd}) {
    SimLog db(7);
    db.opts.codec = c;
    db.opts.compress_min_bytes = 256;
    ASSERT_TRUE(db.Open().ok());
    for (int i = 1; i <= 300; ++i) ASSERT_TRUE(db.wal->Append(RecordFor(i, 400)).ok());
    ASSERT_TRUE(db.wal->WaitFor(300).ok());
    wal::WalStats s = db.wal->stats();
    EXPECT_LT(s.batch_bytes, s.payload_bytes / 2) << log::CodecName(c);
    ASSERT_TRUE(db.wal->Close().ok());
    Replayed r;
    ASSERT_TRUE(db.Open(&r).ok());
    ASSERT_EQ(r.records.size(), 300u);
    for (const auto& [lsn, rec] : r.records) EXPECT_EQ(TagOf(rec), lsn);
  }
}

TEST(WalTest, PeriodicModeAcksOnWriteAndSyncsOnTheTimer) {
  SimLog db(8);
  db.opts.fsync = FsyncMode::kPeriodic;
  db.opts.fsync_interval_ms = 1;
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.wal->Append(RecordFor(1)).ok());
  ASSERT_TRUE(db.wal->WaitFor(1).ok());  // acknowledged once written
  for (int i = 0; i < 1000000 && db.wal->durable_lsn() < 1; ++i) db.committer->RunOnce(0);
  EXPECT_EQ(db.wal->durable_lsn(), 1u);  // the timer fsynced without a new write
  EXPECT_GE(db.wal->stats().syncs, 1u);
}

TEST(WalTest, NeverModeSyncsOnlyWhenAsked) {
  SimLog db(9);
  db.opts.fsync = FsyncMode::kNever;
  ASSERT_TRUE(db.Open().ok());
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(db.wal->Append(RecordFor(i)).ok());
  ASSERT_TRUE(db.wal->WaitFor(50).ok());
  EXPECT_EQ(db.wal->acked_lsn(), 50u);
  EXPECT_EQ(db.wal->durable_lsn(), 0u);
  ASSERT_TRUE(db.wal->Sync().ok());
  EXPECT_EQ(db.wal->durable_lsn(), 50u);
  // Everything synced survives a power cut.
  db.wal->Close();
  db.wal.reset();
  db.sim->restart();
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  EXPECT_EQ(r.records.size(), 50u);
}

TEST(WalTest, AlwaysModeSurvivesPowerCutRightAfterAck) {
  SimLog db(10);
  db.sim->set_crash_mode(io::SimBackend::CrashMode::kTornUnsynced);
  ASSERT_TRUE(db.Open().ok());
  for (int i = 1; i <= 40; ++i) ASSERT_TRUE(db.wal->Append(RecordFor(i)).ok());
  ASSERT_TRUE(db.wal->WaitFor(40).ok());
  db.sim->crash();
  db.wal->Close();
  db.wal.reset();
  db.sim->restart();
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  EXPECT_EQ(r.records.size(), 40u);
}

class WalMechanismTest : public ::testing::TestWithParam<Mechanism> {};

TEST_P(WalMechanismTest, ShortWritesAreResubmittedNeverAcknowledgedEarly) {
  SimLog db(11);
  db.opts.mechanism = GetParam();
  db.sim->set_short_write_probability(0.5);
  ASSERT_TRUE(db.Open().ok());
  for (int i = 1; i <= 400; ++i) {
    ASSERT_TRUE(db.wal->Append(RecordFor(i, i % 7 == 0 ? 5000 : 0)).ok());
    if (i % 5 == 0) {
      ASSERT_TRUE(db.wal->WaitFor(i).ok());
    }
  }
  ASSERT_TRUE(db.wal->WaitFor(400).ok());
  EXPECT_GT(db.wal->stats().short_writes, 0u);
  db.sim->crash();  // everything acknowledged must be durable
  db.wal->Close();
  db.wal.reset();
  db.sim->restart();
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  ASSERT_EQ(r.records.size(), 400u);
  for (const auto& [lsn, rec] : r.records) EXPECT_EQ(TagOf(rec), lsn);
}

TEST_P(WalMechanismTest, SegmentsRollAndReplay) {
  SimLog db(12);
  db.opts.mechanism = GetParam();
  ASSERT_TRUE(db.Open().ok());
  for (int i = 1; i <= 600; ++i) ASSERT_TRUE(db.wal->Append(RecordFor(i, 1000)).ok());
  ASSERT_TRUE(db.wal->WaitFor(600).ok());
  EXPECT_GT(db.wal->stats().segments_created, 3u);
  EXPECT_EQ(db.wal->stats().mechanism, GetParam() == Mechanism::kDirect ? "direct" : "buffered");
  ASSERT_TRUE(db.wal->Close().ok());
  Replayed r;
  log::RecoveryReport rep;
  ASSERT_TRUE(db.Open(&r, &rep).ok());
  EXPECT_EQ(r.records.size(), 600u);
  EXPECT_TRUE(rep.cuts.empty()) << rep.ToString();
}

INSTANTIATE_TEST_SUITE_P(Both, WalMechanismTest, ::testing::Values(Mechanism::kBuffered, Mechanism::kDirect),
                         [](const auto& info) { return std::string(wal::MechanismName(info.param)); });

TEST(WalTest, DirectBatchesArePaddedToTheAlignment) {
  SimLog db(13);
  db.opts.mechanism = Mechanism::kDirect;
  db.sim->set_direct_alignment(4096);
  ASSERT_TRUE(db.Open().ok());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(db.wal->Append(RecordFor(i)).ok());
    ASSERT_TRUE(db.wal->WaitFor(i).ok());
  }
  // Five one-record batches: each one starts a new 4 KiB block.
  EXPECT_EQ(db.wal->stats().batch_bytes, 5u * 4096);
  EXPECT_EQ(db.sim->stats().dsync_writes, 5u);
  EXPECT_EQ(db.sim->stats().syncs, 0u);  // RWF_DSYNC: no separate fsync
}

TEST(WalTest, DirectFallsBackToBufferedWhereRefused) {
  SimLog db(14);
  db.opts.mechanism = Mechanism::kDirect;
  db.sim->set_direct_supported(false);
  ASSERT_TRUE(db.Open().ok());
  wal::WalStats s = db.wal->stats();
  EXPECT_EQ(s.mechanism, "buffered");
  EXPECT_NE(s.fallback_reason.find("O_DIRECT"), std::string::npos);
  ASSERT_TRUE(db.wal->Append(RecordFor(1)).ok());
  ASSERT_TRUE(db.wal->WaitFor(1).ok());
  EXPECT_GE(db.sim->stats().syncs, 1u);
}

struct FaultCase {
  const char* name;
  io::SimBackend::Op op;
  int err;
  Status::Code code;
};

class WalPoisonTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(WalPoisonTest, AFailedWriteOrSyncPoisonsTheLog) {
  SimLog db(15);
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.wal->Append(RecordFor(1)).ok());
  ASSERT_TRUE(db.wal->WaitFor(1).ok());
  db.sim->inject_error(GetParam().op, GetParam().err);
  ASSERT_TRUE(db.wal->Append(RecordFor(2)).ok());
  Status st = db.wal->WaitFor(2);
  EXPECT_EQ(st.code(), GetParam().code) << st.ToString();
  EXPECT_EQ(db.wal->acked_lsn(), 1u);
  // Read-only from now on, and nothing is ever reported durable again.
  Status again = db.wal->Append(RecordFor(3)).status();
  EXPECT_EQ(again.code(), Status::Code::kReadOnly);
  EXPECT_NE(again.message().find(st.message()), std::string::npos);
  for (int i = 0; i < 100; ++i) db.committer->RunOnce(0);
  EXPECT_EQ(db.wal->acked_lsn(), 1u);
  EXPECT_EQ(db.wal->Close().code(), GetParam().code);
  // Reopening recovers what was acknowledged.
  Replayed r;
  ASSERT_TRUE(db.Open(&r).ok());
  EXPECT_GE(r.records.size(), 1u);
  EXPECT_EQ(TagOf(r.records[1]), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, WalPoisonTest,
    ::testing::Values(FaultCase{"EioOnWrite", io::SimBackend::Op::kWrite, EIO, Status::Code::kIoError},
                      FaultCase{"EnospcOnWrite", io::SimBackend::Op::kWrite, ENOSPC, Status::Code::kNoSpace},
                      FaultCase{"EioOnSync", io::SimBackend::Op::kSync, EIO, Status::Code::kIoError},
                      FaultCase{"EnospcOnSync", io::SimBackend::Op::kSync, ENOSPC, Status::Code::kNoSpace}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(WalTest, AZeroByteWritePoisonsTheLog) {
  SimLog db(16);
  ASSERT_TRUE(db.Open().ok());
  db.sim->set_zero_write_probability(1.0);
  ASSERT_TRUE(db.wal->Append(RecordFor(1)).ok());
  Status st = db.wal->WaitFor(1);
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find("0 bytes"), std::string::npos);
  EXPECT_EQ(db.wal->acked_lsn(), 0u);
}

TEST(WalTest, ManualCommitterReportsBackpressureAsBusy) {
  SimLog db(17);
  db.opts.max_pending_bytes = 64 * 1024;
  ASSERT_TRUE(db.Open().ok());
  Status st;
  for (int i = 0; i < 10000 && st.ok(); ++i) st = db.wal->Append(RecordFor(i, 1000)).status();
  EXPECT_EQ(st.code(), Status::Code::kBusy);
  db.Drain();
  EXPECT_TRUE(db.wal->Append(RecordFor(1)).ok());  // space again
}

// ---- real kernel backends, with the committer's own thread ----

std::string ScratchDir(const std::string& name) {
  const char* base = std::getenv("SYNAP_TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/wal_test_" + name + "_" +
                    std::to_string(getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

struct KernelCase {
  io::BackendKind backend;
  Mechanism mechanism;
  FsyncMode fsync;
};

class WalKernelTest : public ::testing::TestWithParam<KernelCase> {};

TEST_P(WalKernelTest, ManyThreadsAppendAndEveryAckIsReplayed) {
  KernelCase k = GetParam();
  std::string reason;
  Result<std::unique_ptr<io::IoBackend>> io = io::OpenBackend(k.backend, 256, &reason);
  ASSERT_TRUE(io.ok()) << io.status().ToString();
  wal::GroupCommitter committer(std::move(*io));
  wal::WalOptions o;
  o.dir = ScratchDir(std::to_string(static_cast<int>(k.backend)) + wal::MechanismName(k.mechanism) +
                     wal::FsyncModeName(k.fsync));
  o.fsync = k.fsync;
  o.mechanism = k.mechanism;
  o.segment_bytes = 1 << 20;
  o.max_record_bytes = 64 << 10;
  o.max_batch_bytes = 256 << 10;
  constexpr int kThreads = 8, kPerThread = 300;
  {
    Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(&committer, o, nullptr, nullptr);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          uint64_t tag = static_cast<uint64_t>(t) * 1000000 + static_cast<uint64_t>(i);
          Result<Lsn> lsn = (*w)->Append(RecordFor(tag, static_cast<size_t>(i % 3) * 700));
          if (!lsn.ok() || !(*w)->WaitFor(*lsn).ok()) failures++;
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    wal::WalStats s = (*w)->stats();
    EXPECT_EQ(s.acked_lsn, uint64_t{kThreads * kPerThread});
    if (k.fsync == FsyncMode::kAlways) {
      EXPECT_EQ(s.durable_lsn, s.acked_lsn);
    }
    ASSERT_TRUE((*w)->Close().ok());
  }
  Replayed r;
  Result<std::unique_ptr<wal::Wal>> again = wal::Wal::Open(&committer, o, r.fn(), nullptr);
  // A second opener of the same directory is refused while the first holds it.
  EXPECT_EQ(wal::Wal::Open(&committer, o, nullptr, nullptr).status().code(), Status::Code::kLocked);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(r.records.size(), size_t{kThreads * kPerThread});
  std::map<uint64_t, int> next_per_thread;  // a thread's records come back in its order
  for (const auto& [lsn, rec] : r.records) {
    uint64_t tag = TagOf(rec);
    ASSERT_NE(tag, UINT64_MAX) << "record at LSN " << lsn << " damaged";
    EXPECT_EQ(tag % 1000000, static_cast<uint64_t>(next_per_thread[tag / 1000000]++));
  }
  (*again)->Close();
  std::filesystem::remove_all(o.dir);
}

TEST(WalSharedCommitterTest, BatchesOfTwoLogsGoOutInOneSubmission) {
  std::string reason;
  Result<std::unique_ptr<io::IoBackend>> io = io::OpenBackend(io::BackendKind::kUring, 64, &reason);
  ASSERT_TRUE(io.ok()) << io.status().ToString();
  io::IoBackend* backend = io->get();
  wal::GroupCommitter committer(std::move(*io), wal::GroupCommitter::Threading::kManual);
  std::string base = ScratchDir("shared");
  std::vector<std::unique_ptr<wal::Wal>> logs;
  for (const char* name : {"/a", "/b"}) {
    wal::WalOptions o;
    o.dir = base + name;
    o.segment_bytes = 1 << 20;
    o.max_record_bytes = 4096;
    o.max_batch_bytes = 64 << 10;
    Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(&committer, o, nullptr, nullptr);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    logs.push_back(std::move(*w));
  }
  ASSERT_TRUE(logs[0]->Append(RecordFor(1)).ok());
  ASSERT_TRUE(logs[1]->Append(RecordFor(2)).ok());
  io::IoStats before = backend->stats();
  committer.RunOnce(0);  // prepares both batches, then one submit_and_wait
  io::IoStats after = backend->stats();
  EXPECT_EQ(after.enters - before.enters, 1u);
  EXPECT_EQ(after.writes - before.writes, 2u);
  for (auto& w : logs) {
    ASSERT_TRUE(w->WaitFor(1).ok());
    ASSERT_TRUE(w->Close().ok());
  }
  std::filesystem::remove_all(base);
}

INSTANTIATE_TEST_SUITE_P(
    Kernel, WalKernelTest,
    ::testing::Values(KernelCase{io::BackendKind::kUring, Mechanism::kBuffered, FsyncMode::kAlways},
                      KernelCase{io::BackendKind::kUring, Mechanism::kDirect, FsyncMode::kAlways},
                      KernelCase{io::BackendKind::kUring, Mechanism::kBuffered, FsyncMode::kPeriodic},
                      KernelCase{io::BackendKind::kUring, Mechanism::kBuffered, FsyncMode::kNever},
                      KernelCase{io::BackendKind::kSync, Mechanism::kBuffered, FsyncMode::kAlways},
                      KernelCase{io::BackendKind::kSync, Mechanism::kDirect, FsyncMode::kAlways}),
    [](const auto& info) {
      const KernelCase& k = info.param;
      return std::string(k.backend == io::BackendKind::kUring ? "uring_" : "sync_") +
             wal::MechanismName(k.mechanism) + "_" + wal::FsyncModeName(k.fsync);
    });

}  // namespace
}  // namespace synap::testing
