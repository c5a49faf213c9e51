// The harness of the engine benches (`bench kv`, `bench queue`, `bench
// stream`) around libsynap: their common flags (the WAL knobs become engine
// options; --set NAME=VALUE sets any other), the data directory (--fresh),
// the timed threads sharing one budget of records and a deadline, close +
// reopen with the model's check, and the report.
//
// Only <synap/synap.h> and the C++ library here, never the engine's headers:
// these benches measure libsynap as any user's program calls it.
#pragma once

#include <synap/synap.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/synap-cli/bench_common.h"

namespace synap::cli {

// ---- engine benches: flags and the data directory ----

// Which WAL knobs a bench takes (a stream room has no mechanism, batch
// linger or in-flight limit of its own).
enum class EngineModel { kKv, kQueue, kStream };

// The flags every engine bench takes. WAL knobs not given are left at the
// engine's defaults (docs/options.md), which --help shows.
struct EngineFlags {
  std::string fsync = "always";
  uint32_t writers = 64;
  uint64_t records = 200000;
  uint32_t value_size = 100;
  std::string dir;
  bool fresh = false;
  double duration_sec = 0;        // 0: no limit
  std::vector<std::string> sets;  // NAME=VALUE, in order
  bool json = false;
  bool no_progress = false;
  std::string mechanism, backend, preallocate, codec;
  uint64_t segment_bytes = 0;
  uint32_t max_batch_bytes = 0, max_in_flight = 0, linger_us = 0, fsync_interval_ms = 0;

  EngineModel model = EngineModel::kKv;
  const char* name = "";  // "kv": messages say "synap-cli bench kv: ..."

  // A flag that sets engine options: applied when given (or always), each
  // of `options` set to value().
  struct Knob {
    CLI::Option* opt = nullptr;
    std::vector<std::string> options;
    std::function<std::string()> value;
    bool always = false;
  };
  // Set by AddEngineFlags; read at run time (the CLI::App outlives the run).
  std::vector<Knob> knobs;
  CLI::Option* records_opt = nullptr;

  // The records limit of the timed phase: --records, or none when only
  // --duration was given.
  uint64_t RecordLimit() const;
  // How many records to load before a read-side run (get, consume, read):
  // --records (its default when not given).
  uint64_t PreloadCount() const { return records; }
};

// The model's wording of the flags whose meaning depends on it.
struct EngineFlagHelp {
  std::string writers;     // what a writer thread does
  std::string records;     // what is counted
  std::string value_size;  // what the bytes are
};

// Adds the engine benches' common flags, bound to *f (which must outlive
// the app), in bench wal's order, then --duration, --set, --json and
// --no-progress. A model adds its own flags (--op, ...) before calling it.
void AddEngineFlags(CLI::App* cmd, EngineFlags* f, EngineModel model, const char* name, const char* default_dir,
                    const EngineFlagHelp& help);

// One option a run sets: where it came from ("--fsync", "--set"), its name
// and value.
struct OptionSetting {
  std::string source;
  std::string name;
  std::string value;
};
// The options a run applies, in order: the knobs (given or always-applied),
// then each --set. SYNAP_EINVAL-worthy --set syntax (no '=') is reported by
// BenchEngine::Open.
std::vector<OptionSetting> EngineOptionList(const EngineFlags& f);

// An open engine: the handle, the options it was opened with, and the option
// names to report. Closes the handle (if still open) when destroyed.
class BenchEngine {
 public:
  ~BenchEngine();
  synap_db* db() const { return db_; }
  // Opens f.dir with the flags' options: refuses a directory holding data
  // unless --fresh (which removes the engine's wal/, snapshots/ and streams/
  // first, under the directory's LOCK), and a directory another process
  // holds. On failure prints why and returns the exit code; 0 on success.
  int Open(const EngineFlags& f);
  // Closes the handle, timing it; returns the close's result.
  int Close(double* close_ms);
  // Reopens (recovery) and fills open_ms; returns 0 or prints and returns 1.
  int Reopen(const EngineFlags& f, double* open_ms);
  // The engine's statistics (synap_stats_json), "{}" if they cannot be had.
  std::string Stats() const;
  // The effective value of each option this run named (its flags' options
  // and --set names), for the report.
  const std::vector<std::pair<std::string, std::string>>& Effective() const { return effective_; }
  std::string Option(const std::string& name) const;

 private:
  synap_options* opts_ = nullptr;
  synap_db* db_ = nullptr;
  std::vector<std::pair<std::string, std::string>> effective_;
};

// Prints "synap-cli bench <name>: <what>: <synap_last_error or strerror>".
void PrintEngineError(const EngineFlags& f, const std::string& what, int rc);
// After SYNAP_ETOOLARGE: says how to raise the limit the message named.
void PrintLimitHint();

// A number or string in the flat two-level JSON of synap_stats_json (and of
// the queue and room info calls): the value of `key` inside the object named
// `section` ("" for the top level). 0 / "" when absent.
double StatsNumber(std::string_view json, std::string_view section, std::string_view key);
std::string StatsString(std::string_view json, std::string_view section, std::string_view key);

// ---- engine benches: the timed threads ----

// One thread's tallies; aligned so that neighbours' counters do not share a
// cache line.
struct alignas(64) ThreadTally {
  static constexpr size_t kMaxParts = 3;
  std::atomic<uint64_t> done{0};  // records completed (the progress line reads it)
  uint64_t calls = 0;
  uint64_t aux = 0;                               // the model's second count (kv: gets that found no key;
                                                  // queue roundtrip: messages published)
  LatencyHistogram hist;                          // every call (or round of calls) that moved records
  std::array<LatencyHistogram, kMaxParts> parts;  // per phase, when an op has several
  int error = SYNAP_OK;                           // the first failure, if any
  std::string error_message;
  BenchClock::time_point finished;

  // Records a failure of `what`, with the calling thread's
  // synap_last_error() when libsynap reported it (from_libsynap).
  void Fail(int rc, const std::string& what, bool from_libsynap = true);
  // Adds a call's latency and its records.
  void Count(BenchClock::time_point t0, BenchClock::time_point t1, uint64_t records) {
    hist.Record(NanosOf(t1 - t0));
    ++calls;
    done.store(done.load(std::memory_order_relaxed) + records, std::memory_order_relaxed);
  }
};

// Hands out record indices to the threads of a run until a count is reached,
// the deadline passes, or someone stops it. Thread-safe.
class OpBudget {
 public:
  OpBudget(uint64_t limit, double duration_sec);
  // Claims up to n records: returns how many (0 when the run is over) and
  // sets *first to the index of the first. Never hands out more than the
  // limit in total (less what was given back).
  uint64_t Claim(uint64_t n, uint64_t* first = nullptr);
  // Gives back n records claimed but not done (a consumer that found its
  // queue empty), for other threads to claim. Their indices are handed out
  // again, so only runs that do not use the indices may give back.
  void GiveBack(uint64_t n) { next_.fetch_sub(n, std::memory_order_relaxed); }
  void Stop() { stopped_.store(true, std::memory_order_relaxed); }
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }
  // True if the deadline (not the count, nor Stop) ended the run.
  bool timed_out() const { return timed_out_.load(std::memory_order_relaxed); }
  void Start();  // starts the deadline clock

 private:
  std::atomic<uint64_t> next_{0};
  uint64_t limit_;
  BenchClock::duration duration_;
  BenchClock::time_point deadline_ = BenchClock::time_point::max();
  std::atomic<bool> stopped_{false};
  std::atomic<bool> timed_out_{false};
};

struct ThreadRun {
  std::vector<std::unique_ptr<ThreadTally>> tallies;
  BenchClock::time_point start;
  // Elapsed from the start to the last finish among tallies [0, n).
  double ElapsedSec(size_t n) const;
  // Merged histogram / sums over tallies [0, n).
  LatencyHistogram Hist(size_t n) const;
  LatencyHistogram Part(size_t n, size_t part) const;
  uint64_t Done(size_t n) const;
  uint64_t Calls(size_t n) const;
  uint64_t Aux(size_t n) const;
  // The first failure among all tallies: its code (SYNAP_OK if none) and message.
  int FirstError(std::string* message) const;
};

// Starts `threads` threads together, each running body(index, tally), shows
// the progress line (counting tallies [0, counted)) while they run, joins
// them. budget->Start() is called as they are released.
ThreadRun RunThreads(uint32_t threads, uint32_t counted, OpBudget* budget,
                     const std::function<void(uint32_t, ThreadTally*)>& body, const ProgressSpec* progress);

// Records [first, first + n) of a preload of `total` records spread over
// `groups` (queues, rooms) in contiguous even shares: calls fn(group, count)
// for each run of them that falls in one group.
void ForEachShare(uint64_t first, uint64_t n, uint64_t total, uint32_t groups,
                  const std::function<void(uint32_t group, uint64_t count)>& fn);

// The exit code for a failed operation: a configuration the engine refused
// (SYNAP_EINVAL, SYNAP_ETOOLARGE: a value over a limit) is 2, anything else 1.
int ExitCodeFor(int rc);

// ---- engine benches: the report ----

// What a run's report holds beyond its figures.
struct EngineReport {
  const EngineFlags* flags = nullptr;
  BenchEngine* engine = nullptr;
  std::string op;            // "set", "publish", ...
  std::string unit;          // what a record is, plural: "ops", "messages", "events"
  std::string threads;       // the timed threads, for the summary: "64 writers"
  std::string latency_what;  // what the main latency measures: "set call", "publish->ack"
  BenchFigures figures;
  uint64_t calls = 0;
  bool timed_out = false;                                              // --duration ended it
  std::string stats_before, stats_after;                               // synap_stats_json around the timed phase
  std::vector<std::pair<std::string, const LatencyHistogram*>> parts;  // per-phase latencies
  double preload_sec = 0;
  uint64_t preloaded = 0;
  std::string preload_what;  // what the preload wrote: "keys", "messages", "events"
  double close_ms = 0, open_ms = 0;
  std::string recovery_stats;        // synap_stats_json after the reopen
  uint64_t expected = 0, found = 0;  // the model's check after the reopen
  std::string check_what;            // what expected and found count: "keys", "messages left"
  bool verified = false;
};

// Prints the summary, or with --json the object: the figures' keys first (as
// bench wal), then the settings, `model_json` (the model's own keys), the
// engine's WAL counters over the timed phase, close, recovery and options.
void PrintEngineReport(const EngineReport& r, const std::function<void(JsonOut&)>& model_json,
                       const std::vector<std::string>& model_lines);

}  // namespace synap::cli
