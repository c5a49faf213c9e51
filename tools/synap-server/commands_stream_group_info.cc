// XINFO's consumer-group views, from the server's group registry
// (stream_groups.h): XINFO GROUPS, XINFO CONSUMERS and the "groups" of
// XINFO STREAM FULL. XINFO itself dispatches in commands_stream.cc, which
// finds the room and the names of the groups with a durable commit on it.
//
// Redis's fields, with Synap's meaning: a group's "last-delivered-id" is the
// entry before its '>' cursor, "entries-read" the cursor itself (offsets
// before it, deleted ones included: a room's offsets count every entry ever
// added), "lag" the entries from the cursor to the room's end. Times kept on
// the steady clock (idle, delivery, seen and active times) are shown as
// Redis shows them: durations in ms, or Unix times in ms in FULL.
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tools/synap-server/stream_entries.h"
#include "tools/synap-server/stream_groups.h"

namespace synap::server {
namespace {

using Group = StreamGroups::Group;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A steady-clock time as a Unix time in ms (now_wall - how long ago).
int64_t UnixMs(int64_t steady_ms, int64_t now_steady, int64_t now_wall) {
  return now_wall - std::max<int64_t>(now_steady - steady_ms, 0);
}

std::string LastDeliveredId(const Group& g) { return g.cursor > 0 ? IdOf(g.cursor - 1) : "0-0"; }
int64_t Lag(const Group& g, uint64_t next) { return static_cast<int64_t>(next - std::min(next, g.cursor)); }

// Renders `write(w, group)` for each group of `names` still there (one
// destroyed meanwhile is left out), then replies them as one array: the
// count is known only once every group has been looked at.
template <typename Write>
void ReplyGroups(Context& c, const std::string& room, const std::vector<std::string>& names, Write write) {
  std::vector<std::string> rendered;
  for (const std::string& name : names) {
    std::shared_ptr<Group> g;
    if (c.server->stream_groups.Find(c.db, room, name, &g) != SYNAP_OK) continue;  // destroyed meanwhile
    std::lock_guard lk(g->mu);
    if (g->destroyed) continue;
    std::string out;
    ReplyWriter w(&out, c.reply.proto());
    write(w, *g);
    rendered.push_back(std::move(out));
  }
  c.reply.Array(rendered.size());
  for (const std::string& r : rendered) c.reply.Raw(r);
}

// FULL's "pending" of a group: [[ID, consumer, delivery time, deliveries], ...].
void WriteGroupPending(ReplyWriter& w, const Group& g, size_t count, int64_t now, int64_t wall) {
  size_t n = std::min(count, g.pel.size());
  w.Array(n);
  auto it = g.pel.begin();
  for (size_t i = 0; i < n; i++, ++it) {
    w.Array(4);
    w.Bulk(IdOf(it->first));
    w.Bulk(it->second.consumer);
    w.Integer(UnixMs(it->second.delivered_ms, now, wall));
    w.Integer(static_cast<int64_t>(it->second.deliveries));
  }
}

// FULL's "consumers" of a group: name, seen-time, active-time (-1: never
// delivered anything), pel-count, pending [[ID, delivery time, deliveries], ...].
void WriteGroupConsumers(ReplyWriter& w, const Group& g, size_t count, int64_t now, int64_t wall) {
  w.Array(g.consumers.size());
  for (const auto& [name, consumer] : g.consumers) {
    w.Map(5);
    w.Bulk("name");
    w.Bulk(name);
    w.Bulk("seen-time");
    w.Integer(UnixMs(consumer.seen_ms, now, wall));
    w.Bulk("active-time");
    w.Integer(consumer.active_ms < 0 ? -1 : UnixMs(consumer.active_ms, now, wall));
    w.Bulk("pel-count");
    w.Integer(static_cast<int64_t>(consumer.pending.size()));
    w.Bulk("pending");
    size_t n = std::min(count, consumer.pending.size());
    w.Array(n);
    auto it = consumer.pending.begin();
    for (size_t i = 0; i < n; i++, ++it) {
      const StreamGroups::Pending& p = g.pel.at(*it);
      w.Array(3);
      w.Bulk(IdOf(*it));
      w.Integer(UnixMs(p.delivered_ms, now, wall));
      w.Integer(static_cast<int64_t>(p.deliveries));
    }
  }
}

}  // namespace

// XINFO GROUPS key: per group name, consumers, pending, last-delivered-id,
// entries-read, lag.
void XinfoGroups(Context& c, const std::string& room, const std::vector<std::string>& groups, uint64_t next) {
  ReplyGroups(c, room, groups, [next](ReplyWriter& w, const Group& g) {
    w.Map(6);
    w.Bulk("name");
    w.Bulk(g.name);
    w.Bulk("consumers");
    w.Integer(static_cast<int64_t>(g.consumers.size()));
    w.Bulk("pending");
    w.Integer(static_cast<int64_t>(g.pel.size()));
    w.Bulk("last-delivered-id");
    w.Bulk(LastDeliveredId(g));
    w.Bulk("entries-read");
    w.Integer(static_cast<int64_t>(g.cursor));
    w.Bulk("lag");
    w.Integer(Lag(g, next));
  });
}

// XINFO CONSUMERS key group: per consumer name, pending, idle (ms since a
// command last named it), inactive (ms since a read last delivered it
// entries; -1: never).
void XinfoConsumers(Context& c, const std::string& room, const std::string& group) {
  std::shared_ptr<Group> g;
  int rc = c.server->stream_groups.Find(c.db, room, group, &g);
  std::unique_lock<std::mutex> lk;
  if (rc == SYNAP_OK) {
    lk = std::unique_lock(g->mu);
    if (g->destroyed) rc = SYNAP_NOTFOUND;
  }
  if (rc == SYNAP_NOTFOUND)
    return c.reply.Error("NOGROUP No such consumer group '" + group + "' for key name '" + room + "'");
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  int64_t now = StreamGroups::NowMs();
  c.reply.Array(g->consumers.size());
  for (const auto& [name, consumer] : g->consumers) {
    c.reply.Map(4);
    c.reply.Bulk("name");
    c.reply.Bulk(name);
    c.reply.Bulk("pending");
    c.reply.Integer(static_cast<int64_t>(consumer.pending.size()));
    c.reply.Bulk("idle");
    c.reply.Integer(std::max<int64_t>(now - consumer.seen_ms, 0));
    c.reply.Bulk("inactive");
    c.reply.Integer(consumer.active_ms < 0 ? -1 : std::max<int64_t>(now - consumer.active_ms, 0));
  }
}

// XINFO STREAM FULL's groups: name, last-delivered-id, entries-read, lag,
// pel-count, pending (the first `count` pending entries), consumers.
void WriteGroupsFull(Context& c, const std::string& room, const std::vector<std::string>& groups, uint64_t next,
                     size_t count) {
  int64_t now = StreamGroups::NowMs(), wall = WallMs();
  ReplyGroups(c, room, groups, [&](ReplyWriter& w, const Group& g) {
    w.Map(7);
    w.Bulk("name");
    w.Bulk(g.name);
    w.Bulk("last-delivered-id");
    w.Bulk(LastDeliveredId(g));
    w.Bulk("entries-read");
    w.Integer(static_cast<int64_t>(g.cursor));
    w.Bulk("lag");
    w.Integer(Lag(g, next));
    w.Bulk("pel-count");
    w.Integer(static_cast<int64_t>(g.pel.size()));
    w.Bulk("pending");
    WriteGroupPending(w, g, count, now, wall);
    w.Bulk("consumers");
    WriteGroupConsumers(w, g, count, now, wall);
  });
}

}  // namespace synap::server
