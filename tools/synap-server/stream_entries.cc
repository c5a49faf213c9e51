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

void WriteEntry(ReplyWriter& w, const synap_event& e) {
  w.Array(2);
  w.Bulk(IdOf(e.offset));
  w.Array(e.header_count * 2);
  for (size_t h = 0; h < e.header_count; h++) {
    w.Bulk({static_cast<const char*>(e.headers[h].key), e.headers[h].key_len});
    w.Bulk({static_cast<const char*>(e.headers[h].value), e.headers[h].value_len});
  }
}

namespace {

struct Wakeup {  // one per room a parked command waits on; the first to fire posts
  std::shared_ptr<Mailbox> box;
  uint64_t token;
  std::shared_ptr<std::atomic<bool>> fired;
};

void OnReadable(void* user, int) {
  auto* w = static_cast<Wakeup*>(user);
  if (!w->fired->exchange(true)) w->box->Post(w->token, "");
  delete w;
}

}  // namespace

bool WakeWhenReadable(Context& c, const std::string& room, uint64_t from, uint64_t token,
                      const std::shared_ptr<std::atomic<bool>>& fired) {
  auto* w = new Wakeup{c.mailbox, token, fired};
  if (synap_stream_notify_readable(c.db, room.c_str(), from, OnReadable, w) == SYNAP_OK) return true;
  delete w;
  return false;
}

}  // namespace synap::server
