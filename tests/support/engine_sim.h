// EngineSim: one seeded run of the whole-engine simulation (see
// tests/unit/engine_sim_test.cc for the invariants it checks). Run()
// returns "" when they all held, else the first violation, with the cycle
// and operation it happened at.
//
// Determinism: the workload and the faults come from one std::mt19937_64
// seeded with the seed (its algorithm is fixed by the standard); the disk's
// own streams from the same seed. The engine's threads (group committer,
// background) must not change what the run does: the harness issues one
// operation at a time and waits for it — the records the engine does not
// wait for (a queue delivery, the expiry sweep's deletes) are waited for
// here (Wal::WaitFor), so no two operations share a batch by chance of
// timing — and every clock the engine reads is the harness's (the queue's
// is fixed, so the background Tick never has anything due; stream events
// carry explicit timestamps). Snapshots run on the background thread, but
// only on request, while the harness waits. The digest includes the disk's
// operation count after every step: any timing-dependent I/O shows there.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/db/database.h"
#include "engine/io/sim_backend.h"
#include "tests/support/engine_sim_model.h"
#include "tests/support/forwarding_backend.h"

namespace synap::testing::sim {

// Answers that refuse a request before anything is logged (the model
// predicts them); every other failure is an I/O failure of the log.
inline bool IsRefusal(Status::Code c) {
  using C = Status::Code;
  return c == C::kNotFound || c == C::kInvalidArgument || c == C::kTooLarge || c == C::kBusy || c == C::kOutOfRange ||
         c == C::kAlreadyExists || c == C::kPermission;
}

// What a run did, summed over seeds for the report.
struct Figures {
  uint64_t seeds = 0, ops = 0, cycles = 0, crashes = 0, clean_closes = 0, faults_armed = 0;
  uint64_t io_failures = 0;      // writes that failed with an I/O error (ReadOnly included)
  uint64_t unknown_kept = 0;     // unknown-outcome writes found durable after recovery
  uint64_t unknown_lost = 0;     // ... found absent
  uint64_t refused_after_poison = 0;  // writes a poisoned log (or crashed disk) refused
  uint64_t snapshots_ok = 0, snapshots_failed = 0;
  uint64_t faulted_recoveries = 0, failed_recoveries = 0;  // reopens run under a fault first; of them, failed
  void Add(const Figures& o) {
    seeds += o.seeds, ops += o.ops, cycles += o.cycles, crashes += o.crashes, clean_closes += o.clean_closes;
    faults_armed += o.faults_armed, io_failures += o.io_failures, unknown_kept += o.unknown_kept;
    unknown_lost += o.unknown_lost, refused_after_poison += o.refused_after_poison;
    snapshots_ok += o.snapshots_ok, snapshots_failed += o.snapshots_failed;
    faulted_recoveries += o.faulted_recoveries, failed_recoveries += o.failed_recoveries;
  }
  std::string Summary() const {
    auto n = [](uint64_t v) { return std::to_string(v); };
    return "ops " + n(ops) + ", engine runs " + n(cycles) + ", power cuts " + n(crashes) + ", clean closes " +
           n(clean_closes) + ", fault sets armed " + n(faults_armed) + ", I/O-failed writes " + n(io_failures) +
           ", unknown writes kept/lost " + n(unknown_kept) + "/" + n(unknown_lost) + ", refused after poison " +
           n(refused_after_poison) + ", snapshots ok/failed " + n(snapshots_ok) + "/" + n(snapshots_failed) +
           ", recoveries under a fault " + n(faulted_recoveries) + " (failed " + n(failed_recoveries) + ")";
  }
};

class EngineSim {
 public:
  static constexpr int kRooms = 2;
  static constexpr int kGroups = 2;
  static constexpr int kMain = 0;            // the main log: KV and queues
  static constexpr int kMeta = kRooms + 1;   // the streams' meta room: commits
  static constexpr int kDomains = kRooms + 2;  // rooms are 1..kRooms
  static constexpr size_t kMaxValue = 2048;
  static constexpr int64_t kQueueNow = 1'700'000'000'000;  // the queue's clock never moves

  EngineSim(uint64_t seed, uint64_t ops);
  ~EngineSim();
  std::string Run();
  uint64_t digest() const { return digest_.value(); }
  const Figures& figures() const { return fig_; }

 private:
  enum class Verdict { kApplied, kNotApplied, kUnknown };

  bool Fail(const std::string& what);
  void InterruptedRecovery();
  bool OpenAndVerify(bool first);
  bool VerifyKv();
  bool VerifyQueue();
  bool VerifyStreams();
  void ArmFaults();
  bool RunCycle();
  void EndCycle();
  bool Step();
  // The verdict on a write to log `domain` that answered `st`; "" or the
  // invariant it breaks.
  std::string Judge(int domain, const Status& st, bool changes, bool refusal, Status::Code refusal_code, bool crashed_before,
             Verdict* v);
  bool KvStep(const KvOp& op);
  KvOp RandomKvOp();
  bool Publish();
  bool Consume();
  bool AckOrNack(bool ack);
  bool RequeueDead();
  bool CheckDeadLetters();
  Status WaitForMainLog();
  bool QueueViewAhead(const Status& st);
  bool Append();
  bool Commit();
  bool CheckRoom(int room);
  // Every event of `room` below `hw`. With io_failed, an I/O error ends it
  // early (*io_failed = true) instead of failing the run.
  bool ReadRoom(int room, uint64_t hw, std::vector<SEvent>* out, bool* io_failed);
  bool CheckKvLive();
  std::string Filler(uint64_t max);

  uint64_t seed_, ops_budget_;
  std::mt19937_64 rng_;
  io::SimBackend disk_;
  db::DbOptions opts_;
  std::unique_ptr<db::Database> db_;
  std::shared_ptr<std::atomic<int64_t>> now_;  // the KV clock
  Digest digest_;
  Figures fig_;
  std::string err_;
  int cycle_ = 0;
  uint64_t ops_done_ = 0;
  uint64_t counter_ = 0;  // makes payloads unique
  bool faults_armed_ = false;
  bool queue_view_ahead_ = false;  // see QueueViewAhead

  KvState kv_;
  QueueState queue_;
  std::set<uint64_t> held_;  // delivered to the harness, not acked or nacked (this engine run)
  StreamState streams_;
  std::array<bool, kDomains> poisoned_{};
  std::array<Unknown, kDomains> unknown_;
};

}  // namespace synap::testing::sim
