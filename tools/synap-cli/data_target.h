// What synap-cli's data commands (kv, queue, stream, pubsub) share: the
// --dir and --json options, the offline store (a data directory opened
// through libsynap's C ABI), and how results are printed.
//
// Each data command runs offline when given --dir DIR and online otherwise
// (against the server of -h/-p, connection.h). Each family hides that split
// behind one small interface with an embedded and a RESP implementation
// (KvTarget in data_kv.cc, ...), so a command is written once.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

#include <synap/synap.h>

#include "tools/synap-cli/json_value.h"

namespace synap::cli {

struct DataOptions {
  std::string dir;    // "": online
  bool json = false;  // --json: one JSON document (or JSON lines) instead of text
  bool offline() const { return !dir.empty(); }
};

// Adds --dir DIR and --json to a data command.
void AddDataOptions(CLI::App* cmd, DataOptions* options);

// A data directory opened with synap_open, closed on scope exit.
class Store {
 public:
  // create: a missing directory is created (commands that write); else it
  // is CommandFailure(kExitUsage) naming it (commands that only read or
  // change what exists: a fresh store would have nothing to show). A
  // directory another process holds (SYNAP_ELOCKED: a running synap-server)
  // is CommandFailure(kExitFailed) saying so and suggesting the online form;
  // any other open failure is kExitFailed with libsynap's message.
  Store(const std::string& dir, bool create);
  ~Store();  // synap_close; a failure to flush is reported on stderr
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  synap_db* db() const { return db_; }

 private:
  synap_db* db_ = nullptr;
  std::string dir_;
};

// rc < 0: CommandFailure(kExitFailed, "<what>: <libsynap's message>").
// Otherwise returns rc (SYNAP_OK, SYNAP_NOTFOUND, SYNAP_NOTSET).
int CheckRc(int rc, const std::string& what);

// Bytes for a one-line listing: printable UTF-8 as it is; backslash, control
// bytes and invalid UTF-8 escaped (\\, \n, \t, \r, \xHH), so one item is
// always one line and the bytes can be told apart.
std::string Printable(std::string_view bytes);

// One JSON document on one line of stdout.
void PrintJson(const Json& doc);

}  // namespace synap::cli
