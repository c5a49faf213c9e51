// Room::Segment: what a room keeps about one of its segment files. Private
// to the room's implementation files.
#pragma once

#include <cstdint>
#include <string>

#include "engine/io/backend.h"
#include "engine/log/format.h"
#include "engine/stream/room.h"

namespace synap::stream {

// An open segment file and its header, closed when its last holder (the
// segment, or a read in progress) lets go.
struct SegmentFile {
  io::IoBackend* io = nullptr;
  io::FileHandle fd = io::kInvalidFile;
  log::SegmentHeader header;
  SegmentFile(io::IoBackend* i, io::FileHandle f) : io(i), fd(f) {}
  ~SegmentFile() { io->close(fd); }
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  // Opens `path` read-only and checks its header.
  static Result<std::shared_ptr<SegmentFile>> Open(io::IoBackend* io, const std::string& path);
};

struct Room::Segment {
  uint64_t base = 0;       // offset of its first event (LSN base - 1)
  std::string path;
  SegmentIndex idx;        // under Room::mu_ while the segment is the newest
  bool sealed = false;     // a later segment exists
  bool persisted = false;  // its index files match idx
  // Read side, under Room::mu_. Once installed, `file` is this segment's
  // file for good: a read holding it keeps reading the same inode even after
  // compaction replaced the path or retention unlinked it (compaction
  // installs it before its rename). Maintenance drops it when idle.
  std::shared_ptr<SegmentFile> file;
  int64_t last_read_ms = 0;
};

}  // namespace synap::stream
