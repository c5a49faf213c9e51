// Queue benchmarks (Google Benchmark):
//   ./build/bench/synap_queue_bench --benchmark_format=json --benchmark_min_time=2
//
// BM_PublishDurable   publish one 16-byte message under fsync=always, 1/8/64 producers
// BM_ConsumeAck       consume 100 + ack 100 under fsync=never (messages pre-published
//                     in batches outside the timing), one thread
//
// Data directories live under $SYNAP_BENCH_DIR (default ./data/bench).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

#include "engine/db/database.h"

namespace {

using synap::db::Database;
using synap::db::DbOptions;
using synap::queue::PublishArgs;

Database* Shared(const std::string& name, const char* fsync) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Database>> dbs;
  std::lock_guard<std::mutex> lk(mu);
  auto& db = dbs[name];
  if (db != nullptr) return db.get();
  const char* base = std::getenv("SYNAP_BENCH_DIR");
  std::string dir = std::string(base != nullptr ? base : "data/bench") + "/" + name;
  std::filesystem::remove_all(dir);
  DbOptions o;
  (void)o.Set("wal.fsync_mode", fsync);
  o.snapshot.interval_secs = 0;
  o.snapshot.operation_threshold = 0;
  synap::queue::QueueSettings s;
  s.max_depth = 100'000'000;
  auto r = Database::Open(dir, o);
  if (!r.ok() || !(*r)->queues().Declare("q", s).ok()) std::abort();
  db = std::move(*r);
  return db.get();
}

void BM_PublishDurable(benchmark::State& state) {
  Database* db = Shared("queue-always", "always");
  PublishArgs a;
  a.payload = "0123456789abcdef";
  for (auto _ : state) {
    auto r = db->queues().Publish("q", std::span(&a, 1));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PublishDurable)->Threads(1)->Threads(8)->Threads(64)->UseRealTime();

void BM_ConsumeAck(benchmark::State& state) {
  Database* db = Shared("queue-never", "never");
  std::vector<PublishArgs> batch(1000);
  for (auto& a : batch) a.payload = "0123456789abcdef";
  for (auto _ : state) {
    state.PauseTiming();
    if (db->queues().Stats("q")->ready < 100)
      for (int i = 0; i < 10; i++) (void)db->queues().Publish("q", batch);
    state.ResumeTiming();
    auto got = db->queues().Consume("q", "c", 100, 0);
    if (!got.ok() || got->empty()) {
      state.SkipWithError("nothing to consume");
      break;
    }
    std::vector<uint64_t> ids;
    for (const auto& m : *got) ids.push_back(m.id);
    if (!db->queues().Ack("q", ids).ok()) state.SkipWithError("ack failed");
    state.SetItemsProcessed(state.items_processed() + static_cast<int64_t>(ids.size()));
  }
}
BENCHMARK(BM_ConsumeAck)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
