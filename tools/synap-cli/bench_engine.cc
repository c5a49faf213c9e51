// The engine benches' harness (`bench kv`, `bench queue`, `bench stream`):
// see bench_engine.h.
#include "tools/synap-cli/bench_engine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <latch>
#include <system_error>

namespace synap::cli {

namespace fs = std::filesystem;

// ---- engine benches: flags ----

namespace {

// The largest value any bench may ask for: the engine's own limits are lower
// (kv.max_value_bytes, queue.max_payload_bytes, stream.max_event_bytes;
// wal.max_record_bytes is at most 64 MiB) and refuse it with their names.
constexpr uint32_t kMaxBenchValueBytes = 64u << 20;

// The engine's default for an option, as synap_options_get prints it.
std::string EngineDefault(const std::string& name) {
  synap_options* o = nullptr;
  if (synap_options_create(&o) != SYNAP_OK) return "";
  char buf[256];
  size_t len = 0;
  std::string v;
  if (synap_options_get(o, name.c_str(), buf, sizeof buf, &len) == SYNAP_OK)
    v.assign(buf, std::min(len, sizeof buf - 1));
  synap_options_destroy(o);
  return v;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

uint64_t EngineFlags::RecordLimit() const {
  bool given = records_opt != nullptr && records_opt->count() > 0;
  return duration_sec > 0 && !given ? UINT64_MAX : records;
}

void AddEngineFlags(CLI::App* cmd, EngineFlags* f, EngineModel model, const char* name, const char* default_dir,
                    const EngineFlagHelp& help) {
  f->model = model;
  f->name = name;
  f->dir = default_dir;
  const bool stream = model == EngineModel::kStream;
  // A knob: shows the engine's default for its first option, and remembers
  // which options it sets.
  auto knob = [f](CLI::Option* o, std::vector<std::string> options, std::function<std::string()> value,
                  bool always = false) {
    if (!always) o->default_str(EngineDefault(options.front()));
    f->knobs.push_back({o, std::move(options), std::move(value), always});
  };
  auto num = [](const auto* v) { return [v] { return std::to_string(*v); }; };

  knob(
      AddFsyncFlag(cmd, &f->fsync),
      stream ? std::vector<std::string>{"stream.fsync", "wal.fsync_mode"} : std::vector<std::string>{"wal.fsync_mode"},
      [f] { return f->fsync; }, /*always=*/true);
  AddWritersFlag(cmd, &f->writers, help.writers);
  f->records_opt = AddRecordsFlag(cmd, &f->records, help.records);
  AddValueSizeFlag(cmd, &f->value_size, help.value_size)
      ->check(CLI::Range(uint32_t{0}, kMaxBenchValueBytes))
      ->capture_default_str();
  if (!stream) knob(AddMechanismFlag(cmd, &f->mechanism), {"wal.mechanism"}, [f] { return f->mechanism; });
  knob(AddBackendFlag(cmd, &f->backend), {"io.backend"},
       [f] { return f->backend == "io_uring" ? std::string("uring") : f->backend; });
  AddDirFlag(cmd, &f->dir, "Data directory (created if missing; the data is left there for inspection)");
  AddFreshFlag(cmd, &f->fresh,
               "Delete the engine's data in --dir first (its wal/, snapshots/ and streams/ subdirectories); "
               "without it a directory holding data is refused. Other files are left alone");
  const char* prefix = stream ? "stream." : "wal.";
  knob(AddSegmentBytesFlag(cmd, &f->segment_bytes), {std::string(prefix) + "segment_bytes"}, num(&f->segment_bytes));
  knob(AddPreallocateFlag(cmd, &f->preallocate, {"auto", "none", "fallocate", "zero"}),
       {std::string(prefix) + "preallocate"}, [f] { return f->preallocate; });
  knob(AddCodecFlag(cmd, &f->codec), {std::string(prefix) + "codec"}, [f] { return f->codec; });
  if (!stream) {
    knob(AddMaxInFlightFlag(cmd, &f->max_in_flight), {"wal.max_in_flight"}, num(&f->max_in_flight));
    knob(AddLingerUsFlag(cmd, &f->linger_us), {"wal.linger_us"}, num(&f->linger_us));
    knob(AddMaxBatchBytesFlag(cmd, &f->max_batch_bytes), {"wal.max_batch_bytes"}, num(&f->max_batch_bytes));
  }
  knob(AddFsyncIntervalFlag(cmd, &f->fsync_interval_ms),
       stream ? std::vector<std::string>{"stream.fsync_interval_ms", "wal.fsync_interval_ms"}
              : std::vector<std::string>{"wal.fsync_interval_ms"},
       num(&f->fsync_interval_ms));
  cmd->add_option("--duration", f->duration_sec,
                  "Stop after this many seconds, or at --records, whichever comes first (0: no time limit; with "
                  "--duration and no --records, only the time ends the run)")
      ->check(CLI::Range(0.0, 7.0 * 86400))
      ->capture_default_str();
  cmd->add_option("--set", f->sets,
                  "Set any engine option, NAME=VALUE (docs/options.md); repeatable; applied after the flags above, "
                  "so it overrides them")
      ->allow_extra_args(false)
      ->type_name("NAME=VALUE");
  AddOutputFlags(cmd, &f->json, &f->no_progress);
}

std::vector<OptionSetting> EngineOptionList(const EngineFlags& f) {
  std::vector<OptionSetting> out;
  for (const EngineFlags::Knob& k : f.knobs) {
    if (!k.always && k.opt->count() == 0) continue;
    for (const std::string& name : k.options) out.push_back({k.opt->get_name(), name, k.value()});
  }
  for (const std::string& s : f.sets) {
    size_t eq = s.find('=');
    out.push_back(
        {"--set " + s, eq == std::string::npos ? s : s.substr(0, eq), eq == std::string::npos ? "" : s.substr(eq + 1)});
  }
  return out;
}

// ---- engine benches: the data directory and the handle ----

void PrintEngineError(const EngineFlags& f, const std::string& what, int rc) {
  const char* msg = synap_last_error();
  std::fprintf(stderr, "synap-cli bench %s: %s: %s\n", f.name, what.c_str(), *msg != '\0' ? msg : synap_strerror(rc));
}

void PrintLimitHint() {
  std::fprintf(stderr, "  hint: raise the limit named above with --set NAME=VALUE (docs/options.md)\n");
}

namespace {

// The entries of a data directory that hold the engine's data.
constexpr const char* kDataEntries[] = {"wal", "snapshots", "streams"};

// Prepares f.dir: creates it, refuses one holding data unless --fresh, and
// with --fresh removes the engine's data under the directory's LOCK (the
// engine holds an exclusive flock on it while open, docs/format.md §1), so
// a server or another bench using the directory is never touched.
int PrepareDir(const EngineFlags& f) {
  const std::string& dir = f.dir;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "synap-cli bench %s: %s exists and is not a directory\n", f.name, dir.c_str());
    return kBenchExitConfig;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "synap-cli bench %s: create %s: %s\n", f.name, dir.c_str(), ec.message().c_str());
    return kBenchExitFailed;
  }
  std::vector<std::string> present;
  for (const char* e : kDataEntries)
    if (fs::exists(fs::path(dir) / e, ec)) present.push_back(e);
  if (present.empty()) return 0;
  std::string list;
  for (const std::string& e : present) list += (list.empty() ? "" : ", ") + e + "/";
  if (!f.fresh) {
    std::fprintf(stderr,
                 "synap-cli bench %s: %s already holds data (%s); pass --fresh to delete it first, or choose another "
                 "--dir\n",
                 f.name, dir.c_str(), list.c_str());
    return kBenchExitConfig;
  }
  std::string lock_path = dir + "/LOCK";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "synap-cli bench %s: open %s: %s\n", f.name, lock_path.c_str(), std::strerror(errno));
    return kBenchExitFailed;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::fprintf(stderr,
                   "synap-cli bench %s: %s is in use: a synap-server or another process holds its LOCK; nothing "
                   "was deleted\n",
                   f.name, dir.c_str());
    } else {
      std::fprintf(stderr, "synap-cli bench %s: flock %s: %s\n", f.name, lock_path.c_str(), std::strerror(err));
    }
    return kBenchExitFailed;
  }
  int rc = 0;
  for (const std::string& e : present) {
    fs::remove_all(fs::path(dir) / e, ec);
    if (ec) {
      std::fprintf(stderr, "synap-cli bench %s: remove %s/%s: %s\n", f.name, dir.c_str(), e.c_str(),
                   ec.message().c_str());
      rc = kBenchExitFailed;
      break;
    }
  }
  ::close(fd);  // releases the lock
  if (rc == 0) std::fprintf(stderr, "bench %s: --fresh: deleted %s from %s\n", f.name, list.c_str(), dir.c_str());
  return rc;
}

}  // namespace

BenchEngine::~BenchEngine() {
  if (db_ != nullptr) synap_close(db_);
  synap_options_destroy(opts_);
}

int BenchEngine::Open(const EngineFlags& f) {
  if (synap_options_create(&opts_) != SYNAP_OK) {
    PrintEngineError(f, "create options", SYNAP_ENOMEM);
    return kBenchExitFailed;
  }
  std::vector<std::string> names;
  for (const OptionSetting& s : EngineOptionList(f)) {
    if (s.source.rfind("--set", 0) == 0 && s.source.find('=') == std::string::npos) {
      std::fprintf(stderr, "synap-cli bench %s: %s: expected NAME=VALUE, e.g. --set kv.shards=128\n", f.name,
                   s.source.c_str());
      return kBenchExitConfig;
    }
    int rc = synap_options_set(opts_, s.name.c_str(), s.value.c_str());
    if (rc != SYNAP_OK) {
      PrintEngineError(f, s.source.rfind("--set", 0) == 0 ? s.source : s.source + " " + s.value, rc);
      return kBenchExitConfig;
    }
    if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  }
  // Report every option a knob stands for, given or not.
  for (const EngineFlags::Knob& k : f.knobs)
    for (const std::string& n : k.options)
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  for (const std::string& n : names) effective_.emplace_back(n, Option(n));

  if (int rc = PrepareDir(f); rc != 0) return rc;
  int rc = synap_open(f.dir.c_str(), opts_, &db_);
  if (rc == SYNAP_ELOCKED) {
    std::fprintf(stderr, "synap-cli bench %s: %s is in use: a synap-server or another process holds its LOCK\n", f.name,
                 f.dir.c_str());
    return kBenchExitFailed;
  }
  if (rc != SYNAP_OK) {
    PrintEngineError(f, "open " + f.dir, rc);
    db_ = nullptr;
    return rc == SYNAP_EINVAL ? kBenchExitConfig : kBenchExitFailed;
  }
  return 0;
}

int BenchEngine::Close(double* close_ms) {
  BenchClock::time_point t = BenchClock::now();
  int rc = synap_close(db_);
  db_ = nullptr;
  *close_ms = MillisOf(BenchClock::now() - t);
  return rc;
}

int BenchEngine::Reopen(const EngineFlags& f, double* open_ms) {
  BenchClock::time_point t = BenchClock::now();
  int rc = synap_open(f.dir.c_str(), opts_, &db_);
  *open_ms = MillisOf(BenchClock::now() - t);
  if (rc != SYNAP_OK) {
    db_ = nullptr;
    PrintEngineError(f, "reopening " + f.dir, rc);
    return kBenchExitFailed;
  }
  return 0;
}

std::string BenchEngine::Stats() const {
  char* json = nullptr;
  if (db_ == nullptr || synap_stats_json(db_, &json, nullptr) != SYNAP_OK) return "{}";
  std::string s(json);
  synap_free(json);
  return s;
}

std::string BenchEngine::Option(const std::string& name) const {
  char buf[512];
  size_t len = 0;
  if (synap_options_get(opts_, name.c_str(), buf, sizeof buf, &len) != SYNAP_OK) return "";
  return std::string(buf, std::min(len, sizeof buf - 1));
}

namespace {

// Where the value of `key` starts in `json` (inside `section`'s object when
// given), or npos. The objects are flat, so a section ends at its first '}'.
size_t FindValue(std::string_view json, std::string_view section, std::string_view key) {
  size_t from = 0, to = json.size();
  if (!section.empty()) {
    std::string open = "\"" + std::string(section) + "\":{";
    from = json.find(open);
    if (from == std::string_view::npos) return from;
    from += open.size();
    to = json.find('}', from);
    if (to == std::string_view::npos) to = json.size();
  }
  std::string k = "\"" + std::string(key) + "\":";
  size_t at = json.substr(0, to).find(k, from);
  return at == std::string_view::npos ? at : at + k.size();
}

}  // namespace

double StatsNumber(std::string_view json, std::string_view section, std::string_view key) {
  size_t at = FindValue(json, section, key);
  if (at == std::string_view::npos) return 0;
  std::string tail(json.substr(at, 32));
  return std::strtod(tail.c_str(), nullptr);
}

std::string StatsString(std::string_view json, std::string_view section, std::string_view key) {
  size_t at = FindValue(json, section, key);
  if (at == std::string_view::npos || at >= json.size() || json[at] != '"') return "";
  std::string out;
  for (size_t i = at + 1; i < json.size() && json[i] != '"'; ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) ++i;  // keep the escaped character as is
    out += json[i];
  }
  return out;
}

// ---- engine benches: the timed threads ----

void ThreadTally::Fail(int rc, const std::string& what, bool from_libsynap) {
  if (error != SYNAP_OK) return;
  error = rc;
  const char* msg = synap_last_error();
  error_message = !from_libsynap ? what : what + ": " + (*msg != '\0' ? msg : synap_strerror(rc));
}

OpBudget::OpBudget(uint64_t limit, double duration_sec)
    : limit_(limit),
      duration_(duration_sec > 0
                    ? std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(duration_sec))
                    : BenchClock::duration::zero()) {}

void OpBudget::Start() {
  if (duration_ > BenchClock::duration::zero()) deadline_ = BenchClock::now() + duration_;
}

uint64_t OpBudget::Claim(uint64_t n, uint64_t* first) {
  if (stopped()) return 0;
  if (deadline_ != BenchClock::time_point::max() && BenchClock::now() >= deadline_) {
    timed_out_.store(true, std::memory_order_relaxed);
    return 0;
  }
  // A compare-and-swap, not fetch_add: a claim past the limit must not move
  // the count, or GiveBack could not return records to it.
  uint64_t at = next_.load(std::memory_order_relaxed), take;
  do {
    if (at >= limit_) return 0;
    take = std::min(n, limit_ - at);
  } while (!next_.compare_exchange_weak(at, at + take, std::memory_order_relaxed));
  if (first != nullptr) *first = at;
  return take;
}

void ForEachShare(uint64_t first, uint64_t n, uint64_t total, uint32_t groups,
                  const std::function<void(uint32_t group, uint64_t count)>& fn) {
  const uint64_t share = std::max<uint64_t>(1, (total + groups - 1) / groups);
  while (n > 0) {
    const uint64_t group = first / share;
    const uint64_t take = std::min(n, (group + 1) * share - first);
    fn(static_cast<uint32_t>(group), take);
    first += take;
    n -= take;
  }
}

double ThreadRun::ElapsedSec(size_t n) const {
  BenchClock::time_point end = start;
  for (size_t i = 0; i < n && i < tallies.size(); ++i) end = std::max(end, tallies[i]->finished);
  return std::max(1e-9, SecondsOf(end - start));
}

LatencyHistogram ThreadRun::Hist(size_t n) const {
  LatencyHistogram h;
  for (size_t i = 0; i < n && i < tallies.size(); ++i) h.Merge(tallies[i]->hist);
  return h;
}

LatencyHistogram ThreadRun::Part(size_t n, size_t part) const {
  LatencyHistogram h;
  for (size_t i = 0; i < n && i < tallies.size(); ++i) h.Merge(tallies[i]->parts[part]);
  return h;
}

uint64_t ThreadRun::Done(size_t n) const {
  uint64_t d = 0;
  for (size_t i = 0; i < n && i < tallies.size(); ++i) d += tallies[i]->done.load();
  return d;
}

uint64_t ThreadRun::Calls(size_t n) const {
  uint64_t c = 0;
  for (size_t i = 0; i < n && i < tallies.size(); ++i) c += tallies[i]->calls;
  return c;
}

uint64_t ThreadRun::Aux(size_t n) const {
  uint64_t m = 0;
  for (size_t i = 0; i < n && i < tallies.size(); ++i) m += tallies[i]->aux;
  return m;
}

int ThreadRun::FirstError(std::string* message) const {
  for (const auto& t : tallies) {
    if (t->error != SYNAP_OK) {
      *message = t->error_message;
      return t->error;
    }
  }
  return SYNAP_OK;
}

ThreadRun RunThreads(uint32_t threads, uint32_t counted, OpBudget* budget,
                     const std::function<void(uint32_t, ThreadTally*)>& body, const ProgressSpec* progress) {
  ThreadRun run;
  for (uint32_t i = 0; i < threads; ++i) run.tallies.push_back(std::make_unique<ThreadTally>());
  std::latch ready(threads);
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (uint32_t i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      ThreadTally* t = run.tallies[i].get();
      ready.count_down();
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(i, t);
      t->finished = BenchClock::now();
    });
  }
  ready.wait();
  run.start = BenchClock::now();
  budget->Start();
  go.store(true, std::memory_order_release);
  {
    std::unique_ptr<ProgressLine> line;
    if (progress != nullptr) {
      line = std::make_unique<ProgressLine>(*progress, [&run, counted] {
        uint64_t n = 0;
        for (uint32_t i = 0; i < counted; ++i) n += run.tallies[i]->done.load(std::memory_order_relaxed);
        return n;
      });
    }
    for (std::thread& t : pool) t.join();
  }
  return run;
}

int ExitCodeFor(int rc) { return rc == SYNAP_EINVAL || rc == SYNAP_ETOOLARGE ? kBenchExitConfig : kBenchExitFailed; }

// ---- engine benches: the report ----

namespace {

void JsonOption(JsonOut& j, const std::string& key, const std::string& value) {
  if (AllDigits(value) && value.size() < 20) {
    j.U64(key, std::strtoull(value.c_str(), nullptr, 10));
  } else {
    j.Str(key, value);
  }
}

// The effective value of the first option a knob flag stands for.
std::string KnobValue(const EngineReport& r, const char* flag) {
  for (const EngineFlags::Knob& k : r.flags->knobs)
    if (k.opt->get_name() == flag) return r.engine->Option(k.options.front());
  return "";
}

// WAL counters over the timed phase (kv and queue writes go through the
// data directory's WAL; stream rooms have logs of their own).
struct WalDelta {
  uint64_t appends = 0, batches = 0, syncs = 0, batch_bytes = 0;
};
WalDelta WalCounters(const EngineReport& r) {
  auto d = [&](const char* k) {
    return static_cast<uint64_t>(StatsNumber(r.stats_after, "wal", k) - StatsNumber(r.stats_before, "wal", k));
  };
  return {d("appends"), d("batches"), d("syncs"), d("batch_bytes")};
}

}  // namespace

void PrintEngineReport(const EngineReport& r, const std::function<void(JsonOut&)>& model_json,
                       const std::vector<std::string>& model_lines) {
  const EngineFlags& f = *r.flags;
  const bool stream = f.model == EngineModel::kStream;
  const std::string mechanism = StatsString(r.stats_after, "wal", "mechanism");
  const std::string backend = StatsString(r.recovery_stats, "recovery", "backend");
  const WalDelta wal = WalCounters(r);
  if (f.json) {
    JsonOut j;
    JsonFigures(j, r.figures);
    j.U64("records", r.figures.records).U64("writers", f.writers).U64("value_size", f.value_size);
    j.Str("fsync", KnobValue(r, "--fsync"));
    if (!stream) j.Str("mechanism", mechanism).Str("mechanism_requested", KnobValue(r, "--mechanism"));
    j.Str("backend", backend).Str("codec", KnobValue(r, "--codec")).Str("preallocate", KnobValue(r, "--preallocate"));
    JsonOption(j, "segment_bytes", KnobValue(r, "--segment-bytes"));
    j.Str("bench", f.name).Str("op", r.op);
    model_json(j);
    j.Str("dir", f.dir)
        .Num("duration_sec", f.duration_sec, 3)
        .Num("elapsed_sec", r.figures.elapsed_sec, 3)
        .Str("stopped_by", r.timed_out ? "duration" : "records")
        .U64("calls", r.calls)
        .U64("preloaded", r.preloaded)
        .Num("preload_sec", r.preload_sec, 3);
    if (!stream) {
      j.U64("batches", wal.batches)
          .Num("avg_records_per_batch",
               wal.batches == 0 ? 0.0 : static_cast<double>(wal.appends) / static_cast<double>(wal.batches), 2)
          .U64("syncs", wal.syncs)
          .U64("batch_bytes", wal.batch_bytes);
    }
    if (!r.parts.empty()) {
      j.BeginObject("latency");
      for (const auto& [name, h] : r.parts) JsonLatency(j, name, *h);
      j.EndObject();
    }
    j.Num("close_ms", r.close_ms, 3)
        .BeginObject("recovery")
        .U64("records", static_cast<uint64_t>(StatsNumber(r.recovery_stats, "recovery", "log_records")))
        .Num("ms", StatsNumber(r.recovery_stats, "recovery", "total_ms"), 3)
        .Num("open_ms", r.open_ms, 3)
        .U64("segments", static_cast<uint64_t>(StatsNumber(r.recovery_stats, "recovery", "log_segments")))
        .U64("bytes", static_cast<uint64_t>(StatsNumber(r.recovery_stats, "recovery", "log_bytes_replayed")))
        .U64("cuts", static_cast<uint64_t>(StatsNumber(r.recovery_stats, "recovery", "log_cuts")))
        .U64("expected", r.expected)
        .U64("found", r.found)
        .Bool("verified", r.verified)
        .EndObject();
    j.BeginObject("options");
    for (const auto& [name, value] : r.engine->Effective()) JsonOption(j, name, value);
    j.EndObject();
    std::printf("%s\n", j.Finish().c_str());
    return;
  }
  std::printf("bench %s --op %s: %llu %s x %u B, %s, fsync=%s, in %s\n", f.name, r.op.c_str(),
              static_cast<unsigned long long>(r.figures.records), r.unit.c_str(), f.value_size,
              r.threads.empty() ? (std::to_string(f.writers) + " writers").c_str() : r.threads.c_str(),
              KnobValue(r, "--fsync").c_str(), f.dir.c_str());
  std::printf("  engine       backend %s, %s%scodec %s, preallocate %s\n", backend.c_str(),
              stream ? "" : ("mechanism " + mechanism).c_str(), stream ? "" : ", ", KnobValue(r, "--codec").c_str(),
              KnobValue(r, "--preallocate").c_str());
  for (const std::string& line : model_lines) std::printf("  %s\n", line.c_str());
  if (r.preloaded > 0)
    std::printf("  preload      %llu %s in %.3f s (not timed)\n", static_cast<unsigned long long>(r.preloaded),
                r.preload_what.c_str(), r.preload_sec);
  PrintFigures(r.figures, r.latency_what.c_str());
  for (const auto& [name, h] : r.parts) PrintLatency("", name, *h);
  if (r.timed_out) std::printf("  stopped      by --duration %.3g s\n", f.duration_sec);
  if (!stream) {
    std::printf("  wal          %llu batches, %.2f records each on average, %llu fsync-only requests\n",
                static_cast<unsigned long long>(wal.batches),
                wal.batches == 0 ? 0.0 : static_cast<double>(wal.appends) / static_cast<double>(wal.batches),
                static_cast<unsigned long long>(wal.syncs));
  }
  std::printf("  close        %.1f ms\n", r.close_ms);
  std::printf("  recovery     open %.1f ms, %llu log records replayed; found %llu of %llu %s: %s\n", r.open_ms,
              static_cast<unsigned long long>(StatsNumber(r.recovery_stats, "recovery", "log_records")),
              static_cast<unsigned long long>(r.found), static_cast<unsigned long long>(r.expected),
              r.check_what.c_str(), r.verified ? "verified" : "MISMATCH");
}

}  // namespace synap::cli
