// Where synap-cli's online commands connect: the global options -h/--host,
// -p/--port, -a/--password and --resp3 (main.cc adds them to the top of the
// command tree), and the connection made from them.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tools/synap-cli/resp_client.h"

namespace synap::cli {

// The endpoint the options describe (defaults: 127.0.0.1:6379, no password,
// RESP2). Without -a, the password comes from $SYNAP_CLI_AUTH if it is set,
// so that it need not appear in the process list.
RespEndpoint& ServerEndpoint();

// Adds -h/--host, -p/--port, -a/--password and --resp3 to `app`, bound to
// ServerEndpoint(). The app's help flag must not be -h (main.cc makes it
// --help only).
void AddConnectionOptions(CLI::App* app);

// Connects to ServerEndpoint(). A server that is not there, or that refuses
// the password, is CommandFailure(kExitFailed) with a message naming
// host:port and saying what to check.
std::unique_ptr<RespClient> ConnectToServer();

// Calls `args` and returns the reply; an error reply is
// CommandFailure(kExitFailed) carrying the server's message.
RespReply CallOrFail(RespClient& client, const std::vector<std::string>& args);

}  // namespace synap::cli
