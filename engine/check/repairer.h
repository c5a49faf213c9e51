// Repair: makes a damaged data directory open again, removing as little as
// recovery's point_in_time mode would, and copying every byte it removes
// into a backup directory first (backup.h).
//
// The plan comes from a verify run (verifier.h) under the same exclusive
// lock, then, for each log with damage (the main log, each room), from
// log::RecoverLog itself in read-only point_in_time mode: its cuts are the
// truncations (a file is truncated where recovery would zero it), its
// removals the segments removed. One exception: main-log damage wholly in
// segments older than the snapshot an open loads removes those segments
// instead, as a checkpoint would (the snapshot holds their records), and
// keeps the log after them. Besides: damaged snapshot files are removed
// (an open skips them), and a room's index files that are damaged or belong
// to a segment cut or removed (an open rebuilds them).
//
// Order: verify, plan, confirm (the caller sees the plan while the lock is
// held), back up everything and fsync the backup, then apply — in each log
// the removals newest segment first (below a snapshot: oldest first), then
// the truncation, each made durable
// (fdatasync / directory fsync) — and verify again. A crash part-way leaves
// a log whose damage a second repair (with a new backup directory) finishes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/check/finding.h"
#include "engine/io/backend.h"

namespace synap::check {

struct RepairAction {
  enum class Kind : uint8_t { kTruncate, kRemove };
  Kind kind = Kind::kRemove;
  std::string file;      // relative to the data directory
  uint64_t offset = 0;   // kTruncate: the file's new size (0 for kRemove)
  uint64_t bytes = 0;    // bytes removed: [offset, old size)
  std::string backup;    // where they went, relative to the backup directory
  std::string reason;
  // The valid records among the bytes removed, as LSNs (main log) or
  // offsets (a room): [lost_first, lost_last]; none when !has_lost.
  bool has_lost = false;
  std::string unit;      // "LSN" or "offset"
  uint64_t lost_first = 0, lost_last = 0;
  bool done = false;     // applied
};

// What one log loses: from `from` on (in `unit`), up to `to` as far as any
// valid batch beyond the cut shows (none: !to_known).
struct LostRange {
  std::string log;   // "wal" or "streams/<room>"
  std::string unit;  // "LSN" or "offset"
  uint64_t from = 0;
  bool to_known = false;
  uint64_t to = 0;
};

struct RepairReport {
  std::string dir, backup_dir;
  bool applied = false;   // the actions were carried out (all, unless Repair failed)
  bool declined = false;  // the confirm callback said no: nothing changed
  bool started = false;   // applying began (so a failure may have changed things)
  std::vector<RepairAction> actions;
  std::vector<LostRange> lost;
  std::vector<Finding> unrepaired;  // problems truncation does not fix
  bool verified_after = false;
  uint64_t after_problems = 0;
  bool after_opens = false;
  std::string ToJson() const;
};

// Sees the plan before anything changes; false stops the repair.
using ConfirmFn = std::function<bool(const RepairReport& plan)>;

// Repairs `root`, backing up into `backup_dir`. Fills *out in every case
// where it got as far as a plan. Returns Ok (repaired; or nothing to do:
// out->actions empty, no backup directory created; or declined:
// out->declined). Errors: InvalidArgument (not a data directory, backup
// inside it), AlreadyExists (backup directory not empty), Locked,
// IOError/NoSpace — with out->started false nothing has changed; with it
// true, each action's `done` says what was applied.
Status Repair(io::IoBackend* io, const std::string& root, const std::string& backup_dir, const ConfirmFn& confirm,
              RepairReport* out);

}  // namespace synap::check
