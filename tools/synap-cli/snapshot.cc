// synap-cli snapshot DIR: takes a snapshot now (synap_open, synap_snapshot,
// synap_close) and prints where it went and what it holds, from
// synap_stats_json's "snapshot" section.
//
// Exit: 0 taken; 1 the directory is held or the snapshot failed; 2 a bad
// command line or a missing directory.
#include <cstdio>
#include <string>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct SnapshotArgs {
  OfflineArgs offline;
  bool json = false;
};

int RunSnapshot(const SnapshotArgs& a) {
  OfflineDb db(a.offline);
  if (int rc = synap_snapshot(db.db()); rc != SYNAP_OK)
    Fail(kExitFailed, "snapshot of " + a.offline.dir + ": " + SynapError(rc));
  Json stats = LibJson("synap_stats_json", [&](char** j, size_t* n) { return synap_stats_json(db.db(), j, n); });
  db.Close();
  const Json* s = stats.Find("snapshot");
  if (s == nullptr) Fail(kExitFailed, "synap_stats_json has no \"snapshot\" section");
  if (a.json) {
    Json out = Json::Object();
    const std::pair<const char*, const char*> fields[] = {
        {"path", "last_path"},       {"start_lsn", "last_start_lsn"},
        {"records", "last_records"}, {"file_bytes", "last_file_bytes"},
        {"ms", "last_ms"},           {"segments_removed", "segments_removed"}};
    for (const auto& [out_name, name] : fields) {
      const Json* v = s->Find(name);
      out.Set(out_name, v != nullptr ? *v : Json());
    }
    std::printf("%s\n", out.Dump().c_str());
    return kExitOk;
  }
  std::printf("snapshot %s\n", Field(stats, "snapshot", "last_path").c_str());
  std::printf("  start LSN              %s\n", Field(stats, "snapshot", "last_start_lsn").c_str());
  std::printf("  records                %s\n", Field(stats, "snapshot", "last_records").c_str());
  std::printf("  file bytes             %s\n", Field(stats, "snapshot", "last_file_bytes").c_str());
  std::printf("  took                   %s ms\n", Field(stats, "snapshot", "last_ms").c_str());
  std::printf("  log segments removed   %s\n", Field(stats, "snapshot", "segments_removed").c_str());
  return kExitOk;
}

RunFn SetupSnapshot(CLI::App* cmd) {
  auto a = std::make_shared<SnapshotArgs>();
  AddOfflineArgs(cmd, &a->offline);
  cmd->add_flag("--json", a->json, "One JSON object: path, start_lsn, records, file_bytes, ms, segments_removed");
  return Guarded([a] { return RunSnapshot(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("snapshot", "Take a snapshot of a data directory now (the server stopped)", SetupSnapshot);

}  // namespace synap::cli
