// Pub/sub over the wire: SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE,
// PUBLISH, PUBSUB. Channels and patterns are Synap topics: '.'-separated
// levels; in a pattern '*' is one level (or a glob inside one) and a
// trailing '#' any number of levels (docs/pubsub.md). Messages arrive as
// push frames (RESP3 '>', RESP2 arrays) written by the loop when the
// subscription's notify fd fires.
#include "tools/synap-server/commands.h"

namespace synap::server {
namespace {

constexpr uint32_t kSubscriptionBuffer = 10000;  // messages a subscriber may fall behind before it is dropped
// Channels and patterns one connection may hold. Each costs about 1.3 KiB
// (the engine's subscription and topic entry, this session's map entry):
// without a bound, a client repeating SUBSCRIBE with new names grows the
// server's memory without end (tests/server/server_attack_test.py).
constexpr size_t kMaxSubscriptionsPerClient = 100000;

void Confirm(Context& c, const char* kind, std::string_view name, bool null_name = false) {
  c.reply.Push(3);
  c.reply.Bulk(kind);
  null_name ? c.reply.Null() : c.reply.Bulk(name);
  c.reply.Integer(static_cast<int64_t>(c.session->subscriptions()));
}

void Subscribe(Context& c) {
  bool pattern = Upper(c.args[0]) == "PSUBSCRIBE";
  auto& subs = pattern ? c.session->patterns : c.session->channels;
  for (size_t i = 1; i < c.args.size(); i++) {
    std::string name(c.args[i]);
    if (!pattern && name.find_first_of("*#") != std::string::npos) {
      c.reply.Error("ERR channel '" + name + "' has '*' or '#': use PSUBSCRIBE for patterns");
      continue;
    }
    if (!subs.count(name)) {
      if (c.session->subscriptions() >= kMaxSubscriptionsPerClient) {
        c.reply.Error("ERR too many subscriptions for this client (limit " +
                      std::to_string(kMaxSubscriptionsPerClient) + " channels and patterns): '" + name +
                      "' not subscribed");
        continue;
      }
      synap_subscription* s = nullptr;
      int rc = synap_subscribe(c.db, name.c_str(), kSubscriptionBuffer, SYNAP_OVERFLOW_CLOSE, &s);
      if (rc != SYNAP_OK) {
        ReplyError(c.reply, rc);
        continue;
      }
      synap_subscription_notify_fd(s, c.session->notify_fd);
      subs[name] = s;
      if (pattern) c.server->patterns++;
      else c.server->CountChannel(name, 1);
    }
    Confirm(c, pattern ? "psubscribe" : "subscribe", name);
  }
}

void DropOne(Server* server, Session* s, bool pattern, const std::string& name) {
  auto& subs = pattern ? s->patterns : s->channels;
  auto it = subs.find(name);
  if (it == subs.end()) return;
  synap_unsubscribe(it->second);
  subs.erase(it);
  if (pattern) server->patterns--;
  else server->CountChannel(name, -1);
}

void Unsubscribe(Context& c) {
  bool pattern = Upper(c.args[0]) == "PUNSUBSCRIBE";
  const char* kind = pattern ? "punsubscribe" : "unsubscribe";
  auto& subs = pattern ? c.session->patterns : c.session->channels;
  std::vector<std::string> names;
  for (size_t i = 1; i < c.args.size(); i++) names.emplace_back(c.args[i]);
  if (names.empty())
    for (const auto& [n, s] : subs) names.push_back(n);
  if (names.empty()) return Confirm(c, kind, "", true);
  for (const std::string& n : names) {
    DropOne(c.server, c.session, pattern, n);
    Confirm(c, kind, n);
  }
}

void Publish(Context& c) {
  uint64_t delivered = 0;
  std::string topic(c.args[1]);
  int rc = synap_publish(c.db, topic.c_str(), c.args[2].data(), c.args[2].size(), &delivered);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(delivered));
}

// PUBSUB CHANNELS [pattern-prefix*] | NUMSUB [channel...] | NUMPAT
void PubSubCmd(Context& c) {
  std::string sub = Upper(c.args[1]);
  std::map<std::string, int> chans = c.server->Channels();
  if (sub == "CHANNELS" && c.args.size() <= 3) {
    std::string prefix = c.args.size() == 3 ? std::string(c.args[2]) : "*";
    bool all = prefix == "*";
    if (!all && prefix.back() == '*') prefix.pop_back();
    std::vector<std::string> hit;
    for (const auto& [n, k] : chans)
      if (all || n == prefix || (c.args[2].back() == '*' && n.rfind(prefix, 0) == 0)) hit.push_back(n);
    c.reply.Array(hit.size());
    for (const std::string& n : hit) c.reply.Bulk(n);
    return;
  }
  if (sub == "NUMSUB") {
    c.reply.Map(c.args.size() - 2);
    for (size_t i = 2; i < c.args.size(); i++) {
      auto it = chans.find(std::string(c.args[i]));
      c.reply.Bulk(c.args[i]);
      c.reply.Integer(it == chans.end() ? 0 : it->second);
    }
    return;
  }
  if (sub == "NUMPAT" && c.args.size() == 2) return c.reply.Integer(c.server->patterns.load());
  c.reply.Error("ERR unknown subcommand or wrong number of arguments for 'PUBSUB|" + sub + "'");
}

}  // namespace

void UnsubscribeAll(Server* server, Session* s) {
  std::vector<std::string> ch, pat;
  for (const auto& [n, x] : s->channels) ch.push_back(n);
  for (const auto& [n, x] : s->patterns) pat.push_back(n);
  for (const std::string& n : ch) DropOne(server, s, false, n);
  for (const std::string& n : pat) DropOne(server, s, true, n);
}

bool DrainSubscriptions(Session* s, std::string* out, size_t max_out) {
  ReplyWriter w(out, s->proto);
  bool alive = true;
  auto full = [&] { return max_out != 0 && out->size() > max_out; };
  auto drain = [&](const std::string& name, synap_subscription* sub, bool pattern) {
    synap_message* m = nullptr;
    int rc = SYNAP_OK;
    while (!full() && (rc = synap_subscription_next(sub, 0, &m)) == SYNAP_OK) {
      w.Push(pattern ? 4 : 3);
      w.Bulk(pattern ? "pmessage" : "message");
      if (pattern) w.Bulk(name);
      w.Bulk(m->reason);  // the topic
      w.Bulk({static_cast<const char*>(m->payload), m->payload_len});
      synap_free(m);
    }
    if (rc == SYNAP_ECLOSED) alive = false;
  };
  for (const auto& [n, sub] : s->channels) drain(n, sub, false);
  for (const auto& [n, sub] : s->patterns) drain(n, sub, true);
  return alive;
}

void AddPubSubCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"SUBSCRIBE", -2, Subscribe},
                          {"PSUBSCRIBE", -2, Subscribe},
                          {"UNSUBSCRIBE", -1, Unsubscribe},
                          {"PUNSUBSCRIBE", -1, Unsubscribe},
                          {"PUBLISH", 3, Publish},
                          {"PUBSUB", -2, PubSubCmd},
                      });
}

}  // namespace synap::server
