// synap-cli stats DIR [--json]: opens the data directory (as the server
// would: recovery runs, and may trim a torn tail) and prints
// synap_stats_json — keys and memory, the WAL, snapshots, the open's
// recovery report, streams — then each queue (synap_queue_stats_json) and
// each room (synap_stream_info_json).
//
// Exit: 0 printed; 1 the directory is held or cannot be opened; 2 a bad
// command line or a missing directory.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct StatsArgs {
  OfflineArgs offline;
  bool json = false;
};

// "1.5 MiB" for byte counts of 1 KiB and more.
std::string HumanBytes(const std::string& text) {
  uint64_t n = 0;
  try {
    n = std::stoull(text);
  } catch (...) {
    return "";
  }
  if (n < 1024) return "";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%.1f %s)", v, units[u]);
  return buf;
}

bool IsByteCount(const std::string& name) {
  return name.find("bytes") != std::string::npos || name.find("memory") != std::string::npos;
}

// An object's members, one per line, nested objects indented under their name.
void PrintObject(const Json& obj, int indent) {
  for (const auto& [name, v] : obj.members()) {
    if (v.kind() == Json::Kind::kObject) {
      std::printf("%*s%s:\n", indent, "", name.c_str());
      PrintObject(v, indent + 2);
      continue;
    }
    std::string value = v.kind() == Json::Kind::kArray ? v.Dump() : v.text();
    if (value.empty()) value = "-";
    if (v.kind() == Json::Kind::kNumber && IsByteCount(name)) value += HumanBytes(value);
    int width = 26 - indent;
    std::printf("%*s%-*s %s\n", indent, "", width > 0 ? width : 0, name.c_str(), value.c_str());
  }
}

// The named object's members under a heading "<title> <name>".
void PrintNamed(const char* title, const std::string& name, const Json& j, const char* name_field) {
  std::printf("  %s %s\n", title, name.c_str());
  Json rest = Json::Object();
  for (const auto& [k, v] : j.members())
    if (k != name_field) rest.Set(k, v);
  PrintObject(rest, 4);
}

int RunStats(const StatsArgs& a) {
  OfflineDb db(a.offline, {}, "ask the server itself: synap-cli info (-h HOST -p PORT)");
  Json stats = LibJson("synap_stats_json", [&](char** j, size_t* n) { return synap_stats_json(db.db(), j, n); });
  std::vector<std::string> queue_names, room_names;
  if (int rc = synap_queue_list(db.db(), CollectName, &queue_names); rc != SYNAP_OK)
    Fail(kExitFailed, "listing queues: " + SynapError(rc));
  if (int rc = synap_stream_list(db.db(), CollectName, &room_names); rc != SYNAP_OK)
    Fail(kExitFailed, "listing rooms: " + SynapError(rc));
  Json queues = Json::Array(), rooms = Json::Array();
  for (const std::string& q : queue_names)
    queues.Push(LibJson("synap_queue_stats_json " + q,
                        [&](char** j, size_t* n) { return synap_queue_stats_json(db.db(), q.c_str(), j, n); }));
  for (const std::string& r : room_names)
    rooms.Push(LibJson("synap_stream_info_json " + r,
                       [&](char** j, size_t* n) { return synap_stream_info_json(db.db(), r.c_str(), j, n); }));
  db.Close();
  if (a.json) {
    std::printf("%s\n", Json::Object().Set("stats", stats).Set("queues", queues).Set("rooms", rooms).Dump().c_str());
    return kExitOk;
  }
  const Json* version = stats.Find("version");
  std::printf("data directory %s (synap %s)\n", a.offline.dir.c_str(),
              version != nullptr ? version->text().c_str() : "?");
  Json sections = Json::Object();
  for (const auto& [k, v] : stats.members())
    if (k != "version" && k != "path") sections.Set(k, v);
  PrintObject(sections, 0);
  std::printf("queues: %zu\n", queue_names.size());
  for (size_t i = 0; i < queue_names.size(); i++) PrintNamed("queue", queue_names[i], queues.items()[i], "queue");
  std::printf("rooms: %zu\n", room_names.size());
  for (size_t i = 0; i < room_names.size(); i++) PrintNamed("room", room_names[i], rooms.items()[i], "room");
  return kExitOk;
}

RunFn SetupStats(CLI::App* cmd) {
  auto a = std::make_shared<StatsArgs>();
  AddOfflineArgs(cmd, &a->offline);
  cmd->add_flag("--json", a->json, "One JSON object: stats (synap_stats_json), queues, rooms");
  return Guarded([a] { return RunStats(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("stats", "Open a data directory and print its statistics, queues and rooms", SetupStats);

}  // namespace synap::cli
