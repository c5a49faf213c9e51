// Every knob of the stream store: the defaults a room is created with
// (RoomSettings, which each room may override) and the store's limits.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/status.h"
#include "engine/log/codec.h"
#include "engine/log/segment.h"
#include "engine/wal/options.h"

namespace synap::stream {

// What happens to old segments (Kafka's cleanup.policy).
enum class Cleanup : uint8_t {
  kDelete,         // retention by size and age deletes whole segments
  kCompact,        // keep the latest event per key; never delete by size or age
  kCompactDelete,  // both
};

// A room's own settings, stored in its directory (<room>/ROOM) at creation.
// Text form: one "name=value" per line, the names below.
struct RoomSettings {
  uint64_t segment_bytes = 64ull << 20;  // segment_bytes: a segment rolls before passing this
  uint64_t retention_bytes = 0;          // retention_bytes: 0 = no size limit
  uint64_t retention_ms = 0;             // retention_ms: 0 = keep forever (by age)
  log::Codec codec = log::Codec::kNone;  // codec: none, lz4, zstd (per batch)
  wal::FsyncMode fsync = wal::FsyncMode::kAlways;  // fsync: always, periodic, never
  Cleanup cleanup = Cleanup::kDelete;    // cleanup: delete, compact, compact,delete

  // Sets one setting; InvalidArgument names it and its accepted values.
  Status Set(const std::string& name, const std::string& value);
  // Applies "name=value" lines (or ';'-separated pairs); all or nothing.
  Status Apply(const std::string& text);
  std::string ToText() const;  // "name=value\n" for every setting
  Status Validate() const;
};

struct StreamOptions {
  bool auto_create = true;           // stream.auto_create: append to a missing room creates it
  RoomSettings defaults;             // stream.segment_bytes, .retention_bytes, .retention_ms, .codec, .fsync, .cleanup
  uint32_t fsync_interval_ms = 10;   // stream.fsync_interval_ms: the periodic rooms' timer
  // stream.preallocate: how rooms reserve segment space. auto = zeroed under
  // fsync=always (an fdatasync after overwriting zeroed blocks is about twice
  // as fast as one after an append), none otherwise. Zeroing costs each
  // always-room up to two segments of disk (the active one and a spare).
  log::Preallocate preallocate = log::Preallocate::kAuto;
  uint32_t max_rooms = 10000;        // stream.max_rooms (each room holds two file descriptors)
  uint32_t max_event_bytes = 1u << 20;     // stream.max_event_bytes: one encoded event
  uint32_t max_append_bytes = 4u << 20;    // stream.max_append_bytes: one append call, written atomically
                                           // (a room caps it at its segment_bytes - 8 KiB)
  uint32_t max_key_bytes = 64u << 10;      // stream.max_key_bytes
  uint32_t max_headers = 64;               // stream.max_headers: per event
  uint32_t max_read_records = 100000;      // stream.max_read_records: one read
  uint64_t max_read_bytes = 64ull << 20;   // stream.max_read_bytes: one read
  uint32_t max_wait_ms = 600000;           // stream.max_wait_ms: a blocking read
  uint32_t max_partitions = 1024;          // stream.max_partitions: per topic
  uint32_t index_interval_bytes = 4096;    // stream.index_interval_bytes: offset index density
  uint64_t compact_max_keys = 10000000;    // stream.compact_max_keys: distinct keys one compaction may track
  uint32_t maintenance_ms = 1000;          // stream.maintenance_ms: retention/compaction/index pass period

  Status Validate() const;
};

const char* CleanupName(Cleanup c);
Result<Cleanup> ParseCleanup(const std::string& s);

// Room and topic names become directory names. Accepted: 1..kMaxRoomName
// bytes of [A-Za-z0-9._:-], not starting with '.', no "..", and not
// starting with "__" (reserved for the store's own rooms).
inline constexpr size_t kMaxRoomName = 200;
Status ValidateRoomName(const std::string& name);

}  // namespace synap::stream
