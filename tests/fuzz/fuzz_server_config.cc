// Fuzz target: synap-server's config-file reader (--config: TOML or INI with
// sections, read by CLI11 through main.cc's SectionedConfig), then the
// engine options it sets (synap_options_set) and --print-config.
//
// main.cc is compiled into this target: its functions live in an anonymous
// namespace, reachable only from the same translation unit. Its main() is
// renamed into an unused static function, so the compiler drops it and
// Serve() with it, and nothing of the server's event loops is linked.
//
// Input: a config file (seeds: docs/synap-server.toml and variants), handed
// over as /proc/self/fd/<memfd>, as if given with --config.
//
// Invariants, besides no crash, no sanitizer report and no exception
// escaping (CLI11 throws; ParseSettings must turn every throw into an exit
// status):
//  * ParseSettings returns -1 (go on), 2 (a bad key or value) or 0 (a
//    `help` key), never anything else (1: the option table is stale);
//  * what --print-config prints for an accepted file is itself a config
//    file that is accepted and prints the same thing again, values holding
//    '\\', '"' or '#' included (main.cc reads quoted values itself: CLI11
//    2.1's reader did not, found by this target).
#include <sys/mman.h>
#include <unistd.h>

// Everything main.cc includes, first, so that the `main` macro below
// reaches main.cc's own text only.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "tools/synap-server/config_strings.h"
#include "tools/synap-server/event_loop.h"
#include "tools/synap-server/server.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#define main static synap_server_main_unused
#include "tools/synap-server/main.cc"
#undef main
#pragma GCC diagnostic pop

namespace {

// An anonymous in-memory file holding `bytes`; its path is /proc/self/fd/N.
struct MemFile {
  int fd;
  explicit MemFile(std::string_view bytes) : fd(memfd_create("synap-fuzz-config", 0)) {
    FUZZ_CHECK(fd >= 0, "memfd_create: %s", std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
      FUZZ_CHECK(n > 0, "write: %s", std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }
  ~MemFile() { close(fd); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

// What PrintConfig writes to stdout, captured.
std::string Printed(const Settings& s, const synap_options* o) {
  MemFile out("");
  std::fflush(stdout);
  int saved = dup(STDOUT_FILENO);  // -1 when libFuzzer's -close_fd_mask closed stdout
  dup2(out.fd, STDOUT_FILENO);
  PrintConfig(s, o);
  std::fflush(stdout);
  if (saved >= 0) {
    dup2(saved, STDOUT_FILENO);
    close(saved);
  } else {
    close(STDOUT_FILENO);
  }
  return ReadAll(out.fd);
}

// Parses `file` as synap-server does with --config; "" when refused, else
// what --print-config prints.
std::string ParseConfig(std::string_view file, bool* accepted) {
  MemFile config(file);
  std::string path = config.path();
  char arg0[] = "synap-server", arg1[] = "--config";
  char* argv[] = {arg0, arg1, path.data(), nullptr};
  synap_options* raw = nullptr;
  FUZZ_CHECK(synap_options_create(&raw) == SYNAP_OK, "synap_options_create");
  std::unique_ptr<synap_options, void (*)(synap_options*)> opts(raw, synap_options_destroy);
  synap_options_set(raw, "wal.mechanism", "direct");  // as main() does
  Settings s;
  int status = ParseSettings(3, argv, &s, opts.get());
  FUZZ_CHECK(status == -1 || status == 2 || status == 0, "ParseSettings returned %d", status);  // 0: help
  *accepted = status == -1;
  return *accepted ? Printed(s, opts.get()) : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (64u << 10)) return -1;
  bool accepted = false;
  std::string printed = ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size), &accepted);
  if (!accepted) return 0;
  bool again_accepted = false;
  std::string again = ParseConfig(printed, &again_accepted);
  FUZZ_CHECK(again_accepted, "--print-config output is refused as a config file:\n%s", printed.c_str());
  FUZZ_CHECK(again == printed, "--print-config output reads back as different settings:\n%s\n---\n%s",
             printed.c_str(), again.c_str());
  return 0;
}
