// synap-cli inspect DIR: what a data directory holds (synap_inspect_json),
// read-only: log segments, snapshots, queues, rooms, consumer groups and
// topics, as tables for people or, with --json, libsynap's document.
//
// Exit: 0 shown (also when it holds damage: the count is shown; `verify`
// has the details); 1 the directory is held by a server, or the inspection
// failed; 2 a bad command line, a missing directory or one that is not a
// data directory.
#include <cstdio>
#include <memory>
#include <string>

#include "tools/synap-cli/check_output.h"
#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct InspectArgs {
  std::string dir;
  bool json = false;
};

const std::vector<Json>& Items(const Json& j, const char* name) {
  static const std::vector<Json> kNone;
  const Json* v = j.Find(name);
  return v != nullptr ? v->items() : kNone;
}

std::string Codecs(const Json& seg) {
  std::string out;
  if (const Json* c = seg.Find("codecs"); c != nullptr)
    for (const auto& [name, n] : c->members())
      if (n.text() != "0") out += (out.empty() ? "" : ",") + name;
  return out.empty() ? "-" : out;
}

std::string OrDash(const Json& j, const char* name) {
  const Json* v = j.Find(name);
  return v == nullptr || v->is_null() ? "-" : v->text();
}

void PrintLog(const Json& log) {
  std::printf("Log (wal/): %zu segments, LSN %s..%s, next LSN %s, %s\n", Items(log, "segments").size(),
              Text(log, "first_lsn").c_str(), Text(log, "last_lsn").c_str(), Text(log, "next_lsn").c_str(),
              HumanBytes(U64(log, "bytes")).c_str());
  Table t({"SEGMENT", "FIRST LSN", "LAST LSN", "BYTES", "USED", "BATCHES", "RECORDS", "CODECS"});
  for (const Json& s : Items(log, "segments"))
    t.Add({Text(s, "name"), OrDash(s, "first_lsn"), OrDash(s, "last_lsn"), Text(s, "bytes"), Text(s, "used_bytes"),
           Text(s, "batches"), Text(s, "records"), Codecs(s)});
  if (!t.empty()) t.Print(stdout);
}

void PrintSnapshots(const Json& r) {
  std::printf("\nSnapshots: %zu\n", Items(r, "snapshots").size());
  Table t({"FILE", "START LSN", "RECORDS", "BYTES", "STATE"});
  for (const Json& s : Items(r, "snapshots")) {
    const Json* valid = s.Find("valid");
    std::string state = Flag(s, "loaded")                           ? "loaded by an open"
                        : valid != nullptr && valid->text() == "false" ? "damaged: " + Text(s, "error")
                                                                       : "not read (older)";
    t.Add({Text(s, "file"), Text(s, "start_lsn"), Text(s, "records"), Text(s, "bytes"), state});
  }
  if (!t.empty()) t.Print(stdout);
}

void PrintQueues(const Json& r) {
  std::printf("\nQueues: %zu\n", Items(r, "queues").size());
  Table t({"QUEUE", "READY", "IN FLIGHT", "DELAYED", "DEAD"});
  for (const Json& q : Items(r, "queues"))
    t.Add({Text(q, "name"), Text(q, "ready"), Text(q, "in_flight"), Text(q, "delayed"), Text(q, "dead")});
  if (!t.empty()) t.Print(stdout);
}

void PrintRooms(const Json& r) {
  std::printf("\nRooms: %zu\n", Items(r, "rooms").size());
  Table t({"ROOM", "EARLIEST", "NEXT", "SEGMENTS", "BYTES", "CODEC", "FSYNC", "CLEANUP", "RETENTION"});
  for (const Json& room : Items(r, "rooms")) {
    const Json* s = room.Find("settings");
    Json none;
    const Json& st = s != nullptr ? *s : none;
    std::string retention = (U64(st, "retention_bytes") == 0 ? "-" : HumanBytes(U64(st, "retention_bytes"))) + "/" +
                            (U64(st, "retention_ms") == 0 ? "-" : Text(st, "retention_ms") + " ms");
    t.Add({Text(room, "name"), Text(room, "earliest_offset"), Text(room, "next_offset"),
           std::to_string(Items(room, "segments").size()), Text(room, "bytes"), Text(st, "codec"), Text(st, "fsync"),
           Text(st, "cleanup"), retention});
  }
  if (!t.empty()) t.Print(stdout);
}

void PrintGroups(const Json& r) {
  std::printf("\nConsumer groups: %zu commit(s)\n", Items(r, "groups").size());
  Table t({"GROUP", "ROOM", "COMMITTED"});
  for (const Json& g : Items(r, "groups")) t.Add({Text(g, "group"), Text(g, "room"), Text(g, "committed")});
  if (!t.empty()) t.Print(stdout);
  if (!Items(r, "topics").empty()) {
    std::printf("\nTopics: %zu\n", Items(r, "topics").size());
    Table tt({"TOPIC", "PARTITIONS"});
    for (const Json& x : Items(r, "topics")) tt.Add({Text(x, "topic"), Text(x, "partitions")});
    tt.Print(stdout);
  }
}

void PrintHuman(const Json& r) {
  const Json* log = r.Find("log");
  if (log != nullptr) PrintLog(*log);
  PrintSnapshots(r);
  PrintQueues(r);
  PrintRooms(r);
  PrintGroups(r);
  uint64_t problems = U64(r, "problems");
  std::printf("\n%s\n", problems == 0 ? "No damage met while reading."
                                      : (std::to_string(problems) + " problem(s) met while reading: run `synap-cli "
                                                                     "verify` for where and what")
                                            .c_str());
  for (const Json& n : Items(r, "notes")) std::printf("note: %s: %s\n", Text(n, "file").c_str(), Text(n, "note").c_str());
}

int RunInspect(const InspectArgs& a) {
  RequireDataDir(a.dir);
  char* text = nullptr;
  size_t len = 0;
  int rc = synap_inspect_json(a.dir.c_str(), &text, &len);
  std::string error = rc == SYNAP_OK ? "" : SynapError(rc);
  Json report = TakeReport(text, len, "synap_inspect_json");
  switch (rc) {
    case SYNAP_OK:
      if (a.json) {
        std::printf("%s\n", report.Dump().c_str());
      } else {
        PrintHuman(report);
      }
      return kExitOk;
    case SYNAP_ELOCKED: Fail(kExitFailed, HeldMessage(a.dir));
    case SYNAP_EINVAL: Fail(kExitUsage, error);
    default: Fail(kExitFailed, a.dir + ": " + error);
  }
}

RunFn SetupInspect(CLI::App* cmd) {
  auto a = std::make_shared<InspectArgs>();
  cmd->add_option("DIR", a->dir, "The data directory (no server may have it open)")->required();
  cmd->add_flag("--json", a->json, "Print libsynap's JSON document instead of tables");
  return Guarded([a] { return RunInspect(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("inspect", "Show a data directory's segments, snapshots, queues, rooms and groups, read-only",
                  SetupInspect);

}  // namespace synap::cli
