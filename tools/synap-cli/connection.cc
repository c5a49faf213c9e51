#include "tools/synap-cli/connection.h"

#include <cstdlib>

#include "tools/synap-cli/command_failure.h"

namespace synap::cli {

RespEndpoint& ServerEndpoint() {
  static RespEndpoint endpoint;
  return endpoint;
}

void AddConnectionOptions(CLI::App* app) {
  RespEndpoint& e = ServerEndpoint();
  app->add_option("-h,--host", e.host, "Server host for online commands and the prompt")
      ->capture_default_str()
      ->group("Connection");
  app->add_option("-p,--port", e.port, "Server port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str()
      ->group("Connection");
  app->add_option("-a,--password", e.password, "Password (AUTH); default: $SYNAP_CLI_AUTH")->group("Connection");
  app->add_flag("--resp3", e.resp3, "Speak RESP3 (HELLO 3)")->group("Connection");
}

std::unique_ptr<RespClient> ConnectToServer() {
  RespEndpoint e = ServerEndpoint();
  if (e.password.empty()) {
    if (const char* env = std::getenv("SYNAP_CLI_AUTH")) e.password = env;
  }
  try {
    return std::make_unique<RespClient>(e);
  } catch (const RespError& err) {
    std::string hint = std::string(err.what()).rfind("cannot connect", 0) == 0
                           ? " (is synap-server running there? Set -h/-p, or give --dir DIR to work on a data "
                             "directory offline)"
                           : "";
    Fail(kExitFailed, err.what() + hint);
  }
}

RespReply CallOrFail(RespClient& client, const std::vector<std::string>& args) {
  RespReply r = client.Call(args);
  if (r.is_error()) Fail(kExitFailed, "the server answered " + args[0] + " with: " + r.str);
  return r;
}

}  // namespace synap::cli
