// Backup: the directory where a repair copies every byte before it removes
// it, so that nothing a repair takes is lost for good.
//
// Files keep their path relative to the data directory: a whole file goes
// to <backup>/<rel>, the removed end of a truncated file, bytes
// [offset, end), to <backup>/<rel>.from-<offset>. 1 MiB runs of zeros are
// left as holes, so a preallocated segment's zeroed end costs no disk, and
// the copy still reads back byte for byte. Every file is fdatasynced as it is
// written and every directory created or filled is fsynced by Sync(), which
// the repair calls before it changes anything.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/io/backend.h"

namespace synap::check {

class Backup {
 public:
  // Whether `dir` may take a backup: it must not exist, or be an empty
  // directory (else AlreadyExists), and must not lie inside `data_root`
  // (InvalidArgument: a repair of the directory would be backing up into
  // what it repairs).
  static Status CheckTarget(const std::string& dir, const std::string& data_root);

  Backup(io::IoBackend* io, std::string dir) : io_(io), dir_(std::move(dir)) {}

  // Copies bytes [from, to) of `src` into <dir>/<rel>, a new file (creating
  // its directories), and fdatasyncs it. IOError/NoSpace from the backend.
  Status CopyRange(const std::string& src, uint64_t from, uint64_t to, const std::string& rel);
  // Writes `bytes` as <dir>/<rel>.
  Status WriteFile(const std::string& rel, std::string_view bytes);
  // Makes every directory entry created so far durable.
  Status Sync();

  const std::string& dir() const { return dir_; }

 private:
  Result<io::FileHandle> Create(const std::string& rel);

  io::IoBackend* io_;
  std::string dir_;
  std::set<std::string> dirs_;  // directories holding files written here
};

}  // namespace synap::check
