#include "engine/check/room_index_check.h"

#include <algorithm>
#include <climits>

#include "engine/log/segment.h"
#include "engine/stream/segment_index.h"

namespace synap::check {

namespace {

uint64_t FileBytes(io::IoBackend* io, const std::string& path, bool* exists) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  *exists = f.ok();
  if (!f.ok()) return 0;
  Result<uint64_t> size = io->file_size(*f);
  io->close(*f);
  return size.ok() ? *size : 0;
}

class IndexChecker {
 public:
  IndexChecker(io::IoBackend* io, const RoomIndexInput& in, RoomIndexResult* out) : io_(io), in_(in), out_(out) {}

  // Checks segment i, which has a successor, given the largest event
  // timestamp of the segments before it.
  void Check(size_t i, int64_t max_before);
  // Whether recovery would take damaged segment i (which has a successor) on
  // its index's word, without reading it.
  bool Trusted(size_t i) const;

 private:
  void Problem(const std::string& file, const std::string& what, Verdict v) {
    out_->findings.push_back(
        {"room", in_.room, in_.rel_dir + "/" + file, 0, check::Problem::kIndexMismatch, what, v});
  }
  // What Room::TrustSealed compares; a failure makes recovery rebuild.
  std::string RecoveryCheck(const SegmentScan& s, uint64_t next_base, const stream::SegmentIndex& idx) const;
  // What recovery does not compare; a failure here goes unnoticed at open.
  std::string DeepCheck(const SegmentScan& s, const stream::SegmentIndex& idx, int64_t max_before,
                        int64_t max_through) const;

  io::IoBackend* io_;
  const RoomIndexInput& in_;
  RoomIndexResult* out_;
};

std::string IndexChecker::RecoveryCheck(const SegmentScan& s, uint64_t next_base,
                                        const stream::SegmentIndex& idx) const {
  bool compacted = (s.header.flags & log::kSegmentCompacted) != 0;
  if (idx.last_offset != next_base - 1)
    return "the index says the segment ends at offset " + std::to_string(idx.last_offset) +
           ", but the next segment starts at offset " + std::to_string(next_base);
  if (idx.compacted != compacted)
    return std::string("the index says the segment is ") + (idx.compacted ? "" : "not ") +
           "compacted; its header says otherwise";
  if (idx.entries.empty() && !compacted) return "the index has no entry";
  if (compacted ? idx.end_position != s.file_bytes : idx.end_position > s.file_bytes)
    return "the index's end position " + std::to_string(idx.end_position) + " does not fit the file's " +
           std::to_string(s.file_bytes) + " bytes";
  return "";
}

std::string IndexChecker::DeepCheck(const SegmentScan& s, const stream::SegmentIndex& idx, int64_t max_before,
                                    int64_t max_through) const {
  if (idx.end_position != s.end_offset)
    return "the index's end position is " + std::to_string(idx.end_position) + ", the segment's last batch ends at " +
           std::to_string(s.end_offset);
  if (s.batches > 0 && (idx.entries.empty() || idx.entries.front().position != s.header.data_offset))
    return "the first index entry is not the segment's first batch";
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io_->open(in_.dir + "/" + s.name, oo);
  if (!f.ok()) return "cannot reopen the segment: " + f.status().message();
  std::string bad;
  int64_t prev_ts = INT64_MIN;
  for (size_t k = 0; k < idx.entries.size() && bad.empty(); ++k) {
    const stream::IndexEntry& e = idx.entries[k];
    uint8_t raw[log::kBatchHeaderSize];
    log::BatchHeader h;
    Result<size_t> n = io_->read_at(*f, e.position, raw, sizeof raw);
    std::string at = "index entry " + std::to_string(k) + " (position " + std::to_string(e.position) + ")";
    if (!n.ok() || !log::DecodeBatchHeader(raw, *n, s.header.segment_id, &h).ok())
      bad = at + " does not point at a batch";
    else if (h.first_lsn - 1 - idx.base_offset != e.rel_offset)
      bad = at + " says offset " + std::to_string(idx.base_offset + e.rel_offset) + ", the batch there starts at " +
            std::to_string(h.first_lsn - 1);
    else if (e.ts_before < prev_ts || (max_before != INT64_MIN && e.ts_before < max_before))
      bad = at + " has a time bound below the events before it";
    prev_ts = e.ts_before;
  }
  io_->close(*f);
  if (bad.empty() && max_through != INT64_MIN && idx.max_ts < max_through)
    bad = "the index's largest timestamp " + std::to_string(idx.max_ts) + " is below the segment's events' " +
          std::to_string(max_through);
  return bad;
}

void IndexChecker::Check(size_t i, int64_t max_before) {
  const std::vector<SegmentScan>& segs = in_.scan->segments;
  const SegmentScan& s = segs[i];
  uint64_t base = s.header.base_lsn - 1;
  log::Lsn next_named = 0;
  log::ParseSegmentFileName(segs[i + 1].name, &next_named);
  std::string index = stream::IndexFileName(base), timeindex = stream::TimeIndexFileName(base);
  bool has_index, has_time;
  uint64_t bytes = FileBytes(io_, in_.dir + "/" + index, &has_index) + FileBytes(io_, in_.dir + "/" + timeindex, &has_time);
  out_->files += (has_index ? 1 : 0) + (has_time ? 1 : 0);
  out_->bytes += bytes;
  Result<stream::SegmentIndex> idx = stream::ReadIndexFiles(io_, in_.dir, base);
  if (!idx.ok()) {
    if (idx.status().IsNotFound()) {
      out_->notes.push_back({in_.rel_dir + "/" + (has_index ? timeindex : index),
                             "missing: the next open scans the segment and writes its index files"});
    } else {
      const std::string& m = idx.status().message();
      Problem(m.rfind(timeindex, 0) == 0 ? timeindex : index, m, Verdict::kRebuilds);
    }
    return;
  }
  if (std::string why = RecoveryCheck(s, next_named, *idx); !why.empty()) return Problem(index, why, Verdict::kRebuilds);
  int64_t max_through = std::max(max_before, in_.segment_max_ts[i]);
  if (std::string why = DeepCheck(s, *idx, max_before, max_through); !why.empty())
    Problem(index, why + " (recovery trusts this index: reads by offset or time may go astray)", Verdict::kAccepts);
}

bool IndexChecker::Trusted(size_t i) const {
  const std::vector<SegmentScan>& segs = in_.scan->segments;
  log::Lsn next_named = 0;
  if (!segs[i].kept || !log::ParseSegmentFileName(segs[i + 1].name, &next_named)) return false;
  Result<stream::SegmentIndex> idx = stream::ReadIndexFiles(io_, in_.dir, segs[i].header.base_lsn - 1);
  return idx.ok() && RecoveryCheck(segs[i], next_named, *idx).empty();
}

}  // namespace

RoomIndexResult CheckRoomIndexes(io::IoBackend* io, const RoomIndexInput& in) {
  RoomIndexResult out;
  if (in.scan == nullptr) return out;
  const std::vector<SegmentScan>& segs = in.scan->segments;
  IndexChecker checker(io, in, &out);
  int64_t max_before = INT64_MIN;
  for (size_t i = 0; i < segs.size(); ++i) {
    std::string file = in.rel_dir + "/" + segs[i].name;
    bool damaged = std::any_of(in.scan->findings.begin(), in.scan->findings.end(),
                               [&](const Finding& f) { return f.file == file; });
    // The newest segment has no index; a damaged one's index is moot (repair removes it with the damage).
    if (i + 1 < segs.size() && segs[i].kept && !damaged) checker.Check(i, max_before);
    if (i + 1 < segs.size() && damaged && checker.Trusted(i)) out.trusted.push_back(file);
    if (i < in.segment_max_ts.size()) max_before = std::max(max_before, in.segment_max_ts[i]);
  }
  return out;
}

}  // namespace synap::check
