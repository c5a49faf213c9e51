// synap-server: a Redis-protocol server over libsynap's C ABI.
//
//   synap-server --port 7000 --dir /tmp/d --fsync always
//
// Includes only <synap/synap.h> from Synap: the server is the proof that the
// C ABI is enough.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "tools/synap-server/event_loop.h"
#include "tools/synap-server/server.h"

namespace {

bool IsLoopback(const std::string& a) { return a == "127.0.0.1" || a == "::1" || a.rfind("127.", 0) == 0; }

int OpenDb(const synap::server::Config& cfg, const std::string& fsync, synap_db** db) {
  synap_options* o = nullptr;
  int rc = synap_options_create(&o);
  if (rc == SYNAP_OK) rc = synap_options_set(o, "wal.fsync_mode", fsync.c_str());
  if (rc == SYNAP_OK) rc = synap_open(cfg.dir.c_str(), o, db);
  synap_options_destroy(o);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  synap::server::Config cfg;
  std::string fsync = "always";
  bool protected_mode = true;
  CLI::App app{"synap-server: Synap behind the Redis protocol (RESP2/RESP3)"};
  app.set_config("--config", "", "read options from this file (TOML or INI: port = 7000)");
  app.add_option("--bind", cfg.bind, "address to listen on")->capture_default_str();
  app.add_option("--port", cfg.port, "TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
  app.add_option("--dir", cfg.dir, "the data directory")->capture_default_str();
  app.add_option("--fsync", fsync, "when a write is acknowledged")
      ->capture_default_str()
      ->check(CLI::IsMember({"always", "periodic", "never"}));
  app.add_option("--requirepass", cfg.requirepass, "password for AUTH (empty: none)");
  app.add_option("--threads", cfg.threads, "event loops (0: one per core)")->capture_default_str();
  app.add_option("--maxclients", cfg.max_clients, "connections at once")->capture_default_str();
  app.add_option("--timeout", cfg.idle_timeout_s, "close idle clients after this many seconds (0: never)")
      ->capture_default_str();
  app.add_option("--proto-max-bulk-len", cfg.limits.max_bulk_bytes, "largest bulk string")->capture_default_str();
  app.add_option("--max-args", cfg.limits.max_args, "arguments per command")->capture_default_str();
  app.add_option("--client-query-buffer-limit", cfg.max_query_bytes, "unparsed input per client")
      ->capture_default_str();
  app.add_option("--client-output-buffer-limit", cfg.max_output_bytes,
                 "unsent output per client; a slower reader is disconnected")
      ->capture_default_str();
  app.add_option("--protected-mode", protected_mode,
                 "refuse a non-loopback --bind without --requirepass")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (protected_mode && !IsLoopback(cfg.bind) && cfg.requirepass.empty()) {
    std::fprintf(stderr, "synap-server: refusing to listen on %s without --requirepass (protected mode; "
                         "--protected-mode=false to override)\n", cfg.bind.c_str());
    return 2;
  }
  if (cfg.threads == 0) cfg.threads = std::max(1u, std::thread::hardware_concurrency());

  // SIGINT/SIGTERM go to one thread that asks the loops to stop.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  synap_db* db = nullptr;
  int rc = OpenDb(cfg, fsync, &db);
  if (rc != SYNAP_OK) {
    std::fprintf(stderr, "synap-server: open %s: %s\n", cfg.dir.c_str(), synap_last_error());
    return 1;
  }
  synap::server::Server server(cfg, db);
  server.set_started_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
  std::vector<std::unique_ptr<synap::server::EventLoop>> loops;
  for (unsigned i = 0; i < cfg.threads; i++) {
    loops.push_back(std::make_unique<synap::server::EventLoop>(&server, i));
    std::string err = loops.back()->Init();
    if (!err.empty()) {
      std::fprintf(stderr, "synap-server: %s\n", err.c_str());
      loops.clear();
      synap_close(db);
      return 1;
    }
  }
  std::thread signals([&] {
    int sig = 0;
    while (!server.shutting_down()) {
      timespec ts{0, 100 * 1000 * 1000};
      siginfo_t info;
      sig = sigtimedwait(&sigs, &info, &ts);
      if (sig > 0) server.RequestShutdown();
    }
  });
  std::printf("synap-server %s listening on %s:%d (%u loops, fsync=%s, data in %s)\n", synap_version_string(),
              cfg.bind.c_str(), cfg.port, cfg.threads, fsync.c_str(), cfg.dir.c_str());
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (auto& l : loops) threads.emplace_back([&l] { l->Run(); });
  for (auto& t : threads) t.join();
  signals.join();
  loops.clear();
  rc = synap_sync(db);
  int crc = synap_close(db);
  if (rc != SYNAP_OK || crc != SYNAP_OK) {
    std::fprintf(stderr, "synap-server: closing: %s\n", synap_last_error());
    return 1;
  }
  return 0;
}
