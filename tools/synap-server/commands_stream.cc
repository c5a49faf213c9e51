// Redis Streams commands over Synap rooms: XADD, XLEN, XRANGE, XREVRANGE,
// XREAD. A stream key is a room (docs/streams.md has the name rules). Entry
// IDs map to offsets: the entry at offset n has ID "<n+1>-0", so IDs grow
// with offsets, "0" and "0-0" come before every entry, and an ID's first part
// is never a time. XADD takes "*" only: Synap assigns offsets. An entry's
// field/value pairs are the event's headers.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "tools/synap-server/commands.h"

namespace synap::server {
namespace {

constexpr uint32_t kMaxRange = 100000;  // entries one XRANGE/XREAD returns at most

std::string IdOf(uint64_t offset) { return std::to_string(offset + 1) + "-0"; }

// "<ms>[-<seq>]" -> the pair; false if malformed.
bool ParseId(std::string_view s, uint64_t* ms, uint64_t* seq) {
  size_t dash = s.find('-');
  int64_t a = 0, b = 0;
  if (!ParseInt(s.substr(0, dash), &a) || a < 0) return false;
  if (dash != std::string_view::npos && (!ParseInt(s.substr(dash + 1), &b) || b < 0)) return false;
  *ms = static_cast<uint64_t>(a);
  *seq = static_cast<uint64_t>(b);
  return true;
}

// The first offset whose ID is > (ms, seq): ID n+1-0 > ms-seq  <=>  n+1 > ms, or n+1 == ms and 0 > seq.
uint64_t OffsetAfter(uint64_t ms, uint64_t) { return ms; }
// The first offset whose ID is >= (ms, seq).
uint64_t OffsetFrom(uint64_t ms, uint64_t seq) { return ms == 0 ? 0 : (seq == 0 ? ms - 1 : ms); }
// One past the last offset whose ID is <= (ms, seq).
uint64_t OffsetEnd(uint64_t ms, uint64_t) { return ms; }

const char* kBadId = "ERR Invalid stream ID specified as stream command argument";

struct XaddDone {
  std::shared_ptr<Mailbox> box;  // outlives the loop, so a late completion is safe
  uint64_t token;
  int proto;
};

void OnAppended(void* user, int result, uint64_t first) {
  auto* d = static_cast<XaddDone*>(user);
  std::string out;
  ReplyWriter w(&out, d->proto);
  if (result == SYNAP_OK) w.Bulk(IdOf(first));
  else w.Error(std::string("IOERR the entry was not made durable: ") + synap_strerror(result));
  d->box->Post(d->token, std::move(out));
  delete d;
}

// XADD key [NOMKSTREAM] * field value [field value ...]
void Xadd(Context& c) {
  size_t i = 2;
  bool nomk = false;
  if (Upper(c.args[i]) == "NOMKSTREAM") nomk = true, i++;
  std::string opt = i < c.args.size() ? Upper(c.args[i]) : "";
  if (opt == "MAXLEN" || opt == "MINID")
    return c.reply.Error("ERR XADD trimming is not supported: set the room's retention_bytes / retention_ms");
  if (i >= c.args.size() || c.args[i] != "*")
    return c.reply.Error("ERR synap-server assigns stream IDs: XADD takes '*'");
  i++;
  if (i >= c.args.size() || (c.args.size() - i) % 2 != 0)
    return c.reply.Error("ERR wrong number of arguments for 'xadd' command");
  std::string room(c.args[1]);
  if (nomk) {
    uint64_t e, n;
    int rc = synap_stream_bounds(c.db, room.c_str(), &e, &n);
    if (rc == SYNAP_NOTFOUND) return c.reply.Null();
    if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  }
  std::vector<synap_header> headers;
  for (; i + 1 < c.args.size(); i += 2)
    headers.push_back({c.args[i].data(), c.args[i].size(), c.args[i + 1].data(), c.args[i + 1].size()});
  synap_event_in ev{};
  ev.headers = headers.data();
  ev.header_count = headers.size();
  uint64_t token = c.mailbox->NewToken();
  auto* done = new XaddDone{c.mailbox, token, c.session->proto};
  c.deferred_token = token;
  int rc = synap_stream_append_async(c.db, room.c_str(), &ev, 1, OnAppended, done);
  if (rc != SYNAP_OK) {  // nothing appended: the callback will not come
    std::string out;
    ReplyWriter w(&out, c.session->proto);
    ReplyError(w, rc);
    c.mailbox->Post(token, std::move(out));
    delete done;
  }
}

void Xlen(Context& c) {
  uint64_t e = 0, n = 0;
  int rc = synap_stream_bounds(c.db, std::string(c.args[1]).c_str(), &e, &n);
  if (rc == SYNAP_NOTFOUND) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(n - e));
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

// Reads [from, end) of a room, at most `count` entries. NOTFOUND: no room.
int ReadRange(Context& c, const std::string& room, uint64_t from, uint64_t end, uint32_t count,
              std::vector<synap_events*>* blocks, std::vector<const synap_event*>* out) {
  uint64_t earliest = 0, next = 0;
  int rc = synap_stream_bounds(c.db, room.c_str(), &earliest, &next);
  if (rc != SYNAP_OK) return rc;
  from = std::max(from, earliest);
  end = std::min(end, next);
  while (from < end && out->size() < count) {
    synap_events* got = nullptr;
    rc = synap_stream_read(c.db, room.c_str(), from, static_cast<uint32_t>(std::min<uint64_t>(count - out->size(), 10000)),
                           0, 0, &got);
    if (rc != SYNAP_OK) return rc;
    blocks->push_back(got);
    for (size_t i = 0; i < got->count && got->events[i].offset < end && out->size() < count; i++)
      out->push_back(&got->events[i]);
    if (got->count == 0 || got->next_offset <= from) break;
    from = got->next_offset;
  }
  return SYNAP_OK;
}

struct Blocks {  // read results, freed on scope exit
  std::vector<synap_events*> v;
  ~Blocks() {
    for (synap_events* b : v) synap_free(b);
  }
};

// XRANGE key start end [COUNT n]; XREVRANGE key end start [COUNT n]
void Xrange(Context& c) {
  bool rev = Upper(c.args[0]) == "XREVRANGE";
  std::string_view lo = c.args[rev ? 3 : 2], hi = c.args[rev ? 2 : 3];
  uint64_t from = 0, end = UINT64_MAX, ms, seq;
  if (lo != "-") {
    bool excl = !lo.empty() && lo[0] == '(';
    if (!ParseId(excl ? lo.substr(1) : lo, &ms, &seq)) return c.reply.Error(kBadId);
    from = excl ? OffsetAfter(ms, seq) : OffsetFrom(ms, seq);
  }
  if (hi != "+") {
    bool excl = !hi.empty() && hi[0] == '(';
    if (!ParseId(excl ? hi.substr(1) : hi, &ms, &seq)) return c.reply.Error(kBadId);
    end = OffsetEnd(ms, seq);
    if (excl && end > 0 && seq == 0) end--;
  }
  int64_t count = kMaxRange;
  if (c.args.size() == 6 && Upper(c.args[4]) == "COUNT") {
    if (!ParseInt(c.args[5], &count) || count < 0) return c.reply.Error("ERR value is not an integer or out of range");
  } else if (c.args.size() != 4) {
    return c.reply.Error("ERR syntax error");
  }
  uint32_t n = static_cast<uint32_t>(std::min<int64_t>(count, kMaxRange));
  Blocks blocks;
  std::vector<const synap_event*> entries;
  std::string room(c.args[1]);
  int rc = SYNAP_OK;
  if (!rev) {
    rc = ReadRange(c, room, from, end, n, &blocks.v, &entries);
  } else {  // the last n of the range: read the range's tail
    uint64_t e = 0, next = 0;
    rc = synap_stream_bounds(c.db, room.c_str(), &e, &next);
    uint64_t stop = std::min(end, next);
    uint64_t start = std::max(from, stop > n ? stop - n : 0);
    if (rc == SYNAP_OK) rc = ReadRange(c, room, start, stop, kMaxRange, &blocks.v, &entries);
    std::reverse(entries.begin(), entries.end());
    if (entries.size() > n) entries.resize(n);
  }
  if (rc == SYNAP_NOTFOUND) return c.reply.Array(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Array(entries.size());
  for (const synap_event* e : entries) WriteEntry(c.reply, *e);
}

void Park(Context& c, size_t streams_at, size_t keys, int64_t count, int64_t block);

struct Wakeup {  // one per room a blocked XREAD waits on; the first to fire posts
  std::shared_ptr<Mailbox> box;
  uint64_t token;
  std::shared_ptr<std::atomic<bool>> fired;
};

void OnReadable(void* user, int) {
  auto* w = static_cast<Wakeup*>(user);
  if (!w->fired->exchange(true)) w->box->Post(w->token, "");
  delete w;
}

// XREAD [COUNT n] [BLOCK ms] STREAMS key... id...
// BLOCK: with nothing to return, the command parks; the first of its rooms
// to get an entry (synap_stream_notify_readable) makes the loop run it again
// without BLOCK. "$" means "after the current end", fixed when it parks.
void Xread(Context& c) {
  int64_t count = kMaxRange, block = -1;
  size_t i = 1;
  for (; i < c.args.size(); i++) {
    std::string o = Upper(c.args[i]);
    if (o == "COUNT" && i + 1 < c.args.size()) {
      if (!ParseInt(c.args[++i], &count) || count < 0) return c.reply.Error("ERR value is not an integer or out of range");
    } else if (o == "BLOCK" && i + 1 < c.args.size()) {
      if (!ParseInt(c.args[++i], &block) || block < 0) return c.reply.Error("ERR timeout is not an integer or out of range");
    } else if (o == "STREAMS") {
      break;
    } else {
      return c.reply.Error("ERR syntax error");
    }
  }
  size_t rest = c.args.size() - i - 1;
  if (i >= c.args.size() || rest == 0 || rest % 2 != 0)
    return c.reply.Error("ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.");
  size_t keys = rest / 2;
  Blocks blocks;
  std::vector<std::pair<std::string, std::vector<const synap_event*>>> found;
  for (size_t k = 0; k < keys; k++) {
    std::string room(c.args[i + 1 + k]);
    std::string_view id = c.args[i + 1 + keys + k];
    uint64_t from, ms, seq;
    if (id == "$") {
      continue;  // only entries added after this call: none without BLOCK
    } else if (!ParseId(id, &ms, &seq)) {
      return c.reply.Error(kBadId);
    }
    from = OffsetAfter(ms, seq);
    std::vector<const synap_event*> entries;
    int rc = ReadRange(c, room, from, UINT64_MAX, static_cast<uint32_t>(std::min<int64_t>(count, kMaxRange)),
                       &blocks.v, &entries);
    if (rc == SYNAP_NOTFOUND) continue;
    if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
    if (!entries.empty()) found.emplace_back(room, std::move(entries));
  }
  if (found.empty() && block >= 0) return Park(c, i, keys, count, block);
  if (found.empty()) return c.reply.NullArray();
  if (c.reply.proto() >= 3) c.reply.Map(found.size());
  else c.reply.Array(found.size());
  for (const auto& [room, entries] : found) {
    if (c.reply.proto() < 3) c.reply.Array(2);  // RESP2: [[key, entries], ...]
    c.reply.Bulk(room);
    c.reply.Array(entries.size());
    for (const synap_event* e : entries) WriteEntry(c.reply, *e);
  }
}

// Registers a wake-up on every existing room of a blocked XREAD and hands
// the loop the command to run again (without BLOCK, "$" resolved).
void Park(Context& c, size_t streams_at, size_t keys, int64_t count, int64_t block) {
  uint64_t token = c.mailbox->NewToken();
  auto fired = std::make_shared<std::atomic<bool>>(false);
  std::vector<std::string> rerun = {"XREAD", "COUNT", std::to_string(count), "STREAMS"};
  std::vector<std::string> ids;
  for (size_t k = 0; k < keys; k++) {
    std::string room(c.args[streams_at + 1 + k]);
    std::string_view id = c.args[streams_at + 1 + keys + k];
    uint64_t earliest = 0, next = 0, ms = 0, seq = 0;
    bool exists = synap_stream_bounds(c.db, room.c_str(), &earliest, &next) == SYNAP_OK;
    uint64_t from = id == "$" ? next : (ParseId(id, &ms, &seq) ? OffsetAfter(ms, seq) : next);
    rerun.push_back(room);
    ids.push_back(from == 0 ? "0" : IdOf(from - 1));
    if (!exists) continue;  // a room that does not exist yet cannot be waited on (documented)
    auto* w = new Wakeup{c.mailbox, token, fired};
    if (synap_stream_notify_readable(c.db, room.c_str(), from, OnReadable, w) != SYNAP_OK) delete w;
  }
  rerun.insert(rerun.end(), ids.begin(), ids.end());
  c.deferred_token = token;
  c.rerun = std::move(rerun);
  c.block_ms = block;
}

}  // namespace

void AddStreamCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"XADD", -5, Xadd, false, true},
                          {"XLEN", 2, Xlen},
                          {"XRANGE", -4, Xrange},
                          {"XREVRANGE", -4, Xrange},
                          {"XREAD", -4, Xread},
                      });
}

}  // namespace synap::server
