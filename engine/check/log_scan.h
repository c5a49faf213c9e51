// ScanLog: reads one log directory — the main log, or a stream room's — the
// way recovery reads it, changing nothing, and says what it found: each
// segment's contents, and every problem with the verdict recovery would give.
//
// It is recovery itself (log::RecoverLog) that reads: read-only, in skip
// mode, so that the scan goes past each damaged region and reports all of
// them, and with no trusted segment, so that every batch of every segment is
// checked. Its cuts become findings: a "torn tail:" cut is one recovery
// trims; any other is corruption, which the default recovery mode refuses.
// Two things skip mode accepts silently are found after the run: LSN gaps
// between segments (a segment file gone), and nothing else reads the
// records, so a caller may check them (model byte, event encoding).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/check/finding.h"
#include "engine/io/backend.h"
#include "engine/log/format.h"
#include "engine/log/recovery.h"

namespace synap::check {

struct SegmentScan {
  std::string name;         // file name, e.g. "00000000000000000001.log"
  uint64_t file_bytes = 0;
  bool kept = false;        // its header decoded and continued the chain; the fields below are valid
  log::SegmentHeader header;
  uint64_t end_offset = 0;  // just past its last valid batch
  log::Lsn first_lsn = 0;   // its valid records' LSNs (0 and 0: it holds none)
  log::Lsn last_lsn = 0;
  uint64_t batches = 0;     // valid batches
  uint64_t records = 0;
  uint64_t codec_batches[3] = {};  // valid batches per log::Codec (with count_codecs)
};

// Called for each record of each valid batch, in LSN order, with the index
// (in LogScan::segments) of the segment holding it. A non-ok Status becomes
// a kBadRecord finding at that batch (kUnsupported for Unsupported).
using RecordCheckFn = std::function<Status(size_t segment, log::Lsn lsn, std::span<const uint8_t> record)>;

struct LogScanOptions {
  std::string area = "log";  // the findings' area: "log" or "room"
  std::string room;          // the room's name, for a room
  uint64_t name_bias = 0;    // 1 for a room: segments are named by base LSN - 1 (docs/format.md §17)
  bool count_codecs = false; // read each valid batch's header again for its codec (inspect)
  log::Lsn replay_from = 1;  // `record` sees records from this LSN on
  RecordCheckFn record;      // may be empty
  Verdict record_verdict = Verdict::kRefuses;  // what recovery does about a record `record` rejects
  std::function<void(uint64_t bytes_done)> progress;  // segment bytes of this log read so far; may be empty
};

struct LogScan {
  std::string rel_dir;                // how findings name the directory ("wal", "streams/<room>")
  std::vector<SegmentScan> segments;  // every segment file, in LSN order
  uint64_t total_bytes = 0;           // of the segment files
  log::RecoveryReport report;         // the read-only skip-mode recovery's
  log::Lsn next_lsn = 1;              // the LSN after the last valid record (1 if none)
  std::vector<Finding> findings;      // in log order
  bool stopped = false;               // an unsupported version or a read error ended the scan there
};

// Scans `dir` (absolute or relative path of the log directory; `rel_dir` is
// how reports name it). A missing directory is an empty log. Findings never
// make this fail: it fails only for a bad argument.
Status ScanLog(io::IoBackend* io, const std::string& dir, const std::string& rel_dir, const LogScanOptions& opts,
               LogScan* out);

// "LSN n" in the main log, "offset n-1" in a room (name_bias 1).
std::string Position(log::Lsn lsn, uint64_t name_bias);

}  // namespace synap::check
