// What the stream command files (commands_stream.cc, commands_stream_group.cc)
// share: entry IDs <-> offsets, reading a room's entries, writing them as
// Redis replies, and waking a parked command when a room gets an entry.
//
// IDs map to offsets: the entry at offset n has ID "<n+1>-0", so IDs grow
// with offsets, "0" and "0-0" come before every entry, and an ID's first part
// is never a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/synap-server/commands.h"

namespace synap::server {

constexpr uint32_t kMaxRange = 100000;  // entries one XRANGE/XREAD/XREADGROUP/XPENDING returns at most
extern const char* const kBadId;        // Redis's reply to a malformed ID

std::string IdOf(uint64_t offset);
// "<ms>[-<seq>]" -> the pair; false if malformed.
bool ParseId(std::string_view s, uint64_t* ms, uint64_t* seq);
// The first offset whose ID is > (ms, seq).
inline uint64_t OffsetAfter(uint64_t ms, uint64_t) { return ms; }
// The first offset whose ID is >= (ms, seq).
inline uint64_t OffsetFrom(uint64_t ms, uint64_t seq) { return ms == 0 ? 0 : (seq == 0 ? ms - 1 : ms); }
// One past the last offset whose ID is <= (ms, seq).
inline uint64_t OffsetEnd(uint64_t ms, uint64_t) { return ms; }
// A range's bounds as XRANGE and XPENDING take them: "-" / "+", an ID, or
// "(ID" (exclusive). `from` is the first offset in the range, `end` one past
// the last. False if malformed.
bool ParseRangeStart(std::string_view s, uint64_t* from);
bool ParseRangeEnd(std::string_view s, uint64_t* end);

struct Blocks {  // read results, freed on scope exit
  std::vector<synap_events*> v;
  Blocks() = default;
  Blocks(const Blocks&) = delete;
  Blocks& operator=(const Blocks&) = delete;
  ~Blocks() {
    for (synap_events* b : v) synap_free(b);
  }
};

// Reads [from, end) of a room, at most `count` entries (from is raised to
// the earliest kept offset). SYNAP_NOTFOUND: no room.
int ReadRange(synap_db* db, const std::string& room, uint64_t from, uint64_t end, uint32_t count, Blocks* blocks,
              std::vector<const synap_event*>* out);

// [ID, [field, value, ...]]
void WriteEntry(ReplyWriter& w, const synap_event& e);
// Makes the loop post `token` (once, whichever room is first: `fired` is
// shared by a command's rooms) when the room has an entry at `from`. False
// if the room does not exist (nothing will be posted for it).
bool WakeWhenReadable(Context& c, const std::string& room, uint64_t from, uint64_t token,
                      const std::shared_ptr<std::atomic<bool>>& fired);

}  // namespace synap::server
