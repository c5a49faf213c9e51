// Redis Streams commands over Synap rooms: XADD, XLEN, XRANGE, XREVRANGE,
// XREAD, XTRIM, XINFO. A stream key is a room (docs/streams.md has the name
// rules). Entry IDs map to offsets: the entry at offset n has ID "<n+1>-0", so IDs grow
// with offsets, "0" and "0-0" come before every entry, and an ID's first part
// is never a time. XADD takes "*" only: Synap assigns offsets. An entry's
// field/value pairs are the event's headers.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <iterator>
#include <memory>

#include "tools/synap-server/commands.h"
#include "tools/synap-server/stream_entries.h"
#include "tools/synap-server/stream_groups.h"

namespace synap::server {
namespace {

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
  // Trimming belongs after the append is durable, which is known only on
  // libsynap's committer thread, where a trim (file removals, a directory
  // fsync, a wait for the room's maintenance) must not run.
  if (opt == "MAXLEN" || opt == "MINID")
    return c.reply.Error("ERR XADD MAXLEN/MINID is not supported: trim with XTRIM, or set the room's retention");
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

// XRANGE key start end [COUNT n]; XREVRANGE key end start [COUNT n]
void Xrange(Context& c) {
  bool rev = Upper(c.args[0]) == "XREVRANGE";
  std::string_view lo = c.args[rev ? 3 : 2], hi = c.args[rev ? 2 : 3];
  uint64_t from = 0, end = UINT64_MAX;
  if (!ParseRangeStart(lo, &from) || !ParseRangeEnd(hi, &end)) return c.reply.Error(kBadId);
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
    rc = ReadRange(c.db, room, from, end, n, &blocks, &entries);
  } else {  // the last n of the range: read the range's tail
    uint64_t e = 0, next = 0;
    rc = synap_stream_bounds(c.db, room.c_str(), &e, &next);
    uint64_t stop = std::min(end, next);
    uint64_t start = std::max(from, stop > n ? stop - n : 0);
    if (rc == SYNAP_OK) rc = ReadRange(c.db, room, start, stop, kMaxRange, &blocks, &entries);
    std::reverse(entries.begin(), entries.end());
    if (entries.size() > n) entries.resize(n);
  }
  if (rc == SYNAP_NOTFOUND) return c.reply.Array(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Array(entries.size());
  for (const synap_event* e : entries) WriteEntry(c.reply, *e);
}

void Park(Context& c, size_t streams_at, size_t keys, int64_t count, int64_t block);

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
    int rc = ReadRange(c.db, room, from, UINT64_MAX, static_cast<uint32_t>(std::min<int64_t>(count, kMaxRange)),
                       &blocks, &entries);
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

// Registers a wake-up on every room of a blocked XREAD, and hands the loop
// the command to run again (without BLOCK, "$" resolved). A room that does
// not exist yet is waited for too (as Redis waits for a key to appear): its
// first entry, at offset 0, wakes the command.
void Park(Context& c, size_t streams_at, size_t keys, int64_t count, int64_t block) {
  auto wait = std::make_shared<ReadWait>(c, c.mailbox->NewToken());
  std::vector<std::string> rerun = {"XREAD", "COUNT", std::to_string(count), "STREAMS"};
  std::vector<std::string> ids;
  for (size_t k = 0; k < keys; k++) {
    std::string room(c.args[streams_at + 1 + k]);
    std::string_view id = c.args[streams_at + 1 + keys + k];
    uint64_t earliest = 0, next = 0, ms = 0, seq = 0;
    (void)synap_stream_bounds(c.db, room.c_str(), &earliest, &next);  // a missing room: next stays 0
    uint64_t from = id == "$" ? next : (ParseId(id, &ms, &seq) ? OffsetAfter(ms, seq) : next);
    rerun.push_back(room);
    ids.push_back(from == 0 ? "0" : IdOf(from - 1));
    // An error drops `wait`, which cancels the keys registered so far.
    if (int rc = wait->Add(room, from); rc != SYNAP_OK) return ReplyWaitError(c, room, rc);
  }
  rerun.insert(rerun.end(), ids.begin(), ids.end());
  ReadWait::Park(c, std::move(wait), std::move(rerun), block);
}

// ---- XTRIM ----

// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
// Always approximate, whatever the `=`: Synap deletes whole sealed segments
// (a log segment is the unit of deletion, as in Kafka), so entries below the
// point that share a segment with later ones stay, and the newest segment
// always stays. LIMIT count (only after `~`, as in Redis) bounds the entries
// removed: the trim point is at most earliest + count; 0 means no bound.
// Replies the number of entries removed (how far the first kept offset
// moved); 0 for a missing key.
void Xtrim(Context& c) {
  std::string strategy = Upper(c.args[2]);
  if (strategy != "MAXLEN" && strategy != "MINID") return c.reply.Error("ERR syntax error");
  size_t i = 3;
  bool approx = false;
  if (i < c.args.size() && (c.args[i] == "~" || c.args[i] == "=")) approx = c.args[i++] == "~";
  if (i >= c.args.size()) return c.reply.Error("ERR syntax error");
  int64_t maxlen = 0, limit = 0;
  uint64_t min_offset = 0, ms = 0, seq = 0;
  if (strategy == "MAXLEN") {
    if (!ParseInt(c.args[i], &maxlen)) return c.reply.Error("ERR value is not an integer or out of range");
    if (maxlen < 0) return c.reply.Error("ERR The MAXLEN argument must be >= 0.");
  } else {
    if (!ParseId(c.args[i], &ms, &seq)) return c.reply.Error(kBadId);
    min_offset = OffsetFrom(ms, seq);  // every entry below it has an ID below the MINID
  }
  i++;
  if (i < c.args.size()) {
    if (Upper(c.args[i]) != "LIMIT" || i + 2 != c.args.size()) return c.reply.Error("ERR syntax error");
    if (!ParseInt(c.args[i + 1], &limit)) return c.reply.Error("ERR value is not an integer or out of range");
    if (limit < 0) return c.reply.Error("ERR The LIMIT argument must be >= 0.");
    if (!approx) return c.reply.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
  }
  std::string room(c.args[1]);
  uint64_t earliest = 0, next = 0, removed = 0;
  int rc = synap_stream_bounds(c.db, room.c_str(), &earliest, &next);
  if (rc == SYNAP_NOTFOUND) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  uint64_t before = strategy == "MINID" ? min_offset : next - std::min(next, static_cast<uint64_t>(maxlen));
  if (limit > 0) before = std::min(before, earliest + static_cast<uint64_t>(limit));
  rc = synap_stream_trim(c.db, room.c_str(), before, &removed, nullptr);
  if (rc == SYNAP_NOTFOUND) return c.reply.Integer(0);  // deleted meanwhile
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(removed));
}

// ---- XINFO ----

// Reads a JSON string at s[*at] (its opening quote) as written by libsynap's
// JSON writer, which escapes only '"', '\\', \n, \r, \t and other control
// bytes (as \u00XX). False if malformed.
bool JsonString(std::string_view s, size_t* at, std::string* out) {
  size_t i = *at;
  if (i >= s.size() || s[i] != '"') return false;
  out->clear();
  for (i++; i < s.size() && s[i] != '"'; i++) {
    if (s[i] != '\\') {
      out->push_back(s[i]);
      continue;
    }
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        unsigned v = 0;
        if (i + 4 >= s.size() || std::from_chars(s.data() + i + 1, s.data() + i + 5, v, 16).ptr != s.data() + i + 5)
          return false;
        out->push_back(static_cast<char>(v));
        i += 4;
        break;
      }
      default: out->push_back(s[i]);  // '"' and '\\'
    }
  }
  if (i >= s.size()) return false;
  *at = i + 1;
  return true;
}

// `"name":<digits>` found at or after *at: its value, *at moved past it.
bool JsonU64(std::string_view s, std::string_view name, size_t* at, uint64_t* out) {
  std::string key = "\"" + std::string(name) + "\":";
  size_t k = s.find(key, *at);
  if (k == std::string_view::npos) return false;
  k += key.size();
  auto [end, ec] = std::from_chars(s.data() + k, s.data() + s.size(), *out);
  if (ec != std::errc()) return false;
  *at = static_cast<size_t>(end - s.data());
  return true;
}

// The names of the groups with a durable commit on `room`
// (synap_group_lag_json). Each commit object starts {"group":"..","room":"..",
// ...}: a string value never holds an unescaped '"', so the patterns below
// cannot match inside a name.
int GroupsOf(synap_db* db, const std::string& room, std::vector<std::string>* out) {
  char* json = nullptr;
  size_t len = 0;
  int rc = synap_group_lag_json(db, nullptr, &json, &len);
  if (rc != SYNAP_OK) return rc;
  std::string text(json, len);
  synap_free(json);
  std::string_view s = text;
  std::string name, in_room;
  for (size_t at = s.find("{\"group\":"); at != std::string_view::npos; at = s.find("{\"group\":", at)) {
    size_t p = at + 9;
    if (!JsonString(s, &p, &name) || s.substr(p, 8) != ",\"room\":") return SYNAP_EINTERNAL;
    p += 8;
    if (!JsonString(s, &p, &in_room)) return SYNAP_EINTERNAL;
    if (in_room == room) out->push_back(name);
    at = p;
  }
  return SYNAP_OK;
}

// What XINFO STREAM reports of a room.
struct StreamFacts {
  uint64_t earliest = 0, next = 0, segments = 0, bytes = 0;
  uint64_t readable_waiters = 0;    // blocked XREAD / XREADGROUP wake-ups registered on the room
  std::vector<std::string> groups;  // names
  Blocks blocks;  // the entries below point into these
  const synap_event* first = nullptr;
  const synap_event* last = nullptr;
};

// The last entry of [earliest, next): a read of the tail, moving back
// window by window while compaction left one empty (the newest segment is
// never compacted, so the first window of one offset finds it in practice).
int LastEntry(synap_db* db, const std::string& room, StreamFacts* f) {
  uint64_t hi = f->next, width = 1;
  while (hi > f->earliest) {
    uint64_t lo = hi - std::min(width, hi - f->earliest);
    std::vector<const synap_event*> got;
    int rc = ReadRange(db, room, lo, hi, kMaxRange, &f->blocks, &got);
    if (rc != SYNAP_OK) return rc;
    if (!got.empty()) {
      f->last = got.back();
      return SYNAP_OK;
    }
    hi = lo;
    width = std::min<uint64_t>(width * 16, kMaxRange);  // a window never holds more than one read returns
  }
  return SYNAP_OK;
}

int GatherFacts(synap_db* db, const std::string& room, StreamFacts* f) {
  char* json = nullptr;
  size_t len = 0;
  int rc = synap_stream_info_json(db, room.c_str(), &json, &len);
  if (rc != SYNAP_OK) return rc;
  std::string info(json, len);
  synap_free(json);
  // The top-level fields come first: earliest_offset, next_offset, segments, bytes, readable_waiters.
  size_t at = 0;
  if (!JsonU64(info, "earliest_offset", &at, &f->earliest) || !JsonU64(info, "next_offset", &at, &f->next) ||
      !JsonU64(info, "segments", &at, &f->segments) || !JsonU64(info, "bytes", &at, &f->bytes) ||
      !JsonU64(info, "readable_waiters", &at, &f->readable_waiters))
    return SYNAP_EINTERNAL;
  std::vector<const synap_event*> got;
  if ((rc = ReadRange(db, room, f->earliest, f->next, 1, &f->blocks, &got)) != SYNAP_OK) return rc;
  if (!got.empty()) f->first = got.front();
  if ((rc = LastEntry(db, room, f)) != SYNAP_OK) return rc;
  return GroupsOf(db, room, &f->groups);
}

void EntryOrNull(ReplyWriter& w, const synap_event* e) {
  if (e != nullptr) WriteEntry(w, *e);
  else w.Null();
}

// The fields Redis's XINFO STREAM and XINFO STREAM FULL share, in its order.
// A Synap room has no radix tree: both counts are 0. Every entry below the
// earliest offset was deleted (retention or XTRIM), hence max-deleted-entry-id.
void WriteCommonFields(ReplyWriter& w, const StreamFacts& f) {
  w.Bulk("length");
  w.Integer(static_cast<int64_t>(f.next - f.earliest));
  w.Bulk("radix-tree-keys");
  w.Integer(0);
  w.Bulk("radix-tree-nodes");
  w.Integer(0);
  w.Bulk("last-generated-id");
  w.Bulk(f.next > 0 ? IdOf(f.next - 1) : "0-0");
  w.Bulk("max-deleted-entry-id");
  w.Bulk(f.earliest > 0 ? IdOf(f.earliest - 1) : "0-0");
  w.Bulk("entries-added");
  w.Integer(static_cast<int64_t>(f.next));
  w.Bulk("recorded-first-entry-id");
  w.Bulk(f.first != nullptr ? IdOf(f.first->offset) : "0-0");
}

// Synap's own fields, after Redis's.
void WriteSynapFields(ReplyWriter& w, const StreamFacts& f) {
  w.Bulk("synap-earliest-offset");
  w.Integer(static_cast<int64_t>(f.earliest));
  w.Bulk("synap-segments");
  w.Integer(static_cast<int64_t>(f.segments));
  w.Bulk("synap-bytes");
  w.Integer(static_cast<int64_t>(f.bytes));
  w.Bulk("synap-readable-waiters");
  w.Integer(static_cast<int64_t>(f.readable_waiters));
}
constexpr size_t kCommonFields = 7, kSynapFields = 4;

// XINFO STREAM key [FULL [COUNT n]]: RESP2 a flat name/value array, RESP3 a map.
void XinfoStream(Context& c) {
  bool full = c.args.size() >= 4 && Upper(c.args[3]) == "FULL";
  int64_t count = 10;  // FULL's entries, from the first; COUNT 0: all (up to kMaxRange)
  if (c.args.size() == 6 && full && Upper(c.args[4]) == "COUNT") {
    if (!ParseInt(c.args[5], &count) || count < 0) return c.reply.Error("ERR value is not an integer or out of range");
  } else if (c.args.size() != 3 && !(full && c.args.size() == 4)) {
    return c.reply.Error("ERR syntax error");
  }
  std::string room(c.args[2]);
  StreamFacts f;
  int rc = GatherFacts(c.db, room, &f);
  if (rc == SYNAP_NOTFOUND) return c.reply.Error("ERR no such key");
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  if (!full) {
    c.reply.Map(kCommonFields + 3 + kSynapFields);
    WriteCommonFields(c.reply, f);
    c.reply.Bulk("groups");
    c.reply.Integer(static_cast<int64_t>(f.groups.size()));
    c.reply.Bulk("first-entry");
    EntryOrNull(c.reply, f.first);
    c.reply.Bulk("last-entry");
    EntryOrNull(c.reply, f.last);
    return WriteSynapFields(c.reply, f);
  }
  uint32_t n = count == 0 ? kMaxRange : static_cast<uint32_t>(std::min<int64_t>(count, kMaxRange));
  std::vector<const synap_event*> entries;
  if ((rc = ReadRange(c.db, room, f.earliest, f.next, n, &f.blocks, &entries)) != SYNAP_OK)
    return ReplyError(c.reply, rc);
  c.reply.Map(kCommonFields + 2 + kSynapFields);
  WriteCommonFields(c.reply, f);
  c.reply.Bulk("entries");
  c.reply.Array(entries.size());
  for (const synap_event* e : entries) WriteEntry(c.reply, *e);
  c.reply.Bulk("groups");
  WriteGroupsFull(c, room, f.groups, f.next, n);
  WriteSynapFields(c.reply, f);
}

// XINFO GROUPS key | XINFO CONSUMERS key group (commands_stream_group_info.cc
// writes them from the group registry).
void XinfoGroupsOrConsumers(Context& c, bool groups) {
  std::string room(c.args[2]);
  uint64_t earliest = 0, next = 0;
  int rc = synap_stream_bounds(c.db, room.c_str(), &earliest, &next);
  if (rc == SYNAP_NOTFOUND) return c.reply.Error("ERR no such key");
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  if (!groups) return XinfoConsumers(c, room, std::string(c.args[3]));
  std::vector<std::string> names;
  if ((rc = GroupsOf(c.db, room, &names)) != SYNAP_OK) return ReplyError(c.reply, rc);
  XinfoGroups(c, room, names, next);
}

const char* const kXinfoHelp[] = {
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "STREAM <key> [FULL [COUNT <count>]]",
    "    Show information about the stream: Redis's fields, then synap-earliest-offset,",
    "    synap-segments, synap-bytes and synap-readable-waiters (blocked readers' wake-ups).",
    "    FULL lists the first <count> entries (default 10, 0 for all) and each group with",
    "    its first <count> pending entries and its consumers.",
    "GROUPS <key>",
    "    Show the stream's consumer groups.",
    "CONSUMERS <key> <groupname>",
    "    Show the consumers of a group.",
    "HELP",
    "    Print this help.",
};

// XINFO STREAM | GROUPS | CONSUMERS | HELP
void Xinfo(Context& c) {
  std::string sub = Upper(c.args[1]);
  if (sub == "HELP" && c.args.size() == 2) {
    c.reply.Array(std::size(kXinfoHelp));
    for (const char* line : kXinfoHelp) c.reply.Simple(line);
    return;
  }
  bool groups = sub == "GROUPS" && c.args.size() == 3, consumers = sub == "CONSUMERS" && c.args.size() == 4;
  if ((sub == "STREAM" && c.args.size() >= 3) || groups || consumers) {
    for (size_t i = 2; i < c.args.size() && i < 4; i++)  // names reach libsynap as C strings
      if (c.args[i].find('\0') != std::string_view::npos)
        return c.reply.Error("ERR stream keys and group names must not contain NUL bytes");
    if (sub == "STREAM") return XinfoStream(c);
    return XinfoGroupsOrConsumers(c, groups);
  }
  c.reply.Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(c.args[1].substr(0, 64)) +
                "'. Try XINFO HELP.");
}

}  // namespace

void AddStreamCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"XADD", -5, Xadd, false, true},
                          {"XLEN", 2, Xlen},
                          {"XRANGE", -4, Xrange},
                          {"XREVRANGE", -4, Xrange},
                          {"XREAD", -4, Xread},
                          {"XTRIM", -4, Xtrim},
                          {"XINFO", -2, Xinfo},
                      });
}

}  // namespace synap::server
