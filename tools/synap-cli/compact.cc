// synap-cli compact DIR [--room NAME]: the offline checkpoint.
//  1. A snapshot (synap_snapshot), after which libsynap deletes the main
//     log's segments older than the oldest snapshot it keeps
//     (snapshot.keep, 5 by default; -o snapshot.keep=1 keeps only this one,
//     and so the least log).
//  2. Compaction (synap_stream_compact) of every room whose cleanup policy
//     compacts (compact, or compact,delete), or of the one room named. A
//     room whose policy only deletes is left alone: compacting it would drop
//     events its policy keeps, so naming one needs --force.
// The engine's own periodic maintenance is held off for the command's
// duration (stream.maintenance_ms at its ceiling), so the counts printed
// are this command's.
//
// Exit: 0 done; 1 the directory is held, a room is missing or not
// compactable, or a step failed; 2 a bad command line or a missing directory.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct CompactArgs {
  OfflineArgs offline;
  std::string room;  // "": every compactable room
  bool force = false;
  bool json = false;
};

Json RoomInfo(synap_db* db, const std::string& room) {
  return LibJson("synap_stream_info_json " + room,
                 [&](char** j, size_t* n) { return synap_stream_info_json(db, room.c_str(), j, n); });
}

// Compacts one room (or says why not) and returns its entry of the report.
Json CompactRoom(synap_db* db, const std::string& room, bool named, bool force) {
  Json before = RoomInfo(db, room);
  std::string cleanup = Field(before, "settings", "cleanup");
  Json out = Json::Object().Set("room", room).Set("cleanup", cleanup);
  if (cleanup.find("compact") == std::string::npos && !force) {
    if (named)
      Fail(kExitFailed, "room " + room + " has cleanup=" + cleanup +
                            ": compacting it would drop events its policy "
                            "keeps; pass --force to compact it anyway");
    return out.Set("compacted", false);
  }
  uint64_t dropped = 0;
  if (int rc = synap_stream_compact(db, room.c_str(), &dropped); rc != SYNAP_OK)
    Fail(kExitFailed, "compaction of room " + room + ": " + SynapError(rc));
  Json after = RoomInfo(db, room);
  const Json* b = before.Find("bytes");
  const Json* a = after.Find("bytes");
  return out.Set("compacted", true)
      .Set("dropped", dropped)
      .Set("bytes_before", b != nullptr ? *b : Json())
      .Set("bytes_after", a != nullptr ? *a : Json());
}

std::vector<std::string> RoomsToCompact(synap_db* db, const CompactArgs& a) {
  if (!a.room.empty()) {
    uint64_t next = 0;
    int rc = synap_stream_bounds(db, a.room.c_str(), nullptr, &next);
    if (rc == SYNAP_NOTFOUND) Fail(kExitFailed, "no room '" + a.room + "' in " + a.offline.dir);
    if (rc != SYNAP_OK) Fail(rc == SYNAP_EINVAL ? kExitUsage : kExitFailed, "room " + a.room + ": " + SynapError(rc));
    return {a.room};
  }
  std::vector<std::string> rooms;
  if (int rc = synap_stream_list(db, CollectName, &rooms); rc != SYNAP_OK)
    Fail(kExitFailed, "listing rooms: " + SynapError(rc));
  return rooms;
}

void PrintText(const Json& report) {
  const Json& s = *report.Find("snapshot");
  std::printf("checkpoint: snapshot %s (start LSN %s, %s records, %s bytes); %s log segment(s) removed\n",
              s.Find("path")->text().c_str(), s.Find("start_lsn")->text().c_str(), s.Find("records")->text().c_str(),
              s.Find("file_bytes")->text().c_str(), s.Find("segments_removed")->text().c_str());
  for (const Json& r : report.Find("rooms")->items()) {
    std::string name = r.Find("room")->text(), cleanup = r.Find("cleanup")->text();
    if (r.Find("compacted")->text() == "true") {
      std::printf("room %s (cleanup=%s): %s event(s) dropped, %s -> %s bytes\n", name.c_str(), cleanup.c_str(),
                  r.Find("dropped")->text().c_str(), r.Find("bytes_before")->text().c_str(),
                  r.Find("bytes_after")->text().c_str());
    } else {
      std::printf("room %s (cleanup=%s): left alone (its policy does not compact)\n", name.c_str(), cleanup.c_str());
    }
  }
}

int RunCompact(const CompactArgs& a) {
  OfflineDb db(a.offline, {{"stream.maintenance_ms", "3600000"}});
  std::vector<std::string> rooms = RoomsToCompact(db.db(), a);  // a missing room fails before anything is written
  if (int rc = synap_snapshot(db.db()); rc != SYNAP_OK)
    Fail(kExitFailed, "snapshot of " + a.offline.dir + ": " + SynapError(rc));
  Json stats = LibJson("synap_stats_json", [&](char** j, size_t* n) { return synap_stats_json(db.db(), j, n); });
  auto member = [&](const char* name) {
    const Json* s = stats.Find("snapshot");
    const Json* v = s != nullptr ? s->Find(name) : nullptr;
    return v != nullptr ? *v : Json();
  };
  Json snap = Json::Object()
                  .Set("path", member("last_path"))
                  .Set("start_lsn", member("last_start_lsn"))
                  .Set("records", member("last_records"))
                  .Set("file_bytes", member("last_file_bytes"))
                  .Set("segments_removed", member("segments_removed"));
  Json done = Json::Array();
  for (const std::string& room : rooms) done.Push(CompactRoom(db.db(), room, !a.room.empty(), a.force));
  db.Close();
  Json report = Json::Object().Set("snapshot", snap).Set("rooms", done);
  if (a.json) {
    std::printf("%s\n", report.Dump().c_str());
  } else {
    PrintText(report);
  }
  return kExitOk;
}

RunFn SetupCompact(CLI::App* cmd) {
  auto a = std::make_shared<CompactArgs>();
  AddOfflineArgs(cmd, &a->offline);
  CLI::Option* room = cmd->add_option("--room", a->room,
                                      "Compact only this room (default: every room whose cleanup "
                                      "policy compacts)");
  cmd->add_flag("--force", a->force, "With --room: compact it even if its cleanup policy is delete")->needs(room);
  cmd->add_flag("--json", a->json, "One JSON object: snapshot, rooms");
  return Guarded([a] { return RunCompact(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("compact", "Checkpoint a data directory (snapshot, log cleanup) and compact its rooms", SetupCompact);

}  // namespace synap::cli
