// `synap-cli bench kv`: client threads drive libsynap's KV calls on a data
// directory, as an embedding program would, and report throughput and the
// latency of each call.
//
//   --op set    each operation is synap_set of key (i mod --keys), i the
//               operation's index, so a run of at least --keys operations
//               writes every key; with --async, synap_set_async, keeping up to
//               --window sets per thread unacknowledged (synap_wait on the
//               oldest), the latency being the call to its acknowledgement.
//   --op get    the key space is written first (synap_mset, not timed), then
//               each operation is synap_get_into of a random key.
//   --op mixed  as get, but each operation is a set with probability
//               1 - --read-ratio.
//
// Keys are "bench:" and 12 decimal digits (bench:000000000042); values are
// --value-size bytes of a per-thread pseudo-random fill. After the run the
// directory is closed, reopened (recovery) and its key count checked.
#include <synap/synap.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/synap-cli/bench_engine.h"
#include "tools/synap-cli/command.h"

namespace synap::cli {
namespace {

constexpr size_t kKeyBytes = 18;                 // "bench:" + 12 digits
constexpr uint64_t kMaxKeys = 1000000000000ull;  // what 12 digits number
constexpr size_t kPreloadChunkBytes = 1u << 20;  // one synap_mset record of the preload, about

enum Part : size_t { kPartGet = 0, kPartSet = 1 };
enum class KvOp { kSet, kGet, kMixed };

struct KvFlags {
  EngineFlags common;
  std::string op = "set";
  double read_ratio = 0.5;
  uint64_t keys = 100000;
  bool async = false;
  uint32_t window = 1;
  CLI::Option* read_ratio_opt = nullptr;
  CLI::Option* window_opt = nullptr;
};

// Key i (< kMaxKeys, which --keys enforces): "bench:" and i in 12 digits.
struct Key {
  char bytes[kKeyBytes + 1];
  explicit Key(uint64_t i) {
    std::memcpy(bytes, "bench:", 6);
    for (size_t d = kKeyBytes; d-- > 6; i /= 10) bytes[d] = static_cast<char>('0' + i % 10);
    bytes[kKeyBytes] = '\0';
  }
};

// A thread's random stream (xorshift64*), seeded by its index.
struct Rng {
  uint64_t x;
  explicit Rng(uint32_t seed) : x(0x2545F4914F6CDD1Dull * (seed + 1) | 1) {}
  uint64_t Next() {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return x * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

// ---- preload ----

// Writes keys [0, keys) with synap_mset in chunks of about 1 MiB, claimed
// from `budget` by the threads of a run.
void PreloadThread(synap_db* db, const KvFlags& f, OpBudget* budget, uint32_t id, ThreadTally* t) {
  const size_t per_key = kKeyBytes + f.common.value_size + 16;
  const uint64_t chunk = std::clamp<uint64_t>(kPreloadChunkBytes / per_key, 1, 10000);
  std::vector<uint8_t> value = MakeBenchFill(id, f.common.value_size);
  std::vector<Key> keys;
  std::vector<const void*> kp, vp;
  std::vector<size_t> kl, vl;
  uint64_t first;
  while (uint64_t n = budget->Claim(chunk, &first)) {
    keys.clear();
    for (uint64_t i = 0; i < n; ++i) keys.emplace_back(first + i);
    kp.assign(n, nullptr);
    for (uint64_t i = 0; i < n; ++i) kp[i] = keys[i].bytes;
    kl.assign(n, kKeyBytes);
    vp.assign(n, value.data());
    vl.assign(n, value.size());
    BenchClock::time_point t0 = BenchClock::now();
    int rc = synap_mset(db, n, kp.data(), kl.data(), vp.data(), vl.data(), 0);
    if (rc != SYNAP_OK) {
      t->Fail(rc, "preload: mset of " + std::to_string(n) + " keys");
      budget->Stop();
      return;
    }
    t->Count(t0, BenchClock::now(), n);
  }
}

// ---- the timed threads ----

struct KvRun {
  const KvFlags* f;
  synap_db* db;
  OpBudget* budget;
  KvOp op;
};

// One client thread. Sets go through synap_set, or with --async through
// synap_set_async with up to --window unacknowledged; gets through
// synap_get_into (reads never wait for the log).
void KvThread(const KvRun& k, uint32_t id, ThreadTally* t) {
  const KvFlags& f = *k.f;
  std::vector<uint8_t> value = MakeBenchFill(id, f.common.value_size);
  std::vector<uint8_t> buf(std::max<size_t>(1, f.common.value_size));
  Rng rng(id);
  std::deque<std::pair<synap_ticket, BenchClock::time_point>> pending;  // async sets, oldest first
  auto fail = [&](int rc, const std::string& what) {
    t->Fail(rc, what);
    k.budget->Stop();
  };
  auto wait_oldest = [&]() -> bool {
    auto [ticket, t0] = pending.front();
    pending.pop_front();
    int rc = synap_wait(k.db, ticket);
    if (rc != SYNAP_OK) {
      fail(rc, "wait for set ticket " + std::to_string(ticket));
      return false;
    }
    BenchClock::time_point t1 = BenchClock::now();
    if (k.op == KvOp::kMixed) t->parts[kPartSet].Record(NanosOf(t1 - t0));
    t->Count(t0, t1, 1);
    return true;
  };
  uint64_t index;
  while (k.budget->Claim(1, &index) == 1) {
    const bool is_get = k.op == KvOp::kGet || (k.op == KvOp::kMixed && rng.Unit() < f.read_ratio);
    const Key key(k.op == KvOp::kSet ? index % f.keys : rng.Below(f.keys));
    BenchClock::time_point t0 = BenchClock::now();
    if (is_get) {
      size_t len = 0;
      int rc = synap_get_into(k.db, key.bytes, kKeyBytes, buf.data(), buf.size(), &len);
      if (rc != SYNAP_OK && rc != SYNAP_NOTFOUND) {
        fail(rc, std::string("get ") + key.bytes);
        break;
      }
      BenchClock::time_point t1 = BenchClock::now();
      if (rc == SYNAP_NOTFOUND) ++t->aux;
      if (k.op == KvOp::kMixed) t->parts[kPartGet].Record(NanosOf(t1 - t0));
      t->Count(t0, t1, 1);
    } else if (f.async) {
      synap_ticket ticket = 0;
      int rc = synap_set_async(k.db, key.bytes, kKeyBytes, value.data(), value.size(), 0, 0, &ticket);
      if (rc != SYNAP_OK) {
        fail(rc, std::string("set_async ") + key.bytes);
        break;
      }
      pending.emplace_back(ticket, t0);
      if (pending.size() >= f.window && !wait_oldest()) break;
    } else {
      int rc = synap_set(k.db, key.bytes, kKeyBytes, value.data(), value.size());
      if (rc != SYNAP_OK) {
        fail(rc, std::string("set ") + key.bytes);
        break;
      }
      BenchClock::time_point t1 = BenchClock::now();
      if (k.op == KvOp::kMixed) t->parts[kPartSet].Record(NanosOf(t1 - t0));
      t->Count(t0, t1, 1);
    }
  }
  while (!pending.empty() && t->error == SYNAP_OK)
    if (!wait_oldest()) break;
}

// ---- run ----

// Checks the flags CLI11 cannot relate to each other; 0 or the exit code.
int CheckKvFlags(const KvFlags& f) {
  const char* problem = nullptr;
  if (f.read_ratio_opt->count() > 0 && f.op != "mixed") problem = "--read-ratio applies to --op mixed only";
  if (f.window_opt->count() > 0 && !f.async) problem = "--window applies with --async only";
  if (f.async && f.op == "get") problem = "--async applies to sets (--op set or mixed)";
  if (problem == nullptr) return 0;
  std::fprintf(stderr, "synap-cli bench kv: %s\n", problem);
  return kBenchExitConfig;
}

int RunBenchKv(const KvFlags& f) {
  if (int rc = CheckKvFlags(f); rc != 0) return rc;
  const EngineFlags& c = f.common;
  BenchEngine engine;
  if (int rc = engine.Open(c); rc != 0) return rc;
  EngineReport r;
  r.flags = &c;
  r.engine = &engine;
  r.op = f.op;
  r.unit = "ops";
  r.check_what = "keys";
  r.preload_what = "keys";
  std::string message;

  // The key space, for reads.
  if (f.op != "set") {
    OpBudget preload(f.keys, 0);
    ProgressSpec spec{"bench kv preload", "keys", f.keys, 0};
    ThreadRun run = RunThreads(
        std::min<uint32_t>(c.writers, 8), std::min<uint32_t>(c.writers, 8), &preload,
        [&](uint32_t id, ThreadTally* t) { PreloadThread(engine.db(), f, &preload, id, t); },
        ProgressWanted(c.no_progress) ? &spec : nullptr);
    if (int rc = run.FirstError(&message); rc != SYNAP_OK) {
      std::fprintf(stderr, "synap-cli bench kv: %s\n", message.c_str());
      return ExitCodeFor(rc);
    }
    r.preloaded = run.Done(run.tallies.size());
    r.preload_sec = run.ElapsedSec(run.tallies.size());
  }

  const bool mixed = f.op == "mixed";
  OpBudget budget(c.RecordLimit(), c.duration_sec);
  KvRun k{&f, engine.db(), &budget, f.op == "set" ? KvOp::kSet : mixed ? KvOp::kMixed : KvOp::kGet};
  r.stats_before = engine.Stats();
  ProgressSpec spec{"bench kv", "ops", c.RecordLimit() == UINT64_MAX ? 0 : c.RecordLimit(), c.duration_sec};
  ThreadRun run = RunThreads(
      c.writers, c.writers, &budget, [&](uint32_t id, ThreadTally* t) { KvThread(k, id, t); },
      ProgressWanted(c.no_progress) ? &spec : nullptr);
  r.stats_after = engine.Stats();
  int failed = run.FirstError(&message);
  LatencyHistogram hist = run.Hist(c.writers);
  LatencyHistogram get = run.Part(c.writers, kPartGet), set = run.Part(c.writers, kPartSet);
  r.figures = {run.Done(c.writers), c.value_size, run.ElapsedSec(c.writers), &hist};
  r.calls = run.Calls(c.writers);
  r.timed_out = budget.timed_out();
  if (mixed) r.parts = {{"get", &get}, {"set", &set}};
  r.latency_what = f.op == "get" ? "get call" : mixed ? "call (get or set)" : f.async ? "set_async->ack" : "set call";

  int closed = engine.Close(&r.close_ms);
  if (failed != SYNAP_OK || closed != SYNAP_OK) {
    std::fprintf(stderr, "synap-cli bench kv: failed after %llu operations: %s\n",
                 static_cast<unsigned long long>(r.figures.records),
                 failed != SYNAP_OK ? message.c_str() : synap_last_error());
    if (failed == SYNAP_ETOOLARGE) PrintLimitHint();
    return failed != SYNAP_OK ? ExitCodeFor(failed) : kBenchExitFailed;
  }

  // Reopen: every key written must be there.
  if (int rc = engine.Reopen(c, &r.open_ms); rc != 0) return rc;
  r.recovery_stats = engine.Stats();
  r.expected = f.op == "set" ? std::min(r.figures.records, f.keys) : f.keys;
  synap_dbsize(engine.db(), &r.found);
  size_t len = 0;
  const Key first(0);
  int got = synap_get_into(engine.db(), first.bytes, kKeyBytes, nullptr, 0, &len);
  r.verified = r.found == r.expected && (r.expected == 0 || (got == SYNAP_OK && len == c.value_size));
  double unused_ms;
  engine.Close(&unused_ms);

  uint64_t misses = run.Aux(c.writers);
  std::vector<std::string> lines;
  {
    char line[256];
    std::snprintf(line, sizeof line, "keys         %llu in the key space (bench:000000000000 on)%s",
                  static_cast<unsigned long long>(f.keys),
                  f.async ? (", async, window " + std::to_string(f.window)).c_str() : "");
    lines.emplace_back(line);
    if (mixed) {
      std::snprintf(line, sizeof line, "mix          read ratio %.2f: %llu gets, %llu sets", f.read_ratio,
                    static_cast<unsigned long long>(get.count()), static_cast<unsigned long long>(set.count()));
      lines.emplace_back(line);
    }
    if (f.op != "set") {
      std::snprintf(line, sizeof line, "misses       %llu gets found no key", static_cast<unsigned long long>(misses));
      lines.emplace_back(line);
    }
  }
  PrintEngineReport(
      r,
      [&](JsonOut& j) {
        j.U64("keys", f.keys).Bool("async", f.async).U64("window", f.async ? f.window : 1);
        if (mixed) j.Num("read_ratio", f.read_ratio, 3);
        j.U64("gets", f.op == "get" ? r.calls : get.count()).U64("misses", misses);
      },
      lines);
  std::fflush(stdout);
  if (!r.verified) {
    std::fprintf(stderr, "synap-cli bench kv: after the reopen %s holds %llu keys, expected %llu%s\n", c.dir.c_str(),
                 static_cast<unsigned long long>(r.found), static_cast<unsigned long long>(r.expected),
                 got == SYNAP_OK && len != c.value_size ? " (and key 0 has the wrong length)" : "");
    return kBenchExitFailed;
  }
  return 0;
}

RunFn SetupBenchKv(CLI::App* cmd) {
  auto f = std::make_shared<KvFlags>();
  cmd->add_option("--op", f->op, "set, get (of a key space written first, not timed), or mixed (gets and sets)")
      ->check(CLI::IsMember({"set", "get", "mixed"}))
      ->capture_default_str();
  f->read_ratio_opt =
      cmd->add_option("--read-ratio", f->read_ratio, "--op mixed: the share of operations that are gets")
          ->check(CLI::Range(0.0, 1.0))
          ->capture_default_str();
  cmd->add_option("--keys", f->keys,
                  "Size of the key space: keys bench:000000000000 .. (--op set writes key i mod --keys; get and "
                  "mixed pick keys at random)")
      ->check(CLI::Range(uint64_t{1}, kMaxKeys))
      ->capture_default_str();
  cmd->add_flag("--async", f->async,
                "Sets through synap_set_async + synap_wait, with --window sets per writer unacknowledged (gets "
                "stay synchronous)");
  f->window_opt = AddWindowFlag(cmd, &f->window,
                                "--async: sets each writer keeps unacknowledged before waiting for the oldest (1: "
                                "wait for each, like a request/reply client; larger: a pipelining producer)");
  AddEngineFlags(cmd, &f->common, EngineModel::kKv, "kv", "./data/kv-bench",
                 {"Client threads, each with one call outstanding (--async: up to --window sets)",
                  "Total operations; each thread claims the next until they are done or --duration has passed",
                  "Bytes per value (k/M suffixes: 1024-based; kv.max_value_bytes applies)"});
  cmd->footer(
      "Keys are bench:<12 digits>; values are --value-size pseudo-random bytes. After the run the directory is "
      "closed, reopened and its key count checked.\n"
      "Exit status: 0 ok; 1 engine failure, a directory in use, or the reopened data does not match; 2 "
      "configuration refused (a bad flag or option, a value over an engine limit, data in --dir without --fresh).");
  return [f]() -> int { return RunBenchKv(*f); };
}

}  // namespace

SYNAP_CLI_GROUP("bench", "Measure the engine");
SYNAP_CLI_COMMAND("bench kv", "Set/get throughput and latency of the embedded KV store, through libsynap",
                  SetupBenchKv);

}  // namespace synap::cli
