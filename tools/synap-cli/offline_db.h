// What synap-cli's offline maintenance commands (dump, snapshot, compact,
// stats) share: the DIR argument and its checks, `-o NAME=VALUE` engine
// options, opening the directory through libsynap (refusing clearly when a
// server holds it), and libsynap's JSON answers parsed.
//
// Exit codes (docs/cli.md): a missing DIR is kExitUsage (2); a directory
// another process holds (SYNAP_ELOCKED) and every other failure kExitFailed
// (1). All of them are thrown as CommandFailure (command_failure.h).
#pragma once

#include <synap/synap.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/json_value.h"

namespace synap::cli {

// libsynap's message for the failed call, or the code's description.
inline std::string SynapError(int rc) {
  std::string m = synap_last_error();
  return m.empty() ? synap_strerror(rc) : m;
}

// The refusal every offline command gives for a directory held by another
// process; `hint` (may be empty) says what to do instead.
inline std::string HeldMessage(const std::string& dir, const std::string& hint = "") {
  return "data directory " + dir +
         " is in use: another process (most likely a running synap-server) holds its "
         "lock (" +
         dir + "/LOCK); stop it first" + (hint.empty() ? "" : ", or " + hint);
}

// DIR must exist and be a data directory (the offline commands never create
// one: synap_open would make a fresh one of any other directory).
inline void RequireDataDir(const std::string& dir) {
  std::error_code ec;
  auto st = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(st)) Fail(kExitUsage, "no such data directory: " + dir);
  if (!std::filesystem::is_directory(st)) Fail(kExitUsage, dir + " is not a directory");
  for (const char* part : {"LOCK", "wal", "snapshots", "streams"})
    if (std::filesystem::exists(std::filesystem::path(dir) / part, ec)) return;
  Fail(kExitUsage, dir + " is not a Synap data directory (it holds no LOCK, wal/, snapshots/ or streams/)");
}

// The positional DIR and repeatable -o/--option NAME=VALUE.
struct OfflineArgs {
  std::string dir;
  std::vector<std::string> options;  // "name=value", synap.h's option table
};

inline void AddOfflineArgs(CLI::App* cmd, OfflineArgs* a) {
  cmd->add_option("DIR", a->dir, "The data directory")->required();
  cmd->add_option("-o,--option", a->options,
                  "An engine option NAME=VALUE for the open (synap.h's table, e.g. wal.recovery=skip); repeatable");
}

// A data directory opened with synap_open for one command, closed on scope
// exit (or by Close(), which reports a failed final flush).
class OfflineDb {
 public:
  // `fixed` are options the command sets for its own sake (applied after
  // the user's -o, so they win).
  // `held_hint` goes into the refusal of a held directory (HeldMessage).
  OfflineDb(const OfflineArgs& a, const std::vector<std::pair<std::string, std::string>>& fixed = {},
            const std::string& held_hint = "")
      : dir_(a.dir) {
    RequireDataDir(dir_);
    synap_options* opts = nullptr;
    if (synap_options_create(&opts) != SYNAP_OK)
      Fail(kExitFailed, "cannot create options: " + SynapError(SYNAP_ENOMEM));
    auto set = [&](const std::string& name, const std::string& value) {
      if (synap_options_set(opts, name.c_str(), value.c_str()) != SYNAP_OK) {
        std::string why = SynapError(SYNAP_EINVAL);
        synap_options_destroy(opts);
        Fail(kExitUsage, "option " + name + "=" + value + ": " + why);
      }
    };
    for (const std::string& o : a.options) {
      size_t eq = o.find('=');
      if (eq == std::string::npos || eq == 0) {
        synap_options_destroy(opts);
        Fail(kExitUsage, "option '" + o + "' is not NAME=VALUE");
      }
      set(o.substr(0, eq), o.substr(eq + 1));
    }
    for (const auto& [name, value] : fixed) set(name, value);
    int rc = synap_open(dir_.c_str(), opts, &db_);
    synap_options_destroy(opts);
    if (rc == SYNAP_ELOCKED) Fail(kExitFailed, HeldMessage(dir_, held_hint));
    if (rc == SYNAP_EINVAL) Fail(kExitUsage, "cannot open " + dir_ + ": " + SynapError(rc));
    if (rc != SYNAP_OK) Fail(kExitFailed, "cannot open " + dir_ + ": " + SynapError(rc));
  }
  ~OfflineDb() {
    if (db_ != nullptr && synap_close(db_) != SYNAP_OK)
      std::fprintf(stderr, "synap-cli: closing %s: %s\n", dir_.c_str(), synap_last_error());
  }
  OfflineDb(const OfflineDb&) = delete;
  OfflineDb& operator=(const OfflineDb&) = delete;

  synap_db* db() const { return db_; }
  const std::string& dir() const { return dir_; }

  void Close() {
    synap_db* db = db_;
    db_ = nullptr;
    if (int rc = synap_close(db); rc != SYNAP_OK) Fail(kExitFailed, "closing " + dir_ + ": " + SynapError(rc));
  }

 private:
  std::string dir_;
  synap_db* db_ = nullptr;
};

// Calls a libsynap function that returns malloc'd JSON (synap_stats_json,
// synap_queue_stats_json, synap_stream_info_json) and parses it. `what`
// names the call in an error.
template <typename Call>
Json LibJson(const std::string& what, Call&& call) {
  char* text = nullptr;
  size_t len = 0;
  int rc = call(&text, &len);
  if (rc != SYNAP_OK) Fail(kExitFailed, what + ": " + SynapError(rc));
  std::string s(text, len);
  synap_free(text);
  Json j;
  std::string error;
  if (!Json::Parse(s, &j, &error)) Fail(kExitFailed, what + " returned malformed JSON: " + error);
  return j;
}

// Collects the names a synap_*_list call reports.
inline void CollectName(void* user, const void* key, size_t klen) {
  static_cast<std::vector<std::string>*>(user)->emplace_back(static_cast<const char*>(key), klen);
}

// A member's text ("" when absent), e.g. Field(stats, "snapshot", "last_path").
inline std::string Field(const Json& j, const char* section, const char* name) {
  const Json* s = j.Find(section);
  const Json* v = s != nullptr ? s->Find(name) : nullptr;
  return v != nullptr ? v->text() : "";
}

}  // namespace synap::cli
