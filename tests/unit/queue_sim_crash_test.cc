// Power loss under the queues: publishes, consumes, acks, nacks and
// snapshots run under fsync=always on the simulated disk until it crashes at
// a random operation (unsynced writes dropped or torn); then the queue is
// reopened and drained. Every acknowledged publish that was not
// acknowledged as acked comes back; no acknowledged ack's message ever does;
// ids and priorities are kept. The one call in flight at the crash may go
// either way.
//
// SYNAP_SIM_SEEDS=N runs N seeds (default 100, tests/support/sim_seeds.h);
// SYNAP_SIM_SEED=S runs seed S.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "engine/db/database.h"
#include "engine/io/sim_backend.h"
#include "tests/support/sim_db.h"
#include "tests/support/sim_seeds.h"

namespace synap::queue {
namespace {

struct Published {
  uint8_t priority;
  std::string payload;
};

void RunSeed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (SYNAP_SIM_SEED=" + std::to_string(seed) + " to replay)");
  std::mt19937_64 rng(seed);
  io::SimBackend sim(seed);
  db::DbOptions opts = testing::SimDbOptions(&sim, seed);
  opts.queue.clock = [] { return int64_t{1'700'000'000'000}; };  // no deadline ever passes

  std::map<uint64_t, Published> live;     // published (acknowledged), not acked
  std::set<uint64_t> acked;               // acks acknowledged
  std::set<std::string> maybe_payloads;   // a publish in flight at the crash
  std::set<uint64_t> maybe_acked;         // an ack in flight at the crash
  uint64_t counter = 0;
  for (int cycle = 0; cycle < 4; cycle++) {  // the last one only verifies
    auto db = db::Database::Open("/q", opts);
    ASSERT_TRUE(db.ok()) << "cycle " << cycle << ": " << db.status().ToString();
    QueueStore& qs = (*db)->queues();
    // Drain: everything that must come back, comes back; nothing acked does.
    std::set<uint64_t> seen;
    while (true) {
      auto got = qs.Consume("jobs", "verify", 100, 0);
      if (!got.ok()) {
        ASSERT_TRUE(got.status().IsNotFound()) << got.status().ToString();  // never declared yet
        break;
      }
      if (got->empty()) break;
      std::vector<uint64_t> ids;
      for (const Delivery& d : *got) {
        ASSERT_EQ(acked.count(d.id), 0u) << "acked message " << d.id << " came back";
        ASSERT_TRUE(seen.insert(d.id).second) << "message " << d.id << " delivered twice in one drain";
        auto it = live.find(d.id);
        if (it != live.end()) {
          EXPECT_EQ(d.priority, it->second.priority) << d.id;
          EXPECT_EQ(d.payload, it->second.payload) << d.id;
        } else {
          ASSERT_TRUE(maybe_acked.count(d.id) != 0 || maybe_payloads.count(d.payload) != 0)
              << "message " << d.id << " (" << d.payload << ") was never published";
        }
        ids.push_back(d.id);
      }
      ASSERT_TRUE(qs.Ack("jobs", ids).ok());
    }
    for (const auto& [id, m] : live) ASSERT_EQ(seen.count(id), 1u) << "published message " << id << " was lost";
    for (uint64_t id : seen) acked.insert(id);
    if (std::getenv("SYNAP_SIM_VERBOSE") != nullptr)
      std::fprintf(stderr, "seed %llu cycle %d: drained %zu, acked so far %zu\n", static_cast<unsigned long long>(seed),
                   cycle, seen.size(), acked.size());
    live.clear();
    maybe_payloads.clear();
    maybe_acked.clear();
    if (cycle == 3) break;
    QueueSettings settings;
    settings.max_retries = 1'000'000;  // nacks requeue: nothing goes to the dead letters here
    ASSERT_TRUE(qs.Declare("jobs", settings).ok());

    sim.crash_after(rng() % 500);
    std::vector<Delivery> held;
    for (int i = 0; i < 150 && !sim.crashed(); i++) {
      uint64_t dice = rng() % 10;
      if (dice < 4) {
        PublishArgs a;
        std::string payload = "m" + std::to_string(counter++);
        a.payload = payload;
        a.priority = static_cast<int>(rng() % 10);
        auto r = qs.Publish("jobs", std::span(&a, 1));
        if (!r.ok()) {
          maybe_payloads.insert(payload);
          break;
        }
        live[r->front()] = Published{static_cast<uint8_t>(a.priority), payload};
      } else if (dice < 6) {
        auto got = qs.Consume("jobs", "c", 1 + rng() % 4, 0);
        if (!got.ok()) break;
        held.insert(held.end(), got->begin(), got->end());
      } else if (dice < 8 && !held.empty()) {
        uint64_t id = held.back().id;
        held.pop_back();
        Status st = qs.Ack("jobs", std::span(&id, 1));
        if (!st.ok()) {
          maybe_acked.insert(id);  // it may come back, or not
          live.erase(id);
          break;
        }
        live.erase(id);
        acked.insert(id);
      } else if (dice < 9 && !held.empty()) {
        uint64_t id = held.back().id;
        held.pop_back();
        if (!qs.Nack("jobs", id, true).ok()) break;
      } else {
        (void)(*db)->Snapshot();  // may fail at the crash; changes no queue state
      }
    }
    if (!sim.crashed()) sim.crash();
    (void)(*db)->Close();
    db->reset();
    sim.restart();
  }
}

TEST(QueueSimCrash, AtLeastOnceAndAcksNeverUndone) {
  if (std::optional<uint64_t> one = testing::SimOnlySeed()) {
    RunSeed(*one);
    return;
  }
  uint64_t seeds = testing::SimSeedCount(100);
  for (uint64_t s = 1; s <= seeds && !HasFatalFailure(); s++) RunSeed(s);
}

}  // namespace
}  // namespace synap::queue
