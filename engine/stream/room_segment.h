// Room::Segment: what a room keeps about one of its segment files. Private
// to the room's implementation files.
#pragma once

#include <cstdint>
#include <string>

#include "engine/io/backend.h"
#include "engine/log/format.h"
#include "engine/stream/room.h"

namespace synap::stream {

struct Room::Segment {
  uint64_t base = 0;       // offset of its first event (LSN base - 1)
  std::string path;
  SegmentIndex idx;        // under Room::mu_ while the segment is the newest
  bool sealed = false;     // a later segment exists
  bool persisted = false;  // its index files match idx
  // Read side: opened under Room::mu_, once, and kept: a reader holding this
  // segment keeps reading the same file even after compaction replaced it or
  // retention unlinked it.
  io::IoBackend* io = nullptr;
  io::FileHandle fd = io::kInvalidFile;
  log::SegmentHeader header;  // read with fd

  ~Segment() {
    if (fd != io::kInvalidFile) io->close(fd);
  }
  Status EnsureOpen();  // under Room::mu_
};

}  // namespace synap::stream
