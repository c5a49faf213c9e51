// `synap-cli stream append|read|groups|lag`: Synap's event streams, offline
// on a data directory (--dir) or online against a server (XADD, XRANGE,
// XINFO STREAM FULL). StreamTarget is the one interface both sides
// implement.
//
// Online, an event is a Redis stream entry (docs/server.md): the entry's
// field/value pairs are the event's headers, and the entry at offset n has
// ID <n+1>-0. XADD has no place for an event's key, payload or timestamp,
// and XRANGE does not return them, so online `append` takes headers only
// and `read` shows offsets and headers.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/data_target.h"

namespace synap::cli {
namespace {

constexpr uint32_t kMaxRead = 100000;  // events one `read` prints at most (XRANGE's own cap)

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Event {
  uint64_t offset = 0;
  std::optional<int64_t> timestamp_ms;  // nullopt: not known (online)
  std::optional<std::string> key;       // nullopt: none, or not known (online)
  Headers headers;
  std::optional<std::string> payload;   // nullopt: not known (online)
};

struct AppendArgs {
  std::optional<std::string> key, payload;
  Headers headers;
  int64_t timestamp_ms = 0;  // 0: the append time
};

// One consumer group's position in one room.
struct GroupRow {
  std::string group, room;
  uint64_t position = 0;     // the offset the group reads next
  uint64_t next_offset = 0;  // the room's high watermark
  uint64_t lag = 0;
  std::optional<uint64_t> pending;  // online: entries delivered and not acked (the server's memory)
};

class StreamTarget {
 public:
  virtual ~StreamTarget() = default;
  // The event's offset.
  virtual uint64_t Append(const std::string& room, const AppendArgs& e) = 0;
  // Up to `count` events from offset `from` on (raised to the earliest kept).
  virtual std::vector<Event> Read(const std::string& room, uint64_t from, uint32_t count) = 0;
  // Groups in `rooms` (empty: every room, offline only), all or one group.
  virtual std::vector<GroupRow> Groups(const std::vector<std::string>& rooms,
                                       const std::optional<std::string>& group) = 0;
};

// ---- offline: libsynap ----

class EmbeddedStream : public StreamTarget {
 public:
  EmbeddedStream(const std::string& dir, bool create) : store_(dir, create) {}

  uint64_t Append(const std::string& room, const AppendArgs& a) override {
    std::vector<synap_header> h;
    for (const auto& [k, v] : a.headers) h.push_back({k.data(), k.size(), v.data(), v.size()});
    synap_event_in ev{};
    if (a.key) ev.key = a.key->data(), ev.key_len = a.key->size();
    if (a.payload) ev.payload = a.payload->data(), ev.payload_len = a.payload->size();
    ev.headers = h.data();
    ev.header_count = h.size();
    ev.timestamp_ms = a.timestamp_ms;
    uint64_t offset = 0;
    Check(synap_stream_append(store_.db(), room.c_str(), &ev, 1, &offset), room, "append");
    return offset;
  }

  std::vector<Event> Read(const std::string& room, uint64_t from, uint32_t count) override {
    uint64_t earliest = 0, next = 0;
    Check(synap_stream_bounds(store_.db(), room.c_str(), &earliest, &next), room, "read");
    std::vector<Event> out;
    for (from = std::max(from, earliest); from < next && out.size() < count;) {
      synap_events* got = nullptr;
      Check(synap_stream_read(store_.db(), room.c_str(), from, count - static_cast<uint32_t>(out.size()), 0, 0, &got),
            room, "read");
      for (size_t i = 0; i < got->count; i++) out.push_back(Copy(got->events[i]));
      uint64_t after = got->next_offset;
      bool empty = got->count == 0;
      synap_free(got);
      if (empty || after <= from) break;
      from = after;
    }
    return out;
  }

  std::vector<GroupRow> Groups(const std::vector<std::string>& rooms,
                               const std::optional<std::string>& group) override {
    char* text = nullptr;
    size_t len = 0;
    CheckRc(synap_group_lag_json(store_.db(), group ? group->c_str() : nullptr, &text, &len), "consumer groups");
    Json doc;
    std::string error;
    bool ok = Json::Parse(std::string_view(text, len), &doc, &error);
    synap_free(text);
    const Json* commits = ok ? doc.Find("commits") : nullptr;
    if (commits == nullptr) Fail(kExitFailed, "libsynap's consumer group report does not parse: " + error);
    std::vector<GroupRow> out;
    for (const Json& c : commits->items()) {
      GroupRow row;
      const Json *g = c.Find("group"), *r = c.Find("room"), *committed = c.Find("committed"),
                 *next = c.Find("next_offset"), *lag = c.Find("lag");
      if (!g || !r || !committed || !committed->AsU64(&row.position) || !next || !next->AsU64(&row.next_offset) ||
          !lag || !lag->AsU64(&row.lag))
        Fail(kExitFailed, "libsynap's consumer group report lacks a field");
      row.group = g->text();
      row.room = r->text();
      if (rooms.empty() || std::find(rooms.begin(), rooms.end(), row.room) != rooms.end())
        out.push_back(std::move(row));
    }
    return out;
  }

 private:
  static Event Copy(const synap_event& e) {
    Event out;
    out.offset = e.offset;
    out.timestamp_ms = e.timestamp_ms;
    if (e.key_len > 0) out.key = std::string(static_cast<const char*>(e.key), e.key_len);
    out.payload = std::string(static_cast<const char*>(e.payload), e.payload_len);
    for (size_t h = 0; h < e.header_count; h++)
      out.headers.emplace_back(std::string(static_cast<const char*>(e.headers[h].key), e.headers[h].key_len),
                               std::string(static_cast<const char*>(e.headers[h].value), e.headers[h].value_len));
    return out;
  }

  // SYNAP_NOTFOUND carries no message: name the room.
  static void Check(int rc, const std::string& room, const char* what) {
    if (rc == SYNAP_NOTFOUND) Fail(kExitFailed, std::string(what) + ": no such room '" + room + "'");
    CheckRc(rc, std::string(what) + " (room '" + room + "')");
  }

  Store store_;
};

// ---- online: RESP ----

// "<n+1>-0" -> n.
uint64_t OffsetOfId(const std::string& id) {
  uint64_t ms = 0;
  size_t dash = id.find('-');
  try {
    ms = std::stoull(id.substr(0, dash));
  } catch (const std::exception&) {
    Fail(kExitFailed, "the server sent a malformed entry ID '" + id + "'");
  }
  if (ms == 0) Fail(kExitFailed, "the server sent entry ID '" + id + "', which names no offset");
  return ms - 1;
}

// The value of `name` in a map reply (RESP3) or flat name/value array (RESP2).
const RespReply* Field(const RespReply& r, std::string_view name) {
  for (size_t i = 0; i + 1 < r.elems.size(); i += 2)
    if (r.elems[i].str == name) return &r.elems[i + 1];
  return nullptr;
}

class RespStream : public StreamTarget {
 public:
  RespStream() : client_(ConnectToServer()) {}

  uint64_t Append(const std::string& room, const AppendArgs& a) override {
    std::vector<std::string> args = {"XADD", room, "*"};
    for (const auto& [k, v] : a.headers) args.insert(args.end(), {k, v});
    return OffsetOfId(CallOrFail(*client_, args).str);
  }

  std::vector<Event> Read(const std::string& room, uint64_t from, uint32_t count) override {
    RespReply r = CallOrFail(*client_, {"XRANGE", room, std::to_string(from + 1) + "-0", "+", "COUNT",
                                        std::to_string(count)});
    std::vector<Event> out;
    for (const RespReply& entry : r.elems) {  // [id, [field, value, ...]]
      if (entry.elems.size() != 2) Fail(kExitFailed, "the server sent a malformed stream entry");
      Event e;
      e.offset = OffsetOfId(entry.elems[0].str);
      const auto& fv = entry.elems[1].elems;
      for (size_t i = 0; i + 1 < fv.size(); i += 2) e.headers.emplace_back(fv[i].str, fv[i + 1].str);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::vector<GroupRow> Groups(const std::vector<std::string>& rooms,
                               const std::optional<std::string>& group) override {
    std::vector<GroupRow> out;
    for (const std::string& room : rooms) {
      RespReply r = client_->Call({"XINFO", "STREAM", room, "FULL", "COUNT", "1"});
      if (r.is_error() && r.str == "ERR no such key") Fail(kExitFailed, "no such room '" + room + "'");
      if (r.is_error()) Fail(kExitFailed, "the server answered XINFO STREAM with: " + r.str);
      const RespReply* next = Field(r, "entries-added");
      const RespReply* groups = Field(r, "groups");
      if (next == nullptr || groups == nullptr) Fail(kExitFailed, "the server's XINFO STREAM FULL lacks its groups");
      for (const RespReply& g : groups->elems) {
        const RespReply *name = Field(g, "name"), *read = Field(g, "entries-read"), *lag = Field(g, "lag"),
                        *pel = Field(g, "pel-count");
        if (!name || !read || !lag || !pel) Fail(kExitFailed, "the server's XINFO STREAM FULL lacks a group field");
        if (group && name->str != *group) continue;
        out.push_back({name->str, room, static_cast<uint64_t>(read->integer), static_cast<uint64_t>(next->integer),
                       static_cast<uint64_t>(lag->integer), static_cast<uint64_t>(pel->integer)});
      }
    }
    return out;
  }

 private:
  std::unique_ptr<RespClient> client_;
};

std::unique_ptr<StreamTarget> OpenStream(const DataOptions& d, bool create) {
  if (d.offline()) return std::make_unique<EmbeddedStream>(d.dir, create);
  return std::make_unique<RespStream>();
}

// ---- output ----

// UTC, ISO 8601 with milliseconds.
std::string Iso8601(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

Json EventJson(const Event& e) {
  Json headers = Json::Array();
  for (const auto& [k, v] : e.headers) headers.Push(Json::Array().Push(Json::Bytes(k)).Push(Json::Bytes(v)));
  return Json::Object()
      .Set("offset", e.offset)
      .Set("timestamp_ms", e.timestamp_ms ? Json(*e.timestamp_ms) : Json())
      .Set("key", e.key ? Json::Bytes(*e.key) : Json())
      .Set("headers", std::move(headers))
      .Set("payload", e.payload ? Json::Bytes(*e.payload) : Json());
}

// "offset  time  key=k  name=value ...  payload": the parts that are known.
std::string EventLine(const Event& e) {
  std::string line = std::to_string(e.offset);
  if (e.timestamp_ms) line += "  " + Iso8601(*e.timestamp_ms);
  if (e.key) line += "  key=" + Printable(*e.key);
  for (const auto& [k, v] : e.headers) line += "  " + Printable(k) + "=" + Printable(v);
  if (e.payload) line += "  " + Printable(*e.payload);
  return line;
}

void PrintGroups(const std::vector<GroupRow>& rows, bool json) {
  if (json) {
    Json doc = Json::Array();
    for (const GroupRow& r : rows)
      doc.Push(Json::Object()
                   .Set("group", Json::Bytes(r.group))
                   .Set("room", r.room)
                   .Set("position", r.position)
                   .Set("next_offset", r.next_offset)
                   .Set("lag", r.lag)
                   .Set("pending", r.pending ? Json(*r.pending) : Json()));
    return PrintJson(doc);
  }
  std::vector<std::vector<std::string>> table = {{"GROUP", "ROOM", "POSITION", "NEXT_OFFSET", "LAG", "PENDING"}};
  for (const GroupRow& r : rows)
    table.push_back({Printable(r.group), r.room, std::to_string(r.position), std::to_string(r.next_offset),
                     std::to_string(r.lag), r.pending ? std::to_string(*r.pending) : "-"});
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table)
    for (size_t c = 0; c < row.size(); c++) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : table) {
    std::string line;
    for (size_t c = 0; c < row.size(); c++) line += row[c] + std::string(width[c] - row[c].size() + 2, ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

// ---- commands ----

RunFn SetupAppend(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string room, payload, key;
    std::vector<std::string> headers;
    int64_t timestamp_ms = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("room", a->room, "The room (created if unknown, unless the store forbids it)")->required();
  CLI::Option* payload = cmd->add_option("payload", a->payload, "The event's payload (offline only)");
  CLI::Option* key = cmd->add_option("--key", a->key, "The event's key (offline only)");
  cmd->add_option("--header", a->headers, "A header NAME=VALUE (repeatable; online, the entry's fields)")
      ->allow_extra_args(false);  // one value per --header: the payload may follow it
  CLI::Option* ts =
      cmd->add_option("--timestamp", a->timestamp_ms, "Event time in Unix ms (offline only; default: now)")
          ->check(CLI::PositiveNumber);
  AddDataOptions(cmd, &a->data);
  return Guarded([a, payload, key, ts] {
    AppendArgs e;
    for (const std::string& h : a->headers) {
      size_t eq = h.find('=');
      if (eq == std::string::npos) Fail(kExitUsage, "--header takes NAME=VALUE, not '" + h + "'");
      e.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
    }
    if (!a->data.offline()) {
      if (payload->count() > 0 || key->count() > 0 || ts->count() > 0)
        Fail(kExitUsage, "online, an event is a Redis stream entry (XADD): its --header pairs are the entry's "
                         "fields, and there is no place for a payload, --key or --timestamp. Use --dir DIR to "
                         "append to a data directory, or put them in headers");
      if (e.headers.empty())
        Fail(kExitUsage, "online, an event needs at least one --header NAME=VALUE (XADD's fields)");
    }
    if (payload->count() > 0) e.payload = a->payload;
    if (key->count() > 0) e.key = a->key;
    e.timestamp_ms = a->timestamp_ms;
    uint64_t offset = OpenStream(a->data, true)->Append(a->room, e);
    if (a->data.json) PrintJson(Json::Object().Set("room", a->room).Set("offset", offset));
    else std::printf("%llu\n", static_cast<unsigned long long>(offset));
    return kExitOk;
  });
}

RunFn SetupRead(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string room;
    uint64_t from = 0;
    uint32_t count = 100;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("room", a->room, "The room")->required();
  cmd->add_option("--from", a->from, "First offset (below the earliest kept: from there)")->capture_default_str();
  cmd->add_option("--count", a->count, "At most this many events (1..100000)")
      ->check(CLI::Range(1u, kMaxRead))
      ->capture_default_str();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    std::vector<Event> events = OpenStream(a->data, false)->Read(a->room, a->from, a->count);
    uint64_t next = events.empty() ? a->from : events.back().offset + 1;
    if (a->data.json) {
      Json list = Json::Array();
      for (const Event& e : events) list.Push(EventJson(e));
      PrintJson(Json::Object().Set("room", a->room).Set("events", std::move(list)).Set("next_offset", next));
    } else {
      for (const Event& e : events) std::printf("%s\n", EventLine(e).c_str());
    }
    return kExitOk;
  });
}

RunFn SetupGroups(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string room;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("room", a->room, "The room (offline default: every room)");
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    if (a->room.empty() && !a->data.offline())
      Fail(kExitUsage, "online, name the room: synap-server has no command that lists rooms");
    std::vector<std::string> rooms;
    if (!a->room.empty()) rooms.push_back(a->room);
    PrintGroups(OpenStream(a->data, false)->Groups(rooms, std::nullopt), a->data.json);
    return kExitOk;
  });
}

RunFn SetupLag(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string group;
    std::vector<std::string> rooms;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("group", a->group, "The consumer group")->required();
  cmd->add_option("--room", a->rooms, "Only this room (repeatable; online, at least one)")->allow_extra_args(false);
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    if (a->rooms.empty() && !a->data.offline())
      Fail(kExitUsage, "online, name the rooms with --room: synap-server has no command that lists rooms");
    std::vector<GroupRow> rows = OpenStream(a->data, false)->Groups(a->rooms, a->group);
    if (rows.empty()) Fail(kExitFailed, "group '" + Printable(a->group) + "' has no position in " +
                                            (a->rooms.empty() ? "any room" : "the rooms named"));
    PrintGroups(rows, a->data.json);
    if (!a->data.json) {
      uint64_t total = 0;
      for (const GroupRow& r : rows) total += r.lag;
      std::printf("total lag %llu\n", static_cast<unsigned long long>(total));
    }
    return kExitOk;
  });
}

}  // namespace

SYNAP_CLI_GROUP("stream", "Event streams (offline with --dir, else online)");
SYNAP_CLI_COMMAND("stream append", "Append an event to a room; print its offset", SetupAppend);
SYNAP_CLI_COMMAND("stream read", "Print a room's events from an offset", SetupRead);
SYNAP_CLI_COMMAND("stream groups", "Consumer groups of a room: position and lag", SetupGroups);
SYNAP_CLI_COMMAND("stream lag", "How far a consumer group is behind, per room", SetupLag);

}  // namespace synap::cli
