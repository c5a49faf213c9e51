// Power loss under the KV store: a Database on the simulated disk runs random
// commands (and snapshots) under fsync=always until the disk crashes at a
// random operation — unsynced writes dropped or torn — then reopens. Every
// acknowledged command must be there; the one command in flight at the
// crash may or may not be, but never in part (an MSET is all or none).
//
// SYNAP_SIM_SEEDS=N runs N seeds (default 60, tests/support/sim_seeds.h);
// SYNAP_SIM_SEED=S runs seed S.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "engine/db/database.h"
#include "engine/io/sim_backend.h"
#include "tests/support/forwarding_backend.h"
#include "tests/support/sim_db.h"
#include "tests/support/sim_seeds.h"

namespace synap::db {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;  // the clock never moves: expiries are far ahead

// key -> (value, expire_at_ms)
using State = std::map<std::string, std::pair<std::string, int64_t>>;

struct Command {
  int kind = 0;  // 0 set, 1 del, 2 incr, 3 append, 4 mset, 5 expire, 6 persist
  std::string key, key2, value;
  int64_t n = 0;
};

Command RandomCommand(std::mt19937_64& rng) {
  Command c;
  c.kind = static_cast<int>(rng() % 7);
  c.key = (c.kind == 2 ? "n" : "s") + std::to_string(rng() % 12);
  c.key2 = "s" + std::to_string(rng() % 12);
  c.value = std::string(1 + rng() % 300, static_cast<char>('a' + rng() % 26));
  c.n = static_cast<int64_t>(rng() % 1000) + 1;
  return c;
}

// What the command does to the state (the model).
void Apply(const Command& c, State* s) {
  switch (c.kind) {
    case 0: (*s)[c.key] = {c.value, 0}; break;
    case 1: s->erase(c.key); break;
    case 2: {
      auto it = s->find(c.key);
      int64_t v = it == s->end() ? 0 : std::stoll(it->second.first);
      int64_t exp = it == s->end() ? 0 : it->second.second;
      (*s)[c.key] = {std::to_string(v + c.n), exp};
      break;
    }
    case 3: {
      auto& e = (*s)[c.key];
      e.first += c.value;
      break;
    }
    case 4:
      (*s)[c.key] = {c.value, 0};
      (*s)[c.key2] = {c.value + "2", 0};
      break;
    case 5:
      if (s->count(c.key)) (*s)[c.key].second = kNow + c.n * 1000000;
      break;
    case 6:
      if (s->count(c.key)) (*s)[c.key].second = 0;
      break;
  }
}

Status Run(const Command& c, kv::KvStore& kv) {
  using SV = std::string_view;
  switch (c.kind) {
    case 0: return kv.Set(c.key, c.value, {}, nullptr).status();
    case 1: {
      std::vector<SV> k = {c.key};
      return kv.Del(k).status();
    }
    case 2: return kv.IncrBy(c.key, c.n).status();
    case 3: return kv.Append(c.key, c.value).status();
    case 4: {
      std::string v2 = c.value + "2";
      std::vector<SV> k = {c.key, c.key2}, v = {c.value, v2};
      return kv.MSet(k, v, false).status();
    }
    case 5: return kv.Expire(c.key, kv::ExpiryUnit::kAtMillis, kNow + c.n * 1000000, kv::ExpireCond::kAlways).status();
    case 6: return kv.Persist(c.key).status();
  }
  return Status::Ok();
}

State Dump(kv::KvStore& kv) {
  State out;
  uint64_t cursor = 0;
  do {
    std::vector<std::string> keys;
    cursor = *kv.Scan(cursor, "", 1000, &keys);
    for (const std::string& k : keys) {
      std::string v;
      if (!*kv.Get(k, &v)) continue;
      int64_t ttl = *kv.PTtl(k);
      out[k] = {v, ttl < 0 ? 0 : kNow + ttl};
    }
  } while (cursor != 0);
  return out;
}

void RunSeed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (SYNAP_SIM_SEED=" + std::to_string(seed) + " to replay)");
  std::mt19937_64 rng(seed);
  io::SimBackend sim(seed);
  DbOptions opts = testing::SimDbOptions(&sim, seed);
  opts.kv.clock = [] { return kNow; };

  State acked;
  std::optional<Command> in_flight;
  for (int cycle = 0; cycle < 3; cycle++) {
    auto db = Database::Open("/db", opts);
    ASSERT_TRUE(db.ok()) << "cycle " << cycle << ": " << db.status().ToString();
    State got = Dump((*db)->kv());
    if (got != acked) {
      ASSERT_TRUE(in_flight.has_value()) << "cycle " << cycle << ": state differs and no command was in flight";
      State with = acked;
      Apply(*in_flight, &with);
      ASSERT_EQ(got, with) << "cycle " << cycle << ": neither before nor after the in-flight command";
    }
    acked = got;
    in_flight.reset();
    sim.crash_after(rng() % 600);
    for (int i = 0; i < 200 && !sim.crashed(); i++) {
      if (rng() % 40 == 0) {
        (void)(*db)->Snapshot();  // may fail at the crash; changes no state
        continue;
      }
      Command c = RandomCommand(rng);
      Status st = Run(c, (*db)->kv());
      if (st.code() == Status::Code::kTooLarge) continue;  // APPEND past the value limit: refused, nothing written
      if (st.ok()) {
        Apply(c, &acked);
      } else {
        in_flight = c;
        break;
      }
    }
    if (!sim.crashed()) sim.crash();  // power loss right now
    (void)(*db)->Close();
    db->reset();
    sim.restart();
  }
}

// A failed fsync poisons the log: the write that met it fails, stays
// invisible, every later write fails with ReadOnly, reads go on; a reopen
// recovers and writes again.
TEST(KvSimCrash, FailedFsyncTurnsTheStoreReadOnlyUntilReopened) {
  io::SimBackend sim(1);
  DbOptions opts;
  opts.make_backend = [&] { return std::make_unique<testing::ForwardingBackend>(&sim); };
  opts.wal.preallocate = log::Preallocate::kNone;
  opts.snapshot.interval_secs = 0;
  opts.snapshot.operation_threshold = 0;
  auto db = Database::Open("/db", opts);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  kv::KvStore& kv = (*db)->kv();
  ASSERT_TRUE(kv.Set("a", "1", {}, nullptr).ok());
  sim.inject_error(io::SimBackend::Op::kSync, EIO);
  Result<kv::Outcome> failed = kv.Set("b", "2", {}, nullptr);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kIoError) << failed.status().ToString();
  Result<int64_t> later = kv.IncrBy("n", 1);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), Status::Code::kReadOnly) << later.status().ToString();
  std::string v;
  EXPECT_TRUE(*kv.Get("a", &v));  // reads go on
  EXPECT_EQ(v, "1");
  EXPECT_FALSE(*kv.Get("b", &v));  // the failed write never became visible
  (void)(*db)->Close();
  db->reset();
  auto again = Database::Open("/db", opts);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(*(*again)->kv().Get("a", &v));
  EXPECT_TRUE((*again)->kv().Set("c", "3", {}, nullptr).ok());
}

// Holds the log's writes while closed: a submission with a prepared write
// waits until Open(), so a logged command stays pending (not yet
// acknowledged) for as long as a test needs.
class GatedBackend : public testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  void Close() {
    std::lock_guard lk(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until a write is held.
  void WaitHeld() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return held_; });
  }
  Status submit_and_wait(unsigned n, int64_t timeout_us, std::vector<io::Completion>* out) override {
    if (in_flight() > 0) {
      std::unique_lock lk(mu_);
      held_ = !open_;
      cv_.notify_all();
      cv_.wait(lk, [&] { return open_; });
      held_ = false;
    }
    return ForwardingBackend::submit_and_wait(n, timeout_us, out);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  bool held_ = false;
};

// A PERSIST logged while its key was alive, still waiting for its fsync when
// a snapshot copies the key after its TTL passed: the snapshot must keep the
// key, or replaying the PERSIST after a restart finds nothing and the
// acknowledged PERSIST is lost.
TEST(KvSimCrash, SnapshotKeepsAnExpiredKeyWhosePersistAwaitsItsFsync) {
  io::SimBackend sim(1);
  auto gate = std::make_shared<GatedBackend>(&sim);
  std::atomic<int64_t> now{kNow};
  // The snapshot's copy of the table is the first to read the clock after
  // the TTL passes; it opens the gate under the shard's shared lock, so the
  // PERSIST is acknowledged but cannot reach the table before the copy ends.
  std::atomic<bool> open_at_next_read{false};
  DbOptions opts = testing::SimDbOptions(&sim, 2);
  opts.make_backend = [&] { return std::make_unique<testing::ForwardingBackend>(gate.get()); };
  opts.kv.shards = 1;  // one shard, copied in one step
  opts.kv.clock = [&] {
    if (open_at_next_read.exchange(false)) gate->Open();
    return now.load();
  };
  auto db = Database::Open("/db", opts);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  kv::KvStore& kv = (*db)->kv();
  kv::SetArgs px;
  px.unit = kv::ExpiryUnit::kMillis;
  px.expire = 1000;
  ASSERT_TRUE(kv.Set("k", "v", px, nullptr).ok());

  gate->Close();
  Result<kv::Outcome> persisted = Status::Ok();
  std::thread t([&] { persisted = kv.Persist("k"); });
  gate->WaitHeld();  // PERSIST is logged and pending
  now += 2000;       // the TTL passes while it waits for its fsync
  open_at_next_read = true;
  ASSERT_TRUE((*db)->Snapshot().ok());
  t.join();
  ASSERT_TRUE(persisted.ok()) << persisted.status().ToString();
  ASSERT_EQ(*persisted, kv::Outcome::kDone);

  sim.crash();
  (void)(*db)->Close();
  db->reset();
  sim.restart();
  auto again = Database::Open("/db", opts);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::string v;
  ASSERT_TRUE(*(*again)->kv().Get("k", &v)) << "the acknowledged PERSIST was lost";
  EXPECT_EQ(v, "v");
  EXPECT_EQ(*(*again)->kv().PTtl("k"), -1);
}

TEST(KvSimCrash, AcknowledgedCommandsSurvivePowerLoss) {
  if (std::optional<uint64_t> one = testing::SimOnlySeed()) {
    RunSeed(*one);
    return;
  }
  uint64_t seeds = testing::SimSeedCount(60);
  for (uint64_t s = 1; s <= seeds && !HasFatalFailure(); s++) RunSeed(s);
}

}  // namespace
}  // namespace synap::db
