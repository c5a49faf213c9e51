#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace synap::fuzz {

std::string ScratchDir(const std::string& tag) {
  namespace fs = std::filesystem;
  std::string base;
  if (const char* env = std::getenv("SYNAP_FUZZ_TMPDIR"); env != nullptr && *env != '\0') {
    base = env;
  } else if (access("/dev/shm", W_OK) == 0) {
    base = "/dev/shm";
  } else if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
    base = tmp;
  } else {
    base = "/tmp";
  }
  std::string dir = base + "/synap-fuzz-" + tag + "-" + std::to_string(getpid());
  std::error_code ec;
  fs::create_directories(dir, ec);
  FUZZ_CHECK(!ec, "cannot create %s: %s", dir.c_str(), ec.message().c_str());
  return dir;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace synap::fuzz
