// The entries of a stream store's own room, "__meta" (docs/format.md §17):
// keyed events the store replays at open, and the offline dump decodes.
//
//   key "g" 0x00 <group> 0x00 <room>   payload: u64 LE offset (a commit), or
//                                        empty (a tombstone: the commit is deleted)
//   key "t" 0x00 <topic>               payload: u32 LE partition count (0 = deleted)
//
// The meta room is compacted, so the latest entry of a key is its value.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace synap::stream {

inline constexpr const char* kMetaRoomName = "__meta";

struct MetaEntry {
  enum class Kind : uint8_t { kCommit, kTopic, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string_view group, room;  // kCommit
  uint64_t offset = 0;           // kCommit: the offset the group reads next
  bool deleted = false;          // kCommit: a tombstone
  std::string_view topic;        // kTopic
  uint32_t partitions = 0;       // kTopic: 0 = the topic was deleted
};

// Views point into key. An entry of neither shape (or with a payload of the
// wrong size) is kUnknown: the store ignores it.
inline MetaEntry DecodeMetaEntry(std::string_view key, std::string_view value) {
  MetaEntry e;
  if (key.size() <= 2 || key[1] != '\0') return e;
  if (key[0] == 'g' && (value.size() == 8 || value.empty())) {
    std::string_view rest = key.substr(2);
    size_t z = rest.find('\0');
    if (z == std::string_view::npos) return e;
    e.kind = MetaEntry::Kind::kCommit;
    e.group = rest.substr(0, z);
    e.room = rest.substr(z + 1);
    e.deleted = value.empty();
    if (!e.deleted) std::memcpy(&e.offset, value.data(), 8);  // little-endian hosts only, as the whole format
  } else if (key[0] == 't' && value.size() == 4) {
    e.kind = MetaEntry::Kind::kTopic;
    e.topic = key.substr(2);
    std::memcpy(&e.partitions, value.data(), 4);
  }
  return e;
}

}  // namespace synap::stream
