// ListSnapshots and RetainNewest: the directory of snapshots, by name alone.
#include <algorithm>
#include <cerrno>

#include "engine/snapshot/snapshot_file.h"

namespace synap::snapshot {
namespace {

struct Listing {
  bool exists = false;
  std::vector<SnapshotMeta> finished;  // newest first
  std::vector<std::string> temps;      // "<20 digits>.snap.tmp" paths
};

Result<Listing> Scan(io::IoBackend* io, const std::string& dir) {
  if (io == nullptr || dir.empty()) return Status::InvalidArgument("snapshot directory: no backend or empty path");
  Listing out;
  Result<std::vector<std::string>> names = io->list_dir(dir);
  if (!names.ok()) {
    if (names.status().os_error() == ENOENT) return out;  // no snapshot taken yet
    return names.status();
  }
  out.exists = true;
  for (const std::string& name : *names) {
    Lsn lsn = 0;
    if (ParseSnapshotFileName(name, &lsn)) {
      SnapshotMeta m;
      m.path = dir + "/" + name;
      m.start_lsn = lsn;
      out.finished.push_back(std::move(m));
    } else if (ParseTempFileName(name, &lsn)) {
      out.temps.push_back(dir + "/" + name);
    }
  }
  // Names are unique per LSN, so the order is total.
  std::sort(out.finished.begin(), out.finished.end(),
            [](const SnapshotMeta& a, const SnapshotMeta& b) { return a.start_lsn > b.start_lsn; });
  return out;
}

// Gone already counts as removed (another cleaner may have been first).
Status RemoveFile(io::IoBackend* io, const std::string& path) {
  Status st = io->remove(path);
  return st.ok() || st.os_error() == ENOENT ? Status::Ok() : st;
}

}  // namespace

Result<std::vector<SnapshotMeta>> ListSnapshots(io::IoBackend* io, const std::string& dir) {
  Result<Listing> l = Scan(io, dir);
  if (!l.ok()) return l.status();
  return std::move(l->finished);
}

Result<std::vector<SnapshotMeta>> RetainNewest(io::IoBackend* io, const std::string& dir, size_t keep) {
  if (keep == 0) return Status::InvalidArgument("RetainNewest: keep must be >= 1 (would delete every snapshot)");
  Result<Listing> l = Scan(io, dir);
  if (!l.ok()) return l.status();
  std::vector<SnapshotMeta>& snaps = l->finished;
  // Oldest first among the doomed, so a failure part-way keeps the newest.
  for (size_t i = snaps.size(); i > keep; --i) SYNAP_RETURN_IF_ERROR(RemoveFile(io, snaps[i - 1].path));
  for (const std::string& t : l->temps) SYNAP_RETURN_IF_ERROR(RemoveFile(io, t));
  if (snaps.size() > keep) snaps.resize(keep);
  // Also when nothing was removed here: removals of an earlier call that
  // failed before its fsync become durable now.
  if (l->exists) SYNAP_RETURN_IF_ERROR(io->sync_dir(dir));
  return std::move(snaps);
}

}  // namespace synap::snapshot
