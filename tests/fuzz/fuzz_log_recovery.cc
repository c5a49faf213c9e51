// Fuzz target: the log's recovery scan (log::RecoverLog) on hostile segment
// files.
//
// Input: one segment file, or several concatenated (split at each 8-aligned
// segment magic, at most kMaxSegments), written into a directory of a
// SimBackend, each named after the base LSN its header claims (real seeds
// are segment files the engine wrote). Each input runs as it is and with
// its hashes fixed up (fuzz_support.h), and each of those in every recovery
// mode, repairing and read-only.
//
// Invariants, besides no crash and no sanitizer report:
//  * replayed records come in strictly increasing LSN order, and every one
//    belongs to a batch recovery kept (report counts agree with them);
//  * a read-only run reports what the repairing run did (same status code,
//    next LSN and records), without changing a byte;
//  * tolerate_torn_tail that refuses changes nothing on disk;
//  * recovery is idempotent: a second run over the repaired directory
//    succeeds with the same records and next LSN and finds nothing more to
//    cut or remove; in skip mode, whose zeroed holes stay and are skipped
//    again, only the records and next LSN must be the same, after the new
//    segment that RecoveredLog::seal_last asks for (made here as wal::Wal
//    makes it at open).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/io/sim_backend.h"
#include "engine/log/format.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using synap::Status;
using synap::io::SimBackend;
namespace log = synap::log;
namespace fz = synap::fuzz;

constexpr size_t kMaxSegments = 8;
constexpr size_t kMaxInput = 1 << 20;
const std::string kDir = "/log";

// What one recovery run saw.
struct Outcome {
  Status status;
  log::Lsn next_lsn = 0;
  uint64_t replayed = 0;
  uint64_t digest = 0;  // over every (LSN, record) replayed, in order
  size_t cuts = 0;
  size_t removed = 0;
  bool seal_last = false;
  uint64_t next_segment_id = 0;
  log::SegmentHeader last_header;  // of the last kept segment
};

// Writes the segments into kDir, each named by the base LSN its header
// claims (bytes 16..24), or by its index when that name is taken.
void WriteSegments(SimBackend* sim, const std::vector<std::vector<uint8_t>>& segs) {
  FUZZ_CHECK(sim->make_dir(kDir).ok(), "make_dir");
  std::map<std::string, bool> used;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::vector<uint8_t>& s = segs[i];
    log::Lsn base = s.size() >= 24 ? fz::Load64(s.data() + 16) : 0;
    std::string name = log::SegmentFileName(base);
    if (base == 0 || used.count(name) > 0) name = log::SegmentFileName(UINT64_MAX - kMaxSegments + i);
    used[name] = true;
    synap::io::OpenOptions oo;
    oo.create = true;
    synap::Result<synap::io::FileHandle> f = sim->open(kDir + "/" + name, oo);
    FUZZ_CHECK(f.ok(), "open %s", name.c_str());
    if (!s.empty()) FUZZ_CHECK(sim->write_at(*f, 0, s.data(), s.size()).ok(), "write");
    FUZZ_CHECK(sim->sync(*f).ok(), "sync");
    sim->close(*f);
  }
  FUZZ_CHECK(sim->sync_dir(kDir).ok(), "sync_dir");
}

// Every file of kDir with its bytes.
std::map<std::string, std::vector<uint8_t>> Files(SimBackend* sim) {
  std::map<std::string, std::vector<uint8_t>> out;
  synap::Result<std::vector<std::string>> names = sim->list_dir(kDir);
  FUZZ_CHECK(names.ok(), "list_dir");
  for (const std::string& n : *names) out[n] = *sim->contents(kDir + "/" + n);
  return out;
}

Outcome Recover(SimBackend* sim, log::RecoveryMode mode, bool read_only) {
  Outcome o;
  log::Lsn last = 0;
  log::RecoveryOptions opts;
  opts.mode = mode;
  opts.read_only = read_only;
  opts.replay = [&](log::Lsn lsn, std::span<const uint8_t> rec) {
    FUZZ_CHECK(lsn > last, "replayed LSN %llu after %llu", (unsigned long long)lsn, (unsigned long long)last);
    last = lsn;
    ++o.replayed;
    o.digest = log::Hash(rec.data(), rec.size(), o.digest ^ lsn);
  };
  log::RecoveredLog out;
  log::RecoveryReport report;
  o.status = log::RecoverLog(sim, kDir, opts, &out, &report);
  if (!o.status.ok()) return o;
  o.next_lsn = out.next_lsn;
  o.seal_last = out.seal_last;
  o.next_segment_id = out.next_segment_id;
  if (!out.segments.empty()) o.last_header = out.segments.back().header;
  o.cuts = report.cuts.size();
  o.removed = report.removed.size();
  FUZZ_CHECK(report.replayed == o.replayed, "report.replayed %llu, replay saw %llu",
             (unsigned long long)report.replayed, (unsigned long long)o.replayed);
  FUZZ_CHECK(report.records == o.replayed, "report.records %llu, replayed %llu (a dropped batch was replayed?)",
             (unsigned long long)report.records, (unsigned long long)o.replayed);
  // next_lsn may lie beyond the last record: an empty last segment whose
  // base LSN a gap allowed (skip mode, or after a compacted segment).
  FUZZ_CHECK(o.replayed == 0 || (report.last_lsn == last && out.next_lsn >= last + 1),
             "last LSN %llu, next %llu, last replayed %llu", (unsigned long long)report.last_lsn,
             (unsigned long long)out.next_lsn, (unsigned long long)last);
  for (size_t i = 1; i < out.segments.size(); ++i)
    FUZZ_CHECK(out.segments[i - 1].header.base_lsn < out.segments[i].header.base_lsn, "segments out of order");
  return o;
}

// What wal::Wal does at open when recovery asks for a seal: a new, empty
// segment at the next LSN, so the skipped hole is no longer in the final one.
void Seal(SimBackend* sim, const Outcome& o) {
  log::SegmentSpec spec;
  spec.header = o.last_header;
  spec.header.segment_id = o.next_segment_id;
  spec.header.base_lsn = o.next_lsn;
  spec.header.flags &= log::kSegmentDirect;
  spec.size_bytes = 0;
  spec.preallocate = log::Preallocate::kNone;
  synap::Result<synap::io::FileHandle> f = log::CreateSegment(sim, kDir, spec);
  FUZZ_CHECK(f.ok(), "sealing: %s", f.status().ToString().c_str());
  sim->close(*f);
}

void CheckMode(const std::vector<std::vector<uint8_t>>& segs, log::RecoveryMode mode) {
  const char* name = log::RecoveryModeName(mode);
  SimBackend repair_sim(1);
  WriteSegments(&repair_sim, segs);
  const auto before = Files(&repair_sim);
  Outcome first = Recover(&repair_sim, mode, false);

  SimBackend ro_sim(1);
  WriteSegments(&ro_sim, segs);
  Outcome ro = Recover(&ro_sim, mode, true);
  FUZZ_CHECK(Files(&ro_sim) == before, "%s: a read-only recovery changed the files", name);
  FUZZ_CHECK(ro.status.code() == first.status.code(), "%s: read-only says '%s', repairing says '%s'", name,
             ro.status.ToString().c_str(), first.status.ToString().c_str());
  FUZZ_CHECK(ro.next_lsn == first.next_lsn && ro.replayed == first.replayed && ro.digest == first.digest &&
                 ro.cuts == first.cuts && ro.removed == first.removed && ro.seal_last == first.seal_last,
             "%s: read-only run differs from the repairing one", name);

  if (!first.status.ok()) {
    if (mode == log::RecoveryMode::kTolerateTornTail)
      FUZZ_CHECK(Files(&repair_sim) == before, "%s: refused ('%s') but changed the files", name,
                 first.status.ToString().c_str());
    return;
  }
  FUZZ_CHECK(!first.seal_last || mode == log::RecoveryMode::kSkipCorrupted, "%s: asks for a seal", name);
  if (first.seal_last) Seal(&repair_sim, first);
  Outcome again = Recover(&repair_sim, mode, false);
  FUZZ_CHECK(again.status.ok(), "%s: second recovery failed: %s", name, again.status.ToString().c_str());
  if (mode == log::RecoveryMode::kSkipCorrupted) {
    FUZZ_CHECK(again.next_lsn == first.next_lsn && again.replayed == first.replayed && again.digest == first.digest,
               "skip: second recovery differs (next %llu vs %llu, %llu vs %llu records)",
               (unsigned long long)again.next_lsn, (unsigned long long)first.next_lsn,
               (unsigned long long)again.replayed, (unsigned long long)first.replayed);
    FUZZ_CHECK(!again.seal_last, "skip: the second recovery asks for another seal");
    return;
  }
  FUZZ_CHECK(again.next_lsn == first.next_lsn && again.replayed == first.replayed && again.digest == first.digest,
             "%s: second recovery differs (next %llu vs %llu, %llu vs %llu records)", name,
             (unsigned long long)again.next_lsn, (unsigned long long)first.next_lsn,
             (unsigned long long)again.replayed, (unsigned long long)first.replayed);
  FUZZ_CHECK(again.cuts == 0 && again.removed == 0, "%s: second recovery cut %zu and removed %zu", name,
             again.cuts, again.removed);
}

void CheckAllModes(const std::vector<std::vector<uint8_t>>& segs) {
  for (log::RecoveryMode m :
       {log::RecoveryMode::kTolerateTornTail, log::RecoveryMode::kPointInTime, log::RecoveryMode::kSkipCorrupted})
    CheckMode(segs, m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return -1;  // not added to the corpus
  std::vector<std::vector<uint8_t>> segs = fz::SplitSegments(data, size, kMaxSegments);
  CheckAllModes(segs);
  bool changed = false;
  for (std::vector<uint8_t>& s : segs) {
    std::vector<uint8_t> was = s;
    fz::FixLogHashes(&s);
    changed |= s != was;
  }
  if (changed) CheckAllModes(segs);
  return 0;
}
