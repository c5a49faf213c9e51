// `synap-cli bench wal`: see bench_wal.h.
#include "tools/synap-cli/bench_wal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/io/uring_backend.h"
#include "engine/log/format.h"
#include "engine/log/recovery.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"
#include "tools/synap-cli/bench_common.h"
#include "tools/synap-cli/command.h"
#include "tools/synap-cli/latency_histogram.h"

namespace synap::cli {
namespace {

using Clock = BenchClock;
namespace fs = std::filesystem;

constexpr int kExitEngine = kBenchExitFailed;
constexpr int kExitConfig = kBenchExitConfig;
// Requests the backend must hold at once: a log has at most max_in_flight (2)
// batches and one fsync out; the rest is headroom.
constexpr unsigned kQueueDepth = 64;
// Each record starts with [u32 writer id][u64 sequence number]; the rest is
// the writer's fixed pseudo-random fill.
constexpr size_t kStampBytes = 12;

// ---- record contents ----

// A writer's value is MakeBenchFill(its id), made once; each record stamps
// its first bytes.

void Stamp(uint8_t* rec, size_t size, uint32_t writer, uint64_t seq) {
  uint8_t stamp[kStampBytes];
  std::memcpy(stamp, &writer, 4);
  std::memcpy(stamp + 4, &seq, 8);
  std::memcpy(rec, stamp, std::min(size, kStampBytes));
}

uint64_t FillHash(const std::vector<uint8_t>& fill) {
  if (fill.size() <= kStampBytes) return 0;
  return log::Hash(fill.data() + kStampBytes, fill.size() - kStampBytes, 0);
}

// Checks the reopened log record by record: the count, every size, and (for
// values of at least kStampBytes) that each writer's records come back in its
// append order with its fill intact. A writer waits for each ack before its
// next append, so its records are in LSN order.
struct Verifier {
  uint32_t value_size = 0;
  std::vector<uint64_t> next_seq;   // per writer
  std::vector<uint64_t> fill_hash;  // per writer
  uint64_t records = 0;
  uint64_t bad = 0;
  log::Lsn expect_lsn = 1;
  std::string first_problem;

  void Problem(log::Lsn lsn, const std::string& what) {
    if (bad++ == 0) first_problem = "LSN " + std::to_string(lsn) + ": " + what;
  }

  void operator()(log::Lsn lsn, std::span<const uint8_t> rec) {
    ++records;
    if (lsn != expect_lsn) Problem(lsn, "expected LSN " + std::to_string(expect_lsn));
    expect_lsn = lsn + 1;
    if (rec.size() != value_size) {
      return Problem(lsn, std::to_string(rec.size()) + " bytes, expected " + std::to_string(value_size));
    }
    if (value_size < kStampBytes) return;
    uint32_t writer;
    uint64_t seq;
    std::memcpy(&writer, rec.data(), 4);
    std::memcpy(&seq, rec.data() + 4, 8);
    if (writer >= next_seq.size()) return Problem(lsn, "unknown writer " + std::to_string(writer));
    if (seq != next_seq[writer]) {
      Problem(lsn, "writer " + std::to_string(writer) + " sequence " + std::to_string(seq) + ", expected " +
                       std::to_string(next_seq[writer]));
    }
    next_seq[writer] = seq + 1;
    if (log::Hash(rec.data() + kStampBytes, rec.size() - kStampBytes, 0) != fill_hash[writer])
      Problem(lsn, "writer " + std::to_string(writer) + " value bytes differ");
  }
};

// ---- writers ----

struct alignas(64) Writer {
  uint32_t id = 0;
  uint64_t records = 0;
  std::vector<uint8_t> value;
  LatencyHistogram hist;
  std::atomic<uint64_t> done{0};
  Status error;
  Clock::time_point finished;
};

// Appends this writer's records, keeping up to `window` unacknowledged (1: a
// client that waits for each ack, as a request/reply client does); latency is
// append call to acknowledgement.
void RunWriter(wal::Wal* w, Writer* me, uint32_t window, std::latch* ready, const std::atomic<bool>* go,
               std::atomic<bool>* stop) {
  ready->count_down();
  while (!go->load(std::memory_order_acquire)) std::this_thread::yield();
  uint8_t* rec = me->value.data();
  const size_t size = me->value.size();
  std::deque<std::pair<log::Lsn, Clock::time_point>> outstanding;
  uint64_t acked = 0;
  auto wait_oldest = [&]() -> bool {
    auto [lsn, t0] = outstanding.front();
    outstanding.pop_front();
    Status st = w->WaitFor(lsn);
    if (!st.ok()) {
      me->error = st;
      stop->store(true);
      return false;
    }
    Clock::time_point t1 = Clock::now();
    me->hist.Record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    me->done.store(++acked, std::memory_order_relaxed);
    return true;
  };
  for (uint64_t seq = 0; seq < me->records; ++seq) {
    if (stop->load(std::memory_order_relaxed)) break;
    Stamp(rec, size, me->id, seq);
    Clock::time_point t0 = Clock::now();
    Result<log::Lsn> lsn = w->Append(std::span<const uint8_t>(rec, size));
    if (!lsn.ok()) {
      me->error = lsn.status();
      stop->store(true);
      break;
    }
    outstanding.emplace_back(*lsn, t0);
    if (outstanding.size() >= window && !wait_oldest()) break;
  }
  while (!outstanding.empty() && me->error.ok())
    if (!wait_oldest()) break;
  me->finished = Clock::now();
}

// ---- the data directory ----

// Segment files (<20-digit LSN>.log) in dir; an empty list if dir is absent.
Result<std::vector<fs::path>> SegmentFiles(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return Status::FromErrno(ec.value(), "stat " + dir);
  if (!fs::exists(st)) return out;
  if (!fs::is_directory(st)) return Status::InvalidArgument(dir + " exists and is not a directory");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    log::Lsn base;
    if (log::ParseSegmentFileName(it->path().filename().string(), &base)) out.push_back(it->path());
  }
  if (ec) return Status::FromErrno(ec.value(), "list " + dir);
  std::sort(out.begin(), out.end());
  return out;
}

// Holds an exclusive flock on <dir>/.bench.lock while the bench runs, so two
// benches never share a directory: one's --fresh would delete the other's live
// segments before the engine's own <dir>/LOCK (taken at open) could refuse it.
class DirLock {
 public:
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays, harmlessly
  }
  Status Acquire(const std::string& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
      return Status::InvalidArgument(dir + " exists and is not a directory");
    fs::create_directories(dir, ec);
    if (ec) return Status::FromErrno(ec.value(), "create " + dir);
    std::string path = dir + "/.bench.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::FromErrno(errno, "open " + path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return Status::Locked("another synap-cli bench is running in " + dir);
      return Status::FromErrno(errno, "flock " + path);
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

// ---- results ----

struct Results {
  uint64_t records = 0;
  double elapsed_sec = 0;
  LatencyHistogram hist;
  wal::WalStats wal;
  io::IoStats io;
  std::string backend;
  std::string backend_fallback_reason;
  std::string uring_setup_flags;
  double close_ms = 0;
  uint64_t deleted_segments = 0;
  // recovery
  log::RecoveryReport recovery;
  double reopen_ms = 0;
  Verifier verify;
  bool verified = false;
};

BenchFigures Figures(const BenchWalConfig& c, const Results& r) {
  return {r.records, c.value_size, r.elapsed_sec, &r.hist};
}

void PrintJson(const BenchWalConfig& c, const Results& r) {
  JsonOut j;
  JsonFigures(j, Figures(c, r));
  j.U64("records", r.records)
      .U64("writers", c.writers)
      .U64("value_size", c.value_size)
      .Str("fsync", wal::FsyncModeName(c.fsync))
      .Str("mechanism", r.wal.mechanism)
      .Str("mechanism_requested", wal::MechanismName(c.mechanism))
      .Str("fallback_reason", r.wal.fallback_reason)
      .Str("backend", r.backend)
      .Str("backend_fallback_reason", r.backend_fallback_reason);
  if (r.backend == "io_uring") j.Str("uring_setup_flags", r.uring_setup_flags);
  j.Str("codec", log::CodecName(c.codec))
      .Str("preallocate", log::PreallocateName(c.preallocate))
      .U64("segment_bytes", c.segment_bytes)
      .U64("max_batch_bytes", c.max_batch_bytes)
      .U64("linger_us", c.linger_us)
      .U64("window", c.window)
      .U64("max_in_flight", c.max_in_flight)
      .U64("fsync_interval_ms", c.fsync_interval_ms)
      .Str("dir", c.dir)
      .Num("elapsed_sec", r.elapsed_sec, 3)
      .U64("batches", r.wal.batches)
      .Num("avg_records_per_batch",
           r.wal.batches == 0 ? 0.0 : static_cast<double>(r.wal.appends) / static_cast<double>(r.wal.batches), 2)
      .U64("max_batch_records", r.wal.max_batch_records)
      .U64("syncs", r.wal.syncs)
      .U64("batch_bytes", r.wal.batch_bytes)
      .U64("payload_bytes", r.wal.payload_bytes)
      .U64("segments_created", r.wal.segments_created)
      .BeginObject("io")
      .U64("enters", r.io.enters)
      .U64("requests", r.io.requests)
      .U64("writes", r.io.writes)
      .U64("syncs", r.io.syncs)
      .U64("dsync_writes", r.io.dsync_writes)
      .U64("short_writes", r.io.short_writes)
      .U64("bytes_written", r.io.bytes_written)
      .EndObject()
      .Num("close_ms", r.close_ms, 3)
      .BeginObject("recovery")
      .U64("records", r.recovery.records)
      .Num("ms", r.recovery.elapsed_ms, 3)
      .Num("open_ms", r.reopen_ms, 3)
      .U64("segments", r.recovery.segments)
      .U64("batches", r.recovery.batches)
      .U64("bytes", r.recovery.bytes)
      .U64("cuts", r.recovery.cuts.size())
      .Bool("verified", r.verified)
      .EndObject();
  std::printf("%s\n", j.Finish().c_str());
}

void PrintHuman(const BenchWalConfig& c, const Results& r) {
  std::printf("bench wal: %llu records x %u B, %u writers, fsync=%s, in %s\n",
              static_cast<unsigned long long>(r.records), c.value_size, c.writers, wal::FsyncModeName(c.fsync),
              c.dir.c_str());
  std::string backend = r.backend;
  if (!r.uring_setup_flags.empty()) backend += " (" + r.uring_setup_flags + ")";
  std::printf("  backend      %s, mechanism %s, codec %s, preallocate %s\n", backend.c_str(), r.wal.mechanism.c_str(),
              log::CodecName(c.codec), log::PreallocateName(c.preallocate));
  if (!r.backend_fallback_reason.empty()) std::printf("  io_uring fallback: %s\n", r.backend_fallback_reason.c_str());
  if (!r.wal.fallback_reason.empty()) std::printf("  mechanism fallback: %s\n", r.wal.fallback_reason.c_str());
  PrintFigures(Figures(c, r), "append->ack");
  std::printf("  batches      %llu, %.2f records each on average, %llu at most\n",
              static_cast<unsigned long long>(r.wal.batches),
              r.wal.batches == 0 ? 0.0 : static_cast<double>(r.wal.appends) / static_cast<double>(r.wal.batches),
              static_cast<unsigned long long>(r.wal.max_batch_records));
  std::printf("  wal          %llu fsync-only requests, %llu segments created, %llu batch bytes for %llu payload bytes\n",
              static_cast<unsigned long long>(r.wal.syncs), static_cast<unsigned long long>(r.wal.segments_created),
              static_cast<unsigned long long>(r.wal.batch_bytes), static_cast<unsigned long long>(r.wal.payload_bytes));
  std::printf("  io           %llu enters, %llu writes, %llu fdatasyncs, %llu dsync writes, %llu short writes, %llu bytes\n",
              static_cast<unsigned long long>(r.io.enters), static_cast<unsigned long long>(r.io.writes),
              static_cast<unsigned long long>(r.io.syncs), static_cast<unsigned long long>(r.io.dsync_writes),
              static_cast<unsigned long long>(r.io.short_writes), static_cast<unsigned long long>(r.io.bytes_written));
  std::printf("  close        %.1f ms\n", r.close_ms);
  std::printf("  recovery     %llu records in %llu segments, scanned in %.1f ms (open %.1f ms): %s\n",
              static_cast<unsigned long long>(r.recovery.records), static_cast<unsigned long long>(r.recovery.segments),
              r.recovery.elapsed_ms, r.reopen_ms, r.verified ? "all verified" : "MISMATCH");
}

}  // namespace

int RunBenchWal(const BenchWalConfig& c) {
  wal::WalOptions opts;
  opts.dir = c.dir;
  opts.fsync = c.fsync;
  opts.fsync_interval_ms = c.fsync_interval_ms;
  opts.mechanism = c.mechanism;
  opts.segment_bytes = c.segment_bytes;
  opts.preallocate = c.preallocate;
  opts.codec = c.codec;
  opts.linger_us = c.linger_us;
  opts.max_in_flight = c.max_in_flight;
  opts.max_batch_bytes = c.max_batch_bytes;
  // Every record is value_size bytes: let the limit be exactly that, so a
  // small --segment-bytes is not refused for records the run never writes.
  opts.max_record_bytes = c.value_size;
  opts.max_pending_bytes = std::max<uint64_t>({opts.max_pending_bytes, opts.max_batch_bytes, c.value_size + 4ull});
  if (Status st = opts.Validate(); !st.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: %s\n", st.message().c_str());
    if (st.message().find("segment_bytes") != std::string::npos)
      std::fprintf(stderr,
                   "  hint: --segment-bytes must hold a 4 KiB header block plus the largest batch, i.e. the larger "
                   "of --max-batch-bytes and --value-size, plus 80 bytes\n");
    return kExitConfig;
  }

  Results r;
  DirLock lock;
  if (Status st = lock.Acquire(c.dir); !st.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: %s\n", st.message().c_str());
    return st.code() == Status::Code::kIoError || st.code() == Status::Code::kNoSpace ? kExitEngine : kExitConfig;
  }
  // The directory: refuse to mix with an existing log (the reopen check
  // counts records), unless --fresh.
  Result<std::vector<fs::path>> existing = SegmentFiles(c.dir);
  if (!existing.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: %s\n", existing.status().message().c_str());
    return kExitEngine;
  }
  if (!existing->empty()) {
    if (!c.fresh) {
      std::fprintf(stderr,
                   "synap-cli bench wal: %s already holds a log (%zu segment files); pass --fresh to delete them "
                   "first, or choose another --dir\n",
                   c.dir.c_str(), existing->size());
      return kExitConfig;
    }
    for (const fs::path& p : *existing) {
      std::error_code ec;
      if (!fs::remove(p, ec) && ec) {
        std::fprintf(stderr, "synap-cli bench wal: remove %s: %s\n", p.c_str(), ec.message().c_str());
        return kExitEngine;
      }
    }
    r.deleted_segments = existing->size();
    std::fprintf(stderr, "bench wal: --fresh: deleted %zu segment files from %s\n", existing->size(), c.dir.c_str());
  }

  // The backend and the committer that drives it.
  std::string reason;
  Result<std::unique_ptr<io::IoBackend>> backend = io::OpenBackend(c.backend, kQueueDepth, &reason);
  if (!backend.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: cannot open the I/O backend: %s\n",
                 backend.status().ToString().c_str());
    return kExitEngine;
  }
  if (!reason.empty()) std::fprintf(stderr, "bench wal: io_uring unavailable, using sync: %s\n", reason.c_str());
  r.backend = (*backend)->name();
  r.backend_fallback_reason = reason;
  if (auto* u = dynamic_cast<io::UringBackend*>(backend->get())) r.uring_setup_flags = u->setup_flags();
  auto committer = std::make_unique<wal::GroupCommitter>(std::move(*backend));

  Result<std::unique_ptr<wal::Wal>> opened = wal::Wal::Open(committer.get(), opts, {}, nullptr);
  if (!opened.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: open %s: %s\n", c.dir.c_str(), opened.status().ToString().c_str());
    return kExitEngine;
  }
  std::unique_ptr<wal::Wal> w = std::move(*opened);

  // Writers: the records split as evenly as possible.
  std::vector<std::unique_ptr<Writer>> writers;
  writers.reserve(c.writers);
  for (uint32_t i = 0; i < c.writers; ++i) {
    auto wr = std::make_unique<Writer>();
    wr->id = i;
    wr->records = c.records / c.writers + (i < c.records % c.writers ? 1 : 0);
    wr->value = MakeBenchFill(i, c.value_size);
    writers.push_back(std::move(wr));
  }
  Verifier verify;
  verify.value_size = c.value_size;
  verify.next_seq.assign(c.writers, 0);
  for (const auto& wr : writers) verify.fill_hash.push_back(FillHash(wr->value));

  std::latch ready(c.writers);
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> threads;
  threads.reserve(c.writers);
  for (auto& wr : writers) threads.emplace_back(RunWriter, w.get(), wr.get(), c.window, &ready, &go, &stop);
  ready.wait();
  Clock::time_point start = Clock::now();
  go.store(true, std::memory_order_release);
  {
    std::unique_ptr<ProgressLine> progress;
    if (ProgressWanted(!c.progress)) {
      ProgressSpec spec{"bench wal", "acked", c.records, 0, std::chrono::milliseconds(250)};
      progress = std::make_unique<ProgressLine>(spec, [&writers] {
        uint64_t n = 0;
        for (const auto& w : writers) n += w->done.load(std::memory_order_relaxed);
        return n;
      });
    }
    for (std::thread& t : threads) t.join();
  }
  Clock::time_point end = start;
  Status failed;
  for (const auto& wr : writers) {
    end = std::max(end, wr->finished);
    r.hist.Merge(wr->hist);
    r.records += wr->done.load();
    if (failed.ok() && !wr->error.ok()) failed = wr->error;
  }
  r.elapsed_sec = std::max(1e-9, SecondsOf(end - start));
  r.wal = w->stats();
  r.io = committer->io()->stats();

  Clock::time_point t = Clock::now();
  Status closed = w->Close();
  r.close_ms = MillisOf(Clock::now() - t);
  w.reset();
  if (!failed.ok() || !closed.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: the log failed after %llu of %llu records: %s\n",
                 static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(c.records),
                 (!failed.ok() ? failed : closed).ToString().c_str());
    return kExitEngine;
  }
  writers.clear();

  // Reopen: recovery must find exactly what was written.
  t = Clock::now();
  Result<std::unique_ptr<wal::Wal>> again = wal::Wal::Open(
      committer.get(), opts, [&verify](log::Lsn lsn, std::span<const uint8_t> rec) { verify(lsn, rec); },
      &r.recovery);
  r.reopen_ms = MillisOf(Clock::now() - t);
  if (!again.ok()) {
    std::fprintf(stderr, "synap-cli bench wal: reopening %s failed: %s\n", c.dir.c_str(),
                 again.status().ToString().c_str());
    return kExitEngine;
  }
  Status reclosed = (*again)->Close();
  again->reset();
  committer.reset();
  r.verify = verify;
  r.verified = reclosed.ok() && verify.bad == 0 && verify.records == c.records && r.recovery.records == c.records &&
               r.recovery.cuts.empty();

  if (c.json) {
    PrintJson(c, r);
  } else {
    PrintHuman(c, r);
  }
  std::fflush(stdout);
  if (!r.verified) {
    std::fprintf(stderr,
                 "synap-cli bench wal: the reopened log does not match: %llu records recovered (%llu replayed), %llu "
                 "written, %llu bad, %zu cuts%s%s%s\n",
                 static_cast<unsigned long long>(r.recovery.records), static_cast<unsigned long long>(verify.records),
                 static_cast<unsigned long long>(c.records), static_cast<unsigned long long>(verify.bad),
                 r.recovery.cuts.size(), verify.first_problem.empty() ? "" : "; first: ",
                 verify.first_problem.c_str(), reclosed.ok() ? "" : ("; close: " + reclosed.ToString()).c_str());
    return kExitEngine;
  }
  return 0;
}

namespace {

RunFn SetupBenchWal(CLI::App* cmd) {
  // The strings CLI11 fills; converted by the engine's own parsers in run().
  struct Flags {
    BenchWalConfig cfg;
    std::string fsync = "always", mechanism = "buffered", backend = "auto";
    std::string preallocate = log::PreallocateName(wal::WalOptions{}.preallocate);
    std::string codec = "none";
    bool no_progress = false;
  };
  auto f = std::make_shared<Flags>();
  BenchWalConfig& cfg = f->cfg;

  AddFsyncFlag(cmd, &f->fsync);
  AddWritersFlag(cmd, &cfg.writers, "Writer threads, each with one append outstanding");
  AddRecordsFlag(cmd, &cfg.records, "Total appends, split evenly over the writers");
  AddValueSizeFlag(cmd, &cfg.value_size, "Bytes per record (k/M suffixes: 1024-based)")
      ->check(CLI::Range(uint32_t{0}, wal::kMaxRecordBytesLimit))
      ->capture_default_str();
  AddMechanismFlag(cmd, &f->mechanism)->capture_default_str();
  AddBackendFlag(cmd, &f->backend)->capture_default_str();
  AddDirFlag(cmd, &cfg.dir, "Log directory (created if missing; the log is left there for inspection)");
  AddFreshFlag(cmd, &cfg.fresh,
               "Delete the segment files (<20-digit LSN>.log) already in --dir first; without it an existing log "
               "is refused. Other files are left alone");
  AddSegmentBytesFlag(cmd, &cfg.segment_bytes)
      ->check(CLI::Range(wal::kMinSegmentBytes, wal::kMaxSegmentBytes))
      ->capture_default_str();
  // Whatever names this engine's ParsePreallocate accepts ("auto" lets the
  // WAL choose per fsync mode, where the engine has it).
  std::vector<std::string> preallocate_names;
  for (const char* n : {"auto", "none", "fallocate", "zero"})
    if (log::ParsePreallocate(n).ok()) preallocate_names.push_back(n);
  AddPreallocateFlag(cmd, &f->preallocate, preallocate_names)->capture_default_str();
  AddCodecFlag(cmd, &f->codec)->capture_default_str();
  AddMaxInFlightFlag(cmd, &cfg.max_in_flight)->capture_default_str();
  AddWindowFlag(cmd, &cfg.window,
                "Appends each writer keeps unacknowledged before waiting for the oldest (1: wait for each, "
                "like a request/reply client; larger: a pipelining producer)");
  AddLingerUsFlag(cmd, &cfg.linger_us)->check(CLI::Range(0, 1000000))->capture_default_str();
  AddMaxBatchBytesFlag(cmd, &cfg.max_batch_bytes)
      ->check(CLI::Range(uint32_t{1}, wal::kMaxBatchBytesLimit))
      ->capture_default_str();
  AddFsyncIntervalFlag(cmd, &cfg.fsync_interval_ms)->capture_default_str();
  AddOutputFlags(cmd, &cfg.json, &f->no_progress);
  cmd->footer(
      "Each writer appends a record, waits for its acknowledgement, and records the append->ack latency. After "
      "the run the log is reopened and every record is checked.\n"
      "Exit status: 0 ok; 1 engine failure or the reopened log does not match; 2 configuration refused "
      "(including an existing log in --dir without --fresh); other non-zero: bad command line.");

  return [f]() -> int {
    BenchWalConfig c = f->cfg;
    c.fsync = *wal::ParseFsyncMode(f->fsync);  // the IsMember checks make these succeed
    c.mechanism = *wal::ParseMechanism(f->mechanism);
    c.preallocate = *log::ParsePreallocate(f->preallocate);
    c.codec = *log::ParseCodec(f->codec);
    c.backend = f->backend == "sync" ? io::BackendKind::kSync
                : f->backend == "io_uring" ? io::BackendKind::kUring
                                           : io::BackendKind::kAuto;
    c.progress = !f->no_progress;
    return RunBenchWal(c);
  };
}

}  // namespace

SYNAP_CLI_GROUP("bench", "Measure the engine");
SYNAP_CLI_COMMAND("bench wal", "Append-and-wait throughput and latency of one write-ahead log", SetupBenchWal);

}  // namespace synap::cli
