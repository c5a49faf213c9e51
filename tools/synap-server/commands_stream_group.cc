// Redis consumer groups over Synap groups: XGROUP (CREATE, DESTROY,
// CREATECONSUMER, DELCONSUMER, SETID, HELP), XREADGROUP, XACK, XPENDING.
// XINFO GROUPS / CONSUMERS are in commands_stream_group_info.cc.
//
// A Redis group of stream key k is the Synap group of that name on room k.
// Its durable state is the group's committed offset (synap_group_commit);
// the pending entries list lives in memory (StreamGroups, stream_groups.h),
// and the committed offset follows its floor, so a restart redelivers
// exactly what was not acknowledged (docs/server.md, "Streams").
//
// Durable writes never block a loop: XGROUP CREATE / DESTROY / SETID /
// DELCONSUMER and XACK issue them with the *_async calls and reply through
// the mailbox once they are durable, as XADD does; XREADGROUP's commits (a
// NOACK read moves the floor) are not waited for, since losing one only
// means a redelivery.
#include <algorithm>
#include <atomic>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tools/synap-server/commands.h"
#include "tools/synap-server/stream_entries.h"
#include "tools/synap-server/stream_groups.h"

namespace synap::server {
namespace {

using Group = StreamGroups::Group;

const char* const kNeedKey =
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM "
    "option to create an empty stream automatically.";
const char* const kBusyGroup = "BUSYGROUP Consumer Group name already exists";
const char* const kNotInteger = "ERR value is not an integer or out of range";

std::string NoGroupXreadgroup(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" + std::string(group) +
         "' in XREADGROUP with GROUP option";
}
std::string NoGroupXpending(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" + std::string(group) + "'";
}
std::string NoGroupXgroup(std::string_view key, std::string_view group) {
  return "NOGROUP No such consumer group '" + std::string(group) + "' for key name '" + std::string(key) + "'";
}
std::string TooManyConsumers(const Group& g) {
  return "ERR group '" + g.name + "' of stream '" + g.room + "' has " +
         std::to_string(StreamGroups::kMaxConsumersPerGroup) +
         " consumers (synap-server's limit): XGROUP DELCONSUMER some first";
}

// Names reach libsynap as C strings, where a NUL would cut them short.
bool CheckNames(Context& c, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (n.find('\0') != std::string_view::npos) {
      c.reply.Error("ERR stream keys, group names and consumer names must not contain NUL bytes");
      return false;
    }
  return true;
}

bool CheckConsumer(Context& c, std::string_view consumer) {
  if (!CheckNames(c, {consumer})) return false;
  if (consumer.size() <= StreamGroups::kMaxConsumerNameBytes) return true;
  c.reply.Error("ERR consumer name is longer than " + std::to_string(StreamGroups::kMaxConsumerNameBytes) +
                " bytes (synap-server's limit)");
  return false;
}

// ---------------------------------------------------------------- replies that wait for durability

struct Durable {  // the reply of a command whose write is not durable yet
  std::shared_ptr<Mailbox> box;  // outlives the loop, so a late completion is safe
  uint64_t token;
  std::string reply;  // sent once the write is durable
  int proto;
};

// On libsynap's committer thread (or at once on the loop's).
void OnDurable(void* user, int result, uint64_t) {
  auto* d = static_cast<Durable*>(user);
  if (result != SYNAP_OK) {
    d->reply.clear();
    ReplyWriter(&d->reply, d->proto)
        .Error(std::string("IOERR the consumer group's state was not made durable: ") + synap_strerror(result));
  }
  d->box->Post(d->token, std::move(d->reply));
  delete d;
}

template <typename Write>
std::string Encode(const Context& c, Write write) {
  std::string out;
  ReplyWriter w(&out, c.reply.proto());
  write(w);
  return out;
}

// Use: d = NewDurable(c, reply); rc = <libsynap call>(..., OnDurable, d);
// then Deferred(c, d, token, rc). SYNAP_OK: the reply comes through the
// mailbox, and d belongs to the callback (it may already be gone: the token
// is passed separately). Any other code frees d and returns false: the caller
// replies now.
Durable* NewDurable(Context& c, std::string reply) {
  return new Durable{c.mailbox, c.mailbox->NewToken(), std::move(reply), c.reply.proto()};
}
bool Deferred(Context& c, Durable* d, uint64_t token, int rc) {
  if (rc == SYNAP_OK) {
    c.deferred_token = token;
    return true;
  }
  delete d;
  return false;
}

// Replies what `write` writes once the group's floor is durably committed,
// at once when it did not move. The caller holds g.mu.
template <typename Write>
void ReplyAfterCommit(Context& c, Group& g, Write write) {
  Durable* d = NewDurable(c, Encode(c, write));
  uint64_t token = d->token;
  int rc = StreamGroups::CommitFloor(c.db, g, OnDurable, d);
  if (Deferred(c, d, token, rc)) return;
  if (rc == SYNAP_NOTSET) return write(c.reply);
  ReplyError(c.reply, rc);
}

// ---------------------------------------------------------------- lookups

// A room's group: SYNAP_OK, SYNAP_NOTFOUND (no such room or group), or
// another libsynap error (synap_last_error says which).
int FindGroup(Context& c, const std::string& room, const std::string& group, std::shared_ptr<Group>* g) {
  uint64_t earliest = 0, next = 0;
  int rc = synap_stream_bounds(c.db, room.c_str(), &earliest, &next);
  if (rc != SYNAP_OK) return rc;
  return c.server->stream_groups.Find(c.db, room, group, g);
}

// XGROUP's subcommands need the room; false: replied.
bool NeedRoom(Context& c, const std::string& room, uint64_t* next) {
  uint64_t earliest = 0;
  int rc = synap_stream_bounds(c.db, room.c_str(), &earliest, next);
  if (rc == SYNAP_OK) return true;
  if (rc == SYNAP_NOTFOUND) c.reply.Error(kNeedKey);
  else ReplyError(c.reply, rc);
  return false;
}

// XGROUP's subcommands on an existing group (*next: the room's); nullptr: replied.
std::shared_ptr<Group> NeedGroup(Context& c, const std::string& room, const std::string& group, uint64_t* next) {
  if (!NeedRoom(c, room, next)) return nullptr;
  std::shared_ptr<Group> g;
  int rc = c.server->stream_groups.Find(c.db, room, group, &g);
  if (rc == SYNAP_NOTFOUND) c.reply.Error(NoGroupXgroup(room, group));
  else if (rc != SYNAP_OK) ReplyError(c.reply, rc);
  return rc == SYNAP_OK ? g : nullptr;
}

// Where a group starts (CREATE, SETID): "$" = the room's end, "0" = its
// start, an ID = the offset after it, at most the room's end (a Synap group
// cannot be placed beyond it). False if malformed.
bool ParseGroupStart(std::string_view id, uint64_t next, uint64_t* offset) {
  uint64_t ms = 0, seq = 0;
  if (id == "$") {
    *offset = next;
    return true;
  }
  if (!ParseId(id, &ms, &seq)) return false;
  *offset = std::min(OffsetAfter(ms, seq), next);
  return true;
}

// ENTRIESREAD n is accepted and ignored: a room's offsets already say how
// many entries a group has read (lag = next offset - committed).
bool ParseEntriesRead(Context& c, std::string_view v) {
  int64_t n = 0;
  if (ParseInt(v, &n) && n >= -1) return true;
  c.reply.Error("ERR value for ENTRIESREAD must be positive or -1");
  return false;
}

// ---------------------------------------------------------------- XGROUP

// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
void GroupCreate(Context& c) {
  std::string room(c.args[2]), group(c.args[3]);
  std::string_view id = c.args[4];
  bool mkstream = false;
  for (size_t i = 5; i < c.args.size(); i++) {
    std::string opt = Upper(c.args[i]);
    if (opt == "MKSTREAM") {
      mkstream = true;
    } else if (opt == "ENTRIESREAD" && i + 1 < c.args.size()) {
      if (!ParseEntriesRead(c, c.args[++i])) return;
    } else {
      return c.reply.Error("ERR syntax error");
    }
  }
  uint64_t ms = 0, seq = 0, earliest = 0, next = 0, offset = 0;
  if (id != "$" && !ParseId(id, &ms, &seq)) return c.reply.Error(kBadId);  // before MKSTREAM makes anything
  int rc = synap_stream_bounds(c.db, room.c_str(), &earliest, &next);
  if (rc == SYNAP_NOTFOUND && mkstream) {
    rc = synap_stream_create(c.db, room.c_str(), nullptr);
    if (rc == SYNAP_OK || rc == SYNAP_EEXIST) rc = synap_stream_bounds(c.db, room.c_str(), &earliest, &next);
  }
  if (rc == SYNAP_NOTFOUND) return c.reply.Error(kNeedKey);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  ParseGroupStart(id, next, &offset);
  Durable* d = NewDurable(c, Encode(c, [](ReplyWriter& w) { w.Simple("OK"); }));
  uint64_t token = d->token;
  rc = c.server->stream_groups.Create(c.db, room, group, offset, OnDurable, d);
  if (Deferred(c, d, token, rc)) return;
  if (rc == SYNAP_EEXIST) return c.reply.Error(kBusyGroup);
  if (rc == SYNAP_EBUSY)  // another connection's DESTROY of it is not durable yet
    return c.reply.Error("ERR consumer group '" + group + "' of stream '" + room +
                         "' is being destroyed (XGROUP DESTROY in progress): try again");
  ReplyError(c.reply, rc);
}

// XGROUP DESTROY key group -> 1 if the group was there, else 0.
void GroupDestroy(Context& c) {
  std::string room(c.args[2]), group(c.args[3]);
  uint64_t next = 0;
  if (!NeedRoom(c, room, &next)) return;
  Durable* d = NewDurable(c, Encode(c, [](ReplyWriter& w) { w.Integer(1); }));
  uint64_t token = d->token;
  bool existed = false, deferred = false;
  int rc = c.server->stream_groups.Destroy(c.db, room, group, OnDurable, d, &existed, &deferred);
  if (Deferred(c, d, token, rc == SYNAP_OK && !deferred ? SYNAP_NOTSET : rc)) return;
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(existed ? 1 : 0);
}

// XGROUP CREATECONSUMER key group consumer -> 1 if created, 0 if it was there.
void GroupCreateConsumer(Context& c) {
  std::string room(c.args[2]), group(c.args[3]), consumer(c.args[4]);
  if (!CheckConsumer(c, consumer)) return;
  uint64_t next = 0;
  std::shared_ptr<Group> g = NeedGroup(c, room, group, &next);
  if (!g) return;
  std::lock_guard lk(g->mu);
  if (g->destroyed) return c.reply.Error(NoGroupXgroup(room, group));
  bool existed = g->consumers.count(consumer) > 0;
  if (!g->Join(consumer, StreamGroups::NowMs())) return c.reply.Error(TooManyConsumers(*g));
  c.reply.Integer(existed ? 0 : 1);
}

// XGROUP DELCONSUMER key group consumer -> its pending entries, now dropped.
void GroupDelConsumer(Context& c) {
  std::string room(c.args[2]), group(c.args[3]), consumer(c.args[4]);
  if (!CheckNames(c, {consumer})) return;
  uint64_t next = 0;
  std::shared_ptr<Group> g = NeedGroup(c, room, group, &next);
  if (!g) return;
  std::lock_guard lk(g->mu);
  if (g->destroyed) return c.reply.Error(NoGroupXgroup(room, group));
  int64_t dropped = std::max<int64_t>(g->DropConsumer(consumer), 0);
  ReplyAfterCommit(c, *g, [dropped](ReplyWriter& w) { w.Integer(dropped); });
}

// XGROUP SETID key group id|$ [ENTRIESREAD n]: moves the '>' cursor; the
// pending entries stay.
void GroupSetId(Context& c) {
  std::string room(c.args[2]), group(c.args[3]);
  std::string_view id = c.args[4];
  if (c.args.size() == 6 || (c.args.size() == 7 && Upper(c.args[5]) != "ENTRIESREAD"))
    return c.reply.Error("ERR syntax error");
  if (c.args.size() == 7 && !ParseEntriesRead(c, c.args[6])) return;
  uint64_t ms = 0, seq = 0, next = 0, offset = 0;
  if (id != "$" && !ParseId(id, &ms, &seq)) return c.reply.Error(kBadId);
  std::shared_ptr<Group> g = NeedGroup(c, room, group, &next);
  if (!g) return;
  ParseGroupStart(id, next, &offset);
  std::lock_guard lk(g->mu);
  if (g->destroyed) return c.reply.Error(NoGroupXgroup(room, group));
  g->cursor = offset;
  ReplyAfterCommit(c, *g, [](ReplyWriter& w) { w.Simple("OK"); });
}

void GroupHelp(Context& c) {
  static const char* const kLines[] = {
      "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CREATE <key> <groupname> <id|$> [MKSTREAM] [ENTRIESREAD entries-read]",
      "    Create a new consumer group. MKSTREAM creates the stream if it does not exist.",
      "CREATECONSUMER <key> <groupname> <consumer>",
      "    Create a new consumer in the specified group.",
      "DELCONSUMER <key> <groupname> <consumer>",
      "    Remove the specified consumer and its pending entries.",
      "DESTROY <key> <groupname>",
      "    Remove the specified group.",
      "SETID <key> <groupname> <id|$> [ENTRIESREAD entries-read]",
      "    Set the current group ID.",
      "HELP",
      "    Print this help.",
  };
  c.reply.Array(std::size(kLines));
  for (const char* l : kLines) c.reply.Simple(l);
}

void Xgroup(Context& c) {
  struct Sub {
    const char* name;
    size_t min_args, max_args;
    void (*run)(Context&);
  };
  static const Sub kSubs[] = {
      {"CREATE", 5, 8, GroupCreate},         {"DESTROY", 4, 4, GroupDestroy},
      {"CREATECONSUMER", 5, 5, GroupCreateConsumer}, {"DELCONSUMER", 5, 5, GroupDelConsumer},
      {"SETID", 5, 7, GroupSetId},           {"HELP", 2, 2, GroupHelp},
  };
  std::string sub = Upper(c.args[1]);
  for (const Sub& s : kSubs) {
    if (sub != s.name) continue;
    if (c.args.size() < s.min_args || c.args.size() > s.max_args)
      return c.reply.Error("ERR wrong number of arguments for 'xgroup|" + Lower(sub) + "' command");
    if (c.args.size() > 3 && !CheckNames(c, {c.args[2], c.args[3]})) return;
    return s.run(c);
  }
  c.reply.Error("ERR unknown subcommand '" + std::string(c.args[1].substr(0, 128)) + "'. Try XGROUP HELP.");
}

// ---------------------------------------------------------------- XACK, XPENDING

// XACK key group id [id ...] -> how many were pending. IDs that name no
// entry ("5-1") are valid and acknowledge nothing.
void Xack(Context& c) {
  std::string room(c.args[1]), group(c.args[2]);
  if (!CheckNames(c, {room, group})) return;
  std::vector<uint64_t> offsets;
  for (size_t i = 3; i < c.args.size(); i++) {
    uint64_t ms = 0, seq = 0;
    if (!ParseId(c.args[i], &ms, &seq)) return c.reply.Error(kBadId);
    if (ms >= 1 && seq == 0) offsets.push_back(ms - 1);
  }
  std::shared_ptr<Group> g;
  int rc = FindGroup(c, room, group, &g);
  if (rc == SYNAP_NOTFOUND) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  std::lock_guard lk(g->mu);
  if (g->destroyed) return c.reply.Integer(0);
  int64_t acked = 0;
  for (uint64_t o : offsets) acked += g->Ack(o) ? 1 : 0;
  ReplyAfterCommit(c, *g, [acked](ReplyWriter& w) { w.Integer(acked); });
}

// XPENDING key group: [count, lowest ID, highest ID, [[consumer, "n"], ...]].
void PendingSummary(Context& c, const Group& g) {
  if (g.pel.empty()) {
    c.reply.Array(4);
    c.reply.Integer(0);
    c.reply.Null();
    c.reply.Null();
    return c.reply.NullArray();
  }
  size_t busy = 0;
  for (const auto& [name, consumer] : g.consumers) busy += consumer.pending.empty() ? 0 : 1;
  c.reply.Array(4);
  c.reply.Integer(static_cast<int64_t>(g.pel.size()));
  c.reply.Bulk(IdOf(g.pel.begin()->first));
  c.reply.Bulk(IdOf(g.pel.rbegin()->first));
  c.reply.Array(busy);
  for (const auto& [name, consumer] : g.consumers) {
    if (consumer.pending.empty()) continue;
    c.reply.Array(2);
    c.reply.Bulk(name);
    c.reply.Bulk(std::to_string(consumer.pending.size()));
  }
}

// XPENDING key group [[IDLE ms] start end count [consumer]]:
// [[ID, consumer, idle ms, deliveries], ...] in ID order.
void Xpending(Context& c) {
  std::string room(c.args[1]), group(c.args[2]);
  if (!CheckNames(c, {room, group})) return;
  size_t i = 3;
  int64_t min_idle = -1, count = 0;
  uint64_t from = 0, end = UINT64_MAX;
  if (c.args.size() > 3 && Upper(c.args[3]) == "IDLE") {
    if (c.args.size() < 8) return c.reply.Error("ERR syntax error");
    if (!ParseInt(c.args[4], &min_idle)) return c.reply.Error(kNotInteger);
    i = 5;
  }
  bool extended = c.args.size() > 3;
  std::string consumer;
  if (extended) {
    if (c.args.size() - i != 3 && c.args.size() - i != 4) return c.reply.Error("ERR syntax error");
    if (!ParseRangeStart(c.args[i], &from) || !ParseRangeEnd(c.args[i + 1], &end)) return c.reply.Error(kBadId);
    if (!ParseInt(c.args[i + 2], &count)) return c.reply.Error(kNotInteger);
    if (c.args.size() - i == 4) consumer = c.args[i + 3];
  }
  std::shared_ptr<Group> g;
  int rc = FindGroup(c, room, group, &g);
  if (rc == SYNAP_NOTFOUND) return c.reply.Error(NoGroupXpending(room, group));
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  std::lock_guard lk(g->mu);
  if (g->destroyed) return c.reply.Error(NoGroupXpending(room, group));
  if (!extended) return PendingSummary(c, *g);
  int64_t now = StreamGroups::NowMs();
  size_t limit = static_cast<size_t>(std::clamp<int64_t>(count, 0, kMaxRange));
  std::vector<std::pair<uint64_t, const StreamGroups::Pending*>> hits;
  auto take = [&](uint64_t offset, const StreamGroups::Pending& p) {
    if (min_idle < 0 || now - p.delivered_ms >= min_idle) hits.emplace_back(offset, &p);
  };
  if (consumer.empty()) {
    for (auto it = g->pel.lower_bound(from); it != g->pel.end() && it->first < end && hits.size() < limit; ++it)
      take(it->first, it->second);
  } else if (auto who = g->consumers.find(consumer); who != g->consumers.end()) {
    const std::set<uint64_t>& mine = who->second.pending;
    for (auto it = mine.lower_bound(from); it != mine.end() && *it < end && hits.size() < limit; ++it)
      take(*it, g->pel.at(*it));
  }
  c.reply.Array(hits.size());
  for (const auto& [offset, p] : hits) {
    c.reply.Array(4);
    c.reply.Bulk(IdOf(offset));
    c.reply.Bulk(p->consumer);
    c.reply.Integer(std::max<int64_t>(now - p->delivered_ms, 0));
    c.reply.Integer(static_cast<int64_t>(p->deliveries));
  }
}

// ---------------------------------------------------------------- XREADGROUP

struct ReadGroupArgs {
  std::string group, consumer;
  uint32_t count = kMaxRange;  // COUNT 0 (or none): up to kMaxRange
  int64_t block = -1;          // -1: do not block; 0: forever
  bool noack = false;
  size_t streams_at = 0, keys = 0;  // the STREAMS argument's index, how many keys follow it
};

struct Source {  // one key of an XREADGROUP
  std::string room;
  std::shared_ptr<Group> group;
  bool fresh = false;  // ">": new entries; else this consumer's pending entries after `after`
  uint64_t after = 0;
  std::vector<Item> items;  // what the read found: delivered only once every key's read succeeded
};

// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...
// False: replied the error.
bool ParseReadGroup(Context& c, ReadGroupArgs* a) {
  size_t i = 1;
  bool have_group = false;
  for (; i < c.args.size(); i++) {
    std::string opt = Upper(c.args[i]);
    int64_t v = 0;
    if (opt == "GROUP" && i + 2 < c.args.size()) {
      a->group = c.args[i + 1];
      a->consumer = c.args[i + 2];
      i += 2;
      have_group = true;
    } else if (opt == "COUNT" && i + 1 < c.args.size()) {
      if (!ParseInt(c.args[++i], &v) || v < 0) return c.reply.Error(kNotInteger), false;
      a->count = v == 0 || v > kMaxRange ? kMaxRange : static_cast<uint32_t>(v);
    } else if (opt == "BLOCK" && i + 1 < c.args.size()) {
      if (!ParseInt(c.args[++i], &a->block) || a->block < 0)
        return c.reply.Error("ERR timeout is not an integer or out of range"), false;
    } else if (opt == "NOACK") {
      a->noack = true;
    } else if (opt == "STREAMS") {
      break;
    } else {
      return c.reply.Error("ERR syntax error"), false;
    }
  }
  size_t rest = i < c.args.size() ? c.args.size() - i - 1 : 0;
  if (rest == 0 || rest % 2 != 0)
    return c.reply.Error("ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be "
                         "specified."),
           false;
  if (!have_group) return c.reply.Error("ERR Missing GROUP option for XREADGROUP"), false;
  a->streams_at = i;
  a->keys = rest / 2;
  return CheckNames(c, {a->group}) && CheckConsumer(c, a->consumer);
}

// Each key's group and ID; false: replied the error (NOGROUP for a missing one).
bool ResolveSources(Context& c, const ReadGroupArgs& a, std::vector<Source>* out) {
  for (size_t k = 0; k < a.keys; k++) {
    Source s;
    s.room = c.args[a.streams_at + 1 + k];
    std::string_view id = c.args[a.streams_at + 1 + a.keys + k];
    uint64_t ms = 0, seq = 0;
    if (!CheckNames(c, {s.room})) return false;
    if (id == ">") {
      s.fresh = true;
    } else if (id == "$") {
      return c.reply.Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
                           "of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ "
                           "ID would just return an empty result set."),
             false;
    } else if (ParseId(id, &ms, &seq)) {
      s.after = OffsetAfter(ms, seq);
    } else {
      return c.reply.Error(kBadId), false;
    }
    int rc = FindGroup(c, s.room, a.group, &s.group);
    if (rc == SYNAP_NOTFOUND) return c.reply.Error(NoGroupXreadgroup(s.room, a.group)), false;
    if (rc != SYNAP_OK) return ReplyError(c.reply, rc), false;
    out->push_back(std::move(s));
  }
  return true;
}

// The locks of every group one XREADGROUP names, held from its checks
// through its deliveries, so that what the checks found still holds. Each
// group once (a key may repeat), in address order: every command takes them
// in the same order, so two never wait for each other (other commands hold
// one group's lock at a time).
class GroupLocks {
 public:
  explicit GroupLocks(const std::vector<Source>& sources) {
    std::vector<Group*> groups;
    for (const Source& s : sources) groups.push_back(s.group.get());
    std::sort(groups.begin(), groups.end(), std::less<Group*>());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (Group* g : groups) locks_.emplace_back(g->mu);
  }

 private:
  std::vector<std::unique_lock<std::mutex>> locks_;
};

// Everything that can refuse the command, checked for every key before any
// is read: the group still exists, the consumer can join it, and a '>' read
// that makes entries pending has room for them. False: replied the error.
bool CheckSources(Context& c, const ReadGroupArgs& a, const std::vector<Source>& sources) {
  for (const Source& s : sources) {
    const Group& g = *s.group;
    if (g.destroyed) return c.reply.Error(NoGroupXreadgroup(s.room, a.group)), false;
    if (!g.consumers.count(a.consumer) && g.consumers.size() >= StreamGroups::kMaxConsumersPerGroup)
      return c.reply.Error(TooManyConsumers(g)), false;
    if (s.fresh && !a.noack && g.pel.size() >= StreamGroups::kMaxPendingPerGroup)
      return c.reply.Error("ERR group '" + g.name + "' of stream '" + g.room + "' has " +
                           std::to_string(StreamGroups::kMaxPendingPerGroup) +
                           " pending entries (synap-server's limit): XACK some before reading new ones"),
             false;
  }
  return true;
}

// Reads every key's entries into its Source, changing nothing: '>' the
// entries after the group's cursor (a key named twice goes on where the
// first left off), an ID this consumer's pending entries after it. The
// caller holds the locks. False: replied the error.
bool ReadSources(Context& c, const ReadGroupArgs& a, std::vector<Source>* sources, Blocks* blocks) {
  struct Plan {
    uint64_t cursor;
    size_t pending;
  };
  std::map<const Group*, Plan> plans;  // per group, as the deliveries so far would leave it
  for (Source& s : *sources) {
    const Group& g = *s.group;
    Plan& p = plans.try_emplace(&g, Plan{g.cursor, g.pel.size()}).first->second;
    int rc = SYNAP_OK;
    if (s.fresh) {
      size_t room_left = StreamGroups::kMaxPendingPerGroup - std::min(p.pending, StreamGroups::kMaxPendingPerGroup);
      uint32_t n = a.noack ? a.count : static_cast<uint32_t>(std::min<size_t>(a.count, room_left));
      std::vector<const synap_event*> events;
      rc = ReadRange(c.db, g.room, p.cursor, UINT64_MAX, n, blocks, &events);
      for (const synap_event* e : events) s.items.push_back({e->offset, e});
      if (!events.empty()) p.cursor = events.back()->offset + 1;
      if (!a.noack) p.pending += events.size();
    } else if (auto who = g.consumers.find(a.consumer); who != g.consumers.end()) {
      std::vector<uint64_t> offsets;
      const std::set<uint64_t>& mine = who->second.pending;
      for (auto it = mine.lower_bound(s.after); it != mine.end() && offsets.size() < a.count; ++it)
        offsets.push_back(*it);
      rc = ReadOffsets(c.db, g.room, offsets, blocks, &s.items);
    }
    if (rc == SYNAP_NOTFOUND) return c.reply.Error(NoGroupXreadgroup(s.room, a.group)), false;
    if (rc != SYNAP_OK) return ReplyError(c.reply, rc), false;
  }
  return true;
}

// Applies what ReadSources found (nothing here can fail): '>' entries
// become pending for the consumer (unless NOACK) and move the cursor;
// history entries count one more delivery. The caller holds the locks.
void Deliver(const ReadGroupArgs& a, std::vector<Source>* sources, int64_t now, synap_db* db) {
  for (Source& s : *sources) {
    Group& g = *s.group;
    StreamGroups::Consumer* me = g.Join(a.consumer, now);  // room checked by CheckSources
    bool got = false;
    for (const Item& it : s.items) {
      if (it.event == nullptr) continue;
      got = true;
      if (s.fresh) {
        if (!a.noack) g.Deliver(it.offset, a.consumer, now);
        g.cursor = std::max(g.cursor, it.offset + 1);
      } else {
        StreamGroups::Pending& p = g.pel.at(it.offset);
        p.deliveries++;
        p.delivered_ms = now;
      }
    }
    if (got && me != nullptr) me->active_ms = now;
    // The floor moves here only when nothing stays pending (NOACK, or
    // retention passed the cursor). Not waited for: a lost commit means a
    // redelivery, which at-least-once allows.
    if (s.fresh) StreamGroups::CommitFloor(db, g, StreamGroups::Ignore, nullptr);
  }
}

// Nothing new for any key: wait for the first of the rooms to get an entry
// past its group's cursor, then run the same command again (it parks again
// if another consumer took those entries first; event_loop.cc keeps the
// first deadline).
void ParkReadGroup(Context& c, const ReadGroupArgs& a, const std::vector<Source>& sources) {
  auto wait = std::make_shared<ReadWait>(c, c.mailbox->NewToken());
  for (const Source& s : sources) {
    uint64_t from = 0, earliest = 0, next = 0;
    {
      std::lock_guard lk(s.group->mu);
      from = s.group->cursor;
    }
    if (synap_stream_bounds(c.db, s.room.c_str(), &earliest, &next) == SYNAP_OK) from = std::max(from, earliest);
    // An error drops `wait`, which cancels the keys registered so far.
    if (int rc = wait->Add(s.room, from); rc != SYNAP_OK) return ReplyWaitError(c, s.room, rc);
  }
  ReadWait::Park(c, std::move(wait), std::vector<std::string>(c.args.begin(), c.args.end()), a.block);
}

void WriteStreams(ReplyWriter& w, const std::vector<const Source*>& found) {
  if (w.proto() >= 3) w.Map(found.size());
  else w.Array(found.size());
  for (const Source* s : found) {
    if (w.proto() < 3) w.Array(2);  // RESP2: [[key, entries], ...]
    w.Bulk(s->room);
    w.Array(s->items.size());
    for (const Item& it : s->items) {
      if (it.event != nullptr) {
        WriteEntry(w, *it.event);
      } else {
        w.Array(2);
        w.Bulk(IdOf(it.offset));
        w.NullArray();
      }
    }
  }
}

// Checks every key, reads every key, and only then delivers: a key that
// fails leaves every group as it was (no entry pending and never sent).
void Xreadgroup(Context& c) {
  ReadGroupArgs a;
  std::vector<Source> sources;
  if (!ParseReadGroup(c, &a) || !ResolveSources(c, a, &sources)) return;
  Blocks blocks;
  {
    GroupLocks locks(sources);
    if (!CheckSources(c, a, sources) || !ReadSources(c, a, &sources, &blocks)) return;
    Deliver(a, &sources, StreamGroups::NowMs(), c.db);
  }
  std::vector<const Source*> found;
  bool history = false;
  for (const Source& s : sources) {
    history |= !s.fresh;
    // A history read always answers its key, even with no entries (as Redis).
    if (!s.fresh || !s.items.empty()) found.push_back(&s);
  }
  if (found.empty() && !history && a.block >= 0) return ParkReadGroup(c, a, sources);
  if (found.empty()) return c.reply.NullArray();
  WriteStreams(c.reply, found);
}

}  // namespace

void AddStreamGroupCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"XGROUP", -2, Xgroup},
                          {"XREADGROUP", -7, Xreadgroup},
                          // Its reply waits for the commit it issues, while the connection's later writes go on.
                          {"XACK", -4, Xack, false, true},
                          {"XPENDING", -3, Xpending},
                      });
}

}  // namespace synap::server
