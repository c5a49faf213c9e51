// The command table and the connection/server commands: PING, ECHO, HELLO,
// AUTH, SELECT, QUIT, CLIENT, COMMAND, CONFIG, INFO, DBSIZE, FLUSHALL, SAVE,
// BGSAVE, LASTSAVE, SHUTDOWN.
#include "tools/synap-server/commands.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <set>
#include <unordered_map>

namespace synap::server {

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& ch : u)
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  return u;
}

std::string Lower(std::string_view s) {
  std::string l(s);
  for (char& ch : l)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return l;
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty() || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

void ReplyError(ReplyWriter& r, int rc) {
  std::string msg = synap_last_error();
  if (msg.empty()) msg = synap_strerror(rc);
  switch (rc) {
    case SYNAP_ENOMEM: r.Error(msg.rfind("OOM", 0) == 0 ? msg : "OOM " + msg); return;
    case SYNAP_EPERM: r.Error("NOPERM " + msg); return;
    case SYNAP_EREADONLY: r.Error("READONLY " + msg); return;
    case SYNAP_EIO:
    case SYNAP_ENOSPC: r.Error("IOERR " + msg); return;
    case SYNAP_EBUSY: r.Error("BUSY " + msg); return;
    default: r.Error("ERR " + msg);
  }
}

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Ping(Context& c) {
  if (c.args.size() > 2) return c.reply.Error("ERR wrong number of arguments for 'ping' command");
  if (c.args.size() == 2) return c.reply.Bulk(c.args[1]);
  c.reply.Simple("PONG");
}

void Echo(Context& c) { c.reply.Bulk(c.args[1]); }

bool CheckPassword(Context& c, std::string_view user, std::string_view pass) {
  const std::string want = c.server->requirepass();  // a copy: CONFIG SET may change it
  if (want.empty()) {
    c.reply.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure "
                  "your configuration is correct?");
    return false;
  }
  if (user != "default" || pass != want) {
    c.reply.Error("WRONGPASS invalid username-password pair or user is disabled.");
    return false;
  }
  c.session->authed = true;
  return true;
}

void Auth(Context& c) {
  if (c.args.size() > 3) return c.reply.Error("ERR syntax error");
  std::string_view user = c.args.size() == 3 ? c.args[1] : "default";
  if (CheckPassword(c, user, c.args.back())) c.reply.Simple("OK");
}

// HELLO [protover [AUTH user pass] [SETNAME name]]
void Hello(Context& c) {
  int proto = c.session->proto;
  size_t i = 1;
  if (c.args.size() > 1) {
    int64_t v;
    if (!ParseInt(c.args[1], &v)) return c.reply.Error("ERR Protocol version is not an integer or out of range");
    if (v != 2 && v != 3) return c.reply.Error("NOPROTO unsupported protocol version");
    proto = static_cast<int>(v);
    i = 2;
  }
  for (; i < c.args.size(); i++) {
    std::string opt = Upper(c.args[i]);
    if (opt == "AUTH" && i + 2 < c.args.size()) {
      if (!CheckPassword(c, c.args[i + 1], c.args[i + 2])) return;
      i += 2;
    } else if (opt == "SETNAME" && i + 1 < c.args.size()) {
      c.session->name = std::string(c.args[++i]);
    } else {
      return c.reply.Error("ERR Syntax error in HELLO option '" + std::string(c.args[i]) + "'");
    }
  }
  if (c.server->auth_required() && !c.session->authed)
    return c.reply.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                         "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
                         "RESP protocol version at the same time");
  c.session->proto = proto;
  c.reply.set_proto(proto);  // the reply to HELLO is in the new protocol
  c.reply.Map(7);
  c.reply.Bulk("server");
  c.reply.Bulk("redis");
  c.reply.Bulk("version");
  c.reply.Bulk("7.0.0");
  c.reply.Bulk("proto");
  c.reply.Integer(proto);
  c.reply.Bulk("id");
  c.reply.Integer(static_cast<int64_t>(c.session->id));
  c.reply.Bulk("mode");
  c.reply.Bulk("standalone");
  c.reply.Bulk("role");
  c.reply.Bulk("master");
  c.reply.Bulk("modules");
  c.reply.Array(0);
}

void Select(Context& c) {
  int64_t db;
  if (!ParseInt(c.args[1], &db)) return c.reply.Error("ERR value is not an integer or out of range");
  if (db != 0) return c.reply.Error("ERR DB index is out of range (synap-server has one database, 0)");
  c.reply.Simple("OK");
}

void Quit(Context& c) {
  c.session->close_after_reply = true;
  c.reply.Simple("OK");
}

void Client(Context& c) {
  std::string sub = Upper(c.args[1]);
  if (sub == "SETNAME" && c.args.size() == 3) {
    if (c.args[2].find_first_of(" \n\r") != std::string_view::npos)
      return c.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    c.session->name = std::string(c.args[2]);
    return c.reply.Simple("OK");
  }
  if (sub == "GETNAME" && c.args.size() == 2)
    return c.session->name.empty() ? c.reply.Null() : c.reply.Bulk(c.session->name);
  if (sub == "ID" && c.args.size() == 2) return c.reply.Integer(static_cast<int64_t>(c.session->id));
  if (sub == "SETINFO" && c.args.size() == 4) return c.reply.Simple("OK");  // redis-py 5 sends it
  if (sub == "LIST") {
    std::string out;
    int64_t now = NowMs();
    for (const auto& [id, ci] : c.server->Clients())
      out += "id=" + std::to_string(id) + " addr=" + ci.addr + " name=" + ci.name +
             " age=" + std::to_string((now - ci.since_ms) / 1000) + " db=0 resp=" + std::to_string(ci.proto) +
             " cmd-count=" + std::to_string(ci.commands) + "\n";
    return c.reply.Verbatim(out);
  }
  c.reply.Error("ERR unknown subcommand or wrong number of arguments for 'CLIENT|" + Upper(c.args[1]) + "'");
}

// COMMAND, COMMAND COUNT, COMMAND DOCS / INFO: enough for redis-cli's hints.
void Command(Context& c) {
  std::string sub = c.args.size() > 1 ? Upper(c.args[1]) : "";
  if (sub == "COUNT") return c.reply.Integer(static_cast<int64_t>(CommandCount()));
  if (sub == "DOCS") return c.reply.Map(0);
  std::vector<const CommandSpec*> specs;
  if (sub == "INFO" && c.args.size() > 2) {
    for (size_t i = 2; i < c.args.size(); i++) specs.push_back(FindCommand(c.args[i]));
  } else if (sub.empty() || sub == "INFO") {
    // every command: walk the table through FindCommand's registry
    for (size_t i = 0; CommandAt(i) != nullptr; i++) specs.push_back(CommandAt(i));
  } else {
    return c.reply.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'");
  }
  c.reply.Array(specs.size());
  for (const CommandSpec* s : specs) {
    if (s == nullptr) {
      c.reply.NullArray();
      continue;
    }
    c.reply.Array(6);
    c.reply.Bulk(Lower(s->name));
    c.reply.Integer(s->arity);
    c.reply.Set(0);
    c.reply.Integer(0);
    c.reply.Integer(0);
    c.reply.Integer(0);
  }
}

// CONFIG GET pattern [pattern ...], CONFIG SET name value [name value ...]
// (all or none), CONFIG RESETSTAT. Which settings exist and which change
// live: Server::ConfigGet / ConfigSet (server.cc).
void ConfigCmd(Context& c) {
  std::string sub = Upper(c.args[1]);
  if (sub == "GET" && c.args.size() >= 3) {
    auto hit = c.server->ConfigGet(std::vector<std::string>(c.args.begin() + 2, c.args.end()));
    c.reply.Map(hit.size());
    for (const auto& [k, v] : hit) {
      c.reply.Bulk(k);
      c.reply.Bulk(v);
    }
    return;
  }
  if (sub == "SET" && c.args.size() >= 4 && c.args.size() % 2 == 0) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 2; i < c.args.size(); i += 2) pairs.emplace_back(c.args[i], c.args[i + 1]);
    std::string error = c.server->ConfigSet(pairs);
    return error.empty() ? c.reply.Simple("OK") : c.reply.Error(error);
  }
  if (sub == "RESETSTAT" && c.args.size() == 2) {
    c.server->ResetStats();
    return c.reply.Simple("OK");
  }
  if (sub == "GET" || sub == "SET" || sub == "RESETSTAT")
    return c.reply.Error("ERR wrong number of arguments for 'config|" + Lower(sub) + "' command");
  c.reply.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'");
}

void Dbsize(Context& c) {
  uint64_t n = 0;
  int rc = synap_dbsize(c.db, &n);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(n));
}

void Flushall(Context& c) {
  int rc = synap_flushall(c.db);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Simple("OK");
}

void Save(Context& c) {
  int rc = synap_snapshot(c.db);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.server->last_save_s.store(NowMs() / 1000);
  if (Upper(c.args[0]) == "BGSAVE") return c.reply.Simple("Background saving started");
  c.reply.Simple("OK");
}

void Lastsave(Context& c) { c.reply.Integer(c.server->last_save_s.load()); }

void Shutdown(Context& c) {
  c.server->RequestShutdown();
  c.session->close_after_reply = true;
  c.reply.Simple("OK");
}

// INFO's queue lines, one per queue as Redis's keyspace lines are:
// "queue_<name>:ready=3,in_flight=1,delayed=0,dead_lettered=0".
std::string QueueLines(synap_db* db) {
  std::vector<std::string> names;
  synap_queue_list(
      db, [](void* u, const void* k, size_t n) { static_cast<std::vector<std::string>*>(u)->emplace_back(
              static_cast<const char*>(k), n); },
      &names);
  std::string out;
  for (const std::string& q : names) {
    char* json = nullptr;
    size_t len = 0;
    if (synap_queue_stats_json(db, q.c_str(), &json, &len) != SYNAP_OK) continue;
    std::map<std::string, std::string> f;
    for (auto& [k, v] : FlatJson(std::string_view(json, len))) f[k] = v;
    synap_free(json);
    std::string name = q;  // INFO is line-based text: a name's CR/LF would break it
    for (char& ch : name)
      if (ch == '\r' || ch == '\n') ch = '?';
    out += "queue_" + name + ":ready=" + f["ready"] + ",in_flight=" + f["in_flight"] + ",delayed=" + f["delayed"] +
           ",dead_lettered=" + f["dead_lettered"] + "\r\n";
  }
  return out;
}

// INFO [section...]: Redis's sections, from synap_stats_json and the server's counters.
void Info(Context& c) {
  std::string want = c.args.size() > 1 ? Upper(c.args[1]) : "DEFAULT";
  auto on = [&](const char* s) { return want == "DEFAULT" || want == "ALL" || want == "EVERYTHING" || want == s; };
  std::string out;
  const server::Config& cfg = c.server->config();
  if (on("SERVER"))
    out += "# Server\r\nredis_version:7.0.0\r\nsynap_version:" + std::string(synap_version_string()) +
           "\r\nredis_mode:standalone\r\nos:Linux\r\nmultiplexing_api:io_uring\r\ntcp_port:" +
           std::to_string(cfg.port) + "\r\nuptime_in_seconds:" +
           std::to_string((NowMs() - c.server->started_ms()) / 1000) + "\r\n\r\n";
  if (on("CLIENTS"))
    out += "# Clients\r\nconnected_clients:" + std::to_string(c.server->client_count()) +
           "\r\nmaxclients:" + std::to_string(c.server->max_clients()) + "\r\n\r\n";
  std::map<std::string, std::string> stats;
  char* json = nullptr;
  size_t len = 0;
  if (synap_stats_json(c.db, &json, &len) == SYNAP_OK) {
    for (auto& [k, v] : FlatJson(std::string_view(json, len))) stats[k] = v;
    synap_free(json);
  }
  auto field = [&](const char* section, const char* key) -> std::string {
    auto it = stats.find(std::string(section) + "." + key);
    return it == stats.end() ? "0" : it->second;
  };
  if (on("MEMORY")) out += "# Memory\r\nused_memory:" + field("kv", "used_memory") + "\r\nmaxmemory:" +
                           field("kv", "maxmemory") + "\r\nmaxmemory_policy:" + field("kv", "maxmemory_policy") +
                           "\r\n\r\n";
  if (on("PERSISTENCE"))
    out += "# Persistence\r\nloading:0\r\naof_enabled:1\r\nsynap_fsync_mode:" + field("wal", "fsync_mode") +
           "\r\nrdb_last_save_time:" + std::to_string(c.server->last_save_s.load()) +
           "\r\nsnapshots_taken:" + field("snapshot", "taken") + "\r\nwal_mechanism:" + field("wal", "mechanism") +
           "\r\nwal_batches:" + field("wal", "batches") + "\r\nwal_syncs:" + field("wal", "syncs") +
           "\r\nwal_status:" + field("wal", "status") + "\r\nwal_durable_lsn:" + field("wal", "durable_lsn") +
           "\r\n\r\n";
  if (on("STATS"))
    out += "# Stats\r\ntotal_connections_received:" + std::to_string(c.server->connections_received.load()) +
           "\r\ntotal_commands_processed:" + std::to_string(c.server->commands_processed.load()) +
           "\r\nrejected_connections:" + std::to_string(c.server->rejected_connections.load()) +
           "\r\nexpired_keys:" + field("kv", "expired_keys") + "\r\nevicted_keys:" + field("kv", "evicted_keys") +
           "\r\n\r\n";
  if (on("KEYSPACE")) {
    uint64_t n = 0;
    synap_dbsize(c.db, &n);
    out += "# Keyspace\r\n";
    if (n > 0) out += "db0:keys=" + std::to_string(n) + ",expires=0,avg_ttl=0\r\n";
    out += "\r\n";
  }
  if (on("QUEUES")) out += "# Queues\r\nqueues:" + field("queue", "queues") + "\r\n" + QueueLines(c.db) + "\r\n";
  if (on("STREAMS"))
    out += "# Streams\r\nrooms:" + field("stream", "rooms") + "\r\ntopics:" + field("stream", "topics") +
           "\r\nmaintenance_passes:" + field("stream", "maintenance_passes") + "\r\nsegments_deleted:" +
           field("stream", "segments_deleted") + "\r\ncompactions:" + field("stream", "compactions") + "\r\n\r\n";
  c.reply.Verbatim(out);
}

std::vector<CommandSpec>& Table() {
  static std::vector<CommandSpec> table = [] {
    std::vector<CommandSpec> t;
    AddConnectionCommands(&t);
    AddKvCommands(&t);
    AddPubSubCommands(&t);
    AddStreamCommands(&t);
    AddQueueCommands(&t);
    AddStreamGroupCommands(&t);
    return t;
  }();
  return table;
}

const std::unordered_map<std::string, const CommandSpec*>& Index() {
  static const auto index = [] {
    std::unordered_map<std::string, const CommandSpec*> m;
    for (const CommandSpec& s : Table()) m[s.name] = &s;
    return m;
  }();
  return index;
}

}  // namespace

const CommandSpec* CommandAt(size_t i) { return i < Table().size() ? &Table()[i] : nullptr; }

void AddConnectionCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"PING", -1, Ping},
                          {"ECHO", 2, Echo},
                          {"HELLO", -1, Hello, true},
                          {"AUTH", -2, Auth, true},
                          {"SELECT", 2, Select},
                          {"QUIT", -1, Quit, true},
                          {"CLIENT", -2, Client},
                          {"COMMAND", -1, Command},
                          {"CONFIG", -2, ConfigCmd},
                          {"INFO", -1, Info},
                          {"DBSIZE", 1, Dbsize},
                          {"FLUSHALL", -1, Flushall},
                          {"FLUSHDB", -1, Flushall},
                          {"SAVE", 1, Save},
                          {"BGSAVE", -1, Save},
                          {"LASTSAVE", 1, Lastsave},
                          {"SHUTDOWN", -1, Shutdown},
                      });
}

const CommandSpec* FindCommand(std::string_view name) {
  auto it = Index().find(Upper(name));
  return it == Index().end() ? nullptr : it->second;
}

size_t CommandCount() { return Table().size(); }

void Execute(Context& c) {
  const CommandSpec* spec = FindCommand(c.args[0]);
  if (spec == nullptr) {
    std::string args;
    for (size_t i = 1; i < c.args.size() && i < 4; i++) args += "'" + std::string(c.args[i].substr(0, 64)) + "' ";
    return c.reply.Error("ERR unknown command '" + std::string(c.args[0].substr(0, 64)) +
                         "', with args beginning with: " + args);
  }
  if (c.server->auth_required() && !c.session->authed && !spec->allowed_unauthenticated)
    return c.reply.Error("NOAUTH Authentication required.");
  static const std::set<std::string> kSubscribedMode = {"SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE",
                                                        "PUNSUBSCRIBE", "PING", "QUIT", "RESET"};
  if (c.session->proto < 3 && c.session->subscriptions() > 0 && !kSubscribedMode.count(spec->name)) {
    std::string lower = Lower(spec->name);
    return c.reply.Error("ERR Can't execute '" + lower + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                         "RESET are allowed in this context");
  }
  int n = static_cast<int>(c.args.size());
  if ((spec->arity > 0 && n != spec->arity) || (spec->arity < 0 && n < -spec->arity)) {
    std::string lower = Lower(spec->name);
    return c.reply.Error("ERR wrong number of arguments for '" + lower + "' command");
  }
  spec->handler(c);
}

}  // namespace synap::server
