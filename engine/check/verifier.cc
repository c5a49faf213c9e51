#include "engine/check/verifier.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include "engine/base/json_writer.h"
#include "engine/check/room_index_check.h"
#include "engine/kv/kv_record.h"
#include "engine/log/segment.h"
#include "engine/queue/queue_record.h"
#include "engine/snapshot/snapshot_file.h"
#include "engine/stream/event.h"

namespace synap::check {

namespace {

constexpr uint64_t kProgressStep = 1u << 20;

uint64_t FileBytes(io::IoBackend* io, const std::string& path) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return 0;
  Result<uint64_t> size = io->file_size(*f);
  io->close(*f);
  return size.ok() ? *size : 0;
}

// Bytes of the segment files in a log directory (0 if it is missing).
uint64_t SegmentBytes(io::IoBackend* io, const std::string& dir) {
  uint64_t total = 0;
  Result<std::vector<std::string>> names = io->list_dir(dir);
  if (!names.ok()) return 0;
  log::Lsn base;
  for (const std::string& n : *names)
    if (log::ParseSegmentFileName(n, &base)) total += FileBytes(io, dir + "/" + n);
  return total;
}

// Byte progress over the whole directory, passed on at most every kProgressStep.
class Progress {
 public:
  Progress(const ProgressFn& fn, uint64_t total) : fn_(fn), total_(total) {}
  // `done` bytes of the current part, which starts at `base`.
  void At(const char* phase, uint64_t base, uint64_t done) {
    uint64_t now = std::min(total_, base + done);
    if (!fn_ || (now < last_ + kProgressStep && now != total_) || now == last_) return;
    last_ = now;
    fn_(phase, now, total_);
  }
  void Finish() {
    if (fn_) fn_("done", total_, total_);
  }
  uint64_t total() const { return total_; }

 private:
  const ProgressFn& fn_;
  uint64_t total_;
  uint64_t last_ = 0;
};

// "<path>: offset N: what" (snapshot_reader.cc) -> N and "what".
void SplitSnapshotError(const std::string& path, const std::string& message, uint64_t* offset, std::string* what) {
  *offset = 0;
  *what = message;
  std::string prefix = path + ": offset ";
  if (message.rfind(prefix, 0) != 0) return;
  size_t i = prefix.size();
  uint64_t v = 0;
  for (; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i) v = v * 10 + (message[i] - '0');
  *offset = v;
  if (message.compare(i, 2, ": ") == 0) *what = message.substr(i + 2);
}

Finding SnapshotFinding(const std::string& rel, const std::string& path, const Status& st) {
  Finding f;
  f.area = "snapshot";
  f.file = rel;
  SplitSnapshotError(path, st.message(), &f.offset, &f.detail);
  auto has = [&](const char* s) { return f.detail.find(s) != std::string::npos; };
  if (st.code() == Status::Code::kUnsupported) {
    f.problem = Problem::kUnsupported;
    f.verdict = Verdict::kRefuses;  // an open stops rather than fall back past a newer writer's file
  } else if (st.code() != Status::Code::kCorruption) {
    f.problem = Problem::kReadError;
    f.detail = st.ToString();
    f.verdict = Verdict::kRefuses;  // an open stops on an I/O error too
  } else {
    f.problem = has("truncated") || has("shorter than") || has("too short") ? Problem::kTruncated
                : has("hash mismatch") || has("digest mismatch")           ? Problem::kChecksum
                : f.offset == 0                                            ? Problem::kBadHeader
                                                                           : Problem::kBadSnapshot;
    f.verdict = Verdict::kSkips;
  }
  return f;
}

class Verifier {
 public:
  Verifier(io::IoBackend* io, VerifyReport* r, const ProgressFn& fn) : io_(io), r_(r), fn_(fn) {}
  Status Run();

 private:
  uint64_t EstimateTotal(const std::vector<std::string>& rooms);
  void CheckSnapshots(Progress* p);
  void CheckLog(Progress* p);
  void CheckLogStart();
  void CheckRoom(const std::string& name, Progress* p);

  io::IoBackend* io_;
  VerifyReport* r_;
  const ProgressFn& fn_;
  uint64_t base_ = 0;  // progress: bytes of the parts done before the current one
};

uint64_t Verifier::EstimateTotal(const std::vector<std::string>& rooms) {
  uint64_t total = SegmentBytes(io_, r_->dir.Wal());
  if (Result<std::vector<snapshot::SnapshotMeta>> snaps = snapshot::ListSnapshots(io_, r_->dir.Snapshots());
      snaps.ok())
    for (const snapshot::SnapshotMeta& m : *snaps) total += FileBytes(io_, m.path);
  for (const std::string& room : rooms) total += SegmentBytes(io_, r_->dir.Room(room));
  return total;
}

Status Verifier::Run() {
  Result<std::vector<std::string>> rooms = ListRoomDirs(io_, r_->dir);
  if (!rooms.ok()) return rooms.status();
  Progress p(fn_, EstimateTotal(*rooms));
  CheckSnapshots(&p);
  CheckLog(&p);
  for (const std::string& room : *rooms) CheckRoom(room, &p);
  p.Finish();
  return Status::Ok();
}

// Newest first, as an open tries them; the first valid one is what it loads.
void Verifier::CheckSnapshots(Progress* p) {
  Result<std::vector<snapshot::SnapshotMeta>> list = snapshot::ListSnapshots(io_, r_->dir.Snapshots());
  if (!list.ok()) {
    r_->findings.push_back({"snapshot", "", "snapshots", 0, Problem::kReadError, list.status().ToString(),
                            Verdict::kRefuses});
    return;
  }
  for (const snapshot::SnapshotMeta& m : *list) {
    SnapshotCheck c;
    c.file = r_->dir.Relative(m.path);
    c.start_lsn = m.start_lsn;
    c.file_bytes = FileBytes(io_, m.path);
    snapshot::ReadOptions ro;
    ro.progress = [&](uint64_t done, uint64_t) { p->At("snapshot", base_, done); };
    Result<snapshot::SnapshotMeta> read = snapshot::ReadSnapshot(
        io_, m.path,
        [](uint8_t type, std::span<const uint8_t>) -> Status {
          if (type == kv::kSnapshotKvEntry || type == queue::kSnapshotQueue || type == queue::kSnapshotMessage ||
              type == queue::kSnapshotQueueStore)
            return Status::Ok();
          return Status::Unsupported("snapshot record of unknown type " + std::to_string(type));
        },
        ro);
    base_ += c.file_bytes;
    r_->files++;
    r_->bytes += c.file_bytes;
    if (read.ok()) {
      c.valid = true;
      c.records = read->records;
      c.raw_bytes = read->raw_bytes;
      c.created_unix_ms = read->created_unix_ms;
      if (r_->loaded_snapshot.empty()) {
        r_->loaded_snapshot = c.file;
        r_->replay_from = c.start_lsn;
      }
    } else {
      r_->findings.push_back(SnapshotFinding(c.file, m.path, read.status()));
    }
    r_->snapshots.push_back(std::move(c));
  }
}

void Verifier::CheckLog(Progress* p) {
  LogScanOptions o;
  o.area = "log";
  o.record = [](size_t, log::Lsn, std::span<const uint8_t> rec) -> Status {
    if (rec.empty()) return Status::Corruption("empty record");
    if (rec[0] == kv::kModelKv || rec[0] == queue::kModelQueue) return Status::Ok();
    return Status::Unsupported("log record of unknown data model " + std::to_string(rec[0]) +
                               " (written by a newer version?)");
  };
  o.record_verdict = Verdict::kRefuses;  // an open stops at a record it cannot route
  o.progress = [&](uint64_t done) { p->At("log", base_, done); };
  Status st = ScanLog(io_, r_->dir.Wal(), "wal", o, &r_->log);
  if (!st.ok()) r_->findings.push_back({"log", "", "wal", 0, Problem::kReadError, st.ToString(), Verdict::kRefuses});
  base_ += r_->log.total_bytes;
  r_->files += r_->log.segments.size();
  r_->bytes += r_->log.total_bytes;
  r_->findings.insert(r_->findings.end(), r_->log.findings.begin(), r_->log.findings.end());
  CheckLogStart();
}

// The log must reach back to where replay starts (Wal::Recover): to the
// loaded snapshot's start LSN, or to LSN 1 without one — unless it ends
// before that snapshot, when an open drops it and goes on from there.
void Verifier::CheckLogStart() {
  const LogScan& l = r_->log;
  auto first = std::find_if(l.segments.begin(), l.segments.end(), [](const SegmentScan& s) { return s.kept; });
  if (first == l.segments.end() || l.stopped || r_->replay_from > l.next_lsn) return;
  if (first->header.base_lsn <= r_->replay_from) return;
  std::string need = r_->loaded_snapshot.empty() ? "with no valid snapshot, the log must start at LSN 1"
                                                 : "the snapshot " + r_->loaded_snapshot + " needs the log from LSN " +
                                                       std::to_string(r_->replay_from);
  r_->findings.push_back({"log", "", "wal/" + first->name, 0, Problem::kMissingSegments,
                          "the log starts at LSN " + std::to_string(first->header.base_lsn) + " but " + need +
                              ": the segments before it are missing",
                          Verdict::kRefuses});
}

void Verifier::CheckRoom(const std::string& name, Progress* p) {
  RoomCheck rc;
  rc.name = name;
  std::string dir = r_->dir.Room(name), rel = "streams/" + name;
  std::vector<int64_t> max_ts;
  LogScanOptions o;
  o.area = "room";
  o.room = name;
  o.name_bias = 1;
  o.record = [&max_ts](size_t seg, log::Lsn, std::span<const uint8_t> rec) -> Status {
    stream::EventView ev;
    SYNAP_RETURN_IF_ERROR(stream::DecodeEvent(rec, &ev));
    if (max_ts.size() <= seg) max_ts.resize(seg + 1, INT64_MIN);
    max_ts[seg] = std::max(max_ts[seg], ev.timestamp_ms);
    return Status::Ok();
  };
  o.record_verdict = Verdict::kAccepts;  // the room's recovery does not parse events; reads of it fail
  o.progress = [&](uint64_t done) { p->At("room", base_, done); };
  Status st = ScanLog(io_, dir, rel, o, &rc.scan);
  if (!st.ok()) r_->findings.push_back({"room", name, rel, 0, Problem::kReadError, st.ToString(), Verdict::kRefuses});
  base_ += rc.scan.total_bytes;
  r_->files += rc.scan.segments.size();
  r_->bytes += rc.scan.total_bytes;
  r_->findings.insert(r_->findings.end(), rc.scan.findings.begin(), rc.scan.findings.end());
  max_ts.resize(rc.scan.segments.size(), INT64_MIN);
  RoomIndexResult idx = CheckRoomIndexes(io_, {dir, rel, name, &rc.scan, std::move(max_ts)});
  // Damage inside a sealed segment that recovery takes on its index's word:
  // the open succeeds, and the reads that reach it fail their checksums.
  for (Finding& f : r_->findings)
    if (f.area == "room" && f.room == name && f.offset > 0 && f.verdict == Verdict::kRefuses &&
        std::find(idx.trusted.begin(), idx.trusted.end(), f.file) != idx.trusted.end()) {
      f.verdict = Verdict::kAccepts;
      f.detail += " (an open takes this sealed segment on its index's word, unread; reads of it fail)";
    }
  r_->findings.insert(r_->findings.end(), idx.findings.begin(), idx.findings.end());
  r_->notes.insert(r_->notes.end(), idx.notes.begin(), idx.notes.end());
  r_->files += idx.files;
  r_->index_files += idx.files;
  r_->bytes += idx.bytes;
  if (name != "__meta" && FileBytes(io_, dir + "/ROOM") == 0)
    r_->notes.push_back({rel + "/ROOM", rc.scan.segments.empty()
                                            ? "missing, and the room has no segment: a creation cut short, "
                                              "which an open removes"
                                            : "missing or empty: an open uses the default room settings"});
  r_->rooms.push_back(std::move(rc));
}

}  // namespace

bool VerifyReport::opens() const {
  return std::none_of(findings.begin(), findings.end(), [](const Finding& f) { return f.verdict == Verdict::kRefuses; });
}

bool VerifyReport::unsupported() const {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.problem == Problem::kUnsupported; });
}

std::string VerifyReport::ToJson() const {
  uint64_t batches = 0, records = 0, room_segments = 0;
  for (const SegmentScan& s : log.segments) batches += s.batches, records += s.records;
  for (const RoomCheck& r : rooms) room_segments += r.scan.segments.size();
  JsonWriter j;
  j.Str("dir", dir.root).Bool("clean", clean()).Bool("opens", opens()).Bool("locked", locked);
  j.BeginObject("checked")
      .U64("files", files)
      .U64("bytes", bytes)
      .U64("snapshots", snapshots.size())
      .U64("log_segments", log.segments.size())
      .U64("log_batches", batches)
      .U64("log_records", records)
      .U64("rooms", rooms.size())
      .U64("room_segments", room_segments)
      .U64("index_files", index_files)
      .EndObject();
  j.Str("snapshot_loaded", loaded_snapshot).U64("replay_from", replay_from);
  size_t harmless = std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return Harmless(f.verdict); });
  j.U64("harmless", harmless).U64("harmful", findings.size() - harmless);
  WriteFindings(j, findings, notes);
  return j.Finish();
}

Result<std::unique_ptr<VerifyReport>> VerifyLocked(io::IoBackend* io, const std::string& root,
                                                   const ProgressFn& progress) {
  if (io == nullptr || root.empty()) return Status::InvalidArgument("verify: no backend or an empty directory");
  auto r = std::make_unique<VerifyReport>();
  r->dir.root = CleanPath(root);
  Verifier v(io, r.get(), progress);
  SYNAP_RETURN_IF_ERROR(v.Run());
  return r;
}

Result<std::unique_ptr<VerifyReport>> Verify(io::IoBackend* io, const std::string& root, const ProgressFn& progress) {
  Result<DirLock> lock = DirLock::Take(CleanPath(root), DirLock::Mode::kShared);
  if (!lock.ok()) return lock.status();
  Result<std::unique_ptr<VerifyReport>> r = VerifyLocked(io, root, progress);
  if (r.ok()) (*r)->locked = lock->locked();
  return r;
}

}  // namespace synap::check
