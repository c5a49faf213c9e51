// synap-cli repair DIR: makes a damaged data directory open again
// (synap_repair): cuts a torn tail, truncates a log at its last good batch
// on corruption (dropping its later segments), removes damaged snapshots
// and room indexes — after copying every byte it removes into a backup
// directory (--backup, default DIR.repair-<timestamp>). It shows the plan
// first: with --dry-run that is all it does; without --yes it asks on a
// terminal and refuses elsewhere. Then it prints exactly what it removed.
//
// Exit: 0 repaired (the directory now opens) or nothing to repair; 1 the
// repair was declined or failed, problems remain that it cannot fix, or a
// server holds the directory; 2 a bad command line, a missing directory, or
// a backup directory that exists and is not empty.
#include <unistd.h>

#include <ctime>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "tools/synap-cli/check_output.h"
#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct RepairArgs {
  std::string dir, backup;
  bool yes = false, dry_run = false, json = false;
};

std::string DefaultBackup(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return dir + ".repair-" + stamp;
}

// "; LSN 5..9 lost" for a log segment's bytes; nothing for other files.
std::string Lost(const Json& a) {
  const Json* l = a.Find("lost");
  const std::string file = Text(a, "file");
  bool segment = file.size() > 4 && file.compare(file.size() - 4, 4, ".log") == 0;
  if (l == nullptr || l->is_null()) return segment ? "; no valid record in them" : "";
  return "; " + Text(*l, "unit") + " " + Text(*l, "first") + ".." + Text(*l, "last") + " lost";
}

// The actions of a plan or a report, one line each, then what each log loses.
void PrintActions(std::FILE* out, const Json& r, bool done) {
  const Json* actions = r.Find("actions");
  if (actions == nullptr) return;
  for (const Json& a : actions->items()) {
    bool truncate = Text(a, "action") == "truncate";
    std::string what = truncate ? (done ? "truncated " : "truncate ") + Text(a, "file") + " at byte " + Text(a, "offset")
                                : (done ? "removed " : "remove ") + Text(a, "file");
    std::fprintf(out, "  %s: %s%s; backup %s\n      why: %s\n", what.c_str(), HumanBytes(U64(a, "bytes")).c_str(),
                 Lost(a).c_str(), Text(a, "backup").c_str(), Text(a, "reason").c_str());
  }
  if (const Json* lost = r.Find("lost"); lost != nullptr)
    for (const Json& l : lost->items()) {
      const Json* to = l.Find("to");
      std::fprintf(out, "  %s loses %s %s on%s\n", Text(l, "log").c_str(), Text(l, "unit").c_str(),
                   Text(l, "from").c_str(),
                   to != nullptr && !to->is_null() ? (" (valid batches beyond the cut reach " + to->text() + ")").c_str()
                                                   : " (nothing readable beyond the cut)");
    }
}

void PrintUnrepaired(std::FILE* out, const Json& r) {
  const Json* u = r.Find("unrepaired");
  if (u == nullptr || u->items().empty()) return;
  std::fprintf(out, "not repaired (a truncation does not fix these):\n");
  for (const Json& p : u->items()) std::fprintf(out, "  %s\n", ProblemLine(p).c_str());
}

bool UnrepairedHarm(const Json& r) {
  const Json* u = r.Find("unrepaired");
  if (u == nullptr) return false;
  for (const Json& p : u->items())
    if (!Flag(p, "harmless")) return true;
  return false;
}

struct Asker {
  const RepairArgs* args;
  std::string refusal;  // why it said no, when not asked to
};

// Shows the plan; says yes only when the user does (or --yes, which skips this).
int Confirm(void* user, const char* plan_json, size_t len) {
  Asker* ask = static_cast<Asker*>(user);
  Json plan;
  std::string error;
  if (!Json::Parse(std::string(plan_json, len), &plan, &error)) return 0;
  std::FILE* out = ask->args->json ? stderr : stdout;
  if (ask->args->dry_run && ask->args->json) {
    std::printf("%s\n", plan.Dump().c_str());
  } else {
    std::fprintf(out, "repair plan for %s (every byte removed is first copied into %s):\n", Text(plan, "dir").c_str(),
                 Text(plan, "backup_dir").c_str());
    PrintActions(out, plan, false);
    PrintUnrepaired(out, plan);
  }
  if (ask->args->dry_run) return 0;
  if (::isatty(STDIN_FILENO) != 1 || ::isatty(STDERR_FILENO) != 1) {
    ask->refusal = "not repairing without confirmation: standard input is not a terminal (pass --yes)";
    return 0;
  }
  std::fprintf(stderr, "Remove these bytes from %s? [y/N] ", Text(plan, "dir").c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return 0;
  return answer == "y" || answer == "Y" || answer == "yes" ? 1 : 0;
}

int Report(const RepairArgs& a, const Json& r) {
  if (a.json) {
    std::printf("%s\n", r.Dump().c_str());
  } else {
    const Json* actions = r.Find("actions");
    if (actions == nullptr || actions->items().empty()) {
      std::printf("%s: nothing to repair\n", Text(r, "dir").c_str());
    } else {
      std::printf("repaired %s; backup in %s (REPAIR.json there lists every action):\n", Text(r, "dir").c_str(),
                  Text(r, "backup_dir").c_str());
      PrintActions(stdout, r, true);
    }
    PrintUnrepaired(stdout, r);
    if (const Json* after = r.Find("after"); after != nullptr && !after->is_null())
      std::printf("after the repair: %s problem(s); the directory %s\n", Text(*after, "problems").c_str(),
                  Flag(*after, "opens") ? "opens" : "still does not open");
  }
  const Json* after = r.Find("after");
  bool opens = after == nullptr || after->is_null() || Flag(*after, "opens");
  return opens && !UnrepairedHarm(r) ? kExitOk : kExitFailed;
}

int RunRepair(RepairArgs a) {
  RequireDataDir(a.dir);
  if (a.backup.empty()) a.backup = DefaultBackup(a.dir);
  Asker ask{&a, ""};
  char* text = nullptr;
  size_t len = 0;
  int rc = synap_repair(a.dir.c_str(), a.backup.c_str(), a.yes && !a.dry_run ? nullptr : Confirm, &ask, &text, &len);
  std::string error = rc == SYNAP_OK || rc == SYNAP_NOTSET ? "" : SynapError(rc);
  Json report = TakeReport(text, len, "synap_repair");
  switch (rc) {
    case SYNAP_OK: return Report(a, report);
    case SYNAP_NOTSET:
      if (a.dry_run) return kExitOk;
      Fail(kExitFailed, ask.refusal.empty() ? "repair declined: nothing changed" : ask.refusal);
    case SYNAP_ELOCKED: Fail(kExitFailed, HeldMessage(a.dir));
    case SYNAP_EINVAL:
    case SYNAP_EEXIST: Fail(kExitUsage, error);
    default:
      if (!report.is_null()) {
        std::fprintf(stderr, "the repair failed part-way; what it did:\n");
        PrintActions(stderr, report, true);
      }
      Fail(kExitFailed, a.dir + ": " + error);
  }
}

RunFn SetupRepair(CLI::App* cmd) {
  auto a = std::make_shared<RepairArgs>();
  cmd->add_option("DIR", a->dir, "The data directory (no server may have it open)")->required();
  cmd->add_option("--backup", a->backup,
                  "Where every byte removed is copied first (created; must be new or empty; default DIR.repair-<time>)");
  cmd->add_flag("-y,--yes", a->yes, "Repair without asking");
  cmd->add_flag("--dry-run", a->dry_run, "Only show what would be removed; change nothing");
  cmd->add_flag("--json", a->json, "Print libsynap's JSON report (the plan, with --dry-run)");
  return Guarded([a] { return RunRepair(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("repair", "Cut a torn tail or truncate at the last good batch, backing up what goes", SetupRepair);

}  // namespace synap::cli
