// Thousands of seeded crash runs on the simulated disk: a Wal under random
// appends, short writes and options crashes at a random operation, losing or
// tearing every write no completed fsync covered. After recovery:
//  * every acknowledged record is present and intact;
//  * the log is a prefix of what was appended: LSNs 1..M, no holes, each
//    record the one appended with that LSN (no reordering).
// A failing seed prints the command that replays it alone.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "tests/support/sim_seeds.h"
#include "tests/support/wal_fixture.h"

namespace synap::testing {
namespace {

using log::Lsn;

// A small deterministic generator for the workload (the sim has its own).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
};

struct CrashRun {
  uint64_t seed;
  SimLog db;
  Rng rng;
  std::set<Lsn> acked;  // acknowledged by a callback with an ok status
  Lsn appended = 0;     // last LSN handed out over all cycles
  std::string failure;

  explicit CrashRun(uint64_t s) : seed(s), db(s), rng{s * 0x9E3779B97F4A7C15ull + 1} {
    db.opts.fsync = wal::FsyncMode::kAlways;
    db.opts.mechanism = rng.Below(3) == 0 ? wal::Mechanism::kDirect : wal::Mechanism::kBuffered;
    db.opts.codec = static_cast<log::Codec>(rng.Below(3));
    db.opts.compress_min_bytes = 64;
    db.opts.segment_bytes = 64 * 1024;
    db.opts.max_batch_records = 1 + static_cast<uint32_t>(rng.Below(64));
    db.opts.max_in_flight = rng.Below(4) == 0 ? 1 : 2;
    db.opts.preallocate = static_cast<log::Preallocate>(rng.Below(3));
    db.sim->set_crash_mode(rng.Below(2) == 0 ? io::SimBackend::CrashMode::kTornUnsynced
                                             : io::SimBackend::CrashMode::kDropUnsynced);
  }

  // One life: open (recovering), append until the crash, verify after restart.
  bool Cycle(int cycle) {
    if (rng.Below(4) == 0) db.sim->set_short_write_probability(0.2);
    db.sim->crash_after(rng.Below(cycle == 0 ? 600 : 300));
    Replayed before;
    Status st = db.Open(&before);
    if (st.ok()) Drive();
    if (db.wal) {
      db.wal->Close();  // fails (crashed); must still finish
      db.wal.reset();
    }
    db.sim->restart();
    return Verify();
  }

  void Drive() {
    for (int step = 0; step < 2000 && !db.sim->crashed(); ++step) {
      uint64_t n = 1 + rng.Below(4);
      for (uint64_t i = 0; i < n; ++i) {
        Lsn expect = db.wal->last_lsn() + 1;
        Result<Lsn> lsn = db.wal->Append(RecordFor(expect, rng.Below(3) == 0 ? 3000 : 0));
        if (!lsn.ok()) return;  // poisoned by the crash
        if (*lsn != expect) {
          failure = "LSN " + std::to_string(*lsn) + " handed out, expected " + std::to_string(expect);
          return;
        }
        appended = *lsn;
        db.wal->OnAcked(*lsn, [this, l = *lsn](Status s) {
          if (s.ok()) acked.insert(l);
        });
      }
      db.committer->RunOnce(0);
    }
  }

  // The batches of every segment, for a failure message.
  std::string DescribeLog() {
    std::string out;
    Result<std::vector<std::string>> names = db.sim->list_dir(db.opts.dir);
    if (!names.ok()) return out;
    for (const std::string& n : names.value()) {
      Result<std::vector<uint8_t>> c = db.sim->contents(db.opts.dir + "/" + n);
      if (!c.ok()) continue;
      log::SegmentHeader sh;
      if (!log::DecodeSegmentHeader(c->data(), c->size(), &sh).ok()) {
        out += "  " + n + ": bad header\n";
        continue;
      }
      out += "  " + n + " id " + std::to_string(sh.segment_id) + " size " + std::to_string(c->size()) + ":";
      uint64_t pos = sh.data_offset;
      log::BatchHeader h;
      while (pos + log::kBatchHeaderSize <= c->size() &&
             log::DecodeBatchHeader(c->data() + pos, c->size() - pos, sh.segment_id, &h).ok()) {
        out += " [" + std::to_string(pos) + " lsn " + std::to_string(h.first_lsn) + "+" +
               std::to_string(h.record_count) + " wm " + std::to_string(h.durable_watermark) + "]";
        pos += log::BatchFootprint(h.stored_len, sh.alignment);
      }
      out += " end " + std::to_string(pos) + " bytes there:";
      for (uint64_t i = pos; i < pos + 16 && i < c->size(); ++i) out += " " + std::to_string((*c)[i]);
      out += "\n";
    }
    return out;
  }

  bool Verify() {
    if (!failure.empty()) return false;
    Replayed r;
    log::RecoveryReport rep;
    Status st = db.Open(&r, &rep);
    if (!st.ok()) {
      failure = "reopen failed: " + st.ToString() + "\n" + DescribeLog();
      return false;
    }
    db.wal->Close();
    db.wal.reset();
    Lsn expect = 1;
    for (const auto& [lsn, rec] : r.records) {
      if (lsn != expect) {
        failure = "hole: LSN " + std::to_string(expect) + " missing, next is " + std::to_string(lsn);
        return false;
      }
      if (TagOf(rec) != lsn) {
        failure = "record at LSN " + std::to_string(lsn) + " is not the one appended there";
        return false;
      }
      ++expect;
    }
    for (Lsn a : acked) {
      if (r.records.count(a) == 0) {
        failure = "acknowledged LSN " + std::to_string(a) + " lost (recovered up to " +
                  std::to_string(expect - 1) + "); " + rep.ToString();
        return false;
      }
    }
    // Later cycles append after what survived; forget acks beyond it (none).
    return true;
  }
};

TEST(WalSimCrash, AcknowledgedRecordsSurviveEveryCrash) {
  uint64_t only = SimOnlySeed().value_or(UINT64_MAX);
  uint64_t seeds = SimSeedCount(2000);
  uint64_t first = only == UINT64_MAX ? 0 : only;
  uint64_t last = only == UINT64_MAX ? seeds : only + 1;
  uint64_t total_acked = 0;
  for (uint64_t seed = first; seed < last; ++seed) {
    CrashRun run(seed);
    for (int cycle = 0; cycle < 3; ++cycle) {
      ASSERT_TRUE(run.Cycle(cycle)) << "seed " << seed << " cycle " << cycle << ": " << run.failure
                                    << "\n  replay: SYNAP_SIM_SEED=" << seed
                                    << " ./tests/wal_sim_crash_test --gtest_filter=WalSimCrash.*";
    }
    total_acked += run.acked.size();
  }
  std::printf("%llu seeds, %llu acknowledged records checked\n",
              static_cast<unsigned long long>(last - first), static_cast<unsigned long long>(total_acked));
  EXPECT_GT(total_acked, (last - first) * 5) << "the workload should acknowledge records before crashing";
}

}  // namespace
}  // namespace synap::testing
