// SegmentIndex: the sparse offset and time index of one room segment, kept
// in memory and, once the segment is sealed, in two files beside it
// (docs/format.md §17):
//
//   <base>.index       relative offset -> byte position of the batch holding it
//   <base>.timeindex   timestamp -> relative offset
//
// An entry is taken at a segment's first batch and then at the first batch
// starting at least index_interval_bytes after the previous entry. Each entry
// also carries ts_before: the largest event timestamp of the room before the
// entry's offset (a running maximum, so entries are ordered by it too).
//
// The files are a cache, never the truth: they are written without fsync
// (tmp + rename) after the segment is sealed, checked by hash and against the
// segment when read, and rebuilt from the log whenever they are missing,
// damaged or do not match (Kafka rebuilds its indexes the same way).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"

namespace synap::stream {

struct IndexEntry {
  uint32_t rel_offset = 0;  // first offset of the batch, minus the segment's base offset
  uint32_t position = 0;    // byte position of the batch in the segment (segments are <= 1 GiB)
  int64_t ts_before = 0;    // running max event timestamp before rel_offset (INT64_MIN: none)
};

struct SegmentIndex {
  uint64_t base_offset = 0;
  uint64_t last_offset = 0;   // the segment's last offset (its successor's base - 1 once sealed)
  uint64_t end_position = 0;  // just past its last batch
  int64_t max_ts = INT64_MIN; // running max event timestamp up to its end
  bool compacted = false;     // rewritten by compaction: offsets may have gaps
  std::vector<IndexEntry> entries;

  // The entry to start reading `offset` from: the last with rel_offset <= it.
  const IndexEntry* Floor(uint64_t offset) const;
  // The entry to start a search for the first event with timestamp >= ts:
  // the last whose ts_before < ts (every event before it is older).
  const IndexEntry* FloorTime(int64_t ts) const;
};

std::string IndexFileName(uint64_t base_offset);      // "<20 digits>.index"
std::string TimeIndexFileName(uint64_t base_offset);  // "<20 digits>.timeindex"

// Writes both files (tmp, then rename; no fsync: see above).
Status WriteIndexFiles(io::IoBackend* io, const std::string& dir, const SegmentIndex& idx);
// Reads and checks both files for the segment at `base_offset`. NotFound if
// either is missing; Corruption if either fails its checks.
Result<SegmentIndex> ReadIndexFiles(io::IoBackend* io, const std::string& dir, uint64_t base_offset);
// Removes both files; missing ones are fine.
void RemoveIndexFiles(io::IoBackend* io, const std::string& dir, uint64_t base_offset);

}  // namespace synap::stream
