#include "engine/check/inspector.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "engine/base/json_writer.h"
#include "engine/check/data_dir.h"
#include "engine/check/log_scan.h"
#include "engine/kv/kv_record.h"
#include "engine/log/codec.h"
#include "engine/queue/queue_record.h"
#include "engine/queue/queue_store.h"
#include "engine/snapshot/snapshot_file.h"
#include "engine/stream/event.h"
#include "engine/stream/meta_entry.h"
#include "engine/stream/stream_options.h"
#include "engine/wal/options.h"

namespace synap::check {

namespace {

struct SnapshotInfo {
  std::string path, file;
  log::Lsn start_lsn = 0;
  uint64_t records = 0, raw_bytes = 0, file_bytes = 0;
  int64_t created_unix_ms = 0;
  enum class State : uint8_t { kUnread, kValid, kDamaged } state = State::kUnread;
  bool loaded = false;
  std::string error;
};

bool IsDamage(const Finding& f) {
  return f.verdict == Verdict::kRefuses && f.problem != Problem::kMissingSegments;
}

// The counts a snapshot's header and footer state, without reading its
// blocks (only the snapshot an open would load is read whole).
void ReadSnapshotSummary(io::IoBackend* io, SnapshotInfo* s) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(s->path, oo);
  if (!f.ok()) return;
  Result<uint64_t> size = io->file_size(*f);
  uint8_t h[snapshot::kFileHeaderSize], foot[snapshot::kFooterSize];
  snapshot::FileHeader fh;
  snapshot::Footer ft;
  if (size.ok() && *size >= snapshot::kMinFileSize) {
    s->file_bytes = *size;
    Result<size_t> n = io->read_at(*f, 0, h, sizeof h);
    Result<size_t> m = io->read_at(*f, *size - sizeof foot, foot, sizeof foot);
    if (n.ok() && m.ok() && *n == sizeof h && *m == sizeof foot && snapshot::DecodeFileHeader(h, sizeof h, &fh).ok() &&
        snapshot::DecodeFooter(foot, fh.file_id, *size - sizeof foot, &ft).ok()) {
      s->created_unix_ms = fh.created_unix_ms;
      s->records = ft.record_count;
      s->raw_bytes = ft.raw_bytes;
    }
  }
  io->close(*f);
}

class Inspector {
 public:
  Inspector(io::IoBackend* io, std::string root) : io_(io) { dir_.root = std::move(root); }
  Status Run();
  std::string Json() const;

 private:
  void ListSnapshots();
  bool LoadSnapshot();  // into queues_; false if none loaded
  void ScanMainLog();
  void ReplayToLastGoodPoint();
  void ScanRooms();
  void ScanMeta();
  void Problems(const LogScan& s) { problems_ += s.findings.size(); }
  void WriteSegments(JsonWriter& j, const LogScan& s, uint64_t bias) const;
  void WriteRoom(JsonWriter& j, const std::string& name, const LogScan& s) const;

  io::IoBackend* io_;
  DataDir dir_;
  std::vector<SnapshotInfo> snapshots_;
  log::Lsn replay_from_ = 1;
  std::unique_ptr<queue::QueueStore> queues_;
  LogScan log_;
  std::vector<std::pair<std::string, LogScan>> rooms_;
  std::map<std::pair<std::string, std::string>, uint64_t> commits_;  // (group, room) -> offset
  std::map<std::string, uint32_t> topics_;
  uint64_t problems_ = 0;
  std::vector<Note> notes_;
};

Status Inspector::Run() {
  ListSnapshots();
  queues_ = std::make_unique<queue::QueueStore>(queue::QueueStoreOptions{});
  LoadSnapshot();
  ScanMainLog();
  ScanRooms();
  ScanMeta();
  return Status::Ok();
}

void Inspector::ListSnapshots() {
  Result<std::vector<snapshot::SnapshotMeta>> list = snapshot::ListSnapshots(io_, dir_.Snapshots());
  if (!list.ok()) return notes_.push_back({"snapshots", "cannot be listed: " + list.status().ToString()});
  for (const snapshot::SnapshotMeta& m : *list) {
    SnapshotInfo s;
    s.path = m.path;
    s.file = dir_.Relative(m.path);
    s.start_lsn = m.start_lsn;
    ReadSnapshotSummary(io_, &s);
    snapshots_.push_back(std::move(s));
  }
}

// As an open: the newest snapshot that reads back clean, queue records loaded.
bool Inspector::LoadSnapshot() {
  for (SnapshotInfo& s : snapshots_) {
    Result<snapshot::SnapshotMeta> r =
        snapshot::ReadSnapshot(io_, s.path, [this](uint8_t type, std::span<const uint8_t> payload) -> Status {
          if (type == queue::kSnapshotQueue || type == queue::kSnapshotMessage || type == queue::kSnapshotQueueStore)
            return queues_->LoadSnapshotRecord(type, payload);
          if (type == kv::kSnapshotKvEntry) return Status::Ok();
          return Status::Unsupported("snapshot record of unknown type " + std::to_string(type));
        });
    if (r.ok()) {
      s.state = SnapshotInfo::State::kValid;
      s.loaded = true;
      s.records = r->records;
      s.raw_bytes = r->raw_bytes;
      replay_from_ = s.start_lsn;
      return true;
    }
    s.state = SnapshotInfo::State::kDamaged;
    s.error = r.status().ToString();
    queues_ = std::make_unique<queue::QueueStore>(queue::QueueStoreOptions{});  // drop what it loaded
    if (r.status().code() != Status::Code::kCorruption) {
      notes_.push_back({s.file, "an open stops here (" + s.error + "): queue state shown without a snapshot"});
      return false;
    }
  }
  return false;
}

Status QueueRecord(queue::QueueStore* q, std::span<const uint8_t> rec) {
  if (rec.empty()) return Status::Corruption("empty record");
  if (rec[0] == queue::kModelQueue) return q->Replay(rec);
  if (rec[0] == kv::kModelKv) return Status::Ok();
  return Status::Unsupported("log record of unknown data model " + std::to_string(rec[0]));
}

void Inspector::ScanMainLog() {
  LogScanOptions o;
  o.count_codecs = true;
  o.replay_from = replay_from_;
  o.record = [this](size_t, log::Lsn, std::span<const uint8_t> rec) { return QueueRecord(queues_.get(), rec); };
  if (Status st = ScanLog(io_, dir_.Wal(), "wal", o, &log_); !st.ok())
    notes_.push_back({"wal", "cannot be read: " + st.ToString()});
  Problems(log_);
  bool damaged = std::any_of(log_.findings.begin(), log_.findings.end(), IsDamage);
  if (damaged) ReplayToLastGoodPoint();
}

// The scan replayed every valid batch, past the damage too: rebuild the
// queue state from the last good point instead, as a repair would leave it.
void Inspector::ReplayToLastGoodPoint() {
  queues_ = std::make_unique<queue::QueueStore>(queue::QueueStoreOptions{});
  for (SnapshotInfo& s : snapshots_) s.loaded = false, s.state = SnapshotInfo::State::kUnread, s.error.clear();
  LoadSnapshot();
  log::RecoveryOptions ro;
  ro.mode = log::RecoveryMode::kPointInTime;
  ro.read_only = true;
  ro.replay_from = replay_from_;
  Status replay_error;
  ro.replay = [&](log::Lsn, std::span<const uint8_t> rec) {
    if (replay_error.ok()) replay_error = QueueRecord(queues_.get(), rec);
  };
  log::RecoveredLog rec;
  log::RecoveryReport rep;
  Status st = log::RecoverLog(io_, dir_.Wal(), ro, &rec, &rep);
  notes_.push_back({"wal", "the log is damaged (run verify): queues are shown as of LSN " +
                               std::to_string(rec.next_lsn - 1) + ", the last good point, as a repair would leave them" +
                               (st.ok() ? "" : " (" + st.ToString() + ")")});
}

void Inspector::ScanRooms() {
  Result<std::vector<std::string>> rooms = ListRoomDirs(io_, dir_);
  if (!rooms.ok()) return notes_.push_back({"streams", "cannot be listed: " + rooms.status().ToString()});
  for (const std::string& name : *rooms) {
    if (name == stream::kMetaRoomName) continue;
    LogScanOptions o;
    o.area = "room";
    o.room = name;
    o.name_bias = 1;
    o.count_codecs = true;
    LogScan scan;
    if (Status st = ScanLog(io_, dir_.Room(name), "streams/" + name, o, &scan); !st.ok())
      notes_.push_back({"streams/" + name, "cannot be read: " + st.ToString()});
    Problems(scan);
    rooms_.emplace_back(name, std::move(scan));
  }
}

// Consumer-group commits and topics: the meta room's events, the latest entry of each key winning.
void Inspector::ScanMeta() {
  LogScanOptions o;
  o.area = "room";
  o.room = stream::kMetaRoomName;
  o.name_bias = 1;
  o.record = [this](size_t, log::Lsn, std::span<const uint8_t> rec) -> Status {
    stream::EventView ev;
    SYNAP_RETURN_IF_ERROR(stream::DecodeEvent(rec, &ev));
    stream::MetaEntry e = stream::DecodeMetaEntry(ev.key, ev.payload);
    if (e.kind == stream::MetaEntry::Kind::kCommit) {
      std::pair<std::string, std::string> k{std::string(e.group), std::string(e.room)};
      if (e.deleted) {
        commits_.erase(k);
      } else {
        commits_[k] = e.offset;
      }
    } else if (e.kind == stream::MetaEntry::Kind::kTopic) {
      if (e.partitions == 0) {
        topics_.erase(std::string(e.topic));
      } else {
        topics_[std::string(e.topic)] = e.partitions;
      }
    }
    return Status::Ok();
  };
  LogScan scan;
  std::string rel = std::string("streams/") + stream::kMetaRoomName;
  if (Status st = ScanLog(io_, dir_.Room(stream::kMetaRoomName), rel, o, &scan); !st.ok())
    notes_.push_back({rel, "cannot be read: " + st.ToString()});
  Problems(scan);
  if (!scan.findings.empty())
    notes_.push_back({rel, "damaged (run verify): groups and topics shown from its readable events"});
}

void Inspector::WriteSegments(JsonWriter& j, const LogScan& s, uint64_t bias) const {
  const char* first = bias == 1 ? "first_offset" : "first_lsn";
  const char* last = bias == 1 ? "last_offset" : "last_lsn";
  j.BeginArray("segments");
  for (const SegmentScan& g : s.segments) {
    j.BeginObject().Str("name", g.name);
    if (g.batches > 0) {
      j.U64(first, g.first_lsn - bias).U64(last, g.last_lsn - bias);
    } else {
      j.Null(first).Null(last);
    }
    j.U64("bytes", g.file_bytes).U64("used_bytes", g.end_offset).U64("batches", g.batches).U64("records", g.records);
    j.BeginObject("codecs");
    for (log::Codec c : {log::Codec::kNone, log::Codec::kLz4, log::Codec::kZstd})
      j.U64(log::CodecName(c), g.codec_batches[static_cast<size_t>(c)]);
    j.EndObject();
    j.Bool("direct", (g.header.flags & log::kSegmentDirect) != 0)
        .Bool("compacted", (g.header.flags & log::kSegmentCompacted) != 0)
        .Bool("readable", g.kept)
        .EndObject();
  }
  j.EndArray();
}

void Inspector::WriteRoom(JsonWriter& j, const std::string& name, const LogScan& s) const {
  uint64_t used = 0, file_bytes = 0;
  for (const SegmentScan& g : s.segments) used += g.end_offset, file_bytes += g.file_bytes;
  log::Lsn lowest = 0;
  if (!s.segments.empty()) log::ParseSegmentFileName(s.segments.front().name, &lowest);
  uint64_t next = s.next_lsn - 1;
  j.BeginObject().Str("name", name).U64("earliest_offset", s.segments.empty() ? next : lowest).U64("next_offset", next);
  j.U64("bytes", used).U64("file_bytes", file_bytes);
  WriteSegments(j, s, 1);
  // The settings the room was created with (its ROOM file), as an open reads them.
  stream::RoomSettings rs;
  std::string text;
  io::OpenOptions oo;
  oo.read_only = true;
  if (Result<io::FileHandle> f = io_->open(dir_.Room(name) + "/ROOM", oo); f.ok()) {
    Result<uint64_t> size = io_->file_size(*f);
    if (size.ok() && *size < 65536) {
      text.resize(*size);
      Result<size_t> n = io_->read_at(*f, 0, reinterpret_cast<uint8_t*>(text.data()), text.size());
      text.resize(n.ok() ? *n : 0);
    }
    io_->close(*f);
  }
  Status st = rs.Apply(text);
  j.BeginObject("settings")
      .Str("source", text.empty() ? "defaults (no ROOM file)"
                     : st.ok()      ? "ROOM"
                                    : "ROOM (unreadable: " + st.message() + ")")
      .U64("segment_bytes", rs.segment_bytes)
      .U64("retention_bytes", rs.retention_bytes)
      .U64("retention_ms", rs.retention_ms)
      .Str("codec", log::CodecName(rs.codec))
      .Str("fsync", wal::FsyncModeName(rs.fsync))
      .Str("cleanup", stream::CleanupName(rs.cleanup))
      .EndObject();
  j.U64("problems", s.findings.size()).EndObject();
}

std::string Inspector::Json() const {
  JsonWriter j;
  j.Str("dir", dir_.root);
  j.BeginObject("log");
  WriteSegments(j, log_, 0);
  uint64_t bytes = 0;
  for (const SegmentScan& g : log_.segments) bytes += g.file_bytes;
  j.U64("first_lsn", log_.report.first_lsn).U64("last_lsn", log_.report.last_lsn).U64("next_lsn", log_.next_lsn);
  j.U64("bytes", bytes).U64("problems", log_.findings.size()).EndObject();
  j.BeginArray("snapshots");
  for (const SnapshotInfo& s : snapshots_) {
    j.BeginObject().Str("file", s.file).U64("start_lsn", s.start_lsn).U64("records", s.records);
    j.U64("bytes", s.file_bytes).U64("raw_bytes", s.raw_bytes);
    j.U64("created_unix_ms", static_cast<uint64_t>(s.created_unix_ms));
    if (s.state == SnapshotInfo::State::kUnread) {
      j.Null("valid");  // only the one an open loads is read whole
    } else {
      j.Bool("valid", s.state == SnapshotInfo::State::kValid);
    }
    j.Bool("loaded", s.loaded);
    if (!s.error.empty()) j.Str("error", s.error);
    j.EndObject();
  }
  j.EndArray();
  j.BeginArray("queues");
  for (const std::string& name : queues_->List()) {
    Result<queue::QueueStats> st = queues_->Stats(name);
    if (!st.ok()) continue;
    j.BeginObject().Str("name", name).U64("ready", st->ready).U64("in_flight", st->in_flight);
    j.U64("delayed", st->delayed).U64("dead", st->dead_lettered).EndObject();
  }
  j.EndArray();
  j.BeginArray("rooms");
  for (const auto& [name, scan] : rooms_) WriteRoom(j, name, scan);
  j.EndArray();
  j.BeginArray("groups");
  for (const auto& [k, offset] : commits_)
    j.BeginObject().Str("group", k.first).Str("room", k.second).U64("committed", offset).EndObject();
  j.EndArray();
  j.BeginArray("topics");
  for (const auto& [t, n] : topics_) j.BeginObject().Str("topic", t).U64("partitions", n).EndObject();
  j.EndArray();
  j.U64("problems", problems_ + std::count_if(snapshots_.begin(), snapshots_.end(), [](const SnapshotInfo& s) {
                       return s.state == SnapshotInfo::State::kDamaged;
                     }));
  j.BeginArray("notes");
  for (const Note& n : notes_) j.BeginObject().Str("file", n.file).Str("note", n.text).EndObject();
  j.EndArray();
  return j.Finish();
}

}  // namespace

Result<std::string> InspectJson(io::IoBackend* io, const std::string& root_in) {
  if (io == nullptr || root_in.empty()) return Status::InvalidArgument("inspect: no backend or an empty directory");
  std::string root = CleanPath(root_in);
  Result<DirLock> lock = DirLock::Take(root, DirLock::Mode::kShared);
  if (!lock.ok()) return lock.status();
  Inspector in(io, root);
  SYNAP_RETURN_IF_ERROR(in.Run());
  return in.Json();
}

}  // namespace synap::check
