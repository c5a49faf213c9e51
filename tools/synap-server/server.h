// What every event loop of synap-server shares: the configuration, the
// engine handle (libsynap's C ABI only), the settings CONFIG SET changes,
// counters, and the client registry CLIENT LIST and INFO read.
#pragma once

#include <synap/synap.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/synap-server/resp.h"
#include "tools/synap-server/stream_groups.h"

namespace synap::server {

// The settings as the server started with them (main.cc fills it from the
// defaults, the config file and the flags). Never changed after start, so
// any thread may read it. The live ones (marked) are only the start values:
// CONFIG SET changes Server's copies, which is what the loops read.
struct Config {
  std::string bind = "127.0.0.1";
  int port = 6379;
  unsigned threads = 0;              // 0: one per core
  std::string dir = "data/server";   // the data directory
  bool protected_mode = true;        // refuse a non-loopback bind without a password
  RequestLimits limits;              // max_bulk_bytes (proto-max-bulk-len) is live; arguments, inline size
  std::string requirepass;           // live; empty: no AUTH needed
  size_t max_clients = 10000;        // live: maxclients
  size_t max_query_bytes = 1u << 30; // live: client-query-buffer-limit
  size_t max_output_bytes = 64u << 20;  // live: per client, a slower reader is disconnected; 0 = no limit
  uint32_t idle_timeout_s = 0;       // live: timeout, 0 = never
  unsigned recv_buffers = 256;       // provided receive buffers per loop
  unsigned recv_buffer_bytes = 16384;
  // Every engine option the server knows, (name, value) as the engine was
  // opened with, for CONFIG GET.
  std::vector<std::pair<std::string, std::string>> engine_options;
};

// The settings CONFIG SET may change while the server runs, as one value:
// CONFIG SET changes a copy and stores it whole, or not at all.
struct LiveSettings {
  size_t max_clients = 0, max_query_bytes = 0, max_output_bytes = 0, max_bulk_bytes = 0;
  uint32_t idle_timeout_s = 0;
  std::string requirepass;
};

// Whether an address to listen on is only reachable from this machine
// (protected mode lets such a server run without a password).
bool IsLoopback(const std::string& address);

// One client as CLIENT LIST shows it.
struct ClientInfo {
  std::string addr, name;
  int proto = 2;
  int64_t since_ms = 0;
  uint64_t commands = 0;
};

class Server {
 public:
  Server(const Config& cfg, synap_db* db);
  const Config& config() const { return cfg_; }
  synap_db* db() const { return db_; }
  int64_t started_ms() const { return started_ms_; }
  void set_started_ms(int64_t ms) { started_ms_ = ms; }

  // The live settings, read by the loops where they apply them (each use
  // reads the current value; nothing caches one across a loop turn).
  size_t max_clients() const { return max_clients_.load(); }
  uint32_t idle_timeout_s() const { return idle_timeout_s_.load(); }
  size_t max_query_bytes() const { return max_query_bytes_.load(); }
  size_t max_output_bytes() const { return max_output_bytes_.load(); }  // 0: no limit
  bool auth_required() const { return auth_required_.load(); }
  std::string requirepass() const;  // a copy: it may change meanwhile
  // The parser's limits with the live proto-max-bulk-len; limits_version()
  // changes whenever they may have, so a loop knows to refresh its parser.
  RequestLimits request_limits() const;
  uint64_t limits_version() const { return limits_version_.load(); }

  // CONFIG GET: (name, value) of every setting whose name matches one of the
  // glob patterns (fnmatch, case-insensitive), each once.
  std::vector<std::pair<std::string, std::string>> ConfigGet(const std::vector<std::string>& patterns) const;
  // CONFIG SET: every pair is checked first and applied only if all are
  // valid (all or none). Returns "" or the error reply without the '-'.
  std::string ConfigSet(const std::vector<std::pair<std::string, std::string>>& pairs);
  // CONFIG RESETSTAT: zeroes the server's counters.
  void ResetStats();

  uint64_t NextClientId() { return next_client_id_.fetch_add(1) + 1; }
  void AddClient(uint64_t id, const ClientInfo& c);
  void UpdateClient(uint64_t id, const std::string& name, int proto, uint64_t commands);
  void RemoveClient(uint64_t id);
  std::map<uint64_t, ClientInfo> Clients();
  size_t client_count();

  // Asks every loop to stop (SHUTDOWN, SIGTERM). Thread-safe.
  void RequestShutdown() { shutdown_.store(true); }
  bool shutting_down() const { return shutdown_.load(); }

  std::atomic<uint64_t> commands_processed{0}, connections_received{0}, rejected_connections{0};
  std::atomic<int64_t> last_save_s{0};

  // Subscription counts across every loop (PUBSUB CHANNELS / NUMSUB / NUMPAT).
  void CountChannel(const std::string& channel, int delta);
  std::map<std::string, int> Channels();
  std::atomic<int64_t> patterns{0};

  // Redis consumer groups' pending entries, shared by every loop (XREADGROUP, XACK, ...).
  StreamGroups stream_groups;

 private:
  LiveSettings Current() const;          // call with live_mu_ held
  void Store(const LiveSettings& v);     // call with live_mu_ held

  const Config cfg_;
  synap_db* db_;
  int64_t started_ms_ = 0;
  // The live settings. Numbers are atomics the loops load on each use; the
  // password is a string behind live_mu_, with auth_required_ for the
  // per-command check. live_mu_ also serializes CONFIG SETs, so two at once
  // cannot interleave their pairs.
  std::atomic<size_t> max_clients_, max_query_bytes_, max_output_bytes_, max_bulk_bytes_;
  std::atomic<uint32_t> idle_timeout_s_;
  std::atomic<bool> auth_required_;
  std::atomic<uint64_t> limits_version_{0};
  mutable std::mutex live_mu_;
  std::string requirepass_;

  std::atomic<uint64_t> next_client_id_{0};
  std::atomic<bool> shutdown_{false};
  std::mutex clients_mu_;
  std::map<uint64_t, ClientInfo> clients_;
  std::mutex channels_mu_;
  std::map<std::string, int> channels_;
};

}  // namespace synap::server
