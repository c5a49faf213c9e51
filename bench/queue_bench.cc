// Queue benchmarks (Google Benchmark):
//   ./build/bench/synap_queue_bench --benchmark_format=json --benchmark_min_time=2
//
// BM_PublishDurable   publish one 16-byte message under fsync=always, 1/8/64 producers;
//                     counters p50_us / p99_us: per-publish latency (averaged over threads)
// BM_RoundTrip        publish, consume and ack one message under fsync=always, one thread
// BM_ConsumeAck       consume 100 + ack 100 under fsync=never (messages pre-published
//                     in batches outside the timing), one thread
//
// Data directories live under $SYNAP_BENCH_DIR (default ./data/bench).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
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

using Clock = std::chrono::steady_clock;

void ReportLatency(benchmark::State& state, std::vector<double>* us) {
  if (us->empty()) return;
  std::sort(us->begin(), us->end());
  auto at = [&](double q) { return (*us)[std::min(us->size() - 1, static_cast<size_t>(q * us->size()))]; };
  state.counters["p50_us"] = benchmark::Counter(at(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(at(0.99), benchmark::Counter::kAvgThreads);
}

void BM_PublishDurable(benchmark::State& state) {
  Database* db = Shared("queue-always", "always");
  PublishArgs a;
  a.payload = "0123456789abcdef";
  std::vector<double> us;
  for (auto _ : state) {
    Clock::time_point t0 = Clock::now();
    auto r = db->queues().Publish("q", std::span(&a, 1));
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  ReportLatency(state, &us);
}
BENCHMARK(BM_PublishDurable)->Threads(1)->Threads(8)->Threads(64)->UseRealTime();

void BM_RoundTrip(benchmark::State& state) {
  Database* db = Shared("queue-roundtrip", "always");
  PublishArgs a;
  a.payload = "0123456789abcdef";
  std::vector<double> us;
  for (auto _ : state) {
    Clock::time_point t0 = Clock::now();
    auto id = db->queues().Publish("q", std::span(&a, 1));
    auto got = db->queues().Consume("q", "c", 1, 1000);
    if (!id.ok() || !got.ok() || got->size() != 1) {
      state.SkipWithError("round trip failed");
      break;
    }
    uint64_t mid = got->front().id;
    if (!db->queues().Ack("q", std::span(&mid, 1)).ok()) state.SkipWithError("ack failed");
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  state.SetItemsProcessed(state.iterations());
  ReportLatency(state, &us);
}
BENCHMARK(BM_RoundTrip)->UseRealTime();

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
