// Options for a Database on a simulated disk that a test crashes and
// reopens: fsync=always, small segments and records (many rolls), no
// background work but what the test asks for.
#pragma once

#include <memory>

#include "engine/db/db_options.h"
#include "engine/io/sim_backend.h"
#include "tests/support/forwarding_backend.h"

namespace synap::testing {

// `sim` must outlive every Database opened with the result. A seed picks
// how a crash treats unsynced writes: dropped (even) or torn (odd).
inline db::DbOptions SimDbOptions(io::SimBackend* sim, uint64_t seed) {
  sim->set_crash_mode(seed % 2 ? io::SimBackend::CrashMode::kTornUnsynced : io::SimBackend::CrashMode::kDropUnsynced);
  db::DbOptions opts;
  opts.make_backend = [sim] { return std::make_unique<ForwardingBackend>(sim); };
  opts.wal.fsync = wal::FsyncMode::kAlways;
  opts.wal.segment_bytes = 64 << 10;
  opts.wal.max_record_bytes = 16 << 10;
  opts.wal.max_batch_bytes = 16 << 10;
  opts.wal.preallocate = log::Preallocate::kNone;
  opts.kv.max_key_bytes = 64;
  opts.kv.max_value_bytes = 8 << 10;
  opts.kv.active_expire_ms = 0;
  opts.queue.max_payload_bytes = 4096;
  opts.snapshot.interval_secs = 0;
  opts.snapshot.operation_threshold = 0;
  opts.snapshot.keep = 2;
  return opts;
}

}  // namespace synap::testing
