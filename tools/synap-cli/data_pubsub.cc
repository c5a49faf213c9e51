// `synap-cli pubsub publish|subscribe`: Synap's in-memory pub/sub, online
// only (PUBLISH, PSUBSCRIBE). Pub/sub keeps nothing on disk: its bus lives in
// the process that has the store open, so a synap-cli that opened a data
// directory itself would publish to, or listen on, a bus no one else is on.
// Both commands accept --dir only to refuse it clearly (exit 2).
//
// Topics are '.'-separated levels; in a pattern `*` is exactly one level (or
// a glob inside one) and a trailing `#` any number of levels
// (docs/pubsub.md). A pattern without wildcards matches its one topic.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/data_target.h"

namespace synap::cli {
namespace {

void RefuseOffline(const DataOptions& d) {
  if (d.offline())
    Fail(kExitUsage, "pub/sub is online only: its messages live in the memory of the process that holds the "
                     "store, so there is nothing to publish to or read in " + d.dir +
                     ". Run it without --dir, against the server (-h/-p)");
}

RunFn SetupPublish(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string topic, message;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("topic", a->topic, "The topic (levels separated by '.', no wildcards)")->required();
  cmd->add_option("message", a->message, "The message")->required();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    RefuseOffline(a->data);
    auto client = ConnectToServer();
    int64_t receivers = CallOrFail(*client, {"PUBLISH", a->topic, a->message}).integer;
    if (a->data.json) PrintJson(Json::Object().Set("topic", a->topic).Set("receivers", receivers));
    else std::printf("delivered to %lld subscriber(s)\n", static_cast<long long>(receivers));
    return kExitOk;
  });
}

// A pub/sub frame: a message ["message", topic, payload] or ["pmessage",
// pattern, topic, payload] (a RESP3 push or a RESP2 array), or a
// confirmation ["psubscribe", pattern, count].
struct Frame {
  std::string kind, pattern, topic, payload;
};

Frame ReadFrame(RespClient& client) {
  RespReply r = client.Read();
  if (r.is_error()) Fail(kExitFailed, "the server answered PSUBSCRIBE with: " + r.str);
  Frame f;
  if (!r.is_list() || r.elems.empty()) return f;  // not a pub/sub frame: skipped by the caller
  f.kind = r.elems[0].str;
  if (f.kind == "pmessage" && r.elems.size() == 4) {
    f.pattern = r.elems[1].str, f.topic = r.elems[2].str, f.payload = r.elems[3].str;
  } else if (f.kind == "message" && r.elems.size() == 3) {
    f.topic = r.elems[1].str, f.payload = r.elems[2].str;
  }
  return f;
}

RunFn SetupSubscribe(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::vector<std::string> patterns;
    uint64_t count = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("patterns", a->patterns, "Topic patterns ('*' one level, a trailing '#' any number)")->required();
  cmd->add_option("--count", a->count, "Stop after this many messages (default: at Ctrl-C)");
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    RefuseOffline(a->data);
    InstallInterruptHandler();  // Ctrl-C ends the wait quietly, exit 0
    auto client = ConnectToServer();
    std::vector<std::string> args = {"PSUBSCRIBE"};
    args.insert(args.end(), a->patterns.begin(), a->patterns.end());
    client->Send(args);
    for (size_t confirmed = 0; confirmed < a->patterns.size();)
      if (ReadFrame(*client).kind == "psubscribe") confirmed++;
    // On stderr, so that stdout holds only messages; scripts may wait for it.
    std::fprintf(stderr, "synap-cli: subscribed to %zu pattern(s) on %s; Ctrl-C to stop\n", a->patterns.size(),
                 client->name().c_str());
    for (uint64_t n = 0; a->count == 0 || n < a->count;) {
      Frame f = ReadFrame(*client);
      if (f.kind != "pmessage" && f.kind != "message") continue;
      if (a->data.json)
        PrintJson(Json::Object()
                      .Set("pattern", Json::Bytes(f.pattern))
                      .Set("topic", Json::Bytes(f.topic))
                      .Set("payload", Json::Bytes(f.payload)));
      else std::printf("%s  %s\n", Printable(f.topic).c_str(), Printable(f.payload).c_str());
      std::fflush(stdout);
      n++;
    }
    return kExitOk;
  });
}

}  // namespace

SYNAP_CLI_GROUP("pubsub", "In-memory topics on a running server (online only)");
SYNAP_CLI_COMMAND("pubsub publish", "Publish a message; print how many subscribers took it", SetupPublish);
SYNAP_CLI_COMMAND("pubsub subscribe", "Print messages of matching topics until Ctrl-C (or --count)", SetupSubscribe);

}  // namespace synap::cli
