// libsynap: synap_verify, synap_repair, synap_inspect_json (synap.h,
// "Offline tools"): integrity tools on a data directory no process has open,
// through engine/check (verifier, repairer, inspector) on the synchronous
// I/O backend — they read and write with plain system calls, as recovery
// does, and need no ring.
#include "capi/capi_common.h"
#include "engine/check/inspector.h"
#include "engine/check/repairer.h"
#include "engine/check/verifier.h"
#include "engine/io/sync_backend.h"

namespace {

using namespace synap::capi;

// Hands a JSON document to the caller: malloc'd, NUL-terminated.
void Give(const std::string& json, char** out, size_t* len) {
  char* p = static_cast<char*>(std::malloc(json.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, json.data(), json.size());
  p[json.size()] = '\0';
  *out = p;
  if (len != nullptr) *len = json.size();
}

// "<file>:<offset>: <what>" for the message of a failed verify.
std::string Summary(const synap::check::VerifyReport& r) {
  const synap::check::Finding& f = r.findings.front();
  std::string m = std::to_string(r.findings.size()) + (r.findings.size() == 1 ? " problem" : " problems") + " in " +
                  r.dir.root + "; first: " + f.file + ":" + std::to_string(f.offset) + ": " +
                  synap::check::ProblemName(f.problem) + " (" + f.detail + "; recovery " +
                  synap::check::VerdictName(f.verdict) + ")";
  return m;
}

}  // namespace

extern "C" {

int synap_verify(const char* dir, synap_progress_fn progress, void* user, char** report_json, size_t* len) {
  return Guard([&] {
    REQUIRE(report_json != nullptr, "report_json must not be NULL");
    *report_json = nullptr;
    if (len != nullptr) *len = 0;
    REQUIRE(dir != nullptr && dir[0] != '\0', "dir must not be NULL or empty");
    synap::io::SyncBackend io;
    synap::check::ProgressFn fn;
    if (progress != nullptr)
      fn = [&](const char* phase, uint64_t done, uint64_t total) { progress(user, phase, done, total); };
    synap::Result<std::unique_ptr<synap::check::VerifyReport>> r = synap::check::Verify(&io, dir, fn);
    if (!r.ok()) return From(r.status());
    const synap::check::VerifyReport& report = **r;
    Give(report.ToJson(), report_json, len);
    if (report.clean()) return Ok();
    return Fail(report.unsupported() ? SYNAP_EUNSUPPORTED : SYNAP_ECORRUPT, Summary(report));
  });
}

int synap_repair(const char* dir, const char* backup_dir, synap_repair_confirm_fn confirm, void* user,
                 char** report_json, size_t* len) {
  return Guard([&] {
    REQUIRE(report_json != nullptr, "report_json must not be NULL");
    *report_json = nullptr;
    if (len != nullptr) *len = 0;
    REQUIRE(dir != nullptr && dir[0] != '\0', "dir must not be NULL or empty");
    REQUIRE(backup_dir != nullptr && backup_dir[0] != '\0', "backup_dir must not be NULL or empty");
    synap::io::SyncBackend io;
    synap::check::ConfirmFn ask;
    if (confirm != nullptr)
      ask = [&](const synap::check::RepairReport& plan) {
        std::string json = plan.ToJson();
        return confirm(user, json.c_str(), json.size()) != 0;
      };
    synap::check::RepairReport report;
    synap::Status st = synap::check::Repair(&io, dir, backup_dir, ask, &report);
    if (!st.ok()) {
      if (report.started) Give(report.ToJson(), report_json, len);  // what was done, for the record
      return From(st);
    }
    Give(report.ToJson(), report_json, len);
    return Ok(report.declined ? SYNAP_NOTSET : SYNAP_OK);
  });
}

int synap_inspect_json(const char* dir, char** json, size_t* len) {
  return Guard([&] {
    REQUIRE(json != nullptr, "json must not be NULL");
    *json = nullptr;
    if (len != nullptr) *len = 0;
    REQUIRE(dir != nullptr && dir[0] != '\0', "dir must not be NULL or empty");
    synap::io::SyncBackend io;
    synap::Result<std::string> r = synap::check::InspectJson(&io, dir);
    if (!r.ok()) return From(r.status());
    Give(*r, json, len);
    return Ok();
  });
}

}  // extern "C"
