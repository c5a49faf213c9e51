// Verify: reads every byte a data directory's recovery depends on — every
// batch of every main-log segment, every snapshot, every stream room's
// segments and index files — and checks every checksum and structural rule
// of docs/format.md, changing nothing. Each problem comes with the file, the
// byte offset, what is wrong and what the engine's own recovery would do
// about it (finding.h), so an operator knows before opening whether the
// open would trim a torn tail or refuse.
//
// What is read, in this order (the order an open reads them):
//  1. snapshots/*.snap, newest first: ReadSnapshot (header, footer, every
//     block's hashes and records, totals), and each record's type;
//  2. wal/: ScanLog (log_scan.h), each record's model byte; then whether
//     the log reaches back to the snapshot an open would load;
//  3. streams/<room>/ for each room, "__meta" included: ScanLog with each
//     event decoded, then the index files of sealed segments
//     (room_index_check.h).
// What is not checked: the meaning of KV and queue records beyond their
// model byte (an open replays them), and a room's ROOM settings file
// (an open rejects bad settings by name).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/check/data_dir.h"
#include "engine/check/finding.h"
#include "engine/check/log_scan.h"
#include "engine/io/backend.h"

namespace synap::check {

// phase: "snapshot", "log" or "room"; done and total count bytes over the
// whole directory. Called on the verifying thread, at most every MiB or so
// and once at the end.
using ProgressFn = std::function<void(const char* phase, uint64_t done, uint64_t total)>;

struct SnapshotCheck {
  std::string file;   // relative to the data directory
  log::Lsn start_lsn = 0;
  uint64_t records = 0;
  uint64_t raw_bytes = 0;
  uint64_t file_bytes = 0;
  int64_t created_unix_ms = 0;
  bool valid = false;
};

struct RoomCheck {
  std::string name;
  LogScan scan;
};

struct VerifyReport {
  DataDir dir;
  bool locked = false;                  // the LOCK was taken (false: the directory has no LOCK file)
  std::vector<SnapshotCheck> snapshots; // newest first
  std::string loaded_snapshot;          // the one an open would load ("" if none)
  log::Lsn replay_from = 1;             // where an open would start replaying the log
  LogScan log;
  std::vector<RoomCheck> rooms;
  std::vector<Finding> findings;        // snapshots, then the log, then rooms in name order
  std::vector<Note> notes;
  uint64_t files = 0;                   // files read
  uint64_t bytes = 0;                   // bytes of them
  uint64_t index_files = 0;

  bool clean() const { return findings.empty(); }
  // An open would succeed: no finding is one recovery refuses.
  bool opens() const;
  bool unsupported() const;             // a newer format version was met somewhere
  std::string ToJson() const;
};

// Verifies the data directory `root` under its LOCK, which it holds until it
// returns. Errors (no report): InvalidArgument (not a data directory),
// Locked (a server holds it), IOError (a directory could not be listed).
// Damage is never an error here: it is in the report.
Result<std::unique_ptr<VerifyReport>> Verify(io::IoBackend* io, const std::string& root, const ProgressFn& progress);

// The same, for a caller that already holds the lock (the repairer).
Result<std::unique_ptr<VerifyReport>> VerifyLocked(io::IoBackend* io, const std::string& root,
                                                   const ProgressFn& progress);

}  // namespace synap::check
