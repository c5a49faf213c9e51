#include "tools/synap-server/stream_entries.h"

#include <algorithm>

namespace synap::server {

const char* const kBadId = "ERR Invalid stream ID specified as stream command argument";

std::string IdOf(uint64_t offset) { return std::to_string(offset + 1) + "-0"; }

bool ParseId(std::string_view s, uint64_t* ms, uint64_t* seq) {
  size_t dash = s.find('-');
  int64_t a = 0, b = 0;
  if (!ParseInt(s.substr(0, dash), &a) || a < 0) return false;
  if (dash != std::string_view::npos && (!ParseInt(s.substr(dash + 1), &b) || b < 0)) return false;
  *ms = static_cast<uint64_t>(a);
  *seq = static_cast<uint64_t>(b);
  return true;
}

bool ParseRangeStart(std::string_view s, uint64_t* from) {
  uint64_t ms = 0, seq = 0;
  if (s == "-") {
    *from = 0;
    return true;
  }
  bool excl = !s.empty() && s[0] == '(';
  if (!ParseId(excl ? s.substr(1) : s, &ms, &seq)) return false;
  *from = excl ? OffsetAfter(ms, seq) : OffsetFrom(ms, seq);
  return true;
}

// An exclusive end "(N-0" leaves out the entry N-0 itself (offset N-1); an
// exclusive "(N-S" with S > 0 names no entry, so it ends where "N-S" does.
bool ParseRangeEnd(std::string_view s, uint64_t* end) {
  uint64_t ms = 0, seq = 0;
  if (s == "+") {
    *end = UINT64_MAX;
    return true;
  }
  bool excl = !s.empty() && s[0] == '(';
  if (!ParseId(excl ? s.substr(1) : s, &ms, &seq)) return false;
  *end = OffsetEnd(ms, seq);
  if (excl && *end > 0 && seq == 0) --*end;
  return true;
}

int ReadRange(synap_db* db, const std::string& room, uint64_t from, uint64_t end, uint32_t count, Blocks* blocks,
              std::vector<const synap_event*>* out) {
  uint64_t earliest = 0, next = 0;
  int rc = synap_stream_bounds(db, room.c_str(), &earliest, &next);
  if (rc != SYNAP_OK) return rc;
  from = std::max(from, earliest);
  end = std::min(end, next);
  while (from < end && out->size() < count) {
    synap_events* got = nullptr;
    rc = synap_stream_read(db, room.c_str(), from, static_cast<uint32_t>(std::min<uint64_t>(count - out->size(), 10000)),
                           0, 0, &got);
    if (rc != SYNAP_OK) return rc;
    blocks->v.push_back(got);
    for (size_t i = 0; i < got->count && got->events[i].offset < end && out->size() < count; i++)
      out->push_back(&got->events[i]);
    if (got->count == 0 || got->next_offset <= from) break;
    from = got->next_offset;
  }
  return SYNAP_OK;
}

// The entries at `offsets` (ascending), each found or null (no longer in the room).
int ReadOffsets(synap_db* db, const std::string& room, const std::vector<uint64_t>& offsets, Blocks* blocks,
                std::vector<Item>* items) {
  uint64_t earliest = 0, next = 0;
  int rc = synap_stream_bounds(db, room.c_str(), &earliest, &next);
  if (rc != SYNAP_OK) return rc;
  for (size_t i = 0; i < offsets.size();) {
    uint64_t o = offsets[i];
    if (o < earliest || o >= next) {
      items->push_back({o, nullptr});
      i++;
      continue;
    }
    synap_events* got = nullptr;
    uint32_t span = static_cast<uint32_t>(std::min<uint64_t>(offsets.back() - o + 1, 1000));
    rc = synap_stream_read(db, room.c_str(), o, span, 0, 0, &got);
    if (rc != SYNAP_OK) return rc;
    blocks->v.push_back(got);
    // The read answers every offset below its next_offset: one it did not
    // return was compacted away.
    uint64_t covered = got->count == 0 ? o + 1 : got->next_offset;
    for (size_t j = 0; i < offsets.size() && offsets[i] < covered; i++) {
      while (j < got->count && got->events[j].offset < offsets[i]) j++;
      bool found = j < got->count && got->events[j].offset == offsets[i];
      items->push_back({offsets[i], found ? &got->events[j] : nullptr});
    }
  }
  return SYNAP_OK;
}

void WriteEntry(ReplyWriter& w, const synap_event& e) {
  w.Array(2);
  w.Bulk(IdOf(e.offset));
  w.Array(e.header_count * 2);
  for (size_t h = 0; h < e.header_count; h++) {
    w.Bulk({static_cast<const char*>(e.headers[h].key), e.headers[h].key_len});
    w.Bulk({static_cast<const char*>(e.headers[h].value), e.headers[h].value_len});
  }
}

struct ReadWait::Wakeup {
  std::shared_ptr<Mailbox> box;
  uint64_t token;
  std::shared_ptr<std::atomic<bool>> fired;
};

// On libsynap's committer thread (or at once, or at a room's deletion or
// synap_close: a post then makes the command look again, and park again).
void ReadWait::OnReadable(void* user, int) {
  auto* w = static_cast<Wakeup*>(user);
  if (!w->fired->exchange(true)) w->box->Post(w->token, "");
  delete w;
}

ReadWait::ReadWait(Context& c, uint64_t token)
    : db_(c.db), box_(c.mailbox), token_(token), fired_(std::make_shared<std::atomic<bool>>(false)) {}

int ReadWait::Add(const std::string& room, uint64_t from) {
  auto* w = new Wakeup{box_, token_, fired_};
  uint64_t handle = 0;
  int rc = synap_stream_notify_readable(db_, room.c_str(), from, OnReadable, w, &handle);
  if (rc != SYNAP_OK) {
    delete w;  // an error: the callback never runs
    return rc;
  }
  regs_.emplace_back(handle, w);  // w may be gone already (it fired at once): only the handle is used
  return SYNAP_OK;
}

void ReadWait::CancelAll() {
  for (const auto& [handle, w] : regs_)
    if (synap_stream_notify_cancel(db_, handle) == SYNAP_OK) delete w;  // else its callback ran or runs, and frees it
  regs_.clear();
}

void ReadWait::Park(Context& c, std::shared_ptr<ReadWait> w, std::vector<std::string> rerun, int64_t block_ms) {
  c.deferred_token = w->token_;
  c.rerun = std::move(rerun);
  // BLOCK 0: no deadline (the loop sets none for block_ms 0).
  c.block_ms = block_ms;
  c.cancel = [w = std::move(w)] { w->CancelAll(); };
}

void ReplyWaitError(Context& c, const std::string& room, int rc) {
  if (rc != SYNAP_EBUSY) return ReplyError(c.reply, rc);
  c.reply.Error("ERR cannot block on stream '" + room + "': " + synap_last_error());
}

}  // namespace synap::server
