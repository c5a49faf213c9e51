// Pub/sub fan-out (Google Benchmark): one publisher, N subscribers matching
// every message through a wildcard ("events.*" and "events.#"); items are
// deliveries (messages x subscribers), the figure issue 5 sets at 1 M/s.
//   ./build/bench/synap_pubsub_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "engine/pubsub/pubsub.h"

namespace {

using synap::pubsub::PubSub;

void BM_FanOut(benchmark::State& state) {
  PubSub ps;
  std::vector<std::shared_ptr<synap::pubsub::Subscription>> subs;
  synap::pubsub::SubscriptionOptions o;
  o.capacity = 4096;  // drop-oldest keeps memory bounded while nobody reads
  for (int64_t i = 0; i < state.range(0); i++) subs.push_back(*ps.Subscribe(i % 2 ? "events.*" : "events.#", o));
  std::string payload(64, 'x');
  uint64_t deliveries = 0;
  for (auto _ : state) deliveries += *ps.Publish("events.created", payload);
  state.SetItemsProcessed(static_cast<int64_t>(deliveries));
}
BENCHMARK(BM_FanOut)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
