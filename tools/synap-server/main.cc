// synap-server: a Redis-protocol server over libsynap's C ABI.
//
//   synap-server --port 7000 --dir /tmp/d --fsync always
//   synap-server --config docs/synap-server.toml --port 7001 --set kv.maxmemory=1G
//   synap-server --config my.toml --print-config     # the merged settings, as a file
//
// Where settings come from, later ones winning: the defaults, the config file
// (--config: TOML or INI with sections, every key in docs/synap-server.toml),
// the flags. Every file key is also a flag: [server] port is --server.port
// (--port for short), [persistence.wal] fsync_mode is
// --persistence.wal.fsync_mode (--fsync). [server] and [persistence] dir are
// the server's own settings; the other sections hold the engine options,
// each passed to synap_options_set under its engine name (FileKey maps
// them: wal.* is [persistence.wal], stream.* is [streams]). --set NAME=VALUE
// (repeatable) passes any engine option straight through, after the keys.
// A bad key, name or value exits with status 2 and a message naming it,
// before the data directory is opened. docs/server.md has the table.
//
// Includes only <synap/synap.h> from Synap: the server is the proof that the
// C ABI is enough.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "tools/synap-server/config_strings.h"
#include "tools/synap-server/event_loop.h"
#include "tools/synap-server/server.h"

namespace {

using synap::server::Config;

// Every engine option (synap.h's table; engine/db/db_options.cc), grouped by
// section. Each is a config file key and a flag (FileKey); one missing here
// is still reachable with --set.
const char* const kEngineOptions[] = {
    "wal.fsync_mode", "wal.fsync_interval_ms", "wal.mechanism", "wal.segment_bytes", "wal.preallocate",
    "wal.max_record_bytes", "wal.max_batch_bytes", "wal.max_batch_records", "wal.linger_us", "wal.max_in_flight",
    "wal.max_pending_bytes", "wal.codec", "wal.compress_min_bytes", "wal.zstd_level", "wal.recovery",
    "snapshot.interval_secs", "snapshot.operation_threshold", "snapshot.keep", "snapshot.zstd_level",
    "io.backend",
    "kv.shards", "kv.max_key_bytes", "kv.max_value_bytes", "kv.maxmemory", "kv.maxmemory_policy",
    "kv.maxmemory_samples", "kv.active_expire_ms", "kv.allow_flushall",
    "queue.auto_create", "queue.max_payload_bytes",
    "stream.auto_create", "stream.segment_bytes", "stream.retention_bytes", "stream.retention_ms", "stream.codec",
    "stream.fsync", "stream.cleanup", "stream.fsync_interval_ms", "stream.preallocate", "stream.max_rooms",
    "stream.max_event_bytes", "stream.max_append_bytes", "stream.max_key_bytes", "stream.max_headers",
    "stream.max_read_records", "stream.max_read_bytes", "stream.max_wait_ms", "stream.max_partitions",
    "stream.index_interval_bytes", "stream.compact_max_keys", "stream.maintenance_ms",
};

// An engine option's config file key: the log, snapshots and I/O live under
// [persistence.*] as in the seed's file, streams under [streams].
std::string FileKey(const std::string& engine_name) {
  static const std::pair<const char*, const char*> kSections[] = {
      {"wal.", "persistence.wal."}, {"snapshot.", "persistence.snapshot."}, {"io.", "persistence.io."},
      {"stream.", "streams."}};
  for (const auto& [engine, file] : kSections)
    if (engine_name.rfind(engine, 0) == 0) return file + engine_name.substr(std::strlen(engine));
  return engine_name;  // kv.*, queue.*
}

std::string Quoted(const std::string& s) {
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') q += '\\';
    q += ch;
  }
  return q + "\"";
}

// A value as TOML writes it: numbers and booleans bare, the rest quoted.
std::string TomlValue(const std::string& v) {
  bool number = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
  return number || v == "true" || v == "false" ? v : Quoted(v);
}

// Reads TOML or INI with sections: `[persistence.wal] fsync_mode = "always"`
// sets the option --persistence.wal.fsync_mode. CLI11 2.1 would look a
// section up as a subcommand; flattening it onto a dotted option name
// instead keeps one option per setting, so a flag on the command line
// overrides the file (CLI11 skips a file value for an option already set).
// A key no option has is an error naming it.
// Quoted values come from ReadQuotedValues (config_strings.h), which reads
// them as TOML does; CLI11 2.1 does not.
class SectionedConfig : public CLI::ConfigTOML {
 public:
  explicit SectionedConfig(const CLI::App* app) : app_(app) {}
  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::map<std::string, std::string> quoted;
    std::string error;
    if (!synap::server::ReadQuotedValues(text, &quoted, &error)) throw CLI::ConfigError(error);
    std::istringstream again(text);
    std::vector<CLI::ConfigItem> items;
    for (CLI::ConfigItem& item : CLI::ConfigTOML::from_config(again)) {
      if (item.name == "++" || item.name == "--") continue;  // CLI11's section open/close markers
      item.name = item.fullname();
      item.parents.clear();
      if (auto q = quoted.find(item.name); q != quoted.end()) item.inputs = {q->second};
      if (app_->get_option_no_throw("--" + item.name) == nullptr)
        throw CLI::ConfigError("unknown key '" + item.name +
                               "' in the config file (docs/synap-server.toml lists every key)");
      // No setting has a use for them, and a NUL would cut the value short
      // in --print-config (found by tests/fuzz/fuzz_server_config).
      auto control = [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; };
      for (const std::string& value : item.inputs)
        if (std::any_of(value.begin(), value.end(), control))
          throw CLI::ConfigError("key '" + item.name + "' in the config file: a control character in its value");
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  const CLI::App* app_;
};

// What the command line and the file fill in.
struct Settings {
  Config cfg;
  struct EngineKey {
    std::string name;   // the engine's: wal.segment_bytes
    std::string value;  // as given; applied only if given
    CLI::Option* opt;
  };
  std::deque<EngineKey> engine;  // a deque: the options hold references to `value`
  std::vector<std::string> sets;  // --set NAME=VALUE, in order
  bool print_config = false;
  // Every file key in order, with how to print its value (--print-config).
  std::vector<std::pair<std::string, std::function<std::string(const synap_options*)>>> keys;
};

std::string TomlOf(const std::string& v) { return Quoted(v); }
std::string TomlOf(bool v) { return v ? "true" : "false"; }
template <typename T>
std::string TomlOf(T v) { return std::to_string(v); }

// A server setting: its flag names plus the file key as a long name.
template <typename T>
CLI::Option* AddKey(CLI::App& app, Settings* s, const std::string& flags, const std::string& key, T* field,
                    const std::string& help) {
  s->keys.emplace_back(key, [field](const synap_options*) { return TomlOf(*field); });
  return app.add_option(flags + ",--" + key, *field, help)->capture_default_str();
}

void AddServerFlags(CLI::App& app, Settings* s) {
  Config& c = s->cfg;
  auto size = CLI::AsSizeValue(false);  // 64M, 64mb, 1GiB: powers of 1024
  AddKey(app, s, "--bind,--server.bind", "server.host", &c.bind, "address to listen on");
  AddKey(app, s, "--port", "server.port", &c.port, "TCP port")->check(CLI::Range(1, 65535));
  AddKey(app, s, "--threads", "server.threads", &c.threads, "event loops (0: one per core), at most 256")
      ->check(CLI::Range(0u, 256u));
  AddKey(app, s, "--requirepass", "server.requirepass", &c.requirepass,
         "password for AUTH (empty: none; CONFIG SET requirepass changes it)");
  AddKey(app, s, "--maxclients", "server.maxclients", &c.max_clients, "connections at once (CONFIG SET maxclients)")
      ->check(CLI::Range(size_t{1}, size_t{UINT32_MAX}));
  AddKey(app, s, "--timeout", "server.timeout", &c.idle_timeout_s,
         "close idle clients after this many seconds (0: never; CONFIG SET timeout)");
  AddKey(app, s, "--protected-mode", "server.protected_mode", &c.protected_mode,
         "refuse a non-loopback --bind without --requirepass");
  AddKey(app, s, "--proto-max-bulk-len", "server.proto_max_bulk_len", &c.limits.max_bulk_bytes,
         "largest bulk string in a request (CONFIG SET proto-max-bulk-len)")
      ->transform(size);
  AddKey(app, s, "--max-args", "server.max_args", &c.limits.max_args, "arguments per command")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  AddKey(app, s, "--client-query-buffer-limit", "server.client_query_buffer_limit", &c.max_query_bytes,
         "unparsed input per client (CONFIG SET client-query-buffer-limit)")
      ->transform(size);
  AddKey(app, s, "--client-output-buffer-limit", "server.client_output_buffer_limit", &c.max_output_bytes,
         "unsent output per client, a slower reader is disconnected; 0: no limit "
         "(CONFIG SET client-output-buffer-limit)")
      ->transform(size);
  AddKey(app, s, "--dir", "persistence.dir", &c.dir, "the data directory");
}

// One flag per engine option, its default read from the engine (`defaults`).
// "" or why not (an option synap.h no longer knows: a stale kEngineOptions).
std::string AddEngineFlags(CLI::App& app, Settings* s, const synap_options* defaults) {
  const char* group = "Engine options (config file keys; any engine option also with --set NAME=VALUE)";
  for (const char* name : kEngineOptions) {
    char buf[256];
    size_t len = 0;
    if (synap_options_get(defaults, name, buf, sizeof buf, &len) != SYNAP_OK || len >= sizeof buf)
      return std::string("engine option ") + name + ": " + synap_last_error();
    std::string key = FileKey(name);
    s->engine.push_back({name, "", nullptr});
    Settings::EngineKey& k = s->engine.back();
    bool fsync = std::strcmp(name, "wal.fsync_mode") == 0;  // the one with a short flag
    std::string flags = (fsync ? "--fsync,--" : "--") + key;
    std::string help = fsync ? "when a write is acknowledged: always | periodic | never (wal.fsync_mode)"
                             : std::string("engine option ") + name;
    k.opt = app.add_option(flags, k.value, help)->default_str(buf)->type_name("VALUE");
    if (!fsync) k.opt->group(group);
    s->keys.emplace_back(key, [name](const synap_options* o) {
      char v[256];
      size_t n = 0;
      synap_options_get(o, name, v, sizeof v, &n);
      return TomlValue(std::string(v, std::min(n, sizeof v - 1)));
    });
  }
  app.add_option("--set", s->sets,
                 "set an engine option by its engine name (docs/options.md), after the keys; repeatable")
      ->type_name("NAME=VALUE")
      ->take_all()
      ->group(group);
  return "";
}

// The engine keys given (file or flag), then --set, into `o`: "" or the
// error naming the option.
std::string ApplyEngineOptions(const Settings& s, synap_options* o) {
  for (const Settings::EngineKey& k : s.engine)
    if (k.opt->count() > 0 && synap_options_set(o, k.name.c_str(), k.value.c_str()) != SYNAP_OK)
      return FileKey(k.name) + ": " + synap_last_error();
  for (const std::string& kv : s.sets) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return "--set " + kv + ": expected NAME=VALUE";
    if (synap_options_set(o, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str()) != SYNAP_OK)
      return "--set " + kv + ": " + synap_last_error();
  }
  return "";
}

// The settings in effect, as a config file: every key, by section.
void PrintConfig(const Settings& s, const synap_options* o) {
  std::string section = "-";
  for (const auto& [key, value] : s.keys) {
    size_t dot = key.rfind('.');
    std::string sec = key.substr(0, dot);
    if (sec != section) std::printf("%s[%s]\n", section == "-" ? "" : "\n", sec.c_str());
    section = sec;
    std::printf("%s = %s\n", key.substr(dot + 1).c_str(), value(o).c_str());
  }
}

// Fills `s` and `opts` from the flags and the file. Returns -1 to go on, or
// the exit status (0 after --help, 2 after a bad flag, key or value).
int ParseSettings(int argc, char** argv, Settings* s, synap_options* opts) {
  CLI::App app{"synap-server: Synap behind the Redis protocol (RESP2/RESP3). Flags override the --config file; "
               "every file key is also a flag (--server.port, --persistence.wal.fsync_mode). docs/server.md"};
  app.config_formatter(std::make_shared<SectionedConfig>(&app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.set_config("--config", "", "read settings from this TOML or INI file, with sections (docs/synap-server.toml)");
  app.add_flag("--print-config", s->print_config, "print the settings in effect as a config file, and exit");
  AddServerFlags(app, s);
  std::string error = AddEngineFlags(app, s, opts);
  if (!error.empty()) {
    std::fprintf(stderr, "synap-server: %s (kEngineOptions is out of date)\n", error.c_str());
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "synap-server: %s\nRun with --help for more information.\n", e.what());
    return 2;
  }
  error = ApplyEngineOptions(*s, opts);
  if (!error.empty()) {
    std::fprintf(stderr, "synap-server: %s\n", error.c_str());
    return 2;
  }
  for (const char* name : kEngineOptions) {
    char v[256];
    size_t n = 0;
    synap_options_get(opts, name, v, sizeof v, &n);
    s->cfg.engine_options.emplace_back(name, std::string(v, std::min(n, sizeof v - 1)));
  }
  return -1;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs the loops until SHUTDOWN or a signal (blocked in every thread but
// the one waiting for it). Returns the exit status.
int Serve(const Config& cfg, synap_db* db, const sigset_t& sigs) {
  synap::server::Server server(cfg, db);
  server.set_started_ms(WallMs());
  std::vector<std::unique_ptr<synap::server::EventLoop>> loops;
  for (unsigned i = 0; i < cfg.threads; i++) {
    loops.push_back(std::make_unique<synap::server::EventLoop>(&server, i));
    std::string err = loops.back()->Init();
    if (!err.empty()) {
      std::fprintf(stderr, "synap-server: %s\n", err.c_str());
      return 1;
    }
  }
  std::thread signals([&] {
    while (!server.shutting_down()) {
      timespec ts{0, 100 * 1000 * 1000};
      siginfo_t info;
      if (sigtimedwait(&sigs, &info, &ts) > 0) server.RequestShutdown();
    }
  });
  std::string fsync;
  for (const auto& [name, value] : cfg.engine_options)
    if (name == "wal.fsync_mode") fsync = value;
  std::printf("synap-server %s listening on %s:%d (%u loops, fsync=%s, data in %s)\n", synap_version_string(),
              cfg.bind.c_str(), cfg.port, cfg.threads, fsync.c_str(), cfg.dir.c_str());
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (auto& l : loops) threads.emplace_back([&l] { l->Run(); });
  for (auto& t : threads) t.join();
  signals.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  synap_options* raw = nullptr;
  if (synap_options_create(&raw) != SYNAP_OK) {
    std::fprintf(stderr, "synap-server: %s\n", synap_last_error());
    return 1;
  }
  std::unique_ptr<synap_options, void (*)(synap_options*)> opts(raw, synap_options_destroy);
  // The server's one default that differs from the engine's: under
  // fsync=always (the only mode the mechanism affects) an O_DIRECT write
  // with RWF_DSYNC completes without io_uring's worker thread, one hand-off
  // fewer per acknowledgement: SET at -P 1 went from ~62 K/s to ~77 K/s here
  // (docs/benchmarks.md). The engine keeps buffered by default because direct
  // zeroes each new segment up front, a cost a long-lived server pays once.
  synap_options_set(raw, "wal.mechanism", "direct");
  Settings s;
  int status = ParseSettings(argc, argv, &s, opts.get());
  if (status >= 0) return status;
  if (s.print_config) {
    PrintConfig(s, opts.get());
    return 0;
  }
  Config& cfg = s.cfg;
  if (cfg.protected_mode && !synap::server::IsLoopback(cfg.bind) && cfg.requirepass.empty()) {
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
  int rc = synap_open(cfg.dir.c_str(), opts.get(), &db);
  if (rc != SYNAP_OK) {
    // EINVAL: options that are valid one by one but not together (kv.shards
    // a power of two, a value fitting a record): a configuration error.
    std::fprintf(stderr, "synap-server: open %s: %s\n", cfg.dir.c_str(), synap_last_error());
    return rc == SYNAP_EINVAL ? 2 : 1;
  }
  status = Serve(cfg, db, sigs);
  rc = synap_sync(db);
  int crc = synap_close(db);
  if (rc != SYNAP_OK || crc != SYNAP_OK) {
    std::fprintf(stderr, "synap-server: closing: %s\n", synap_last_error());
    return 1;
  }
  return status;
}
