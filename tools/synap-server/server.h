// What every event loop of synap-server shares: the configuration, the
// engine handle (libsynap's C ABI only), counters, and the client registry
// CLIENT LIST and INFO read.
#pragma once

#include <synap/synap.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "tools/synap-server/resp.h"

namespace synap::server {

struct Config {
  std::string bind = "127.0.0.1";
  int port = 6379;
  unsigned threads = 0;              // 0: one per core
  std::string dir = "data/server";   // the data directory
  std::string requirepass;           // empty: no AUTH needed
  size_t max_clients = 10000;        // maxclients
  RequestLimits limits;              // proto-max-bulk-len, arguments, inline size
  size_t max_query_bytes = 1u << 30; // client-query-buffer-limit
  size_t max_output_bytes = 64u << 20;  // per client: a slower reader is disconnected
  uint32_t idle_timeout_s = 0;       // timeout: 0 = never
  unsigned recv_buffers = 256;       // provided receive buffers per loop
  unsigned recv_buffer_bytes = 16384;
};

// One client as CLIENT LIST shows it.
struct ClientInfo {
  std::string addr, name;
  int proto = 2;
  int64_t since_ms = 0;
  uint64_t commands = 0;
};

class Server {
 public:
  Server(const Config& cfg, synap_db* db) : cfg_(cfg), db_(db) {}
  const Config& config() const { return cfg_; }
  synap_db* db() const { return db_; }
  int64_t started_ms() const { return started_ms_; }
  void set_started_ms(int64_t ms) { started_ms_ = ms; }

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

 private:
  Config cfg_;
  synap_db* db_;
  int64_t started_ms_ = 0;
  std::atomic<uint64_t> next_client_id_{0};
  std::atomic<bool> shutdown_{false};
  std::mutex clients_mu_;
  std::map<uint64_t, ClientInfo> clients_;
  std::mutex channels_mu_;
  std::map<std::string, int> channels_;
};

}  // namespace synap::server
