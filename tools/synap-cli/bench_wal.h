// `synap-cli bench wal`: N writer threads append fixed-size records to one
// Wal, each waiting for its record's acknowledgement (Wal::WaitFor, per the
// fsync mode) before the next, as a synchronous client does. Reports
// throughput, append->ack latency percentiles, batching and I/O counters,
// then reopens the log and checks that every record is there.
#pragma once

#include <cstdint>
#include <string>

#include "engine/io/backend.h"
#include "engine/log/codec.h"
#include "engine/log/segment.h"
#include "engine/wal/options.h"

namespace synap::cli {

struct BenchWalConfig {
  wal::FsyncMode fsync = wal::FsyncMode::kAlways;
  wal::Mechanism mechanism = wal::Mechanism::kBuffered;
  io::BackendKind backend = io::BackendKind::kAuto;
  uint32_t writers = 64;
  uint64_t records = 200000;  // total appends, split evenly over the writers
  uint32_t value_size = 100;  // bytes per record (the log adds a 4-byte length)
  std::string dir = "./data/wal-bench";
  bool fresh = false;         // delete the segment files already in dir first
  uint64_t segment_bytes = wal::WalOptions{}.segment_bytes;
  log::Preallocate preallocate = wal::WalOptions{}.preallocate;
  log::Codec codec = log::Codec::kNone;
  uint32_t linger_us = 0;
  uint32_t max_in_flight = wal::WalOptions{}.max_in_flight;
  uint32_t window = 1;        // appends a writer keeps outstanding before waiting for the oldest
  uint32_t max_batch_bytes = wal::WalOptions{}.max_batch_bytes;
  uint32_t fsync_interval_ms = wal::WalOptions{}.fsync_interval_ms;
  bool json = false;
  bool progress = true;       // a live line on stderr, when stderr is a terminal
};

// Exit codes: 0 ok; 1 the engine failed (I/O error, or the reopened log does
// not hold exactly the records written); 2 the configuration was refused
// (invalid option combination, or dir already holds a log without --fresh).
int RunBenchWal(const BenchWalConfig& cfg);

}  // namespace synap::cli
