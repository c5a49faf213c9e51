// synap-cli: the admin tool. Subcommands register themselves (command.h);
// this file only builds the command tree, adds the global connection
// options (-h/--host, -p/--port, -a/--password, --resp3: connection.h),
// parses, and runs the one chosen. With no subcommand it opens the
// interactive prompt against the server (prompt.h), as redis-cli does.
//
// Exit codes: 0 success (and --help, --version); 2 for a command line it
// rejects, after printing why; otherwise whatever the subcommand returns
// (see its --help).
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/prompt.h"

#ifndef SYNAP_VERSION
#define SYNAP_VERSION "unknown"
#endif

namespace {

std::vector<std::string> Words(const std::string& path) {
  std::istringstream in(path);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string GroupDescription(const std::string& name) {
  for (const auto& g : synap::cli::GroupRegistry())
    if (g.name == name) return g.description;
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synap-cli " SYNAP_VERSION ": administer and measure a Synap storage engine"};
  app.name("synap-cli");
  app.set_version_flag("--version", SYNAP_VERSION);
  // -h is the host, as in redis-cli; help is --help alone. Set before any
  // subcommand is added: each copies its parent's help flag.
  app.set_help_flag("--help", "Print this help message and exit");
  synap::cli::AddConnectionOptions(&app);
  // Connection options may also follow the subcommand (`kv get k -p 7000`):
  // an option a subcommand does not know falls through to its parents.
  app.fallthrough();
  app.require_subcommand(0, 1);  // none: the prompt

  // Deterministic help order whatever the static-initialisation order was.
  std::vector<synap::cli::CommandSpec> commands = synap::cli::CommandRegistry();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });

  std::map<std::string, CLI::App*> groups;  // "bench", "bench x", ... -> their node
  std::vector<std::pair<CLI::App*, synap::cli::RunFn>> runs;
  for (const synap::cli::CommandSpec& spec : commands) {
    std::vector<std::string> words = Words(spec.path);
    if (words.empty() || spec.setup == nullptr) continue;
    CLI::App* parent = &app;
    std::string prefix;
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      prefix += (i > 0 ? " " : "") + words[i];
      auto it = groups.find(prefix);
      if (it == groups.end()) {
        CLI::App* g = parent->add_subcommand(words[i], GroupDescription(prefix));
        g->require_subcommand(1);
        it = groups.emplace(prefix, g).first;
      }
      parent = it->second;
    }
    CLI::App* cmd = parent->add_subcommand(words.back(), spec.description);
    runs.emplace_back(cmd, spec.setup(cmd));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints the help, the version, or what was wrong
    return code == 0 ? 0 : 2;
  }
  for (auto& [cmd, run] : runs)
    if (cmd->parsed()) return run();
  return synap::cli::RunPrompt();  // no subcommand (every group requires one)
}
