#include "engine/check/repairer.h"

#include <algorithm>
#include <optional>
#include <set>

#include "engine/base/json_writer.h"
#include "engine/check/backup.h"
#include "engine/check/data_dir.h"
#include "engine/check/verifier.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"
#include "engine/stream/segment_index.h"

namespace synap::check {

namespace {

constexpr const char* kPlanFile = "REPAIR.json";

// Damage a point-in-time cut removes. The rest (a newer version, a record
// that does not parse, a log that starts too late) a cut cannot mend.
bool Cuttable(Problem p) {
  return p == Problem::kChecksum || p == Problem::kTornTail || p == Problem::kBadHeader || p == Problem::kBadBatch ||
         p == Problem::kLsnGap;
}

std::string Parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Recovery's cut reasons for people: "corruption dropped: X" -> "corruption: X".
std::string Plain(const std::string& reason) {
  const std::string dropped = "corruption dropped: ";
  return reason.rfind(dropped, 0) == 0 ? "corruption: " + reason.substr(dropped.size()) : reason;
}

bool FileExists(io::IoBackend* io, const std::string& path, uint64_t* size) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return false;
  Result<uint64_t> s = io->file_size(*f);
  io->close(*f);
  *size = s.ok() ? *s : 0;
  return true;
}

class Planner {
 public:
  Planner(io::IoBackend* io, const VerifyReport& v, RepairReport* out) : io_(io), v_(v), out_(out) {}
  void Run();

 private:
  void PlanLog(const LogScan& scan, const std::string& dir, uint64_t bias);
  bool PlanBelowSnapshot(const LogScan& scan);
  void RemoveIndexFiles(const std::string& rel_dir, uint64_t base_offset, const std::string& reason);
  void Remove(const std::string& rel, uint64_t bytes, std::string reason);
  bool Planned(const std::string& rel) const {
    return std::any_of(out_->actions.begin(), out_->actions.end(), [&](const RepairAction& a) { return a.file == rel; });
  }
  // A finding the planned actions take care of: in a file removed, or past a truncation point.
  bool Covered(const Finding& f) const;

  io::IoBackend* io_;
  const VerifyReport& v_;
  RepairReport* out_;
};

void Planner::Run() {
  if (!PlanBelowSnapshot(v_.log)) PlanLog(v_.log, v_.dir.Wal(), 0);
  for (const RoomCheck& r : v_.rooms) PlanLog(r.scan, v_.dir.Room(r.name), 1);
  for (const Finding& f : v_.findings) {
    if (f.problem == Problem::kIndexMismatch) {
      std::string name = f.file.substr(f.file.rfind('/') + 1);
      log::Lsn base = 0;
      if (log::ParseSegmentFileName(name.substr(0, 20) + ".log", &base))
        RemoveIndexFiles(Parent(f.file), base, "index mismatch: " + f.detail + " (the next open rebuilds it)");
    } else if (f.area == "snapshot" && f.verdict == Verdict::kSkips && !Planned(f.file)) {
      uint64_t size = 0;
      FileExists(io_, v_.dir.root + "/" + f.file, &size);
      Remove(f.file, size, std::string(ProblemName(f.problem)) + " at offset " + std::to_string(f.offset) + ": " +
                               f.detail + " (an open skips this snapshot)");
    }
  }
  for (const Finding& f : v_.findings)
    if (!Covered(f)) out_->unrepaired.push_back(f);
}

bool Planner::Covered(const Finding& f) const {
  for (const RepairAction& a : out_->actions) {
    if (a.file != f.file) continue;
    if (a.kind == RepairAction::Kind::kRemove || f.offset >= a.offset) return true;
  }
  return false;
}

void Planner::Remove(const std::string& rel, uint64_t bytes, std::string reason) {
  RepairAction a;
  a.kind = RepairAction::Kind::kRemove;
  a.file = rel;
  a.bytes = bytes;
  a.backup = rel;
  a.reason = std::move(reason);
  out_->actions.push_back(std::move(a));
}

void Planner::RemoveIndexFiles(const std::string& rel_dir, uint64_t base_offset, const std::string& reason) {
  for (const std::string& name : {stream::IndexFileName(base_offset), stream::TimeIndexFileName(base_offset)}) {
    std::string rel = rel_dir + "/" + name;
    uint64_t size = 0;
    if (!Planned(rel) && FileExists(io_, v_.dir.root + "/" + rel, &size)) Remove(rel, size, reason);
  }
}

// Damage recovery refuses that lies wholly in main-log segments older than
// the snapshot an open loads (every record in them is below replay_from):
// that snapshot already holds what those records wrote, so the segments up
// to the damage go, as a checkpoint would remove them, and nothing an open
// replays is lost. A cut there (PlanLog) would drop the whole log after the
// snapshot too. Applies only when no damage recovery refuses lies beyond
// them and the first segment kept starts at or before replay_from; a torn
// tail is left to the open, which trims it. Returns whether it planned.
bool Planner::PlanBelowSnapshot(const LogScan& scan) {
  if (v_.loaded_snapshot.empty() || scan.stopped) return false;
  std::optional<size_t> last;  // the newest segment that must go
  for (const Finding& f : scan.findings) {
    if (f.verdict != Verdict::kRefuses) continue;
    if (!Cuttable(f.problem)) return false;
    auto seg = std::find_if(scan.segments.begin(), scan.segments.end(),
                            [&](const SegmentScan& s) { return scan.rel_dir + "/" + s.name == f.file; });
    if (seg == scan.segments.end()) return false;
    size_t i = static_cast<size_t>(seg - scan.segments.begin());
    // A gap reported at a kept segment's start lies before that segment.
    if (f.problem == Problem::kLsnGap && f.offset == 0 && seg->kept) {
      if (i == 0) return false;
      --i;
    }
    last = std::max(last.value_or(0), i);
  }
  if (!last || *last + 1 >= scan.segments.size()) return false;
  const SegmentScan& first_kept = scan.segments[*last + 1];
  if (!first_kept.kept || first_kept.header.base_lsn > v_.replay_from) return false;
  // Oldest first: a crash part-way leaves a log without holes, starting later.
  for (size_t i = 0; i <= *last; ++i) {
    const SegmentScan& s = scan.segments[i];
    Remove(scan.rel_dir + "/" + s.name, s.file_bytes,
           "every record here is below LSN " + std::to_string(first_kept.header.base_lsn) + ", so in the snapshot " +
               v_.loaded_snapshot + ": removed as a checkpoint would, losing nothing an open replays");
  }
  return true;
}

// The cuts and removals recovery's point_in_time mode would make in this
// log, as truncations and removals.
void Planner::PlanLog(const LogScan& scan, const std::string& dir, uint64_t bias) {
  bool damaged = std::any_of(scan.findings.begin(), scan.findings.end(), [](const Finding& f) {
    return Cuttable(f.problem) && f.verdict != Verdict::kRebuilds && f.verdict != Verdict::kSkips;
  });
  if (!damaged || scan.stopped) return;  // a stopped scan met a newer version or an I/O error: hands off
  log::RecoveryOptions ro;
  ro.mode = log::RecoveryMode::kPointInTime;
  ro.read_only = true;
  ro.name_bias = bias;
  log::RecoveredLog rec;
  log::RecoveryReport rep;
  if (!log::RecoverLog(io_, dir, ro, &rec, &rep).ok()) return;  // its findings stay unrepaired
  const std::string unit = bias == 1 ? "offset" : "LSN";
  auto in_unit = [bias](log::Lsn l) { return l - bias; };
  std::set<std::string> removed(rep.removed.begin(), rep.removed.end());
  LostRange lost{scan.rel_dir, unit, in_unit(rec.next_lsn), false, 0};
  auto note_lost = [&](const SegmentScan& s, log::Lsn from, RepairAction* a) {
    if (s.batches == 0 || s.last_lsn < from) return;
    a->has_lost = true;
    a->unit = unit;
    a->lost_first = in_unit(std::max(from, s.first_lsn));
    a->lost_last = in_unit(s.last_lsn);
    lost.to_known = true;
    lost.to = std::max(lost.to, a->lost_last);
  };
  std::string cut_at;
  for (const log::RecoveryReport::Cut& c : rep.cuts)
    if (cut_at.empty()) cut_at = scan.rel_dir + "/" + c.segment + ":" + std::to_string(c.offset);
  for (auto it = scan.segments.rbegin(); it != scan.segments.rend(); ++it) {  // newest first
    if (!removed.count(it->name)) continue;
    auto own = std::find_if(rep.cuts.begin(), rep.cuts.end(),
                            [&](const log::RecoveryReport::Cut& c) { return c.segment == it->name; });
    std::string why = own != rep.cuts.end() ? Plain(own->reason)
                      : cut_at.empty()      ? "the final segment is all zeros: its creation was cut short"
                                            : "after the cut at " + cut_at + ", every later segment goes";
    Remove(scan.rel_dir + "/" + it->name, it->file_bytes, why);
    note_lost(*it, rec.next_lsn, &out_->actions.back());
  }
  for (const log::RecoveryReport::Cut& c : rep.cuts) {
    if (removed.count(c.segment)) continue;
    auto seg = std::find_if(scan.segments.begin(), scan.segments.end(),
                            [&](const SegmentScan& s) { return s.name == c.segment; });
    if (seg == scan.segments.end() || c.offset >= seg->file_bytes) continue;
    RepairAction a;
    a.kind = RepairAction::Kind::kTruncate;
    a.file = scan.rel_dir + "/" + c.segment;
    a.offset = c.offset;
    a.bytes = seg->file_bytes - c.offset;
    a.backup = a.file + ".from-" + std::to_string(c.offset);
    a.reason = Plain(c.reason);
    note_lost(*seg, rec.next_lsn, &a);
    out_->actions.push_back(std::move(a));
  }
  if (bias == 1) {  // a room: the index files of every segment changed must go with it
    for (const SegmentScan& s : scan.segments) {
      log::Lsn named = 0;
      bool cut = std::any_of(rep.cuts.begin(), rep.cuts.end(),
                             [&](const log::RecoveryReport::Cut& c) { return c.segment == s.name; });
      if ((cut || removed.count(s.name)) && log::ParseSegmentFileName(s.name, &named))
        RemoveIndexFiles(scan.rel_dir, named, "index of " + s.name + ", which this repair cuts or removes");
    }
  }
  if (!rep.cuts.empty()) out_->lost.push_back(lost);  // else only an all-zero final segment goes: nothing is lost
}

Status Apply(io::IoBackend* io, const std::string& root, RepairAction* a) {
  std::string path = root + "/" + a->file;
  if (a->kind == RepairAction::Kind::kRemove) {
    SYNAP_RETURN_IF_ERROR(io->remove(path));
    SYNAP_RETURN_IF_ERROR(io->sync_dir(Parent(path)));
  } else {
    Result<io::FileHandle> f = io->open(path, io::OpenOptions{});
    if (!f.ok()) return f.status();
    Status st = io->truncate(*f, a->offset);
    if (st.ok()) st = io->sync(*f);
    io->close(*f);
    SYNAP_RETURN_IF_ERROR(st);
  }
  a->done = true;
  return Status::Ok();
}

Status BackUp(io::IoBackend* io, const std::string& root, RepairReport* r) {
  Backup b(io, r->backup_dir);
  for (const RepairAction& a : r->actions)
    SYNAP_RETURN_IF_ERROR(b.CopyRange(root + "/" + a.file, a.offset, a.offset + a.bytes, a.backup));
  SYNAP_RETURN_IF_ERROR(b.WriteFile(kPlanFile, r->ToJson()));
  return b.Sync();
}

}  // namespace

std::string RepairReport::ToJson() const {
  JsonWriter j;
  j.Str("dir", dir).Str("backup_dir", backup_dir).Bool("applied", applied);
  j.BeginArray("actions");
  for (const RepairAction& a : actions) {
    j.BeginObject()
        .Str("action", a.kind == RepairAction::Kind::kTruncate ? "truncate" : "remove")
        .Str("file", a.file)
        .U64("offset", a.offset)
        .U64("bytes", a.bytes)
        .Str("backup", a.backup)
        .Str("reason", a.reason);
    if (a.has_lost) {
      j.BeginObject("lost").Str("unit", a.unit).U64("first", a.lost_first).U64("last", a.lost_last).EndObject();
    } else {
      j.Null("lost");
    }
    j.Bool("done", a.done).EndObject();
  }
  j.EndArray();
  j.BeginArray("lost");
  for (const LostRange& l : lost) {
    j.BeginObject().Str("log", l.log).Str("unit", l.unit).U64("from", l.from);
    if (l.to_known) {
      j.U64("to", l.to);
    } else {
      j.Null("to");
    }
    j.EndObject();
  }
  j.EndArray();
  WriteFindingList(j, "unrepaired", unrepaired);
  if (verified_after) {
    j.BeginObject("after").U64("problems", after_problems).Bool("opens", after_opens).EndObject();
  } else {
    j.Null("after");
  }
  return j.Finish();
}

Status Repair(io::IoBackend* io, const std::string& root_in, const std::string& backup_dir, const ConfirmFn& confirm,
              RepairReport* out) {
  if (io == nullptr || root_in.empty() || backup_dir.empty() || out == nullptr)
    return Status::InvalidArgument("repair: a data directory and a backup directory are needed");
  *out = RepairReport();
  std::string root = CleanPath(root_in);
  out->dir = root;
  out->backup_dir = CleanPath(backup_dir);
  Result<DirLock> lock = DirLock::Take(root, DirLock::Mode::kExclusive);
  if (!lock.ok()) return lock.status();
  SYNAP_RETURN_IF_ERROR(Backup::CheckTarget(out->backup_dir, root));
  Result<std::unique_ptr<VerifyReport>> v = VerifyLocked(io, root, nullptr);
  if (!v.ok()) return v.status();
  Planner(io, **v, out).Run();
  if (out->actions.empty()) return Status::Ok();
  if (confirm && !confirm(*out)) {
    out->declined = true;
    return Status::Ok();
  }
  SYNAP_RETURN_IF_ERROR(BackUp(io, root, out).WithContext("backing up into " + out->backup_dir + " (nothing changed)"));
  out->started = true;
  for (RepairAction& a : out->actions)
    SYNAP_RETURN_IF_ERROR(Apply(io, root, &a).WithContext("repairing " + a.file + " (the backup in " +
                                                          out->backup_dir + " holds every byte)"));
  out->applied = true;
  Result<std::unique_ptr<VerifyReport>> after = VerifyLocked(io, root, nullptr);
  if (after.ok()) {
    out->verified_after = true;
    out->after_problems = (*after)->findings.size();
    out->after_opens = (*after)->opens();
  }
  return Status::Ok();
}

}  // namespace synap::check
