// Recovery time, log and snapshot: writes N keys (16-byte keys, 100-byte
// values of random letters by default) under fsync=never, then measures
//   1. open = replay of the whole log (no snapshot),
//   2. a snapshot of the N keys,
//   3. open = load of that snapshot (the log after it is empty),
// and prints one JSON object. Bytes per second are of log bytes (record
// payloads) and of snapshot raw record bytes.
//
//   ./build/bench/synap_kv_recovery [keys] [value_bytes] [dir]
//   defaults: 10000000 100 data/bench/recovery
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/db/database.h"

using synap::db::Database;
using synap::db::DbOptions;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const synap::Status& st, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<Database> OpenDb(const std::string& dir, double* seconds) {
  DbOptions o;
  (void)o.Set("wal.fsync_mode", "never");
  (void)o.Set("wal.segment_bytes", "1G");
  o.snapshot.interval_secs = 0;
  o.snapshot.operation_threshold = 0;
  Clock::time_point t0 = Clock::now();
  auto r = Database::Open(dir, o);
  if (!r.ok()) Die(r.status(), "open");
  *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return std::move(*r);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t keys = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  size_t value_bytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100;
  std::string dir = argc > 3 ? argv[3] : "data/bench/recovery";
  std::filesystem::remove_all(dir);

  double t_open0;
  auto db = OpenDb(dir, &t_open0);
  std::string value(value_bytes, 'v');
  char key[32];
  synap::log::Lsn ticket = 0;
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  Clock::time_point t0 = Clock::now();
  for (uint64_t i = 0; i < keys; i++) {
    std::snprintf(key, sizeof key, "key%013llu", static_cast<unsigned long long>(i));
    // Values of random letters: compressible like text, not like one byte.
    for (char& c : value) rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, c = static_cast<char>('a' + rng % 26);
    auto r = db->kv().Set(std::string_view(key, 16), value, {}, nullptr, &ticket);
    if (!r.ok()) Die(r.status(), "set");
  }
  if (synap::Status st = db->Sync(); !st.ok()) Die(st, "sync");
  double t_load = std::chrono::duration<double>(Clock::now() - t0).count();
  if (synap::Status st = db->Close(); !st.ok()) Die(st, "close");
  db.reset();

  double t_log;
  db = OpenDb(dir, &t_log);
  const auto& rep = db->report();
  uint64_t log_bytes = rep.log_bytes_replayed, records = rep.log.replayed;
  if (db->kv().DbSize() != keys) Die(synap::Status::Corruption("key count after log replay"), "verify");

  Clock::time_point ts = Clock::now();
  if (synap::Status st = db->Snapshot(); !st.ok()) Die(st, "snapshot");
  double t_snap = std::chrono::duration<double>(Clock::now() - ts).count();
  if (synap::Status st = db->Close(); !st.ok()) Die(st, "close");
  db.reset();

  double t_snapload;
  db = OpenDb(dir, &t_snapload);
  const auto& rep2 = db->report();
  if (db->kv().DbSize() != keys) Die(synap::Status::Corruption("key count after snapshot load"), "verify");
  uint64_t snap_bytes = rep2.snapshot_bytes;
  uint64_t snap_file = std::filesystem::file_size(rep2.snapshot);

  std::printf(
      "{\"keys\":%llu,\"value_bytes\":%zu,\"write_s\":%.3f,"
      "\"log\":{\"records\":%llu,\"bytes\":%llu,\"open_s\":%.3f,\"mb_per_s\":%.1f},"
      "\"snapshot\":{\"write_s\":%.3f,\"raw_bytes\":%llu,\"file_bytes\":%llu,\"open_s\":%.3f,\"mb_per_s\":%.1f,"
      "\"keys_per_s\":%.0f}}\n",
      static_cast<unsigned long long>(keys), value_bytes, t_load, static_cast<unsigned long long>(records),
      static_cast<unsigned long long>(log_bytes), t_log, log_bytes / t_log / 1e6, t_snap,
      static_cast<unsigned long long>(snap_bytes), static_cast<unsigned long long>(snap_file), t_snapload,
      snap_bytes / t_snapload / 1e6, keys / t_snapload);
  return 0;
}
