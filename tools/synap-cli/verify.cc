// synap-cli verify DIR: reads every log batch, snapshot, room segment and
// room index of a data directory and checks every checksum (synap_verify),
// changing nothing. Each problem is printed as "file:offset: what: detail
// (recovery <verdict>)"; --json prints libsynap's report instead. A progress
// bar goes to stderr when it is a terminal (not with --quiet).
//
// Exit: 0 clean, or nothing but torn tails (what a crash leaves by design:
// an open trims them and nothing acknowledged is lost; they are printed);
// 1 any other problem (harmless ones included: a damaged snapshot or room
// index means bytes changed after they were synced), the directory is held
// by a server, or the check failed; 2 a bad command line, a missing
// directory or one that is not a data directory.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "tools/synap-cli/check_output.h"
#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct VerifyArgs {
  std::string dir;
  bool json = false;
  bool quiet = false;
};

void OnProgress(void* user, const char* phase, uint64_t done, uint64_t total) {
  static_cast<ProgressBar*>(user)->Update(phase, done, total);
}

bool OnlyTornTails(const Json& r) {
  const Json* problems = r.Find("problems");
  if (problems == nullptr) return false;
  for (const Json& p : problems->items())
    if (Text(p, "what") != "torn tail") return false;
  return true;
}

void PrintHuman(const Json& r, bool quiet) {
  const Json* problems = r.Find("problems");
  const Json* notes = r.Find("notes");
  if (problems != nullptr)
    for (const Json& p : problems->items()) std::printf("%s\n", ProblemLine(p).c_str());
  if (quiet) return;
  if (notes != nullptr)
    for (const Json& n : notes->items()) std::printf("note: %s: %s\n", Text(n, "file").c_str(), Text(n, "note").c_str());
  const Json* c = r.Find("checked");
  Json none;
  const Json& k = c != nullptr ? *c : none;
  std::printf("%s: %s files, %s checked: %s snapshots, %s log segments (%s batches, %s records), %s rooms "
              "(%s segments, %s index files)\n",
              Text(r, "dir").c_str(), Text(k, "files").c_str(), HumanBytes(U64(k, "bytes")).c_str(),
              Text(k, "snapshots").c_str(), Text(k, "log_segments").c_str(), Text(k, "log_batches").c_str(),
              Text(k, "log_records").c_str(), Text(k, "rooms").c_str(), Text(k, "room_segments").c_str(),
              Text(k, "index_files").c_str());
  if (Flag(r, "clean")) {
    std::printf("clean: no problem found\n");
    return;
  }
  size_t count = problems != nullptr ? problems->items().size() : 0;
  if (OnlyTornTails(r)) {
    std::printf("%s: what a crash leaves; an open trims %s, and nothing acknowledged is lost\n",
                count == 1 ? "a torn tail" : "torn tails", count == 1 ? "it" : "them");
    return;
  }
  std::printf("%zu problem%s (%s harmless, %s not); %s\n", count, count == 1 ? "" : "s", Text(r, "harmless").c_str(),
              Text(r, "harmful").c_str(),
              Flag(r, "opens") ? "the directory opens as it is (recovery trims or skips the harmless ones)"
                               : "an open refuses it: see `synap-cli repair` (it removes data; it backs it up first)");
}

int RunVerify(const VerifyArgs& a) {
  RequireDataDir(a.dir);
  ProgressBar bar(!a.quiet && ::isatty(STDERR_FILENO) == 1);
  char* text = nullptr;
  size_t len = 0;
  int rc = synap_verify(a.dir.c_str(), OnProgress, &bar, &text, &len);
  bar.Done();
  std::string error = rc == SYNAP_OK ? "" : SynapError(rc);
  Json report = TakeReport(text, len, "synap_verify");
  switch (rc) {
    case SYNAP_OK:
    case SYNAP_ECORRUPT:
    case SYNAP_EUNSUPPORTED:
      if (report.is_null()) Fail(kExitFailed, a.dir + ": " + error);
      if (a.json) {
        std::printf("%s\n", report.Dump().c_str());
      } else {
        PrintHuman(report, a.quiet);
      }
      return rc == SYNAP_OK || (rc == SYNAP_ECORRUPT && OnlyTornTails(report)) ? kExitOk : kExitFailed;
    case SYNAP_ELOCKED: Fail(kExitFailed, HeldMessage(a.dir));
    case SYNAP_EINVAL: Fail(kExitUsage, error);
    default: Fail(kExitFailed, a.dir + ": " + error);
  }
}

RunFn SetupVerify(CLI::App* cmd) {
  auto a = std::make_shared<VerifyArgs>();
  cmd->add_option("DIR", a->dir, "The data directory (no server may have it open)")->required();
  cmd->add_flag("--json", a->json, "Print libsynap's JSON report instead of lines for people");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress bar and no summary: only the problems (and the exit status)");
  return Guarded([a] { return RunVerify(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("verify", "Check every checksum of a data directory, read-only; exit 1 on damage", SetupVerify);

}  // namespace synap::cli
