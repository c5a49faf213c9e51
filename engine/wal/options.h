// Every knob of a write-ahead log, with its default and its limit.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/status.h"
#include "engine/log/codec.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"

namespace synap::wal {

// When an append counts as acknowledged.
enum class FsyncMode : uint8_t {
  kAlways,    // after a completed write+fsync covers it: survives power loss
  kPeriodic,  // after its write completes (survives a process crash); a timer
              // fsyncs every fsync_interval_ms, so power loss costs at most that window
  kNever,     // after its write completes; fsync when a segment is sealed, at close, and
              // every 8 MiB written (to bound dirty data; no ack waits for it)
};

// How a batch is made durable under kAlways.
enum class Mechanism : uint8_t {
  kBuffered,  // buffered write linked to fdatasync in one submission (default)
  kDirect,    // O_DIRECT + RWF_DSYNC writes into preallocated, zeroed segments,
              // every batch padded to the device's direct-I/O alignment
};

Result<FsyncMode> ParseFsyncMode(const std::string& s);  // "always", "periodic", "never"
const char* FsyncModeName(FsyncMode m);
Result<Mechanism> ParseMechanism(const std::string& s);  // "buffered", "direct"
const char* MechanismName(Mechanism m);

// Hard ceilings that no option may pass (they keep u32 length fields and
// in-memory buffers bounded).
inline constexpr uint32_t kMaxRecordBytesLimit = 64u << 20;   // 64 MiB
inline constexpr uint32_t kMaxBatchBytesLimit = 64u << 20;    // 64 MiB
inline constexpr uint64_t kMinSegmentBytes = 64u << 10;       // 64 KiB
// Recovery reads a whole segment into memory: this bounds that buffer.
inline constexpr uint64_t kMaxSegmentBytes = 1ull << 30;      // 1 GiB

struct WalOptions {
  std::string dir;  // the log's directory; created if missing

  FsyncMode fsync = FsyncMode::kAlways;
  uint32_t fsync_interval_ms = 10;  // kPeriodic: the timer's period (1..60000)
  Mechanism mechanism = Mechanism::kBuffered;

  uint64_t segment_bytes = 64ull << 20;  // a segment rolls before passing this
  // kAuto: kZero under kAlways (an fdatasync after overwriting zeroed blocks
  // is about twice as fast as one after an append), kNone otherwise (buffered
  // writes into fallocated extents are slower than plain appends). The direct
  // mechanism always zeroes.
  log::Preallocate preallocate = log::Preallocate::kAuto;

  uint32_t max_record_bytes = 8u << 20;   // a larger append fails with TooLarge
  uint32_t max_batch_bytes = 1u << 20;    // a batch closes before passing this
                                          // (one record larger than it goes alone)
  uint32_t max_batch_records = 16384;     // and before holding more records than this
  uint32_t linger_us = 0;                 // wait this long for a batch to fill (0: never wait)
  // Batches written but not yet complete (1..2). 1 by default: with a second
  // batch in flight the waiting writers split into two half-size batches whose
  // fdatasyncs the filesystem serializes anyway; measured here under
  // fsync=always with 64 writers, 1 gave 1.3-1.6x the throughput of 2
  // (docs/benchmarks.md). 2 can win with hundreds of writers on buffered I/O.
  uint32_t max_in_flight = 1;
  uint64_t max_pending_bytes = 64ull << 20;  // appends block beyond this many unsubmitted bytes

  log::Codec codec = log::Codec::kNone;
  uint32_t compress_min_bytes = 4096;  // smaller payloads are stored raw
  int zstd_level = 1;

  log::RecoveryMode recovery = log::RecoveryMode::kTolerateTornTail;

  // ---- for an owner that indexes its log (stream rooms); not set by name ----
  uint64_t segment_name_bias = 0;  // segments are named by base LSN minus this
  // Every batch of the log, in LSN order: first each valid batch recovery
  // finds (before its records are replayed), then, on the committer thread,
  // each new batch as it is placed in its segment, before its write is
  // issued (readers must bound themselves by acked_lsn()). Keep it short.
  log::BatchFn on_batch;
  log::TrustSealedFn trust_sealed;  // see log::TrustSealedFn; empty: every segment is read

  // Checks every field against its limits; the message names the field.
  Status Validate() const;
};

}  // namespace synap::wal
