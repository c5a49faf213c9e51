// `synap-cli ping` and `synap-cli info [section]`: is the server there, and
// what does it report (INFO). Online only; the offline counterpart of info
// is `synap-cli stats DIR`.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/data_target.h"

namespace synap::cli {
namespace {

RunFn SetupPing(CLI::App* cmd) {
  struct Args {
    std::string message;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("message", a->message, "Have the server echo this instead of PONG");
  cmd->add_flag("--json", a->json, "Print JSON (the reply and the round trip in ms)");
  return Guarded([a] {
    auto client = ConnectToServer();
    std::vector<std::string> args = {"PING"};
    if (!a->message.empty()) args.push_back(a->message);
    auto t0 = std::chrono::steady_clock::now();
    RespReply r = CallOrFail(*client, args);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (a->json) PrintJson(Json::Object().Set("reply", Json::Bytes(r.str)).Set("latency_ms", ms));
    else std::printf("%s\n", Printable(r.str).c_str());
    return kExitOk;
  });
}

// INFO's text ("# Server\r\nname:value\r\n...") as {"server": {"name": "value"}}:
// section names in lower case, values as the text the server sent.
Json InfoJson(const std::string& text) {
  Json doc = Json::Object();
  Json section = Json::Object();
  std::string name;
  auto flush = [&] {
    if (!name.empty()) doc.Set(name, std::move(section));
    section = Json::Object();
  };
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(at, nl - at);
    at = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] == '#') {
      flush();
      name = line.substr(line.find_first_not_of("# "));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (name.empty()) name = "default";
    section.Set(line.substr(0, colon), Json::Bytes(line.substr(colon + 1)));
  }
  flush();
  return doc;
}

RunFn SetupInfo(CLI::App* cmd) {
  struct Args {
    std::string section;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("section", a->section,
                  "server, clients, memory, persistence, stats, keyspace, queues, streams, or all (default: the "
                  "usual ones)");
  cmd->add_flag("--json", a->json, "Print JSON: {section: {field: value}}");
  return Guarded([a] {
    auto client = ConnectToServer();
    std::vector<std::string> args = {"INFO"};
    if (!a->section.empty()) args.push_back(a->section);
    std::string text = CallOrFail(*client, args).str;
    if (a->json) {
      PrintJson(InfoJson(text));
      return kExitOk;
    }
    std::string out;
    for (char c : text)
      if (c != '\r') out += c;
    std::fputs(out.c_str(), stdout);
    return kExitOk;
  });
}

}  // namespace

SYNAP_CLI_COMMAND("ping", "Check that the server answers (online)", SetupPing);
SYNAP_CLI_COMMAND("info", "Print the server's INFO, or one section of it (online)", SetupInfo);

}  // namespace synap::cli
