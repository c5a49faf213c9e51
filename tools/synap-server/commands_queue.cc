// Synap's durable queues behind RESP commands (docs/server.md, "Queues"):
//
//   QCREATE name [MAXDEPTH n] [DEADLINE ms] [MAXRETRIES n] [DLQMAX n] [PRIORITY p] [TTL ms]
//   QDELETE name                      QLIST
//   QPUBLISH name payload [PRIORITY p] [DELAY ms] [MAXRETRIES n]   -> id
//   QCONSUME name [consumer] [COUNT n] [BLOCK ms]
//       -> [id, payload, priority, delivery_count], or with COUNT an array of those
//   QACK name id [id ...]             QNACK name id [REQUEUE 1|0]
//   QSTATS [name]                     QPURGE name
//   QDLQ name [COUNT n] [OFFSET n]    QDLQREQUEUE name [id]     QDLQPURGE name
//
// QPUBLISH, QACK and QNACK use the non-blocking calls: the reply leaves once
// the record is acknowledged, and the loop serves others meanwhile. QCONSUME
// BLOCK parks without a thread (synap_queue_notify_ready) and runs again on
// each wake-up. The admin commands (QCREATE, QDELETE, QPURGE, QDLQREQUEUE,
// QDLQPURGE) wait for their record in the loop: they are rare, and the C ABI
// has no non-blocking form of them.
#include <memory>

#include "tools/synap-server/commands.h"

namespace synap::server {
namespace {

constexpr int64_t kMaxCount = 10000;  // messages one QCONSUME / QDLQ returns (the C ABI's limit)
const char* kSyntax = "ERR syntax error";
const char* kNotInt = "ERR value is not an integer or out of range";

// A queue name from an argument: the C ABI takes NUL-terminated names, so
// one holding a NUL byte cannot be named.
bool QueueName(Context& c, std::string_view arg, std::string* out) {
  if (arg.find('\0') != std::string_view::npos) {
    c.reply.Error("ERR queue names cannot hold NUL bytes");
    return false;
  }
  *out = std::string(arg);
  return true;
}

// Reads "OPTION value" pairs from args[from..]: each option name must be in
// `names`; values are integers in [0, max]. false (reply written) on error.
bool Options(Context& c, size_t from, std::initializer_list<std::string_view> names, int64_t max,
             std::map<std::string, int64_t>* out) {
  for (size_t i = from; i < c.args.size(); i += 2) {
    std::string o = Upper(c.args[i]);
    bool known = false;
    for (std::string_view n : names) known |= (o == n);
    if (!known || i + 1 >= c.args.size()) {
      c.reply.Error(kSyntax);
      return false;
    }
    int64_t v = 0;
    if (!ParseInt(c.args[i + 1], &v) || v < 0 || v > max) {
      c.reply.Error(kNotInt);
      return false;
    }
    (*out)[o] = v;
  }
  return true;
}

// The reply for a failed call on queue q: NOTFOUND names the queue
// (libsynap leaves no message for it).
void QueueError(Context& c, int rc, const std::string& q) {
  if (rc == SYNAP_NOTFOUND) return c.reply.Error("ERR no such queue '" + q + "'");
  ReplyError(c.reply, rc);
}

struct Messages {  // owns the one block a consume or dead-letter read returns
  synap_message* m = nullptr;
  size_t n = 0;
  ~Messages() { synap_free(m); }
};

void WriteMessage(ReplyWriter& r, const synap_message& m, bool with_reason) {
  r.Array(with_reason ? 5 : 4);
  r.Integer(static_cast<int64_t>(m.id));
  r.Bulk(std::string_view(static_cast<const char*>(m.payload), m.payload_len));
  r.Integer(m.priority);
  r.Integer(m.delivery_count);
  if (with_reason) r.Bulk(m.reason);
}

void Qcreate(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  std::map<std::string, int64_t> o;
  if (!Options(c, 2, {"MAXDEPTH", "DEADLINE", "MAXRETRIES", "DLQMAX", "PRIORITY", "TTL"}, INT64_MAX, &o)) return;
  static const std::map<std::string, std::string> kSetting = {
      {"MAXDEPTH", "max_depth"}, {"DEADLINE", "ack_deadline_ms"}, {"MAXRETRIES", "max_retries"},
      {"DLQMAX", "dead_letter_max"}, {"PRIORITY", "default_priority"}, {"TTL", "message_ttl_ms"}};
  std::string settings;
  for (const auto& [name, v] : o) settings += kSetting.at(name) + "=" + std::to_string(v) + " ";
  int rc = synap_queue_declare(c.db, q.c_str(), settings.empty() ? nullptr : settings.c_str());
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Simple("OK");
}

void Qdelete(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  int rc = synap_queue_delete(c.db, q.c_str());
  if (rc == SYNAP_NOTFOUND) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Integer(1);
}

int QueueNames(synap_db* db, std::vector<std::string>* names) {
  return synap_queue_list(
      db,
      [](void* u, const void* k, size_t n) {
        static_cast<std::vector<std::string>*>(u)->emplace_back(static_cast<const char*>(k), n);
      },
      names);
}

void Qlist(Context& c) {
  std::vector<std::string> names;
  int rc = QueueNames(c.db, &names);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Array(names.size());
  for (const auto& n : names) c.reply.Bulk(n);
}

void Qpublish(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  std::map<std::string, int64_t> o;
  if (!Options(c, 3, {"PRIORITY", "DELAY", "MAXRETRIES"}, INT64_MAX, &o)) return;
  int priority = o.count("PRIORITY") ? static_cast<int>(std::min<int64_t>(o["PRIORITY"], 1000)) : -1;
  if (priority > 9) return c.reply.Error("ERR PRIORITY must be 0..9");
  int64_t retries = o.count("MAXRETRIES") ? o["MAXRETRIES"] : -1;
  if (retries > UINT32_MAX) return c.reply.Error("ERR MAXRETRIES must be 0..4294967295");
  uint64_t id = 0;
  const std::string_view p = c.args[2];
  int rc = synap_queue_publish_async(c.db, q.c_str(), p.data(), p.size(), priority,
                                     static_cast<uint64_t>(o.count("DELAY") ? o["DELAY"] : 0), retries, nullptr, 0,
                                     &id, &c.ticket);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Integer(static_cast<int64_t>(id));
}

// A parked QCONSUME's registration: the wake-up posts an empty reply to the
// loop's mailbox (the loop then runs the command again).
struct Parked {
  std::shared_ptr<Mailbox> box;
  uint64_t token;
};

void OnReady(void* user, int) {
  auto* p = static_cast<Parked*>(user);
  p->box->Post(p->token, {});
  delete p;
}

// Parks the command: it runs again (with its BLOCK) when the queue wakes it.
void Park(Context& c, const std::string& q, int64_t block) {
  const uint64_t token = c.mailbox->NewToken();
  auto* p = new Parked{c.mailbox, token};
  uint64_t handle = 0;
  // From here p belongs to OnReady, which may already have run (and freed
  // it) when this returns: only `token` and `handle` are used below.
  int rc = synap_queue_notify_ready(c.db, q.c_str(), OnReady, p, &handle);
  if (rc != SYNAP_OK) {
    delete p;  // an error: OnReady never runs
    return QueueError(c, rc, q);
  }
  c.deferred_token = token;
  c.block_ms = block == 0 ? INT64_MAX / 4 : block;  // BLOCK 0: no time limit
  c.rerun.assign(c.args.begin(), c.args.end());
  synap_db* db = c.db;
  c.cancel = [db, handle, p] {
    if (synap_queue_notify_cancel(db, handle) == SYNAP_OK) delete p;  // else OnReady runs (or ran) and frees it
  };
}

// QCONSUME name [consumer] [COUNT n] [BLOCK ms]
void Qconsume(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  size_t i = 2;
  std::string consumer = "client-" + std::to_string(c.session->id);
  if (i < c.args.size() && Upper(c.args[i]) != "COUNT" && Upper(c.args[i]) != "BLOCK") {
    if (c.args[i].empty() || c.args[i].find('\0') != std::string_view::npos)
      return c.reply.Error("ERR consumer names are 1..256 bytes without NUL");
    consumer = std::string(c.args[i++]);
  }
  std::map<std::string, int64_t> o;
  if (!Options(c, i, {"COUNT", "BLOCK"}, INT64_MAX, &o)) return;
  bool many = o.count("COUNT") > 0;
  int64_t count = many ? o["COUNT"] : 1;
  if (count < 1 || count > kMaxCount) return c.reply.Error("ERR COUNT must be 1..10000");
  Messages got;
  int rc = synap_queue_consume(c.db, q.c_str(), consumer.c_str(), static_cast<uint32_t>(count), 0, 0, &got.m, &got.n);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  if (got.n == 0) {
    if (o.count("BLOCK")) {
      c.empty_array_on_timeout = many;  // as an empty COUNT read answers
      return Park(c, q, o["BLOCK"]);
    }
    return many ? c.reply.Array(0) : c.reply.NullArray();
  }
  if (many) c.reply.Array(got.n);
  for (size_t k = 0; k < got.n; k++) WriteMessage(c.reply, got.m[k], false);
}

bool ParseIds(Context& c, size_t from, std::vector<uint64_t>* ids) {
  for (size_t i = from; i < c.args.size(); i++) {
    int64_t v = 0;
    if (!ParseInt(c.args[i], &v) || v <= 0) {
      c.reply.Error("ERR message ids are positive integers");
      return false;
    }
    ids->push_back(static_cast<uint64_t>(v));
  }
  return true;
}

// QACK name id [id ...]: all or none, as the C ABI acks.
void Qack(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  std::vector<uint64_t> ids;
  if (!ParseIds(c, 2, &ids)) return;
  int rc = synap_queue_ack_async(c.db, q.c_str(), ids.data(), ids.size(), &c.ticket);
  if (rc == SYNAP_NOTFOUND) return c.reply.Error("ERR " + std::string(synap_strerror(rc)) +
                                                 ": a message is not in flight in this queue (none was acked)");
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Integer(static_cast<int64_t>(ids.size()));
}

// QNACK name id [REQUEUE 1|0]: requeue by default, as RabbitMQ's basic.nack.
void Qnack(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  std::vector<uint64_t> ids;
  if (c.args.size() != 3 && c.args.size() != 5) return c.reply.Error(kSyntax);
  int64_t id = 0, requeue = 1;
  if (!ParseInt(c.args[2], &id) || id <= 0) return c.reply.Error("ERR message ids are positive integers");
  if (c.args.size() == 5 && (Upper(c.args[3]) != "REQUEUE" || !ParseInt(c.args[4], &requeue) || requeue < 0 ||
                             requeue > 1))
    return c.reply.Error("ERR syntax error: QNACK name id [REQUEUE 1|0]");
  int rc = synap_queue_nack_async(c.db, q.c_str(), static_cast<uint64_t>(id), static_cast<int>(requeue), &c.ticket);
  if (rc == SYNAP_NOTFOUND)
    return c.reply.Error("ERR " + std::string(synap_strerror(rc)) + ": the message is not in flight in this queue");
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Simple("OK");
}

void Qpurge(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  uint64_t n = 0;
  int rc = synap_queue_purge(c.db, q.c_str(), &n);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Integer(static_cast<int64_t>(n));
}

// QDLQ name [COUNT n] [OFFSET n] -> [id, payload, priority, delivery_count, reason] ...
void Qdlq(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  std::map<std::string, int64_t> o;
  if (!Options(c, 2, {"COUNT", "OFFSET"}, INT64_MAX, &o)) return;
  int64_t count = o.count("COUNT") ? o["COUNT"] : 100;
  if (count < 1 || count > kMaxCount) return c.reply.Error("ERR COUNT must be 1..10000");
  Messages got;
  int rc = synap_queue_dead_letters(c.db, q.c_str(), static_cast<uint64_t>(o.count("OFFSET") ? o["OFFSET"] : 0),
                                    static_cast<uint32_t>(count), &got.m, &got.n);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Array(got.n);
  for (size_t k = 0; k < got.n; k++) WriteMessage(c.reply, got.m[k], true);
}

// QDLQREQUEUE name [id]: one dead letter, or all of them.
void Qdlqrequeue(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  if (c.args.size() > 3) return c.reply.Error(kSyntax);
  int64_t id = 0;
  if (c.args.size() == 3 && (!ParseInt(c.args[2], &id) || id <= 0))
    return c.reply.Error("ERR message ids are positive integers");
  uint64_t moved = 0;
  int rc = synap_queue_requeue_dead(c.db, q.c_str(), static_cast<uint64_t>(id), &moved);
  if (rc == SYNAP_NOTFOUND && id != 0) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Integer(static_cast<int64_t>(moved));
}

void Qdlqpurge(Context& c) {
  std::string q;
  if (!QueueName(c, c.args[1], &q)) return;
  uint64_t n = 0;
  int rc = synap_queue_purge_dead(c.db, q.c_str(), &n);
  if (rc != SYNAP_OK) return QueueError(c, rc, q);
  c.reply.Integer(static_cast<int64_t>(n));
}

// One queue's counters and settings as a map (the JSON of
// synap_queue_stats_json, flattened: "settings.max_depth").
int WriteStats(synap_db* db, const std::string& q, ReplyWriter& w) {
  char* json = nullptr;
  size_t len = 0;
  int rc = synap_queue_stats_json(db, q.c_str(), &json, &len);
  if (rc != SYNAP_OK) return rc;
  std::vector<std::pair<std::string, std::string>> fields = FlatJson(std::string_view(json, len));
  synap_free(json);
  w.Map(fields.size());
  for (const auto& [k, v] : fields) {
    w.Bulk(k);
    int64_t n = 0;
    if (ParseInt(v, &n)) w.Integer(n);
    else w.Bulk(v);
  }
  return SYNAP_OK;
}

// QSTATS [name]: one queue's map, or every queue's, by name.
void Qstats(Context& c) {
  if (c.args.size() > 2) return c.reply.Error(kSyntax);
  if (c.args.size() == 2) {
    std::string q;
    if (!QueueName(c, c.args[1], &q)) return;
    std::string out;
    ReplyWriter w(&out, c.session->proto);
    int rc = WriteStats(c.db, q, w);
    if (rc != SYNAP_OK) return QueueError(c, rc, q);
    return c.reply.Raw(out);
  }
  std::vector<std::string> names;
  int rc = QueueNames(c.db, &names);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  std::string out;
  ReplyWriter w(&out, c.session->proto);
  size_t shown = 0;
  for (const auto& q : names) {
    std::string one;
    ReplyWriter ow(&one, c.session->proto);
    if (WriteStats(c.db, q, ow) != SYNAP_OK) continue;  // deleted meanwhile: left out
    w.Bulk(q);
    w.Raw(one);
    shown++;
  }
  c.reply.Map(shown);
  c.reply.Raw(out);
}

}  // namespace

void AddQueueCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"QCREATE", -2, Qcreate},
                          {"QDELETE", 2, Qdelete},
                          {"QLIST", 1, Qlist},
                          {"QPUBLISH", -3, Qpublish, false, true},
                          {"QCONSUME", -2, Qconsume},
                          {"QACK", -3, Qack, false, true},
                          {"QNACK", -3, Qnack, false, true},
                          {"QSTATS", -1, Qstats},
                          {"QPURGE", 2, Qpurge},
                          {"QDLQ", -2, Qdlq},
                          {"QDLQREQUEUE", -2, Qdlqrequeue},
                          {"QDLQPURGE", 2, Qdlqpurge},
                      });
}

}  // namespace synap::server
