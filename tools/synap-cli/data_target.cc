#include "tools/synap-cli/data_target.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "tools/synap-cli/command_failure.h"

namespace synap::cli {

void AddDataOptions(CLI::App* cmd, DataOptions* options) {
  cmd->add_option("--dir", options->dir,
                  "Work offline on this data directory (no server may hold it); default: online, against -h/-p");
  cmd->add_flag("--json", options->json, "Print JSON for scripts instead of text");
}

namespace {

std::string LastError(int rc) {
  std::string msg = synap_last_error();
  return msg.empty() ? synap_strerror(rc) : msg;
}

}  // namespace

int CheckRc(int rc, const std::string& what) {
  if (rc < 0) Fail(kExitFailed, what + ": " + LastError(rc));
  return rc;
}

Store::Store(const std::string& dir, bool create) : dir_(dir) {
  std::error_code ec;
  auto st = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st))
    Fail(kExitUsage, dir + " is not a directory");
  if (!std::filesystem::exists(st) && !create)
    Fail(kExitUsage, "no data directory at " + dir + " (this command does not create one)");
  int rc = synap_open(dir.c_str(), nullptr, &db_);
  if (rc == SYNAP_ELOCKED)
    Fail(kExitFailed, dir + " is held by another process, most likely a running synap-server: run the command "
                            "online instead (without --dir, with -h HOST -p PORT), or stop the server first");
  CheckRc(rc, "cannot open " + dir);
}

Store::~Store() {
  if (db_ == nullptr) return;
  int rc = synap_close(db_);
  if (rc != SYNAP_OK) std::fprintf(stderr, "synap-cli: closing %s: %s\n", dir_.c_str(), LastError(rc).c_str());
}

std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {  // keep a whole valid UTF-8 character, escape a stray byte
      size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
      if (n > 1 && i + n <= s.size() && IsUtf8(s.substr(i, n))) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    i++;
    switch (c) {
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void PrintJson(const Json& doc) {
  std::string text = doc.Dump();
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace synap::cli
