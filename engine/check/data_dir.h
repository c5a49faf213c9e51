// DataDir: a data directory as the offline tools see it — where each part
// lives (engine/db/database.h has the layout) — and DirLock, the tools'
// hold on its LOCK file.
//
// The offline tools (verify, repair, inspect) never open a Database: they
// read the files through the engine's own readers. They take the same LOCK
// the engine takes (flock, exclusive, non-blocking), so they never read a
// directory a server is writing, and a server cannot start while they run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"

namespace synap::check {

struct DataDir {
  std::string root;  // as given, without a trailing '/'

  std::string Wal() const { return root + "/wal"; }
  std::string Snapshots() const { return root + "/snapshots"; }
  std::string Streams() const { return root + "/streams"; }
  std::string Room(const std::string& name) const { return Streams() + "/" + name; }
  // `path` relative to root ("wal/0...1.log"): how reports name files.
  std::string Relative(const std::string& path) const;
};

// The room directories a StreamStore would open: valid room names and the
// store's own "__meta", in name order. A missing streams/ has none. Names of
// a delete in progress (".deleted.*") are left out: the next open removes them.
Result<std::vector<std::string>> ListRoomDirs(io::IoBackend* io, const DataDir& dir);

// Holds <root>/LOCK locked (flock) until destroyed. The file is opened
// read-only: taking the lock writes nothing. The engine locks exclusively,
// so either kind keeps a server out. Readers (verify, inspect, dump) share
// the lock and may run side by side; a writer (repair) takes it alone.
class DirLock {
 public:
  enum class Mode : uint8_t { kShared, kExclusive };
  // Errors: InvalidArgument (root is not a directory, or holds none of
  // LOCK, wal/, snapshots/, streams/: not a data directory), Locked (a
  // server or another handle holds it; the message names the directory),
  // IOError. A data directory without a LOCK file (copied without it) is
  // accepted unlocked: nothing can hold a lock on a file that does not
  // exist, and the engine creates it before it locks. `locked()` says which.
  static Result<DirLock> Take(const std::string& root, Mode mode);
  DirLock(DirLock&& o) noexcept;
  DirLock& operator=(DirLock&& o) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();
  bool locked() const { return fd_ >= 0; }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Strips trailing slashes ("/data/" -> "/data"; "/" stays).
std::string CleanPath(std::string path);

}  // namespace synap::check
