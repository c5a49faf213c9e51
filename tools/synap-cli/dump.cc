// synap-cli dump DIR: a data directory's log records as JSON lines on
// stdout (synap_dump; the line format is in docs/cli.md). Read-only: it
// never opens the directory as an engine would, changes nothing, and refuses
// a directory that a running server holds.
//
// Exit: 0 done; 1 the directory is held, a room is missing, or the log is
// damaged (the lines before the damage are printed); 2 a bad command line
// or a missing directory.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/offline_db.h"

namespace synap::cli {
namespace {

struct DumpArgs {
  std::string dir;
  std::vector<std::string> types;
  std::string prefix, queue, room;
  uint64_t from_lsn = 0, to_lsn = 0, from_offset = 0, to_offset = 0;
  bool base64 = false;
  CLI::Option *from_lsn_opt, *to_lsn_opt, *from_offset_opt, *to_offset_opt, *prefix_opt, *queue_opt, *room_opt;
};

// synap_dump's filter values are percent-decoded: encode every byte that
// is not plainly safe, so a prefix may hold spaces, ';', '%' or any byte.
std::string PercentEncode(const std::string& v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-' || c == ':' || c == '/' || c == ',';
    if (safe) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FilterText(const DumpArgs& a) {
  std::string f;
  auto add = [&](const char* name, const std::string& value) {
    f += std::string(name) + "=" + PercentEncode(value) + " ";
  };
  if (*a.from_lsn_opt) add("from_lsn", std::to_string(a.from_lsn));
  if (*a.to_lsn_opt) add("to_lsn", std::to_string(a.to_lsn));
  if (!a.types.empty()) {
    std::string t;
    for (const std::string& x : a.types) t += (t.empty() ? "" : ",") + x;
    add("type", t);
  }
  if (*a.prefix_opt) add("prefix", a.prefix);
  if (*a.queue_opt) add("queue", a.queue);
  if (*a.room_opt) add("room", a.room);
  if (*a.from_offset_opt) add("from_offset", std::to_string(a.from_offset));
  if (*a.to_offset_opt) add("to_offset", std::to_string(a.to_offset));
  if (a.base64) add("encoding", "base64");
  return f;
}

// Writes one line; a failed write (a closed pipe, a full disk) stops the dump.
int WriteLine(void* user, const char* line, size_t len) {
  bool* write_failed = static_cast<bool*>(user);
  if (std::fwrite(line, 1, len, stdout) != len || std::fputc('\n', stdout) == EOF) {
    *write_failed = true;
    return 1;
  }
  return 0;
}

int RunDump(const DumpArgs& a) {
  RequireDataDir(a.dir);
  bool write_failed = false;
  int rc = synap_dump(a.dir.c_str(), FilterText(a).c_str(), WriteLine, &write_failed);
  if (std::fflush(stdout) != 0) write_failed = true;
  if (write_failed) Fail(kExitFailed, "cannot write to standard output");
  switch (rc) {
    case SYNAP_OK: return kExitOk;
    case SYNAP_NOTFOUND: Fail(kExitFailed, "no room '" + a.room + "' in " + a.dir + "/streams");
    case SYNAP_ELOCKED: Fail(kExitFailed, HeldMessage(a.dir));
    case SYNAP_EINVAL: Fail(kExitUsage, SynapError(rc));
    default: Fail(kExitFailed, a.dir + ": " + SynapError(rc));
  }
}

RunFn SetupDump(CLI::App* cmd) {
  auto a = std::make_shared<DumpArgs>();
  cmd->add_option("DIR", a->dir, "The data directory")->required();
  a->from_lsn_opt = cmd->add_option("--from-lsn", a->from_lsn, "Main log: the first LSN to show");
  a->to_lsn_opt = cmd->add_option("--to-lsn", a->to_lsn, "Main log: the last LSN to show (inclusive)");
  cmd->add_option("--type", a->types, "kv, queue, stream-meta (repeatable or comma-separated; default: kv and queue)")
      ->delimiter(',')
      ->check(CLI::IsMember({"kv", "queue", "stream-meta"}));
  a->prefix_opt = cmd->add_option("--prefix", a->prefix, "Only KV operations on keys starting with this");
  a->queue_opt = cmd->add_option("--queue", a->queue, "Only records of this queue");
  a->room_opt = cmd->add_option("--room", a->room, "Dump this room's events instead of the main log");
  a->from_offset_opt = cmd->add_option("--from-offset", a->from_offset, "Room or stream-meta: the first offset");
  a->to_offset_opt = cmd->add_option("--to-offset", a->to_offset, "Room or stream-meta: the last offset (inclusive)");
  cmd->add_flag("--base64", a->base64,
                "Every byte field as a base64 string (default: text if UTF-8, else {\"base64\":..})");
  return Guarded([a] { return RunDump(*a); });
}

}  // namespace

SYNAP_CLI_COMMAND("dump", "Print a data directory's log records (or a room's events) as JSON lines, read-only",
                  SetupDump);

}  // namespace synap::cli
