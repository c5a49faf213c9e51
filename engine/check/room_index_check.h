// CheckRoomIndexes: a room's .index/.timeindex files (docs/format.md §17)
// against its segments as ScanLog found them.
//
// Two levels, after what the room's recovery (Room::TrustSealed) does:
//  * the files fail their own checks (ReadIndexFiles), or do not describe
//    the segment in the ways recovery compares (last offset, compacted flag,
//    end position within the file): recovery ignores them, scans the segment
//    and writes them afresh -> Verdict::kRebuilds;
//  * they pass those checks but are wrong inside (an entry that does not
//    point at the batch it names, an end that is not the segment's, time
//    bounds below the events'): recovery would trust them and reads by
//    offset or time could go astray -> Verdict::kAccepts.
// Missing files are a note, not a problem: a crash between a roll and the
// index write leaves them so, and recovery rebuilds them.
// A damaged sealed segment whose index passes recovery's comparison is
// trusted unread at open: its damage is found by the reads that reach it
// (`trusted` lists such segments, so that the caller can say so).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/check/finding.h"
#include "engine/check/log_scan.h"
#include "engine/io/backend.h"

namespace synap::check {

struct RoomIndexInput {
  std::string dir;      // the room's directory
  std::string rel_dir;  // how reports name it ("streams/<room>")
  std::string room;
  const LogScan* scan = nullptr;        // ScanLog of the room (name_bias 1)
  std::vector<int64_t> segment_max_ts;  // per scanned segment: its largest event timestamp (INT64_MIN: none)
};

struct RoomIndexResult {
  std::vector<Finding> findings;
  std::vector<Note> notes;
  uint64_t files = 0;  // index files read
  uint64_t bytes = 0;  // their size
  std::vector<std::string> trusted;  // damaged sealed segments recovery takes unread (as findings name files)
};

RoomIndexResult CheckRoomIndexes(io::IoBackend* io, const RoomIndexInput& in);

}  // namespace synap::check
