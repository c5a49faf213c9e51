// The real crash test: a child process (wal_crash_child) appends to a Wal on
// the io_uring backend with fsync=always from 8 writer threads and reports
// every acknowledged LSN on a pipe; the test SIGKILLs it at a random moment,
// reopens the log in-process and checks what survived:
//
//  * recovery accepts the crash state, and its only cuts are torn tails;
//  * the recovered LSNs are exactly 1..N, and every record is intact (every
//    byte; crash_record.h) and decodes to a known writer;
//  * every LSN ever acknowledged (this round or any earlier one) is present
//    and holds the (writer, round, seq) the child reported for it;
//  * every record recovered by an earlier round is still there, unchanged;
//  * each writer's sequence numbers, in LSN order, are exactly 0, 1, 2, ...
//    (a writer appends only after its previous record was acknowledged, so a
//    hole or a reordering is a lost or misplaced record);
//  * the child resumed where the log ended: its "ready" line names LSN N + 1
//    and each writer's first acknowledgement continues its recovered sequence.
//
// Rounds accumulate in one log. Most rounds the test repairs the log itself
// (Wal::Open + Close over the sync backend); some verify read-only and leave
// the repair to the next child, which may itself be killed while recovering.
// Kill moments: right after spawn (during the child's open/recovery/segment
// creation), 0-5 ms after the child is ready (its first batches on the resumed
// segment), 20-300 ms after it is ready, or after a random number of
// acknowledgements.
//
// A process kill leaves the page cache intact, so real torn tails are rare
// (a write cut short by the kill). To exercise the cut-and-zero path under
// kills too, some rounds also write random bytes just past the last valid
// batch after the crash, as a torn write would; recovery must cut exactly
// there as a torn tail (counted apart from real ones).
//
// Environment: SYNAP_CRASH_SEED fixes the schedule (default: time-derived,
// printed), SYNAP_CRASH_ROUNDS sets rounds per mechanism (default 50). On a
// failure the log directory is kept and its path printed, with the final
// segments as they were before the failing round's recovery touched them.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/backend.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"
#include "tests/crash/child_process.h"
#include "tests/crash/crash_record.h"

namespace synap::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using log::Lsn;
using std::chrono::milliseconds;

constexpr uint32_t kWriters = 8;
constexpr uint64_t kSegmentBytes = 256 * 1024;
// A safety net against hangs, never a pass/fail criterion on its own: the
// child acknowledges thousands of records a second.
constexpr auto kStallLimit = std::chrono::seconds(15);

uint64_t EnvU64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  return std::strtoull(v, nullptr, 0);
}

std::string ScratchRoot() {
  const char* env = std::getenv("SYNAP_TEST_TMPDIR");
  return env != nullptr && *env != '\0' ? env : fs::temp_directory_path().string();
}

struct Ack {
  Lsn lsn;
  CrashRecordId id;
};

enum class KillPlan { kEarly, kJustAfterReady, kAfterTime, kAfterAcks };

const char* PlanName(KillPlan p) {
  switch (p) {
    case KillPlan::kEarly: return "early (during open)";
    case KillPlan::kJustAfterReady: return "just after ready";
    case KillPlan::kAfterTime: return "after time";
    case KillPlan::kAfterAcks: return "after acks";
  }
  return "?";
}

struct Totals {
  uint64_t rounds = 0;
  uint64_t acks = 0;         // acknowledgements received
  uint64_t ack_checks = 0;   // (acknowledgement, round) pairs verified
  uint64_t torn_tails = 0;   // recovery cuts of real crash damage (all torn tails, or the test failed)
  uint64_t torn_bytes = 0;
  uint64_t injected_tails = 0;  // garbage tails the test wrote after a crash (each must be cut)
  uint64_t removed_segments = 0;
  uint64_t unacked_survivors = 0;  // records recovered beyond the last acknowledgement
  uint64_t child_repairs = 0;      // rounds verified read-only, repaired by the next child
  uint64_t killed_before_ready = 0;
  uint64_t plans[4] = {0, 0, 0, 0};
};

class WalKill9Test : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    mechanism_ = GetParam();
    seed_ = EnvU64("SYNAP_CRASH_SEED", 0);
    if (seed_ == 0) seed_ = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
    rounds_ = EnvU64("SYNAP_CRASH_ROUNDS", 50);
    fs::create_directories(ScratchRoot());
    dir_ = ScratchRoot() + "/wal_kill9_" + mechanism_ + "_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::remove_all(dir_ + ".tail");
    std::printf("[ wal_kill9 ] mechanism=%s seed=%" PRIu64 " rounds=%" PRIu64
                " (rerun the schedule with SYNAP_CRASH_SEED=%" PRIu64 ")\n",
                mechanism_.c_str(), seed_, rounds_, seed_);
    std::fflush(stdout);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::printf("[ wal_kill9 ] FAILED: mechanism=%s seed=%" PRIu64 " round=%u; log kept in %s, its final "
                  "segments before this round's recovery in %s.tail\n",
                  mechanism_.c_str(), seed_, round_, dir_.c_str(), dir_.c_str());
      std::fflush(stdout);
      return;
    }
    fs::remove_all(dir_);
    fs::remove_all(dir_ + ".tail");
  }

  wal::WalOptions Options() const {
    return CrashLogOptions(dir_, *wal::ParseMechanism(mechanism_), kSegmentBytes);
  }

  std::vector<std::string> SegmentNames() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      Lsn base;
      std::string n = e.path().filename().string();
      if (log::ParseSegmentFileName(n, &base)) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Keeps the last two segments as the crash left them, for a post-mortem.
  void SnapshotTail() {
    std::string tail = dir_ + ".tail";
    fs::remove_all(tail);
    fs::create_directories(tail);
    std::vector<std::string> names = SegmentNames();
    for (size_t i = names.size() >= 2 ? names.size() - 2 : 0; i < names.size(); ++i)
      fs::copy_file(dir_ + "/" + names[i], tail + "/" + names[i]);
  }

  void RunRound(std::mt19937_64& rng);
  void InjectGarbageTail(size_t len, uint64_t seed);
  void Verify(bool repair, bool ready_seen, Lsn ready_next);

  std::string Where() const {
    return "[mechanism " + mechanism_ + ", seed " + std::to_string(seed_) + ", round " + std::to_string(round_) +
           ", kill " + PlanName(plan_) + "] ";
  }

  std::string mechanism_;
  uint64_t seed_ = 0;
  uint64_t rounds_ = 0;
  std::string dir_;
  uint32_t round_ = 0;
  KillPlan plan_ = KillPlan::kEarly;

  std::vector<CrashRecordId> log_;    // LSN i + 1 -> its record, as last verified
  std::vector<uint64_t> next_seq_ = std::vector<uint64_t>(kWriters, 0);  // per writer, from log_
  std::vector<Ack> acks_;             // every acknowledgement of every round
  std::string injected_segment_;      // this round's garbage tail: segment and offset ("": none)
  uint64_t injected_offset_ = 0;
  Totals totals_;
};

void WalKill9Test::RunRound(std::mt19937_64& rng) {
  const Lsn prev_n = log_.size();
  std::uniform_int_distribution<int> pick(0, 99);
  int p = pick(rng);
  plan_ = p < 10   ? KillPlan::kEarly
          : p < 20 ? KillPlan::kJustAfterReady
          : p < 60 ? KillPlan::kAfterTime
                   : KillPlan::kAfterAcks;
  auto early_delay = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 15000)(rng));
  auto ready_delay = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(rng));
  auto time_delay = milliseconds(std::uniform_int_distribution<int>(20, 300)(rng));
  size_t ack_target = std::uniform_int_distribution<size_t>(1, 3000)(rng);
  bool repair = pick(rng) >= 25;  // else: verify read-only, the next child repairs
  bool inject = pick(rng) < 20;   // write a garbage tail after the crash
  size_t inject_len = std::uniform_int_distribution<size_t>(1, 8192)(rng);
  uint64_t inject_seed = rng();
  totals_.plans[static_cast<int>(plan_)]++;

  ChildProcess child;
  std::string err = child.Spawn({CrashChildPath(), "--dir", dir_, "--mechanism", mechanism_, "--writers",
                                 std::to_string(kWriters), "--segment-bytes", std::to_string(kSegmentBytes),
                                 "--round", std::to_string(round_)});
  ASSERT_EQ(err, "") << Where();
  const Clock::time_point t0 = Clock::now();
  Clock::time_point ready_at{}, last_progress = t0;
  bool ready = false, killed = false;
  Lsn ready_next = 0;
  std::vector<uint64_t> expect_seq = next_seq_;  // each writer's next acknowledgement
  std::vector<std::string> lines;
  size_t round_acks = 0;
  int exit_status = 0;
  bool exited_on_its_own = false;

  for (;;) {
    lines.clear();
    bool open = child.ReadLines(2, &lines);
    Clock::time_point now = Clock::now();
    for (const std::string& line : lines) {
      last_progress = now;
      if (line.rfind("ready ", 0) == 0) {
        char mech[32] = {0};
        unsigned long long next = 0;
        ASSERT_EQ(std::sscanf(line.c_str(), "ready %llu %31s", &next, mech), 2) << Where() << line;
        ASSERT_FALSE(ready) << Where() << "two ready lines";
        if (mechanism_ != mech) {
          child.Kill();
          if (round_ == 1) GTEST_SKIP() << "the child fell back to the " << mech << " mechanism in " << dir_;
          FAIL() << Where() << "child uses mechanism " << mech;
        }
        ready = true;
        ready_at = now;
        ready_next = next;
        continue;
      }
      unsigned long long lsn, seq;
      unsigned writer;
      int used = 0;
      ASSERT_TRUE(std::sscanf(line.c_str(), "%llu %u %llu%n", &lsn, &writer, &seq, &used) == 3 &&
                  static_cast<size_t>(used) == line.size())
          << Where() << "unparsable line from the child: '" << line << "'";
      ASSERT_TRUE(ready) << Where() << "acknowledgement before the ready line";
      ASSERT_LT(writer, kWriters) << Where() << line;
      ASSERT_GT(lsn, prev_n) << Where() << "acknowledged LSN " << lsn << " was already in the log before this round";
      ASSERT_EQ(seq, expect_seq[writer]) << Where() << "writer " << writer
                                         << " did not resume/continue its sequence: " << line;
      expect_seq[writer]++;
      acks_.push_back({lsn, {writer, round_, seq}});
      ++round_acks;
    }
    if (!killed) {
      bool due = false;
      switch (plan_) {
        case KillPlan::kEarly: due = now - t0 >= early_delay; break;
        case KillPlan::kJustAfterReady: due = ready && now - ready_at >= ready_delay; break;
        case KillPlan::kAfterTime: due = ready && now - ready_at >= time_delay; break;
        case KillPlan::kAfterAcks: due = round_acks >= ack_target; break;
      }
      if (due) {
        child.Kill();
        killed = true;
      }
    }
    if (!open) break;  // end of file: the child is gone
    if (!killed && child.Poll(&exit_status)) exited_on_its_own = true;
    if (!killed && !exited_on_its_own && now - last_progress > kStallLimit) {
      child.Kill();
      child.Wait();
      FAIL() << Where() << "HANG: the child printed nothing for "
             << std::chrono::duration_cast<milliseconds>(kStallLimit).count() << " ms ("
             << (ready ? "after ready, " + std::to_string(round_acks) + " acknowledgements so far"
                       : std::string("before ready: stuck opening the log"))
             << ")";
    }
  }
  if (!exited_on_its_own) exit_status = child.Wait();
  ASSERT_TRUE(killed && WIFSIGNALED(exit_status) && WTERMSIG(exit_status) == SIGKILL)
      << Where() << "the child " << DescribeWaitStatus(exit_status) << " before it was killed";
  ASSERT_EQ(child.partial(), "") << Where() << "a torn line on the pipe";
  if (!ready) totals_.killed_before_ready++;
  totals_.acks += round_acks;

  SnapshotTail();
  if (inject) InjectGarbageTail(inject_len, inject_seed);
  if (HasFatalFailure()) return;
  Verify(repair, ready, ready_next);
  if (!repair) totals_.child_repairs++;
}

// Writes `len` random non-zero-led bytes just past the last valid batch of the
// final segment, as a torn write would leave them: past every acknowledged
// record, so recovery must cut them as a torn tail. Skipped when the crash
// itself left damage there (that is the interesting case; keep it intact).
// The end is found by a read-only recovery of the tail snapshot.
void WalKill9Test::InjectGarbageTail(size_t len, uint64_t seed) {
  injected_segment_.clear();
  auto io = io::OpenBackend(io::BackendKind::kSync, 64, nullptr);
  ASSERT_TRUE(io.ok());
  log::RecoveryOptions ro;
  ro.read_only = true;
  log::RecoveredLog rl;
  log::RecoveryReport rep;
  Status st = log::RecoverLog(io->get(), dir_ + ".tail", ro, &rl, &rep);
  if (!st.ok() || !rep.cuts.empty() || !rep.removed.empty() || rl.segments.empty()) return;
  const log::SegmentState& last = rl.segments.back();
  if (last.end_offset + len > last.file_size) return;
  std::vector<uint8_t> junk(len);
  std::mt19937_64 g(seed);
  for (uint8_t& b : junk) b = static_cast<uint8_t>(g());
  junk[0] |= 1;
  std::string path = dir_ + "/" + last.name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::pwrite(fd, junk.data(), len, static_cast<off_t>(last.end_offset)), static_cast<ssize_t>(len));
  ASSERT_EQ(::fdatasync(fd), 0);
  ::close(fd);
  injected_segment_ = last.name;
  injected_offset_ = last.end_offset;
  totals_.injected_tails++;
}

void WalKill9Test::Verify(bool repair, bool ready_seen, Lsn ready_next) {
  const Lsn prev_n = log_.size();
  std::vector<CrashRecordId> got;
  got.reserve(prev_n + 16384);
  std::vector<std::string> bad;  // the first few problems found while replaying
  uint64_t bad_count = 0;
  auto problem = [&](std::string s) {
    if (bad.size() < 10) bad.push_back(std::move(s));
    ++bad_count;
  };
  log::ReplayFn replay = [&](Lsn lsn, std::span<const uint8_t> r) {
    if (lsn != got.size() + 1) {
      problem("replay gave LSN " + std::to_string(lsn) + " after " + std::to_string(got.size()) + " (a hole)");
      got.resize(lsn - 1, CrashRecordId{UINT32_MAX, 0, 0});
    }
    CrashRecordId id;
    std::string why;
    if (!DecodeCrashRecord(r, &id, &why)) {
      problem("LSN " + std::to_string(lsn) + " is damaged: " + why);
      id = CrashRecordId{UINT32_MAX, 0, 0};
    }
    got.push_back(id);
  };

  std::string reason;
  Result<std::unique_ptr<io::IoBackend>> io = io::OpenBackend(io::BackendKind::kSync, 64, &reason);
  ASSERT_TRUE(io.ok()) << io.status().ToString();
  log::RecoveryReport rep;
  Status st;
  Lsn next_lsn = 0;
  if (repair) {
    wal::GroupCommitter committer(std::move(io).value(), wal::GroupCommitter::Threading::kManual);
    Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(&committer, Options(), replay, &rep);
    st = w.status();
    if (st.ok()) {
      next_lsn = (*w)->last_lsn() + 1;
      st = (*w)->Close();
    }
  } else {
    log::RecoveryOptions ro;
    ro.mode = log::RecoveryMode::kTolerateTornTail;
    ro.read_only = true;
    ro.replay = replay;
    log::RecoveredLog rl;
    st = log::RecoverLog(io->get(), dir_, ro, &rl, &rep);
    next_lsn = rl.next_lsn;
  }
  ASSERT_TRUE(st.ok()) << Where() << "ENGINE REFUSED THE CRASH STATE (" << (repair ? "Wal::Open" : "RecoverLog")
                       << "): " << st.ToString() << "\n  report: " << rep.ToString();

  const Lsn n = got.size();
  EXPECT_EQ(next_lsn, n + 1) << Where() << "recovery's next LSN disagrees with what it replayed";
  EXPECT_EQ(rep.records, n) << Where() << rep.ToString();
  EXPECT_EQ(bad_count, 0u) << Where() << bad_count << " problems in the replay, first: "
                           << ::testing::PrintToString(bad);

  bool injected_cut = false;
  for (const log::RecoveryReport::Cut& c : rep.cuts) {
    EXPECT_EQ(c.reason.rfind("torn tail", 0), 0u) << Where() << "a cut that is not a torn tail: " << c.segment
                                                  << " @" << c.offset << ": " << c.reason;
    if (c.segment == injected_segment_ && c.offset == injected_offset_) {
      injected_cut = true;
      continue;
    }
    totals_.torn_tails++;
    totals_.torn_bytes += c.bytes;
  }
  if (!injected_segment_.empty()) {
    EXPECT_TRUE(injected_cut) << Where() << "the garbage written at " << injected_segment_ << " @"
                              << injected_offset_ << " was not cut as a torn tail: " << rep.ToString();
    injected_segment_.clear();
  }
  totals_.removed_segments += rep.removed.size();

  // Everything an earlier round recovered is still there, unchanged.
  ASSERT_GE(n, prev_n) << Where() << "the log lost records an earlier round had recovered; " << rep.ToString();
  for (Lsn i = 0; i < prev_n; ++i)
    ASSERT_EQ(got[i], log_[i]) << Where() << "LSN " << i + 1 << " changed since the last round: was "
                               << ToString(log_[i]) << ", now " << ToString(got[i]);

  // The child resumed at the end of the log it recovered.
  if (ready_seen) {
    EXPECT_EQ(ready_next, prev_n + 1) << Where() << "the child's recovery disagreed with ours";
  }

  // Each writer's sequence is 0, 1, 2, ... in LSN order; rounds never go back.
  std::vector<uint64_t> next_seq(kWriters, 0);
  uint32_t last_round = 0;
  for (Lsn i = 0; i < n; ++i) {
    const CrashRecordId& id = got[i];
    if (id.writer == UINT32_MAX) continue;  // already reported as damaged
    ASSERT_LT(id.writer, kWriters) << Where() << "LSN " << i + 1 << " " << ToString(id);
    ASSERT_EQ(id.seq, next_seq[id.writer]) << Where() << "LSN " << i + 1 << " " << ToString(id)
                                           << ": writer's sequence has a hole or is out of order";
    ASSERT_GE(id.round, last_round) << Where() << "LSN " << i + 1 << " " << ToString(id) << " after round "
                                    << last_round;
    ASSERT_LE(id.round, round_) << Where() << "LSN " << i + 1 << " " << ToString(id) << " from the future";
    next_seq[id.writer]++;
    last_round = id.round;
  }

  // Every acknowledgement ever received is in the log, with its record.
  Lsn max_acked = 0;
  uint64_t missing = 0;
  std::ostringstream first_missing;
  for (const Ack& a : acks_) {
    max_acked = std::max(max_acked, a.lsn);
    bool ok = a.lsn <= n && got[a.lsn - 1] == a.id;
    if (!ok && missing++ < 10)
      first_missing << "\n  acked LSN " << a.lsn << " " << ToString(a.id) << ": "
                    << (a.lsn > n ? "missing (log ends at " + std::to_string(n) + ")"
                                  : "holds " + ToString(got[a.lsn - 1]));
  }
  EXPECT_EQ(missing, 0u) << Where() << "LOST ACKNOWLEDGED RECORDS: " << missing << " of " << acks_.size()
                         << first_missing.str() << "\n  report: " << rep.ToString();
  totals_.ack_checks += acks_.size();
  totals_.unacked_survivors += n > max_acked ? n - std::max(max_acked, prev_n) : 0;

  log_ = std::move(got);
  next_seq_ = std::move(next_seq);
}

TEST_P(WalKill9Test, AcknowledgedRecordsSurviveSigkill) {
  std::mt19937_64 rng(seed_ ^ std::hash<std::string>{}(mechanism_));
  const Clock::time_point start = Clock::now();
  for (round_ = 1; round_ <= rounds_; ++round_) {
    RunRound(rng);
    if (HasFailure() || IsSkipped()) return;
    totals_.rounds++;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("[ wal_kill9 ] %s: %" PRIu64 " rounds in %.1f s; %" PRIu64 " acknowledgements received, %" PRIu64
              " acknowledgement checks (every ack re-checked each later round); log at %zu records in %zu "
              "segments; %" PRIu64 " torn tails cut (%" PRIu64 " bytes), %" PRIu64
              " segments removed; %" PRIu64 " injected garbage tails cut; %" PRIu64
              " unacknowledged records survived; %" PRIu64 " rounds repaired by the next child; kills: %" PRIu64
              " early (%" PRIu64 " before ready), %" PRIu64 " just after ready, %" PRIu64 " after time, %" PRIu64
              " after acks\n",
              mechanism_.c_str(), totals_.rounds, secs, totals_.acks, totals_.ack_checks, log_.size(),
              SegmentNames().size(), totals_.torn_tails, totals_.torn_bytes, totals_.removed_segments,
              totals_.injected_tails, totals_.unacked_survivors, totals_.child_repairs, totals_.plans[0],
              totals_.killed_before_ready, totals_.plans[1], totals_.plans[2], totals_.plans[3]);
  std::fflush(stdout);
  RecordProperty("rounds", std::to_string(totals_.rounds));
  RecordProperty("acks", std::to_string(totals_.acks));
  RecordProperty("torn_tails", std::to_string(totals_.torn_tails));
  EXPECT_GT(totals_.acks, 0u);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, WalKill9Test, ::testing::Values("buffered", "direct"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace synap::testing
