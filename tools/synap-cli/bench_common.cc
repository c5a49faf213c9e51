// What the synap-cli benches share: see bench_common.h.
#include "tools/synap-cli/bench_common.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace synap::cli {

double SecondsOf(BenchClock::duration d) { return std::chrono::duration<double>(d).count(); }
double MillisOf(BenchClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
uint64_t NanosOf(BenchClock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}
double MicrosOf(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::vector<uint8_t> MakeBenchFill(uint32_t seed, size_t size) {
  std::vector<uint8_t> v(size);
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(v.data() + i, &x, std::min<size_t>(8, size - i));
  }
  return v;
}

// ---- JSON ----

JsonOut& JsonOut::Str(std::string_view key, std::string_view v) {
  Key(key);
  Quote(v);
  return *this;
}

JsonOut& JsonOut::Bool(std::string_view key, bool v) {
  Key(key);
  out_ += v ? "true" : "false";
  return *this;
}

JsonOut& JsonOut::U64(std::string_view key, uint64_t v) {
  Key(key);
  out_ += std::to_string(v);
  return *this;
}

JsonOut& JsonOut::Num(std::string_view key, double v, int decimals) {
  Key(key);
  if (!std::isfinite(v)) {
    out_ += "null";
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  out_ += buf;
  return *this;
}

JsonOut& JsonOut::Raw(std::string_view key, std::string_view json) {
  Key(key);
  out_ += json;
  return *this;
}

JsonOut& JsonOut::BeginObject(std::string_view key) {
  Key(key);
  out_ += "{";
  first_ = true;
  return *this;
}

JsonOut& JsonOut::EndObject() {
  out_ += "}";
  first_ = false;
  return *this;
}

void JsonOut::Key(std::string_view key) {
  if (!first_) out_ += ",";
  first_ = false;
  Quote(key);
  out_ += ":";
}

void JsonOut::Quote(std::string_view s) {
  out_ += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out_ += buf;
        } else {
          out_ += static_cast<char>(c);
        }
    }
  }
  out_ += '"';
}

// ---- the report ----

double BenchFigures::OpsPerSec() const { return static_cast<double>(records) / elapsed_sec; }
double BenchFigures::MegabytesPerSec() const {
  return static_cast<double>(records) * static_cast<double>(value_size) / elapsed_sec / 1e6;
}

void JsonFigures(JsonOut& j, const BenchFigures& f) {
  const LatencyHistogram& h = *f.hist;
  j.Num("ops_per_sec", f.OpsPerSec(), 1)
      .Num("p50_us", MicrosOf(h.Quantile(0.50)), 1)
      .Num("p99_us", MicrosOf(h.Quantile(0.99)), 1)
      .Num("p999_us", MicrosOf(h.Quantile(0.999)), 1)
      .Num("max_us", MicrosOf(h.max()), 1)
      .Num("mean_us", h.mean() / 1000.0, 1)
      .Num("mb_per_sec", f.MegabytesPerSec(), 3);
}

void JsonLatency(JsonOut& j, std::string_view key, const LatencyHistogram& h) {
  j.BeginObject(key)
      .U64("calls", h.count())
      .Num("p50_us", MicrosOf(h.Quantile(0.50)), 1)
      .Num("p99_us", MicrosOf(h.Quantile(0.99)), 1)
      .Num("p999_us", MicrosOf(h.Quantile(0.999)), 1)
      .Num("max_us", MicrosOf(h.max()), 1)
      .Num("mean_us", h.mean() / 1000.0, 1)
      .EndObject();
}

void PrintLatency(const char* title, const std::string& what, const LatencyHistogram& h) {
  std::printf("  %-12s %s p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (mean %.1f)\n", title, what.c_str(),
              MicrosOf(h.Quantile(0.50)), MicrosOf(h.Quantile(0.99)), MicrosOf(h.Quantile(0.999)), MicrosOf(h.max()),
              h.mean() / 1000.0);
}

void PrintFigures(const BenchFigures& f, const char* what) {
  std::printf("  elapsed      %.3f s\n", f.elapsed_sec);
  std::printf("  throughput   %.0f ops/s, %.2f MB/s of values (1 MB = 10^6 B)\n", f.OpsPerSec(), f.MegabytesPerSec());
  PrintLatency("latency", what, *f.hist);
}

// ---- the live progress line ----

ProgressLine::ProgressLine(ProgressSpec spec, std::function<uint64_t()> done)
    : spec_(std::move(spec)), done_(std::move(done)), thread_([this] { Loop(); }) {}

ProgressLine::~ProgressLine() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void ProgressLine::Loop() {
  BenchClock::time_point start = BenchClock::now(), last_t = start;
  uint64_t last_n = 0;
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, spec_.period, [this] { return stop_; })) {
    BenchClock::time_point now = BenchClock::now();
    uint64_t n = done_();
    double rate = static_cast<double>(n - last_n) / std::max(1e-9, SecondsOf(now - last_t));
    double t = SecondsOf(now - start);
    const auto nn = static_cast<unsigned long long>(n);
    if (spec_.total > 0 && spec_.duration_sec <= 0) {
      std::fprintf(stderr, "\r\033[K%s: %llu/%llu %s (%.0f%%)  %.0f ops/s now  %.1f s", spec_.label.c_str(), nn,
                   static_cast<unsigned long long>(spec_.total), spec_.unit.c_str(),
                   100.0 * static_cast<double>(n) / static_cast<double>(spec_.total), rate, t);
    } else if (spec_.total > 0) {
      double frac = std::max(static_cast<double>(n) / static_cast<double>(spec_.total), t / spec_.duration_sec);
      std::fprintf(stderr, "\r\033[K%s: %llu/%llu %s (%.0f%%)  %.0f ops/s now  %.1f/%g s", spec_.label.c_str(), nn,
                   static_cast<unsigned long long>(spec_.total), spec_.unit.c_str(), 100.0 * std::min(1.0, frac), rate,
                   t, spec_.duration_sec);
    } else {
      std::fprintf(stderr, "\r\033[K%s: %llu %s  %.0f ops/s now  %.1f/%g s", spec_.label.c_str(), nn,
                   spec_.unit.c_str(), rate, t, spec_.duration_sec);
    }
    std::fflush(stderr);
    last_n = n;
    last_t = now;
  }
}

bool ProgressWanted(bool no_progress) { return !no_progress && isatty(STDERR_FILENO); }

// ---- flags shared by the benches ----

namespace {
const auto kSize = CLI::AsSizeValue(false);  // 4k, 1M, 64MiB... (k = 1024)
}  // namespace

CLI::Option* AddFsyncFlag(CLI::App* cmd, std::string* mode) {
  return cmd
      ->add_option("--fsync", *mode,
                   "When an append is acknowledged: always (write+fdatasync), periodic (write; fdatasync every "
                   "--fsync-interval-ms), never (write)")
      ->check(CLI::IsMember({"always", "periodic", "never"}))
      ->capture_default_str();
}

CLI::Option* AddWritersFlag(CLI::App* cmd, uint32_t* n, const std::string& help) {
  return cmd->add_option("--writers", *n, help)->check(CLI::Range(1, 4096))->capture_default_str();
}

CLI::Option* AddRecordsFlag(CLI::App* cmd, uint64_t* n, const std::string& help) {
  return cmd->add_option("--records", *n, help)
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
}

CLI::Option* AddValueSizeFlag(CLI::App* cmd, uint32_t* n, const std::string& help) {
  return cmd->add_option("--value-size", *n, help)->transform(kSize);
}

CLI::Option* AddMechanismFlag(CLI::App* cmd, std::string* mechanism) {
  return cmd
      ->add_option("--mechanism", *mechanism,
                   "How fsync=always batches are made durable: buffered (write linked to fdatasync) or direct "
                   "(O_DIRECT + RWF_DSYNC into zeroed segments; falls back to buffered where refused)")
      ->check(CLI::IsMember({"buffered", "direct"}));
}

CLI::Option* AddBackendFlag(CLI::App* cmd, std::string* backend) {
  return cmd->add_option("--backend", *backend, "I/O backend: auto (io_uring, else sync), io_uring (or fail), sync")
      ->check(CLI::IsMember({"auto", "io_uring", "sync"}));
}

CLI::Option* AddDirFlag(CLI::App* cmd, std::string* dir, const std::string& help) {
  return cmd->add_option("--dir", *dir, help)->capture_default_str();
}

CLI::Option* AddFreshFlag(CLI::App* cmd, bool* fresh, const std::string& help) {
  return cmd->add_flag("--fresh", *fresh, help);
}

CLI::Option* AddSegmentBytesFlag(CLI::App* cmd, uint64_t* n) {
  return cmd->add_option("--segment-bytes", *n, "Segment size before rolling (k/M/G suffixes)")->transform(kSize);
}

CLI::Option* AddPreallocateFlag(CLI::App* cmd, std::string* mode, const std::vector<std::string>& names) {
  return cmd
      ->add_option("--preallocate", *mode, "Space reservation for new segments (the direct mechanism always zeroes)")
      ->check(CLI::IsMember(names));
}

CLI::Option* AddCodecFlag(CLI::App* cmd, std::string* codec) {
  return cmd
      ->add_option("--codec", *codec,
                   "Batch compression: none, lz4, zstd (level 1). The bench's values are random, so expect none "
                   "to pay")
      ->check(CLI::IsMember({"none", "lz4", "zstd"}));
}

CLI::Option* AddMaxInFlightFlag(CLI::App* cmd, uint32_t* n) {
  return cmd->add_option("--max-in-flight", *n, "Batches of the log written but not yet complete (1 or 2)")
      ->check(CLI::Range(1, 2));
}

CLI::Option* AddWindowFlag(CLI::App* cmd, uint32_t* n, const std::string& help) {
  return cmd->add_option("--window", *n, help)->check(CLI::Range(1, 1 << 20))->capture_default_str();
}

CLI::Option* AddLingerUsFlag(CLI::App* cmd, uint32_t* us) {
  return cmd->add_option("--linger-us", *us, "How long a batch may wait to fill before it is written");
}

CLI::Option* AddMaxBatchBytesFlag(CLI::App* cmd, uint32_t* n) {
  return cmd->add_option("--max-batch-bytes", *n, "A batch closes before passing this (k/M suffixes)")
      ->transform(kSize);
}

CLI::Option* AddFsyncIntervalFlag(CLI::App* cmd, uint32_t* ms) {
  return cmd->add_option("--fsync-interval-ms", *ms, "fsync=periodic: the fdatasync timer's period")
      ->check(CLI::Range(1, 60000));
}

void AddOutputFlags(CLI::App* cmd, bool* json, bool* no_progress) {
  cmd->add_flag("--json", *json, "Print one JSON object on stdout instead of the summary");
  cmd->add_flag("--no-progress", *no_progress, "No live progress line (it only appears when stderr is a tty)");
}

}  // namespace synap::cli
