// How the data and online commands of synap-cli end in failure: they throw
// CommandFailure(exit code, message) from wherever the problem is found, and
// Guarded() (around the command's run function) prints "synap-cli: message"
// on stderr and returns the code. A connection problem (RespError) is exit
// status 1 with the client's message.
//
// Exit codes (docs/cli.md): 0 success; 1 the command ran and failed or found
// nothing (a missing key, a server error reply, a server that is not there);
// 2 a command line that cannot work (a bad combination of flags, a missing
// directory for a command that only reads).
#pragma once

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/resp_client.h"

namespace synap::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

class CommandFailure : public std::runtime_error {
 public:
  CommandFailure(int exit_code, std::string message)
      : std::runtime_error(std::move(message)), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

[[noreturn]] inline void Fail(int exit_code, std::string message) {
  throw CommandFailure(exit_code, std::move(message));
}

// Runs fn, turning a CommandFailure or RespError into its message and exit
// code. A Ctrl-C that interrupted a blocking read (RespInterrupted) ends the
// command quietly with status 0: it is how `pubsub subscribe` is stopped.
inline RunFn Guarded(std::function<int()> fn) {
  return [fn = std::move(fn)]() -> int {
    try {
      return fn();
    } catch (const CommandFailure& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "synap-cli: %s\n", e.what());
      return e.exit_code();
    } catch (const RespInterrupted&) {
      std::fflush(stdout);
      return kExitOk;
    } catch (const RespError& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "synap-cli: %s\n", e.what());
      return kExitFailed;
    }
  };
}

}  // namespace synap::cli
