// Stream benchmarks (Google Benchmark):
//   ./build/bench/synap_stream_bench --benchmark_format=json --benchmark_min_time=2
//
// BM_AppendBatch/<event bytes>/<rooms>/<fsync>   producers append batches of
//     64 events (a Kafka producer's batch); thread i writes room i % rooms.
//     fsync: 0 always, 1 periodic (10 ms), 2 never. Bytes/s counts event payloads.
// BM_AppendOne/<event bytes>/<rooms>              fsync=always, one event per
//     append, so group commit is all the batching there is (64 producers).
// BM_ReadSequential/<event bytes>                 reads a pre-filled room from
//     offset 0 to its end in reads of up to 1 MiB (page cache warm).
//
// Data directories live under $SYNAP_BENCH_DIR (default ./data/bench).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/db/database.h"

namespace {

using synap::db::Database;
using synap::db::DbOptions;
using synap::stream::EventIn;

const char* kFsync[] = {"always", "periodic", "never"};

// One database per configuration, its rooms created before any timing (a
// room under fsync=always zeroes its first segment when created).
Database* Shared(const std::string& name, const char* fsync, int rooms = 0) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Database>> dbs;
  std::lock_guard<std::mutex> lk(mu);
  auto& db = dbs[name];
  if (db != nullptr) return db.get();
  const char* base = std::getenv("SYNAP_BENCH_DIR");
  std::string dir = std::string(base != nullptr ? base : "data/bench") + "/" + name;
  std::filesystem::remove_all(dir);
  DbOptions o;
  o.snapshot.interval_secs = 0;
  o.snapshot.operation_threshold = 0;
  (void)o.Set("stream.fsync", fsync);
  // Keep the disk bounded over long append runs: old segments go (not in
  // the read benchmark's room, which must keep all it was given).
  if (name.rfind("stream-read", 0) != 0) (void)o.Set("stream.retention_bytes", "256M");
  auto r = Database::Open(dir, o);
  if (!r.ok()) std::abort();
  db = std::move(*r);
  for (int i = 0; i < rooms; i++)
    if (!db->streams().CreateRoom("bench-" + std::to_string(i), "").ok()) std::abort();
  return db.get();
}

std::string Room(int i) { return "bench-" + std::to_string(i); }

void BM_AppendBatch(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0));
  int rooms = static_cast<int>(state.range(1));
  const char* fsync = kFsync[state.range(2)];
  Database* db = Shared(std::string("stream-batch-") + fsync + "-" + std::to_string(bytes) + "-" +
                            std::to_string(rooms), fsync, rooms);
  std::string payload(bytes, 'x');
  std::vector<EventIn> batch(64);
  for (EventIn& e : batch) e.payload = payload;
  std::string room = Room(state.thread_index() % rooms);
  for (auto _ : state) {
    auto r = db->streams().Append(room, batch);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size() * bytes));
}
BENCHMARK(BM_AppendBatch)
    ->ArgsProduct({{100, 1024}, {1, 16}, {0, 1, 2}})
    ->Threads(16)
    ->UseRealTime();

void BM_AppendOne(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0));
  int rooms = static_cast<int>(state.range(1));
  Database* db = Shared("stream-one-" + std::to_string(bytes) + "-" + std::to_string(rooms), "always", rooms);
  std::string payload(bytes, 'x');
  EventIn e;
  e.payload = payload;
  std::string room = Room(state.thread_index() % rooms);
  for (auto _ : state) {
    auto r = db->streams().Append(room, std::span(&e, 1));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_AppendOne)->ArgsProduct({{16, 100}, {1, 16}})->Threads(64)->UseRealTime();

void BM_ReadSequential(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0));
  Database* db = Shared("stream-read-" + std::to_string(bytes), "never");
  const std::string room = "read";
  constexpr uint64_t kTotal = 256ull << 20;  // 256 MiB of payload
  uint64_t events = kTotal / bytes;
  if (db->streams().Info(room).status().IsNotFound() || db->streams().Info(room)->next_offset < events) {
    std::string payload(bytes, 'r');
    std::vector<EventIn> batch(std::max<size_t>(1, (1u << 20) / (bytes + 32)));
    for (EventIn& e : batch) e.payload = payload;
    for (uint64_t n = 0; n < events; n += batch.size())
      if (!db->streams().Append(room, batch).ok()) std::abort();
  }
  synap::stream::EventBatch b;
  uint64_t read_events = 0, read_bytes = 0;
  for (auto _ : state) {
    for (uint64_t from = 0; from < events;) {
      auto st = db->streams().Read(room, from, 100000, 1u << 20, 0, &b);
      if (!st.ok() || b.events.empty()) {
        std::string why = "read at " + std::to_string(from) + " failed: " + (st.ok() ? "no event" : st.ToString());
        state.SkipWithError(why.c_str());
        return;
      }
      for (const auto& e : b.events) read_bytes += e.payload_len;
      read_events += b.events.size();
      from = b.next_offset;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(read_events));
  state.SetBytesProcessed(static_cast<int64_t>(read_bytes));
}
BENCHMARK(BM_ReadSequential)->Arg(100)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
