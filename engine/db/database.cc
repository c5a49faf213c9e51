#include "engine/db/database.h"

#include <algorithm>
#include <cstdio>

#include "engine/base/clock.h"
#include "engine/base/json_writer.h"
#include "engine/base/version.h"
#include "engine/kv/kv_record.h"
#include "engine/queue/queue_record.h"
#include "engine/snapshot/snapshot_file.h"

namespace synap::db {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr unsigned kQueueDepth = 64;
// Buckets copied per lock hold while snapshotting: keeps a shard's writers
// waiting at most for a few hundred keys' copy.
constexpr uint32_t kSnapshotBucketsPerStep = 256;

}  // namespace

Database::Database(std::string path, const DbOptions& opts) : path_(std::move(path)), opts_(opts) {}

Database::~Database() { Close(); }

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const DbOptions& opts) {
  if (path.empty()) return Status::InvalidArgument("empty data directory path");
  SYNAP_RETURN_IF_ERROR(opts.Validate());
  std::unique_ptr<Database> db(new Database(path, opts));
  Status st = db->Recover();
  if (!st.ok()) {
    db->Close();
    return st;
  }
  db->background_ = std::thread([d = db.get()] { d->BackgroundLoop(); });
  return db;
}

Status Database::Recover() {
  Clock::time_point t0 = Clock::now();
  std::string reason;
  Result<std::unique_ptr<io::IoBackend>> backend =
      opts_.make_backend ? Result<std::unique_ptr<io::IoBackend>>(opts_.make_backend())
                         : io::OpenBackend(opts_.backend, kQueueDepth, &reason);
  if (!backend.ok()) return backend.status();
  report_.backend = (*backend)->name();
  report_.backend_fallback = reason;
  io_ = backend->get();
  committer_ = std::make_unique<wal::GroupCommitter>(std::move(*backend));
  SYNAP_RETURN_IF_ERROR(io_->make_dir(path_));
  Result<io::FileHandle> lock = io_->lock_file(path_ + "/LOCK");
  if (!lock.ok()) {
    if (lock.status().code() == Status::Code::kLocked)
      return Status::Locked("data directory " + path_ + " is in use by another process or handle");
    return lock.status();
  }
  lock_ = *lock;

  kv_ = std::make_unique<kv::KvStore>(opts_.kv);
  queues_ = std::make_unique<queue::QueueStore>(opts_.queue);
  log::Lsn replay_from = 1;
  Clock::time_point ts = Clock::now();
  SYNAP_RETURN_IF_ERROR(LoadNewestSnapshot(&replay_from));
  report_.snapshot_ms = MsSince(ts);

  // The log: every record from the snapshot's start on, routed by model.
  Clock::time_point tl = Clock::now();
  Status replay_error;
  uint64_t since_progress = 0;
  auto replay = [&](log::Lsn, std::span<const uint8_t> rec) {
    if (!replay_error.ok()) return;
    report_.log_bytes_replayed += rec.size();
    if (rec.empty()) {
      replay_error = Status::Corruption("empty record in the log");
    } else if (rec[0] == kv::kModelKv) {
      replay_error = kv_->Replay(rec);
    } else if (rec[0] == queue::kModelQueue) {
      replay_error = queues_->Replay(rec);
    } else {
      replay_error = Status::Unsupported("log record of unknown data model " + std::to_string(rec[0]) +
                                         " (written by a newer version?)");
    }
    if (opts_.progress && (since_progress += rec.size()) >= (64u << 20)) {
      since_progress = 0;
      opts_.progress("log", report_.log_bytes_replayed, 0);
    }
  };
  wal::WalOptions wo = opts_.wal;
  wo.dir = path_ + "/wal";
  Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(committer_.get(), wo, replay, &report_.log, replay_from);
  if (!w.ok()) return w.status();
  wal_ = std::move(*w);
  if (replay_error.ok()) replay_error = kv_->FinishReplay();
  if (!replay_error.ok()) return replay_error;
  if (opts_.progress) opts_.progress("log", report_.log_bytes_replayed, report_.log_bytes_replayed);
  report_.log_ms = MsSince(tl);
  kv_->Attach(wal_.get());
  queues_->Attach(wal_.get());
  Result<std::unique_ptr<stream::StreamStore>> streams =
      stream::StreamStore::Open(committer_.get(), path_ + "/streams", opts_.stream);
  if (!streams.ok()) return streams.status().WithContext("streams");
  streams_ = std::move(*streams);
  report_.total_ms = MsSince(t0);
  return Status::Ok();
}

// Newest first; a damaged snapshot is skipped (and reported) in favour of an
// older one, whose longer log replay gives the same state. A newer format
// version or an I/O error stops the open: falling back would hide it.
Status Database::LoadNewestSnapshot(log::Lsn* replay_from) {
  std::string dir = path_ + "/snapshots";
  Result<std::vector<snapshot::SnapshotMeta>> list = snapshot::ListSnapshots(io_, dir);
  if (!list.ok()) return list.status();
  for (const snapshot::SnapshotMeta& m : *list) {
    snapshot::ReadOptions ro;
    if (opts_.progress) ro.progress = [this](uint64_t done, uint64_t total) { opts_.progress("snapshot", done, total); };
    Result<snapshot::SnapshotMeta> r = snapshot::ReadSnapshot(
        io_, m.path,
        [&](uint8_t type, std::span<const uint8_t> payload) -> Status {
          if (type == kv::kSnapshotKvEntry) return kv_->LoadSnapshotEntry(payload);
          if (type == queue::kSnapshotQueue || type == queue::kSnapshotMessage || type == queue::kSnapshotQueueStore)
            return queues_->LoadSnapshotRecord(type, payload);
          return Status::Unsupported("snapshot record of unknown type " + std::to_string(type));
        },
        ro);
    if (r.ok()) {
      report_.snapshot = r->path;
      report_.snapshot_start_lsn = r->start_lsn;
      report_.snapshot_records = r->records;
      report_.snapshot_bytes = r->raw_bytes;
      *replay_from = r->start_lsn;
      return Status::Ok();
    }
    if (r.status().code() != Status::Code::kCorruption) return r.status();
    std::fprintf(stderr, "synap: skipping damaged snapshot %s: %s\n", m.path.c_str(), r.status().message().c_str());
    report_.snapshots_skipped.push_back(m.path + ": " + r.status().message());
    kv_ = std::make_unique<kv::KvStore>(opts_.kv);  // drop what the damaged one loaded
    queues_ = std::make_unique<queue::QueueStore>(opts_.queue);
  }
  return Status::Ok();
}

Status Database::Close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  if (background_.joinable()) background_.join();
  Status st;
  if (streams_ != nullptr) st = streams_->Close();
  streams_.reset();
  if (wal_ != nullptr) {
    Status ws = wal_->Close();
    if (st.ok()) st = ws;
  }
  wal_.reset();
  kv_.reset();
  queues_.reset();
  if (lock_ != io::kInvalidFile) io_->close(lock_);  // releases the directory
  lock_ = io::kInvalidFile;
  committer_.reset();  // after the log: it must be unregistered first
  return st;
}

Status Database::Sync() {
  SYNAP_RETURN_IF_ERROR(wal_->Sync());
  return streams_->Sync();
}

Status Database::Snapshot() {
  std::unique_lock<std::mutex> lk(mu_);
  if (stopping_) return Status::Closed("the database is closing");
  uint64_t ticket = ++snapshots_requested_;
  cv_.notify_all();
  cv_.wait(lk, [&] { return snapshots_served_ >= ticket || stopping_; });
  if (snapshots_served_ < ticket) return Status::Closed("the database closed before the snapshot was written");
  return last_snapshot_;
}

void Database::BackgroundLoop() {
  Clock::time_point last_snapshot = Clock::now();
  uint64_t writes_at_snapshot = 0;  // the counter starts at 0 at open: count every write since
  Clock::time_point next_sweep = Clock::now();
  Clock::time_point next_maintenance = Clock::now() + std::chrono::milliseconds(opts_.stream.maintenance_ms);
  std::unique_lock<std::mutex> lk(mu_);
  while (!stopping_) {
    uint32_t tick_ms = opts_.kv.active_expire_ms != 0 ? std::min<uint32_t>(opts_.kv.active_expire_ms, 1000) : 1000;
    tick_ms = std::min(tick_ms, opts_.stream.maintenance_ms);
    cv_.wait_for(lk, std::chrono::milliseconds(tick_ms),
                 [&] { return stopping_ || snapshots_requested_ > snapshots_served_; });
    if (stopping_) break;
    uint64_t wanted = snapshots_requested_;
    lk.unlock();
    kv_->DrainAll();
    (void)queues_->Tick();  // an error here is the log's, reported by the next write
    if (opts_.kv.active_expire_ms != 0 && Clock::now() >= next_sweep && wal_->status().ok()) {
      kv_->SweepExpired();  // an error here is the log's, reported by the next write
      next_sweep = Clock::now() + std::chrono::milliseconds(opts_.kv.active_expire_ms);
    }
    if (Clock::now() >= next_maintenance) {
      streams_->Maintain(WallMs());  // errors are counted in the stats ("stream.maintenance")
      next_maintenance = Clock::now() + std::chrono::milliseconds(opts_.stream.maintenance_ms);
    }
    uint64_t writes = kv_->stats().writes;
    bool by_time = opts_.snapshot.interval_secs != 0 && writes != writes_at_snapshot &&
                   Clock::now() - last_snapshot >= std::chrono::seconds(opts_.snapshot.interval_secs);
    bool by_count = opts_.snapshot.operation_threshold != 0 &&
                    writes - writes_at_snapshot >= opts_.snapshot.operation_threshold;
    bool on_demand = wanted > snapshots_served_;
    Status st;
    if (by_time || by_count || on_demand) {
      writes_at_snapshot = writes;
      last_snapshot = Clock::now();
      st = WriteSnapshot();
    }
    lk.lock();
    if (by_time || by_count || on_demand) {
      last_snapshot_ = st;
      snapshots_served_ = std::max(snapshots_served_, wanted);
      cv_.notify_all();
    }
  }
}

Status Database::WriteSnapshot() {
  Clock::time_point t0 = Clock::now();
  std::string dir = path_ + "/snapshots";
  log::Lsn start = kv_->SnapshotStart();
  snapshot::WriterOptions wo;
  wo.zstd_level = opts_.snapshot.zstd_level;
  auto fail = [&](const Status& st) {
    std::lock_guard<std::mutex> lk(mu_);
    snapshot_stats_.failed++;
    snapshot_stats_.last_error = st.ToString();
    return st;
  };
  Result<std::unique_ptr<snapshot::SnapshotWriter>> w = snapshot::SnapshotWriter::Create(io_, dir, start, wo);
  if (!w.ok()) return fail(w.status());
  // Copy a few buckets under the shard's lock, write them without it.
  std::vector<std::string> chunk;
  for (uint32_t shard = 0; shard < kv_->shard_count(); shard++) {
    uint64_t cursor = 0;
    do {
      chunk.clear();
      cursor = kv_->SnapshotStep(shard, cursor, kSnapshotBucketsPerStep,
                                 [&](std::string_view k, std::string_view v, int64_t expire_at_ms) {
                                   chunk.emplace_back();
                                   kv::EncodeSnapshotEntry(k, v, expire_at_ms, &chunk.back());
                                 });
      for (const std::string& rec : chunk) {
        Status st = (*w)->Add(kv::kSnapshotKvEntry,
                              std::span(reinterpret_cast<const uint8_t*>(rec.data()), rec.size()));
        if (!st.ok()) return fail(st);
      }
    } while (cursor != 0);
  }
  // Queues: each copied whole under the store's lock; their records are
  // idempotent too, so the same start LSN holds.
  Status qs = queues_->ForEachSnapshotRecord(
      [&](uint8_t type, std::span<const uint8_t> payload) { return (*w)->Add(type, payload); });
  if (!qs.ok()) return fail(qs);
  Result<snapshot::SnapshotMeta> meta = (*w)->Finish();
  if (!meta.ok()) return fail(meta.status());
  // Keep the newest `keep`, and the log back to the oldest one kept, so a
  // damaged newest snapshot can fall back to an older one plus more log.
  Result<std::vector<snapshot::SnapshotMeta>> kept = snapshot::RetainNewest(io_, dir, opts_.snapshot.keep);
  if (!kept.ok()) return fail(kept.status());
  Result<uint64_t> removed = wal_->RemoveSegmentsBelow(kept->back().start_lsn);
  if (!removed.ok()) return fail(removed.status());
  std::lock_guard<std::mutex> lk(mu_);
  snapshot_stats_.taken++;
  snapshot_stats_.last_path = meta->path;
  snapshot_stats_.last_start_lsn = meta->start_lsn;
  snapshot_stats_.last_records = meta->records;
  snapshot_stats_.last_file_bytes = meta->file_bytes;
  snapshot_stats_.last_ms = MsSince(t0);
  snapshot_stats_.segments_removed += *removed;
  return Status::Ok();
}

std::string Database::StatsJson() {
  kv::KvStats k = kv_->stats();
  wal::WalStats w = wal_->stats();
  JsonWriter j;
  j.Str("version", kVersion).Str("path", path_);
  j.BeginObject("kv")
      .U64("keys", k.keys)
      .U64("used_memory", k.used_memory)
      .U64("maxmemory", opts_.kv.maxmemory)
      .Str("maxmemory_policy", kv::EvictionPolicyName(opts_.kv.policy))
      .U64("pending", k.pending)
      .U64("writes", k.writes)
      .U64("expired_keys", k.expired)
      .U64("evicted_keys", k.evicted)
      .EndObject();
  j.BeginObject("queue").U64("queues", queues_->List().size()).EndObject();
  stream::MaintenanceStats ms = streams_->maintenance_stats();
  j.BeginObject("stream")
      .U64("rooms", streams_->ListRooms().size())
      .U64("topics", streams_->ListTopics().size())
      .U64("maintenance_passes", ms.passes)
      .U64("segments_deleted", ms.segments_deleted)
      .U64("compactions", ms.compactions)
      .U64("events_compacted", ms.events_compacted)
      .U64("maintenance_errors", ms.errors)
      .Str("last_maintenance_error", ms.last_error)
      .EndObject();
  j.BeginObject("wal")
      .Str("fsync_mode", wal::FsyncModeName(opts_.wal.fsync))
      .Str("mechanism", w.mechanism)
      .U64("appends", w.appends)
      .U64("batches", w.batches)
      .U64("batch_bytes", w.batch_bytes)
      .U64("syncs", w.syncs)
      .U64("segments_created", w.segments_created)
      .U64("last_lsn", w.last_lsn)
      .U64("durable_lsn", w.durable_lsn)
      .U64("acked_lsn", w.acked_lsn)
      .Str("status", wal_->status().ok() ? "ok" : wal_->status().ToString())
      .EndObject();
  {
    std::lock_guard<std::mutex> lk(mu_);
    j.BeginObject("snapshot")
        .U64("taken", snapshot_stats_.taken)
        .U64("failed", snapshot_stats_.failed)
        .Str("last_error", snapshot_stats_.last_error)
        .Str("last_path", snapshot_stats_.last_path)
        .U64("last_start_lsn", snapshot_stats_.last_start_lsn)
        .U64("last_records", snapshot_stats_.last_records)
        .U64("last_file_bytes", snapshot_stats_.last_file_bytes)
        .Num("last_ms", snapshot_stats_.last_ms)
        .U64("segments_removed", snapshot_stats_.segments_removed)
        .EndObject();
  }
  j.BeginObject("recovery")
      .Str("snapshot", report_.snapshot)
      .U64("snapshot_start_lsn", report_.snapshot_start_lsn)
      .U64("snapshot_records", report_.snapshot_records)
      .U64("snapshot_bytes", report_.snapshot_bytes)
      .U64("snapshots_skipped", report_.snapshots_skipped.size())
      .U64("log_segments", report_.log.segments)
      .U64("log_records", report_.log.records)
      .U64("log_replayed", report_.log.replayed)
      .U64("log_bytes_replayed", report_.log_bytes_replayed)
      .U64("log_cuts", report_.log.cuts.size())
      .Num("snapshot_ms", report_.snapshot_ms)
      .Num("log_ms", report_.log_ms)
      .Num("total_ms", report_.total_ms)
      .Str("backend", report_.backend)
      .EndObject();
  return j.Finish();
}

}  // namespace synap::db
