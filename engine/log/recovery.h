// Recovery: scan every segment of a log directory, validate every batch,
// replay the records in LSN order, and repair (or refuse) what is damaged.
//
// The rules (docs/format.md has the full argument):
//  * Bytes after the last valid batch of a segment that are all zero are the
//    segment's unused end, not damage.
//  * A damaged region in the FINAL segment is a torn tail when no valid batch
//    after it carries a durable watermark reaching into it: the region was
//    never covered by a completed fsync, so no acknowledged record can be in
//    it (under fsync=always). Recovery zeroes it and goes on.
//  * Anything else is corruption: a damaged non-final segment (segments are
//    sealed with an fsync before the next one receives a write), a gap in the
//    LSNs, or a damaged region that a later batch proves was durable.
//    kTolerateTornTail refuses to open, naming the file and byte offset;
//    kPointInTime cuts the log there; kSkipCorrupted drops the damaged
//    batches and keeps every valid one after them (the zeroed hole stays: later
//    opens must use kSkipCorrupted too). A hole skipped in the final segment
//    must not stay in a final segment: the batch that proved it durable may
//    have been cut as part of a torn tail, and a later recovery would then
//    take the hole for a torn tail and cut the batches kept after it. So
//    RecoveredLog::seal_last asks the owner to start a new segment before
//    anything else (wal::Wal does, at open).
//  * A segment or batch of a newer format version is never repaired: every
//    mode refuses with Unsupported.
//  * On any error, records already passed to `replay` must be discarded.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"
#include "engine/log/format.h"

namespace synap::log {

enum class RecoveryMode : uint8_t {
  kTolerateTornTail,  // default: trim a torn tail, refuse on corruption
  kPointInTime,       // stop at the first damage, drop everything after it
  kSkipCorrupted,     // drop damaged batches, keep the valid ones after them
};

Result<RecoveryMode> ParseRecoveryMode(const std::string& name);  // "tolerate_torn_tail", "point_in_time", "skip"
const char* RecoveryModeName(RecoveryMode m);

// Called once per record, in LSN order.
using ReplayFn = std::function<void(Lsn lsn, std::span<const uint8_t> record)>;

// Where a valid batch lies: what a log's owner needs to index it.
struct BatchLocation {
  Lsn segment_base = 0;     // base LSN of the segment holding it
  uint64_t offset = 0;      // its byte offset in that segment
  uint64_t footprint = 0;   // bytes it occupies, padding included
  Lsn first_lsn = 0;
  uint32_t record_count = 0;
  uint32_t segment_flags = 0;  // the segment header's flags (kSegment*)
};
using BatchFn = std::function<void(const BatchLocation& where)>;
// Asked about a sealed (non-final) segment before it is read: `next_base` is
// the base LSN of the segment after it, `file_size` the segment file's size. True = the caller vouches for the
// segment (it holds an index, written at seal time, that still matches it):
// recovery then reads only the segment's header, takes its records to be
// [header.base_lsn, next_base) unseen, and neither validates nor replays
// them. Reads of such a segment must check every batch's hash themselves.
using TrustSealedFn = std::function<bool(const SegmentHeader& header, Lsn next_base, uint64_t file_size)>;

struct RecoveryOptions {
  RecoveryMode mode = RecoveryMode::kTolerateTornTail;
  Lsn replay_from = 1;     // records below this LSN are validated but not replayed
  bool read_only = false;  // report only: never zero, truncate or remove anything
  ReplayFn replay;         // may be empty
  uint64_t name_bias = 0;  // segments are named SegmentFileName(base_lsn, name_bias)
  BatchFn on_batch;        // may be empty: each valid batch, in LSN order, before its records are replayed
  TrustSealedFn trust_sealed;  // may be empty: every segment is read
};

// One segment as recovery found it.
struct SegmentState {
  std::string name;
  SegmentHeader header;
  uint64_t file_size = 0;
  uint64_t end_offset = 0;  // just past the last valid batch (aligned): where appends resume
  Lsn last_lsn = 0;         // 0 if the segment holds no record
  uint64_t batches = 0;
};

struct RecoveryReport {
  struct Cut {
    std::string segment;
    uint64_t offset = 0;  // where the damage starts
    uint64_t bytes = 0;   // length of the span zeroed, up to the segment's last non-zero byte
                          // (0 when a whole segment was removed)
    std::string reason;
  };
  uint64_t segments = 0;
  uint64_t trusted = 0;  // sealed segments taken on the owner's word (TrustSealedFn), not read
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t replayed = 0;  // records passed to replay (>= replay_from)
  uint64_t bytes = 0;     // bytes of valid batches
  Lsn first_lsn = 0;
  Lsn last_lsn = 0;
  std::vector<Cut> cuts;  // torn tails trimmed and, outside the default mode, damage dropped
  std::vector<std::string> removed;  // segment files removed
  double elapsed_ms = 0;
  std::string ToString() const;
};

struct RecoveredLog {
  std::vector<SegmentState> segments;  // kept segments, in LSN order
  Lsn next_lsn = 1;                    // the LSN the next append gets
  uint64_t next_segment_id = 1;
  bool seal_last = false;  // skip mode zeroed a hole in the last kept segment: start a new one now
};

Status RecoverLog(io::IoBackend* io, const std::string& dir, const RecoveryOptions& opts,
                  RecoveredLog* out, RecoveryReport* report);

}  // namespace synap::log
