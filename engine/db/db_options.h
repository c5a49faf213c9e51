// DbOptions: every knob of an engine instance, by name.
//
// One table (db_options.cc) names each option, parses it from a string,
// prints it back and says its limits, so the C ABI, the bindings and config
// files set options by name ("wal.fsync_mode" = "always") and need no struct
// layout. Field limits are checked by Validate(), at open.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"
#include "engine/kv/kv_options.h"
#include "engine/queue/queue_store.h"
#include "engine/stream/stream_options.h"
#include "engine/wal/options.h"

namespace synap::db {

struct SnapshotOptions {
  uint32_t interval_secs = 600;            // take one this often (0: never)
  uint64_t operation_threshold = 1000000;  // or after this many writes (0: never)
  uint32_t keep = 5;                       // snapshots kept (1..100)
  int zstd_level = 1;                      // 1..19
};

// Recovery progress: phase "snapshot" or "log", bytes done and total.
using ProgressFn = std::function<void(const char* phase, uint64_t done, uint64_t total)>;

struct DbOptions {
  wal::WalOptions wal;  // wal.dir is set by Open from the data directory
  kv::KvOptions kv;
  queue::QueueStoreOptions queue;
  stream::StreamOptions stream;
  SnapshotOptions snapshot;
  io::BackendKind backend = io::BackendKind::kAuto;
  ProgressFn progress;
  // Tests: supplies the I/O backend instead of OpenBackend(backend) — e.g. a
  // simulated disk that outlives the Database, to crash it and reopen.
  std::function<std::unique_ptr<io::IoBackend>()> make_backend;

  // Sets option `name` from `value`. InvalidArgument names the option and
  // its accepted values; the options are unchanged then.
  Status Set(const std::string& name, const std::string& value);
  // The current value of `name` as Set would accept it.
  Result<std::string> Get(const std::string& name) const;
  // Every option name, in the table's order.
  static std::vector<std::string> Names();
  Status Validate() const;
};

}  // namespace synap::db
