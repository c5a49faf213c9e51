// What the synap-cli benches share: the flags several of them take (one
// definition of each name, help text and range), the JSON writer, the
// throughput and latency report and the live progress line. `bench wal` and
// the engine benches (bench_engine.h) both build on it.
//
// Only the C++ library and CLI11 here, never the engine's headers, so the
// engine benches stay on libsynap's C ABI.
#pragma once

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tools/synap-cli/latency_histogram.h"

namespace synap::cli {

using BenchClock = std::chrono::steady_clock;

// Exit codes of every bench: 0 ok; 1 the engine failed, or what was written
// did not come back after the reopen; 2 the configuration was refused.
constexpr int kBenchExitFailed = 1;
constexpr int kBenchExitConfig = 2;

double SecondsOf(BenchClock::duration d);
double MillisOf(BenchClock::duration d);
uint64_t NanosOf(BenchClock::duration d);
double MicrosOf(uint64_t ns);

// A value of `size` bytes: xorshift64 output seeded by `seed` (random
// enough that no codec shrinks it), the same for the same seed.
std::vector<uint8_t> MakeBenchFill(uint32_t seed, size_t size);

// ---- JSON ----

// Writes one JSON object, keys in the order added, with nested objects.
// Numbers are printed with a fixed count of decimals ("%.*f"); non-finite
// ones become null.
class JsonOut {
 public:
  JsonOut& Str(std::string_view key, std::string_view v);
  JsonOut& Bool(std::string_view key, bool v);
  JsonOut& U64(std::string_view key, uint64_t v);
  JsonOut& Num(std::string_view key, double v, int decimals = 3);
  // `json` must be one complete JSON value (e.g. an object libsynap returned).
  JsonOut& Raw(std::string_view key, std::string_view json);
  JsonOut& BeginObject(std::string_view key);
  JsonOut& EndObject();
  // The finished object (closes the outermost brace).
  std::string Finish() const { return out_ + "}"; }

 private:
  void Key(std::string_view key);
  void Quote(std::string_view s);

  std::string out_ = "{";
  bool first_ = true;  // no member yet in the innermost open object
};

// ---- the report ----

// What every bench measures: `records` units (records, keys, messages,
// events) of `value_size` bytes each in `elapsed_sec`, and the latency of
// each call that moved them.
struct BenchFigures {
  uint64_t records = 0;
  uint64_t value_size = 0;
  double elapsed_sec = 0;
  const LatencyHistogram* hist = nullptr;

  double OpsPerSec() const;
  double MegabytesPerSec() const;  // of values; 1 MB = 10^6 B
};

// The first keys of every bench's --json: ops_per_sec, p50_us, p99_us,
// p999_us, max_us, mean_us, mb_per_sec.
void JsonFigures(JsonOut& j, const BenchFigures& f);
// `key`: {"calls", "p50_us", "p99_us", "p999_us", "max_us", "mean_us"}.
void JsonLatency(JsonOut& j, std::string_view key, const LatencyHistogram& h);
// The elapsed, throughput and latency lines of the human summary; `what`
// names the latency measured ("append->ack").
void PrintFigures(const BenchFigures& f, const char* what);
// One latency line: "  <title>  <what> p50 .. us, p99 .., p99.9 .., max .. (mean ..)".
void PrintLatency(const char* title, const std::string& what, const LatencyHistogram& h);

// ---- the live progress line ----

struct ProgressSpec {
  std::string label;        // "bench wal"
  std::string unit;         // what is counted: "acked", "ops", "keys"
  uint64_t total = 0;       // the count that ends the run; 0: none (a --duration run)
  double duration_sec = 0;  // 0: none
  std::chrono::milliseconds period{1000};
};

// While it lives, rewrites one line on stderr every period:
//   bench kv: 51200/200000 ops (26%)  48210 ops/s now  1.0 s
// `done` is read from the progress thread, so it must be thread-safe (sum
// atomics). The destructor clears the line. Only make one when ProgressWanted.
class ProgressLine {
 public:
  ProgressLine(ProgressSpec spec, std::function<uint64_t()> done);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  void Loop();

  ProgressSpec spec_;
  std::function<uint64_t()> done_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// True unless --no-progress, when stderr is a terminal.
bool ProgressWanted(bool no_progress);

// ---- flags shared by the benches ----
// Each adds one flag with its name, help text and, where it does not depend
// on the engine's limits, its check, and returns the option for the caller to
// add a range or a default display. `bench wal` chains its ranges from the
// log layer's constants; the engine benches leave ranges to
// synap_options_set, which names the option and its limits.

CLI::Option* AddFsyncFlag(CLI::App* cmd, std::string* mode);
CLI::Option* AddWritersFlag(CLI::App* cmd, uint32_t* n, const std::string& help);
CLI::Option* AddRecordsFlag(CLI::App* cmd, uint64_t* n, const std::string& help);
CLI::Option* AddValueSizeFlag(CLI::App* cmd, uint32_t* n, const std::string& help);  // k/M suffixes
CLI::Option* AddMechanismFlag(CLI::App* cmd, std::string* mechanism);
CLI::Option* AddBackendFlag(CLI::App* cmd, std::string* backend);  // auto | io_uring | sync
CLI::Option* AddDirFlag(CLI::App* cmd, std::string* dir, const std::string& help);
CLI::Option* AddFreshFlag(CLI::App* cmd, bool* fresh, const std::string& help);
CLI::Option* AddSegmentBytesFlag(CLI::App* cmd, uint64_t* n);  // k/M/G suffixes
CLI::Option* AddPreallocateFlag(CLI::App* cmd, std::string* mode, const std::vector<std::string>& names);
CLI::Option* AddCodecFlag(CLI::App* cmd, std::string* codec);
CLI::Option* AddMaxInFlightFlag(CLI::App* cmd, uint32_t* n);
CLI::Option* AddWindowFlag(CLI::App* cmd, uint32_t* n, const std::string& help);
CLI::Option* AddLingerUsFlag(CLI::App* cmd, uint32_t* us);
CLI::Option* AddMaxBatchBytesFlag(CLI::App* cmd, uint32_t* n);  // k/M suffixes
CLI::Option* AddFsyncIntervalFlag(CLI::App* cmd, uint32_t* ms);
void AddOutputFlags(CLI::App* cmd, bool* json, bool* no_progress);

}  // namespace synap::cli
