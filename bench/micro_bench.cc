// Micro-benchmarks of the log's hot pieces: hashing, batch headers, record
// walking, batch compression, and Wal::Append; and of loading a snapshot.
//
//   ninja -C build bench/synap_micro_bench
//   ./build/bench/synap_micro_bench --benchmark_min_time=0.1
//   ./build/bench/synap_micro_bench --benchmark_filter=Zstd --benchmark_min_time=0.1
//
// Not a meson test. The Wal and snapshot benchmarks write to a fresh
// directory under $TMPDIR (default /tmp) and remove it afterwards.
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/backend.h"
#include "engine/log/codec.h"
#include "engine/log/format.h"
#include "engine/snapshot/snapshot_file.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"

namespace {

using synap::log::Codec;

// ---- data ----

struct Rng {  // xorshift64*, deterministic
  uint64_t s;
  uint64_t Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
};

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  Rng r{seed};
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = r.Next();
    std::memcpy(v.data() + i, &x, std::min<size_t>(8, n - i));
  }
  return v;
}

// `n` bytes of JSON-like event records, one per line: repeated keys and
// vocabulary (compressible) with random ids, timestamps and numbers (not).
std::vector<uint8_t> JsonLikeBytes(size_t n) {
  static const char* kEvents[] = {"page_view", "click", "add_to_cart", "checkout", "login", "logout", "search"};
  static const char* kCountries[] = {"DE", "FR", "US", "GB", "JP", "BR", "IN", "NL", "SE", "ES"};
  static const char* kAgents[] = {"Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)",
                                  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)", "curl/8.4.0"};
  Rng r{42};
  std::string out;
  out.reserve(n + 512);
  uint64_t ts = 1700000000000;
  while (out.size() < n) {
    ts += r.Below(5000);
    char line[512];
    int len = std::snprintf(
        line, sizeof line,
        "{\"id\":%llu,\"ts\":%llu,\"user\":\"user_%05llu\",\"event\":\"%s\",\"path\":\"/products/%llu\","
        "\"country\":\"%s\",\"agent\":\"%s\",\"price\":%llu.%02llu,\"session\":\"%016llx\"}\n",
        static_cast<unsigned long long>(r.Next() % 100000000), static_cast<unsigned long long>(ts),
        static_cast<unsigned long long>(r.Below(50000)), kEvents[r.Below(7)],
        static_cast<unsigned long long>(r.Below(20000)), kCountries[r.Below(10)], kAgents[r.Below(4)],
        static_cast<unsigned long long>(r.Below(500)), static_cast<unsigned long long>(r.Below(100)),
        static_cast<unsigned long long>(r.Next()));
    out.append(line, static_cast<size_t>(len));
  }
  out.resize(n);
  return std::vector<uint8_t>(out.begin(), out.end());
}

// A raw batch payload: `count` records of `size` bytes, each [u32 len][bytes].
std::vector<uint8_t> RecordPayload(uint32_t count, uint32_t size) {
  std::vector<uint8_t> value = RandomBytes(size, 7);
  std::vector<uint8_t> raw;
  raw.reserve(count * (synap::log::kRecordPrefixSize + size));
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t len[4];
    std::memcpy(len, &size, 4);
    raw.insert(raw.end(), len, len + 4);
    raw.insert(raw.end(), value.begin(), value.end());
  }
  return raw;
}

// ---- hashing ----

void BM_Xxh3(benchmark::State& state) {
  std::vector<uint8_t> data = RandomBytes(static_cast<size_t>(state.range(0)), 1);
  for (auto _ : state) benchmark::DoNotOptimize(synap::log::Hash(data.data(), data.size(), 12345));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Xxh3)->Arg(64)->Arg(1024)->Arg(64 << 10);

// ---- batch header ----

void BM_BatchHeaderEncodeDecode(benchmark::State& state) {
  synap::log::BatchHeader h;
  h.codec = Codec::kNone;
  h.stored_len = h.raw_len = 104 * 64;
  h.record_count = 64;
  h.first_lsn = 1000;
  h.segment_id = 3;
  h.timestamp_us = 1700000000000000;
  h.durable_watermark = 999;
  h.payload_hash = 0x1234567890abcdef;
  alignas(8) uint8_t buf[synap::log::kBatchHeaderSize];
  synap::log::BatchHeader out;
  for (auto _ : state) {
    h.first_lsn++;
    synap::log::EncodeBatchHeader(h, buf);
    benchmark::DoNotOptimize(buf);
    synap::Status st = synap::log::DecodeBatchHeader(buf, sizeof buf, h.segment_id, &out);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BatchHeaderEncodeDecode);

// ---- record walk ----

void BM_ForEachRecord(benchmark::State& state) {
  const uint32_t count = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> raw = RecordPayload(count, 100);
  for (auto _ : state) {
    uint64_t sum = 0;
    synap::Status st = synap::log::ForEachRecord(
        raw, count, [&sum](uint32_t, std::span<const uint8_t> rec) { sum += rec.size() + rec[0]; });
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
}
BENCHMARK(BM_ForEachRecord)->Arg(16)->Arg(630);  // 630 x 104 B ~ 64 KiB

// ---- compression (through the engine's codec layer) ----

constexpr size_t kCompressInput = 64 << 10;

const std::vector<uint8_t>& CompressInput() {
  static const std::vector<uint8_t> data = JsonLikeBytes(kCompressInput);
  return data;
}

// Args: codec, level.
void BM_Compress(benchmark::State& state) {
  const Codec codec = static_cast<Codec>(state.range(0));
  const int level = static_cast<int>(state.range(1));
  const std::vector<uint8_t>& raw = CompressInput();
  std::vector<uint8_t> out;
  out.reserve(raw.size() + 1024);
  for (auto _ : state) {
    if (!synap::log::Compress(codec, level, raw, &out, 0)) state.SkipWithError("did not compress");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(out.size());
  state.counters["compressed_bytes"] = static_cast<double>(out.size());
  state.SetLabel(std::string(synap::log::CodecName(codec)) + (codec == Codec::kZstd ? " level " + std::to_string(level) : ""));
}

void BM_Decompress(benchmark::State& state) {
  const Codec codec = static_cast<Codec>(state.range(0));
  const int level = static_cast<int>(state.range(1));
  const std::vector<uint8_t>& raw = CompressInput();
  std::vector<uint8_t> stored, out;
  if (!synap::log::Compress(codec, level, raw, &stored, 0)) {
    state.SkipWithError("did not compress");
    return;
  }
  for (auto _ : state) {
    synap::Status st = synap::log::Decompress(codec, stored, static_cast<uint32_t>(raw.size()), &out);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(out.data());
  }
  if (out != raw) state.SkipWithError("round trip differs");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));  // decompressed bytes
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(stored.size());
  state.SetLabel(std::string(synap::log::CodecName(codec)) + (codec == Codec::kZstd ? " level " + std::to_string(level) : ""));
}

#define CODEC_ARGS                                                   \
  ArgNames({"codec", "level"})                                       \
      ->Args({static_cast<int64_t>(Codec::kLz4), 0})                 \
      ->Args({static_cast<int64_t>(Codec::kZstd), 1})                \
      ->Args({static_cast<int64_t>(Codec::kZstd), 3})
BENCHMARK(BM_Compress)->CODEC_ARGS;
BENCHMARK(BM_Decompress)->CODEC_ARGS;

// For comparison: zstd with one compression context kept across calls. The
// engine calls ZSTD_compress(), which sets a context up (and allocates its
// workspace) on every call.
void BM_ZstdCompressReusedContext(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  const std::vector<uint8_t>& raw = CompressInput();
  std::vector<uint8_t> out(ZSTD_compressBound(raw.size()));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  size_t n = 0;
  for (auto _ : state) {
    n = ZSTD_compressCCtx(cctx, out.data(), out.size(), raw.data(), raw.size(), level);
    if (ZSTD_isError(n)) state.SkipWithError(ZSTD_getErrorName(n));
    benchmark::DoNotOptimize(out.data());
  }
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(n);
}
BENCHMARK(BM_ZstdCompressReusedContext)->ArgName("level")->Arg(1)->Arg(3);

// ---- Wal::Append, fsync=never ----
//
// Appends 100-byte records without waiting for acknowledgements: the cost of
// the appender path (lock, copy into the open batch, committer notify) with
// the committer writing behind it. Appends block only when max_pending_bytes
// (64 MiB) are waiting to be written.

struct WalFixture {
  std::string dir;
  std::unique_ptr<synap::wal::GroupCommitter> committer;
  std::unique_ptr<synap::wal::Wal> wal;
  std::string backend;
};
WalFixture* g_wal = nullptr;

std::string MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/synap-micro-bench-XXXXXX";
  std::vector<char> path(tmpl.begin(), tmpl.end());
  path.push_back('\0');
  if (mkdtemp(path.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return path.data();
}

void WalSetup(const benchmark::State&) {
  auto f = std::make_unique<WalFixture>();
  f->dir = MakeTempDir();
  std::string reason;
  auto io = synap::io::OpenBackend(synap::io::BackendKind::kAuto, 64, &reason);
  if (!io.ok()) {
    std::fprintf(stderr, "OpenBackend: %s\n", io.status().ToString().c_str());
    std::abort();
  }
  f->backend = (*io)->name();
  f->committer = std::make_unique<synap::wal::GroupCommitter>(std::move(*io));
  synap::wal::WalOptions opts;
  opts.dir = f->dir;
  opts.fsync = synap::wal::FsyncMode::kNever;
  auto w = synap::wal::Wal::Open(f->committer.get(), opts, {}, nullptr);
  if (!w.ok()) {
    std::fprintf(stderr, "Wal::Open %s: %s\n", f->dir.c_str(), w.status().ToString().c_str());
    std::abort();
  }
  f->wal = std::move(*w);
  g_wal = f.release();
}

void WalTeardown(const benchmark::State&) {
  std::unique_ptr<WalFixture> f(g_wal);
  g_wal = nullptr;
  f->wal->Close();
  f->wal.reset();
  f->committer.reset();
  std::error_code ec;
  std::filesystem::remove_all(f->dir, ec);
}

void BM_WalAppend(benchmark::State& state) {
  std::vector<uint8_t> rec = RandomBytes(100, 1000 + static_cast<uint64_t>(state.thread_index()));
  synap::wal::Wal* w = g_wal->wal.get();
  for (auto _ : state) {
    auto lsn = w->Append(rec);
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(*lsn);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rec.size()));
  if (state.thread_index() == 0) state.SetLabel(g_wal->backend);
}
BENCHMARK(BM_WalAppend)->Setup(WalSetup)->Teardown(WalTeardown)->Threads(1)->Threads(2)->UseRealTime();

// ---- loading a snapshot ----
//
// ReadSnapshot over a file of KV-shaped records (a 16-byte key and a 100-byte
// slice of JSON-like text), warm in the page cache: what the engine pays to
// load a snapshot before replaying the log. Bytes are raw (uncompressed)
// record bytes. $SYNAP_BENCH_SNAPSHOT_RECORDS overrides the 1 M records.

struct SnapshotFile {
  std::string dir;
  synap::snapshot::SnapshotMeta meta;
  std::unique_ptr<synap::io::IoBackend> io;
  ~SnapshotFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

const SnapshotFile& BenchSnapshot() {
  static const std::unique_ptr<SnapshotFile> file = [] {
    const char* env = std::getenv("SYNAP_BENCH_SNAPSHOT_RECORDS");
    const uint64_t records = env != nullptr ? std::strtoull(env, nullptr, 10) : uint64_t{1} << 20;
    auto f = std::make_unique<SnapshotFile>();
    f->dir = MakeTempDir();
    std::string reason;
    f->io = std::move(synap::io::OpenBackend(synap::io::BackendKind::kSync, 8, &reason).value());
    auto w = synap::snapshot::SnapshotWriter::Create(f->io.get(), f->dir, 1, {}).value();
    const std::vector<uint8_t> text = JsonLikeBytes(1 << 20);
    Rng r{9};
    uint8_t rec[116];
    for (uint64_t i = 0; i < records; ++i) {
      std::snprintf(reinterpret_cast<char*>(rec), 17, "key:%012llu", static_cast<unsigned long long>(i % 1000000000000ull));
      std::memcpy(rec + 16, text.data() + r.Below(text.size() - 100), 100);
      if (!w->Add(1, rec).ok()) std::abort();
    }
    f->meta = w->Finish().value();
    return f;
  }();
  return *file;
}

void BM_SnapshotRead(benchmark::State& state) {
  const SnapshotFile& f = BenchSnapshot();
  uint64_t sum = 0;
  for (auto _ : state) {
    auto m = synap::snapshot::ReadSnapshot(f.io.get(), f.meta.path, [&](uint8_t type, std::span<const uint8_t> p) {
      sum += type + p.size() + p[0];
      return synap::Status::Ok();
    });
    if (!m.ok()) state.SkipWithError(m.status().ToString().c_str());
  }
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.meta.raw_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.meta.records));
  state.counters["ratio"] = static_cast<double>(f.meta.raw_bytes) / static_cast<double>(f.meta.file_bytes);
}
BENCHMARK(BM_SnapshotRead)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
