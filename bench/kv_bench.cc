// KV benchmarks (Google Benchmark), shaped like RocksDB's db_bench runs in
// ../shared/peers/rocksdb_bench.sh so the two can stand side by side: 16-byte
// keys, 100-byte values, 1 M keys for reads.
//
//   ./build/bench/synap_kv_bench --benchmark_format=json --benchmark_min_time=2
//
// BM_Get            in-process GET of a random present key of 1 M (1 and 2 threads)
// BM_GetHot         the same over 10 K keys, a working set that stays in cache
// BM_SetNever       blocking SET under fsync=never (returns when written)
// BM_SetAsync       SET returning a ticket (nothing waits): the engine's own path
// BM_DurableSet     blocking SET under fsync=always, 1/8/64 writers
//
// Data directories live under $SYNAP_BENCH_DIR (default ./data/bench).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>

#include "engine/db/database.h"

namespace {

using synap::db::Database;
using synap::db::DbOptions;

constexpr uint64_t kKeys = 1'000'000;
constexpr size_t kValueBytes = 100;

std::string BenchDir(const std::string& name) {
  const char* base = std::getenv("SYNAP_BENCH_DIR");
  std::string dir = std::string(base != nullptr ? base : "data/bench") + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// "key" + 13 decimal digits: 16 bytes, as db_bench's keys. Written by hand:
// snprintf alone would cost as much as a GET.
void KeyOf(uint64_t i, char out[32]) {
  std::memcpy(out, "key", 3);
  for (int d = 15; d >= 3; d--, i /= 10) out[d] = static_cast<char>('0' + i % 10);
  out[16] = '\0';
}

DbOptions Options(const char* fsync) {
  DbOptions o;
  (void)o.Set("wal.fsync_mode", fsync);
  o.snapshot.interval_secs = 0;  // measure the commands, not background snapshots
  o.snapshot.operation_threshold = 0;
  return o;
}

// One database per benchmark family, opened on first use and kept for the
// process (Google Benchmark runs each thread count against it).
Database* Shared(const std::string& name, const char* fsync, uint64_t preload) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Database>> dbs;
  std::lock_guard<std::mutex> lk(mu);
  auto& db = dbs[name];
  if (db != nullptr) return db.get();
  auto r = Database::Open(BenchDir(name), Options(fsync));
  if (!r.ok()) {
    std::fprintf(stderr, "open: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  db = std::move(*r);
  if (preload > 0) {
    std::string value(kValueBytes, 'v');
    synap::log::Lsn last = 0;
    char key[32];
    for (uint64_t i = 0; i < preload; i++) {
      KeyOf(i, key);
      if (!db->kv().Set(std::string_view(key, 16), value, {}, nullptr, &last).ok()) std::abort();
    }
    if (!db->wal().WaitFor(last).ok()) std::abort();
    db->kv().DrainAll();
  }
  return db.get();
}

void GetLoop(benchmark::State& state, Database* db, uint64_t keys) {
  std::mt19937_64 rng(state.thread_index() + 1);
  std::string value;
  char key[32];
  uint64_t found = 0;
  for (auto _ : state) {
    KeyOf(rng() % keys, key);
    found += *db->kv().Get(std::string_view(key, 16), &value);
  }
  if (found != static_cast<uint64_t>(state.iterations())) state.SkipWithError("a preloaded key was missing");
  state.SetItemsProcessed(state.iterations());
}

// 1 M keys (~250 MB): every GET misses the caches, as RocksDB's readrandom does.
void BM_Get(benchmark::State& state) { GetLoop(state, Shared("get", "never", kKeys), kKeys); }
BENCHMARK(BM_Get)->Threads(1)->Threads(2)->UseRealTime();

// 10 K keys (~2.5 MB): the working set stays in cache; what the code path costs.
constexpr uint64_t kHotKeys = 10'000;
void BM_GetHot(benchmark::State& state) { GetLoop(state, Shared("get-hot", "never", kHotKeys), kHotKeys); }
BENCHMARK(BM_GetHot)->Threads(1)->Threads(2)->UseRealTime();

void SetLoop(benchmark::State& state, Database* db, bool async) {
  std::mt19937_64 rng(state.thread_index() + 1);
  std::string value(kValueBytes, 'v');
  char key[32];
  synap::log::Lsn ticket = 0;
  for (auto _ : state) {
    KeyOf(rng() % kKeys, key);
    auto r = db->kv().Set(std::string_view(key, 16), value, {}, nullptr, async ? &ticket : nullptr);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  if (async && ticket != 0) (void)db->wal().WaitFor(ticket);  // leave nothing in flight
  state.SetItemsProcessed(state.iterations());
}

void BM_SetNever(benchmark::State& state) { SetLoop(state, Shared("set-never", "never", 0), false); }
BENCHMARK(BM_SetNever)->Threads(1)->Threads(2)->UseRealTime();

void BM_SetAsync(benchmark::State& state) { SetLoop(state, Shared("set-async", "never", 0), true); }
BENCHMARK(BM_SetAsync)->Threads(1)->Threads(2)->UseRealTime();

void BM_DurableSet(benchmark::State& state) { SetLoop(state, Shared("set-always", "always", 0), false); }
BENCHMARK(BM_DurableSet)->Threads(1)->Threads(8)->Threads(64)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
