#include "tools/synap-server/server.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace synap::server {

namespace {

std::string Lower(std::string_view s) {
  std::string l(s);
  for (char& ch : l)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return l;
}

// A byte count: digits with an optional unit, k/kb/kib, m/mb/mib, g/gb/gib
// (any case; all powers of 1024, as the engine's sizes and CLI11's
// AsSizeValue(false) read them), at most 2^62.
bool ParseBytes(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return false;
  std::string unit = Lower(std::string_view(p, static_cast<size_t>(s.data() + s.size() - p)));
  unsigned shift = 0;
  if (unit == "k" || unit == "kb" || unit == "kib") shift = 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") shift = 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") shift = 30;
  else if (!unit.empty() && unit != "b") return false;
  if (v > (uint64_t{1} << (62 - shift))) return false;
  *out = v << shift;
  return true;
}

// Sets *field from a byte count of at least `min`; "" or why not.
// The smallest request and reply limits CONFIG SET takes: below them a
// client could no longer send (or read the reply to) the CONFIG SET that
// undoes them, and only a restart would help.
constexpr uint64_t kMinLiveLimit = 1024;

std::string SetBytes(std::string_view value, uint64_t min, size_t* field) {
  uint64_t v;
  if (!ParseBytes(value, &v)) return "argument must be a memory value (bytes, or with a k/m/g unit)";
  if (v < min) return "argument must be at least " + std::to_string(min);
  *field = static_cast<size_t>(v);
  return "";
}

// client-output-buffer-limit: a byte count (0 = no limit), or Redis's
// "normal <hard> <soft> <secs>" whose hard limit is the one synap-server has
// (it disconnects at once; soft and secs must parse but do nothing).
std::string SetOutputLimit(std::string_view value, size_t* field) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < value.size()) {
    size_t j = value.find(' ', i);
    if (j == std::string_view::npos) j = value.size();
    if (j > i) words.emplace_back(value.substr(i, j - i));
    i = j + 1;
  }
  uint64_t hard, soft, secs;
  if (words.size() == 1) {
    size_t v = 0;
    std::string why = SetBytes(words[0], 0, &v);
    if (why.empty() && v != 0 && v < kMinLiveLimit) why = "argument must be 0 (no limit) or at least 1024";
    if (why.empty()) *field = v;
    return why;
  }
  if (words.size() != 4 || Lower(words[0]) != "normal")
    return "expected a byte count or 'normal <hard> <soft> <seconds>' (only the normal class: synap-server has no "
           "replicas, and pub/sub subscribers have their own 10000-message limit)";
  if (!ParseBytes(words[1], &hard) || !ParseBytes(words[2], &soft) || !ParseBytes(words[3], &secs))
    return "the hard and soft limits must be memory values and the seconds a number";
  if (hard != 0 && hard < kMinLiveLimit) return "the hard limit must be 0 (no limit) or at least 1024";
  *field = static_cast<size_t>(hard);
  return "";
}

std::string SetCount(std::string_view value, uint64_t min, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty() || v < min || v > max)
    return "argument must be a number in " + std::to_string(min) + ".." + std::to_string(max);
  *out = v;
  return "";
}

const std::string* EngineValue(const Config& cfg, std::string_view name) {
  for (const auto& [n, v] : cfg.engine_options)
    if (n == name) return &v;
  return nullptr;
}

// One setting CONFIG GET shows. It changes live (`set` parses a value into
// the copy being built), after a restart (`flag` says how to give it), or
// never (`fixed` says why).
struct Param {
  const char* name;
  std::string (*get)(const Config&, const LiveSettings&);
  std::string (*set)(std::string_view value, LiveSettings* v);
  const char* flag;
  const char* fixed;
};

using L = const LiveSettings&;
using C = const Config&;

const Param kParams[] = {
    {"maxclients", [](C, L v) { return std::to_string(v.max_clients); },
     [](std::string_view s, LiveSettings* v) {
       uint64_t n = 0;
       std::string why = SetCount(s, 1, UINT32_MAX, &n);
       if (why.empty()) v->max_clients = n;
       return why;
     },
     nullptr, nullptr},
    {"timeout", [](C, L v) { return std::to_string(v.idle_timeout_s); },
     [](std::string_view s, LiveSettings* v) {
       uint64_t n = 0;
       std::string why = SetCount(s, 0, UINT32_MAX, &n);
       if (why.empty()) v->idle_timeout_s = static_cast<uint32_t>(n);
       return why;
     },
     nullptr, nullptr},
    {"requirepass", [](C, L v) { return v.requirepass; },
     [](std::string_view s, LiveSettings* v) {
       v->requirepass = std::string(s);
       return std::string();
     },
     nullptr, nullptr},
    {"proto-max-bulk-len", [](C, L v) { return std::to_string(v.max_bulk_bytes); },
     [](std::string_view s, LiveSettings* v) { return SetBytes(s, kMinLiveLimit / 4, &v->max_bulk_bytes); },
     nullptr, nullptr},
    {"client-query-buffer-limit", [](C, L v) { return std::to_string(v.max_query_bytes); },
     [](std::string_view s, LiveSettings* v) { return SetBytes(s, kMinLiveLimit, &v->max_query_bytes); },
     nullptr, nullptr},
    {"client-output-buffer-limit", [](C, L v) { return "normal " + std::to_string(v.max_output_bytes) + " 0 0"; },
     [](std::string_view s, LiveSettings* v) { return SetOutputLimit(s, &v->max_output_bytes); }, nullptr, nullptr},
    {"bind", [](C c, L) { return c.bind; }, nullptr, "--bind", nullptr},
    {"port", [](C c, L) { return std::to_string(c.port); }, nullptr, "--port", nullptr},
    {"dir", [](C c, L) { return c.dir; }, nullptr, "--dir", nullptr},
    {"threads", [](C c, L) { return std::to_string(c.threads); }, nullptr, "--threads", nullptr},
    {"protected-mode", [](C c, L) { return std::string(c.protected_mode ? "yes" : "no"); }, nullptr,
     "--protected-mode", nullptr},
    {"max-args", [](C c, L) { return std::to_string(c.limits.max_args); }, nullptr, "--max-args", nullptr},
    {"appendfsync",  // Redis's names for wal.fsync_mode
     [](C c, L) {
       const std::string* m = EngineValue(c, "wal.fsync_mode");
       if (m == nullptr) return std::string();
       return std::string(*m == "periodic" ? "everysec" : *m == "never" ? "no" : m->c_str());
     },
     nullptr, "--fsync", nullptr},
    {"appendonly", [](C, L) { return std::string("yes"); }, nullptr, nullptr, "every write goes to the log"},
    {"save", [](C, L) { return std::string(); }, nullptr, nullptr,
     "snapshots follow snapshot.interval_secs and snapshot.operation_threshold ([persistence.snapshot])"},
    {"databases", [](C, L) { return std::string("1"); }, nullptr, nullptr, "synap-server has one database"},
};

const Param* FindParam(std::string_view name) {
  for (const Param& p : kParams)
    if (name == p.name) return &p;
  return nullptr;
}

}  // namespace

bool IsLoopback(const std::string& a) { return a == "127.0.0.1" || a == "::1" || a.rfind("127.", 0) == 0; }

Server::Server(const Config& cfg, synap_db* db)
    : cfg_(cfg),
      db_(db),
      max_clients_(cfg.max_clients),
      max_query_bytes_(cfg.max_query_bytes),
      max_output_bytes_(cfg.max_output_bytes),
      max_bulk_bytes_(cfg.limits.max_bulk_bytes),
      idle_timeout_s_(cfg.idle_timeout_s),
      auth_required_(!cfg.requirepass.empty()),
      requirepass_(cfg.requirepass) {}

std::string Server::requirepass() const {
  std::lock_guard lk(live_mu_);
  return requirepass_;
}

RequestLimits Server::request_limits() const {
  RequestLimits l = cfg_.limits;
  l.max_bulk_bytes = max_bulk_bytes_.load();
  return l;
}

LiveSettings Server::Current() const {
  LiveSettings v;
  v.max_clients = max_clients_.load();
  v.max_query_bytes = max_query_bytes_.load();
  v.max_output_bytes = max_output_bytes_.load();
  v.max_bulk_bytes = max_bulk_bytes_.load();
  v.idle_timeout_s = idle_timeout_s_.load();
  v.requirepass = requirepass_;
  return v;
}

void Server::Store(const LiveSettings& v) {
  max_clients_.store(v.max_clients);
  max_query_bytes_.store(v.max_query_bytes);
  max_output_bytes_.store(v.max_output_bytes);
  max_bulk_bytes_.store(v.max_bulk_bytes);
  idle_timeout_s_.store(v.idle_timeout_s);
  requirepass_ = v.requirepass;
  auth_required_.store(!v.requirepass.empty());
  limits_version_.fetch_add(1);
}

std::vector<std::pair<std::string, std::string>> Server::ConfigGet(const std::vector<std::string>& patterns) const {
  std::vector<std::string> pats;
  for (const std::string& p : patterns) pats.push_back(Lower(p));
  auto wanted = [&](const std::string& name) {
    return std::any_of(pats.begin(), pats.end(), [&](const std::string& p) {
      return fnmatch(p.c_str(), name.c_str(), 0) == 0;
    });
  };
  LiveSettings live;
  {
    std::lock_guard lk(live_mu_);
    live = Current();
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const Param& p : kParams)
    if (wanted(p.name)) out.emplace_back(p.name, p.get(cfg_, live));
  for (const auto& [name, value] : cfg_.engine_options)
    if (wanted(name)) out.emplace_back(name, value);
  return out;
}

std::string Server::ConfigSet(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::lock_guard lk(live_mu_);
  LiveSettings v = Current();
  std::set<std::string> seen;
  for (const auto& [given, value] : pairs) {
    std::string name = Lower(given);
    if (!seen.insert(name).second) return "ERR CONFIG SET failed - duplicate parameter '" + name + "'";
    const Param* p = FindParam(name);
    std::string flag;
    if (p != nullptr && p->fixed != nullptr) return "ERR CONFIG SET '" + name + "' cannot change: " + p->fixed;
    if (p != nullptr && p->flag != nullptr) flag = p->flag;
    if (p == nullptr && EngineValue(cfg_, name) != nullptr) flag = "--set " + name + "=<value>";
    if (!flag.empty())
      return "ERR CONFIG SET '" + name + "' needs a restart: set it in the config file or with " + flag;
    if (p == nullptr) return "ERR Unknown option or number of arguments for CONFIG SET - '" + given + "'";
    std::string why = p->set(value, &v);
    if (!why.empty()) return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + why;
  }
  if (cfg_.protected_mode && !IsLoopback(cfg_.bind) && v.requirepass.empty())
    return "ERR CONFIG SET failed (possibly related to argument 'requirepass') - protected mode: a server "
           "listening on " + cfg_.bind + " keeps a password";
  Store(v);  // every pair was valid: apply them all
  return "";
}

void Server::ResetStats() {
  commands_processed.store(0);
  connections_received.store(0);
  rejected_connections.store(0);
}

void Server::AddClient(uint64_t id, const ClientInfo& c) {
  std::lock_guard lk(clients_mu_);
  clients_[id] = c;
}

void Server::UpdateClient(uint64_t id, const std::string& name, int proto, uint64_t commands) {
  std::lock_guard lk(clients_mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  it->second.name = name;
  it->second.proto = proto;
  it->second.commands = commands;
}

void Server::RemoveClient(uint64_t id) {
  std::lock_guard lk(clients_mu_);
  clients_.erase(id);
}

std::map<uint64_t, ClientInfo> Server::Clients() {
  std::lock_guard lk(clients_mu_);
  return clients_;
}

size_t Server::client_count() {
  std::lock_guard lk(clients_mu_);
  return clients_.size();
}

void Server::CountChannel(const std::string& channel, int delta) {
  std::lock_guard lk(channels_mu_);
  int& n = channels_[channel];
  n += delta;
  if (n <= 0) channels_.erase(channel);
}

std::map<std::string, int> Server::Channels() {
  std::lock_guard lk(channels_mu_);
  return channels_;
}

}  // namespace synap::server
