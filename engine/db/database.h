// Database: one engine instance on one data directory.
//
// It owns the pieces and their order: the directory lock, the I/O backend
// and group committer, the log, the data models, and the background thread
// (snapshot triggers, the expiry sweep). Recovery = the newest valid
// snapshot + the log replayed from that snapshot's start LSN, each record
// routed to its data model by its first byte.
//
// Layout of a data directory (docs/format.md):
//   LOCK                     flock'ed while open
//   wal/<20-digit LSN>.log   log segments (engine/log)
//   snapshots/<20-digit LSN>.snap   snapshots (engine/snapshot)
//   streams/<room>/...       stream rooms, each its own log (engine/stream)
//
// Thread-safety: every method may be called from any thread, except Close(),
// which must be the last call.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/status.h"
#include "engine/db/db_options.h"
#include "engine/kv/kv_store.h"
#include "engine/log/recovery.h"
#include "engine/pubsub/pubsub.h"
#include "engine/queue/queue_store.h"
#include "engine/stream/stream_store.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"

namespace synap::db {

// What Open found and did.
struct OpenReport {
  std::string snapshot;                 // the snapshot loaded ("" if none)
  log::Lsn snapshot_start_lsn = 0;
  uint64_t snapshot_records = 0;
  uint64_t snapshot_bytes = 0;          // raw bytes of the snapshot's records
  std::vector<std::string> snapshots_skipped;  // damaged ones, with the reason
  log::RecoveryReport log;
  uint64_t log_bytes_replayed = 0;      // bytes of replayed records
  double snapshot_ms = 0, log_ms = 0, total_ms = 0;
  std::string backend;                  // the I/O backend in use
  std::string backend_fallback;         // why io_uring was not used, if it was not
};

struct SnapshotStats {
  uint64_t taken = 0;
  uint64_t failed = 0;
  std::string last_error;
  std::string last_path;
  log::Lsn last_start_lsn = 0;
  uint64_t last_records = 0;
  uint64_t last_file_bytes = 0;
  double last_ms = 0;
  uint64_t segments_removed = 0;
};

class Database {
 public:
  // Opens (creating if needed) the data directory `path`. Errors:
  // InvalidArgument (options), Locked, Corruption, Unsupported, IOError,
  // NoSpace.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const DbOptions& opts);
  ~Database();  // Close() if still open

  // Stops the background thread, flushes and closes the log, releases the
  // lock. Returns the first error met; the instance is closed either way.
  Status Close();
  // Makes every write so far durable, whatever the fsync mode.
  Status Sync();
  // Writes a snapshot on the background thread and waits for it.
  Status Snapshot();

  kv::KvStore& kv() { return *kv_; }
  queue::QueueStore& queues() { return *queues_; }
  pubsub::PubSub& pubsub() { return pubsub_; }
  stream::StreamStore& streams() { return *streams_; }
  wal::Wal& wal() { return *wal_; }
  const OpenReport& report() const { return report_; }
  std::string StatsJson();

 private:
  explicit Database(std::string path, const DbOptions& opts);
  Status Recover();
  Status LoadNewestSnapshot(log::Lsn* replay_from);
  void BackgroundLoop();
  Status WriteSnapshot();  // background thread only

  std::string path_;
  DbOptions opts_;
  OpenReport report_;
  io::FileHandle lock_ = io::kInvalidFile;
  io::IoBackend* io_ = nullptr;  // owned by committer_
  std::unique_ptr<wal::GroupCommitter> committer_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<kv::KvStore> kv_;
  std::unique_ptr<queue::QueueStore> queues_;
  pubsub::PubSub pubsub_;  // in memory only: nothing to recover
  std::unique_ptr<stream::StreamStore> streams_;  // its own logs, on the same committer

  std::thread background_;
  std::mutex mu_;  // guards what follows
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t snapshots_requested_ = 0;  // on-demand requests so far
  uint64_t snapshots_served_ = 0;     // requests the finished snapshots answer
  Status last_snapshot_;              // the result of the latest snapshot
  SnapshotStats snapshot_stats_;
  bool closed_ = false;
};

}  // namespace synap::db
