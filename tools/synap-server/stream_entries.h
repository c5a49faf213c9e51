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

struct Item {  // an entry to reply; event null: no longer in the room (retention, compaction)
  uint64_t offset;
  const synap_event* event;
};
// The entries at `offsets` (ascending), each found or null. SYNAP_NOTFOUND: no room.
int ReadOffsets(synap_db* db, const std::string& room, const std::vector<uint64_t>& offsets, Blocks* blocks,
                std::vector<Item>* items);

// [ID, [field, value, ...]]
void WriteEntry(ReplyWriter& w, const synap_event& e);
// A parked XREAD / XREADGROUP's wake-ups, one registration per key
// (synap_stream_notify_readable, which also waits for a key that does not
// exist yet): the first to fire posts `token` to the loop's mailbox, and
// the loop runs the command again. Park() hands it to the loop as the
// slot's cancel hook. Every registration not fired is cancelled when the
// command stops waiting: on a timeout or a closed connection (the hook),
// and when the wake-up came (the loop then drops the hook, and with it the
// last reference: the destructor cancels the other keys').
//
// Ownership of each heap Wakeup: the callback's once registered, unless
// synap_stream_notify_cancel answers SYNAP_OK (then it never runs, and this
// frees it). Loop thread only (the callbacks touch only their Wakeup).
class ReadWait {
 public:
  ReadWait(Context& c, uint64_t token);
  ~ReadWait() { CancelAll(); }
  ReadWait(const ReadWait&) = delete;
  ReadWait& operator=(const ReadWait&) = delete;
  // Wakes the command once `room` has an entry at `from`. SYNAP_OK, or the
  // error of synap_stream_notify_readable (SYNAP_EBUSY: its limits).
  int Add(const std::string& room, uint64_t from);
  void CancelAll();
  // The loop's hook: the command waits for `token`, then runs `rerun`;
  // block_ms 0 waits without a deadline. Takes every registration along.
  static void Park(Context& c, std::shared_ptr<ReadWait> w, std::vector<std::string> rerun, int64_t block_ms);

 private:
  struct Wakeup;
  static void OnReadable(void* user, int result);
  synap_db* db_;
  std::shared_ptr<Mailbox> box_;
  uint64_t token_;
  std::shared_ptr<std::atomic<bool>> fired_;  // shared by the command's Wakeups: the first posts
  std::vector<std::pair<uint64_t, Wakeup*>> regs_;  // (handle, its Wakeup)
};

// The reply for a wake-up registration that failed (a limit), naming `room`.
void ReplyWaitError(Context& c, const std::string& room, int rc);

// ---- XINFO's group views, in commands_stream_group_info.cc ----
// XINFO dispatches (commands_stream.cc); it found the room's next offset and
// the names of the groups with a durable commit on it (`groups`).
void XinfoGroups(Context& c, const std::string& room, const std::vector<std::string>& groups, uint64_t next);
// XINFO CONSUMERS key group.
void XinfoConsumers(Context& c, const std::string& room, const std::string& group);
// XINFO STREAM FULL's "groups" value: each group with its first `count`
// pending entries and its consumers (each with its first `count`).
void WriteGroupsFull(Context& c, const std::string& room, const std::vector<std::string>& groups, uint64_t next,
                     size_t count);

}  // namespace synap::server
