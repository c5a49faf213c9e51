// How synap-cli subcommands plug in.
//
// Each subcommand lives in its own .cc and registers itself at static
// initialisation with SYNAP_CLI_COMMAND; main.cc builds the CLI11 tree from
// the registry and never names a subcommand. To add one: write the .cc (a
// setup function and one SYNAP_CLI_COMMAND line) and list it in
// tools/synap-cli/meson.build. The sources must be compiled into the
// executable itself, not through a static library, whose unreferenced
// objects (and so their registrations) the linker would drop.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace synap::cli {

// Runs a parsed subcommand; returns the process exit code.
using RunFn = std::function<int()>;
// Adds the subcommand's options to `cmd` (flags are bound to state the setup
// owns) and returns what main() calls when the command line selected it.
using SetupFn = RunFn (*)(CLI::App* cmd);

struct CommandSpec {
  std::string path;         // words from the top, e.g. "bench wal"; all but the last are groups
  std::string description;  // one line for --help
  SetupFn setup = nullptr;
};

struct GroupSpec {
  std::string name;         // a top-level group word, e.g. "bench"
  std::string description;
};

inline std::vector<CommandSpec>& CommandRegistry() {
  static std::vector<CommandSpec> commands;  // function-local: safe during static init
  return commands;
}

inline std::vector<GroupSpec>& GroupRegistry() {
  static std::vector<GroupSpec> groups;
  return groups;
}

// Both return true so they can initialise a namespace-scope constant.
inline bool RegisterCommand(CommandSpec spec) {
  CommandRegistry().push_back(std::move(spec));
  return true;
}

// Describes a group word. Several files may describe the same group; the
// first description registered is kept.
inline bool RegisterGroup(GroupSpec spec) {
  auto& groups = GroupRegistry();
  if (std::none_of(groups.begin(), groups.end(), [&](const GroupSpec& g) { return g.name == spec.name; }))
    groups.push_back(std::move(spec));
  return true;
}

}  // namespace synap::cli

#define SYNAP_CLI_CONCAT_INNER(a, b) a##b
#define SYNAP_CLI_CONCAT(a, b) SYNAP_CLI_CONCAT_INNER(a, b)

// SYNAP_CLI_COMMAND("bench wal", "Measure ...", SetupBenchWal);
#define SYNAP_CLI_COMMAND(path, description, setup)                                 \
  [[maybe_unused]] static const bool SYNAP_CLI_CONCAT(synap_cli_command_, __LINE__) = \
      ::synap::cli::RegisterCommand({path, description, setup})

// SYNAP_CLI_GROUP("bench", "Measure the engine");
#define SYNAP_CLI_GROUP(name, description)                                        \
  [[maybe_unused]] static const bool SYNAP_CLI_CONCAT(synap_cli_group_, __LINE__) = \
      ::synap::cli::RegisterGroup({name, description})
