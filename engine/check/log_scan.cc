#include "engine/check/log_scan.h"

#include <algorithm>
#include <cerrno>
#include <map>

#include "engine/log/segment.h"

namespace synap::check {

namespace {

constexpr const char* kTornPrefix = "torn tail: ";
constexpr const char* kDroppedPrefix = "corruption dropped: ";
constexpr const char* kSkippedPrefix = "corruption skipped: ";
// Bad records are listed one per batch and at most this many per log: a
// writer bug can make every record of a log bad.
constexpr size_t kMaxRecordFindings = 100;

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The byte offset a recovery error names (" at byte offset N"), else 0.
uint64_t OffsetIn(const std::string& message) {
  const std::string marker = " at byte offset ";
  size_t at = message.find(marker);
  if (at == std::string::npos) return 0;
  uint64_t v = 0;
  for (size_t i = at + marker.size(); i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i)
    v = v * 10 + static_cast<uint64_t>(message[i] - '0');
  return v;
}

// A valid batch announced by recovery, counted once recovery has accepted it.
// Recovery announces a batch (on_batch) before it decodes it; one that then
// fails to decode is damage, and its cut starts at the batch's own offset.
struct PendingBatch {
  bool set = false;
  size_t seg = 0;
  log::BatchLocation where;
  size_t cuts_before = 0;    // report.cuts.size() when it was announced
  bool record_bad = false;   // a record of it was already reported
};

class Scanner {
 public:
  Scanner(io::IoBackend* io, std::string dir, const LogScanOptions& opts, LogScan* out)
      : io_(io), dir_(std::move(dir)), opts_(opts), out_(out) {}
  Status Run();

 private:
  Status List();
  void Announce(const log::BatchLocation& b);
  void Commit();
  void OnRecord(log::Lsn lsn, std::span<const uint8_t> rec);
  void CountCodec(SegmentScan& s, uint64_t offset);
  void TakeRecovered(const log::RecoveredLog& rec);
  void ClassifyCuts();
  void FindGaps();
  void OnStop(const Status& st);
  Finding At(size_t seg, uint64_t offset, Problem p, std::string detail, Verdict v) const;
  std::string Rel(const std::string& name) const { return out_->rel_dir + "/" + name; }
  int SegmentIndex(const std::string& name) const;

  io::IoBackend* io_;
  std::string dir_;
  const LogScanOptions& opts_;
  LogScan* out_;
  std::map<log::Lsn, size_t> by_base_;   // base LSN -> index in out_->segments
  std::vector<uint64_t> starts_;         // bytes of the segment files before each one
  PendingBatch pending_;
  size_t record_findings_ = 0;
  bool exists_ = false;                  // the directory is there (a missing one is an empty log)
  int codec_fd_seg_ = -1;                // the segment whose file codec_fd_ is
  io::FileHandle codec_fd_ = io::kInvalidFile;
};

Status Scanner::List() {
  Result<std::vector<std::string>> names = io_->list_dir(dir_);
  if (!names.ok()) return names.status().os_error() == ENOENT ? Status::Ok() : names.status();
  exists_ = true;
  std::vector<std::pair<log::Lsn, std::string>> segs;
  for (const std::string& n : *names) {
    log::Lsn base;
    if (log::ParseSegmentFileName(n, &base)) segs.emplace_back(base + opts_.name_bias, n);
  }
  std::sort(segs.begin(), segs.end());
  for (auto& [base, name] : segs) {
    SegmentScan s;
    s.name = name;
    io::OpenOptions oo;
    oo.read_only = true;
    if (Result<io::FileHandle> f = io_->open(dir_ + "/" + name, oo); f.ok()) {
      if (Result<uint64_t> size = io_->file_size(*f); size.ok()) s.file_bytes = *size;
      io_->close(*f);
    }
    by_base_[base] = out_->segments.size();
    starts_.push_back(out_->total_bytes);
    out_->total_bytes += s.file_bytes;
    out_->segments.push_back(std::move(s));
  }
  return Status::Ok();
}

int Scanner::SegmentIndex(const std::string& name) const {
  for (size_t i = 0; i < out_->segments.size(); ++i)
    if (out_->segments[i].name == name) return static_cast<int>(i);
  return -1;
}

Finding Scanner::At(size_t seg, uint64_t offset, Problem p, std::string detail, Verdict v) const {
  Finding f;
  f.area = opts_.area;
  f.room = opts_.room;
  f.file = seg < out_->segments.size() ? Rel(out_->segments[seg].name) : out_->rel_dir;
  f.offset = offset;
  f.problem = p;
  f.detail = std::move(detail);
  f.verdict = v;
  return f;
}

void Scanner::Announce(const log::BatchLocation& b) {
  Commit();
  auto it = by_base_.find(b.segment_base);
  if (it == by_base_.end()) return;  // cannot happen: recovery reads only listed segments
  pending_ = PendingBatch{true, it->second, b, out_->report.cuts.size(), false};
  if (opts_.progress) opts_.progress(starts_[it->second] + b.offset + b.footprint);
}

// Counts the pending batch into its segment, unless recovery cut it since.
void Scanner::Commit() {
  if (!pending_.set) return;
  pending_.set = false;
  SegmentScan& s = out_->segments[pending_.seg];
  const auto& cuts = out_->report.cuts;
  for (size_t i = pending_.cuts_before; i < cuts.size(); ++i)
    if (cuts[i].segment == s.name && cuts[i].offset == pending_.where.offset) return;  // it did not decode
  const log::BatchLocation& b = pending_.where;
  if (s.batches == 0) s.first_lsn = b.first_lsn;
  s.last_lsn = b.first_lsn + b.record_count - 1;
  s.batches++;
  s.records += b.record_count;
  if (opts_.count_codecs) CountCodec(s, b.offset);
}

// Reads a valid batch's header once more, for its codec: recovery does not report it.
void Scanner::CountCodec(SegmentScan& s, uint64_t offset) {
  int seg = static_cast<int>(&s - out_->segments.data());
  if (codec_fd_seg_ != seg) {
    if (codec_fd_ != io::kInvalidFile) io_->close(codec_fd_);
    io::OpenOptions oo;
    oo.read_only = true;
    Result<io::FileHandle> f = io_->open(dir_ + "/" + s.name, oo);
    codec_fd_ = f.ok() ? *f : io::kInvalidFile;
    codec_fd_seg_ = seg;
  }
  uint8_t raw[log::kSegmentHeaderSize > log::kBatchHeaderSize ? log::kSegmentHeaderSize : log::kBatchHeaderSize];
  log::SegmentHeader sh;
  log::BatchHeader bh;
  if (codec_fd_ == io::kInvalidFile) return;
  Result<size_t> n = io_->read_at(codec_fd_, 0, raw, log::kSegmentHeaderSize);
  if (!n.ok() || !log::DecodeSegmentHeader(raw, *n, &sh).ok()) return;
  n = io_->read_at(codec_fd_, offset, raw, log::kBatchHeaderSize);
  if (!n.ok() || !log::DecodeBatchHeader(raw, *n, sh.segment_id, &bh).ok()) return;
  s.codec_batches[static_cast<size_t>(bh.codec)]++;
}

void Scanner::OnRecord(log::Lsn lsn, std::span<const uint8_t> rec) {
  if (!opts_.record || !pending_.set || pending_.record_bad) return;
  Status st = opts_.record(pending_.seg, lsn, rec);
  if (st.ok()) return;
  pending_.record_bad = true;
  if (record_findings_++ >= kMaxRecordFindings) return;
  Problem p = st.code() == Status::Code::kUnsupported ? Problem::kUnsupported : Problem::kBadRecord;
  out_->findings.push_back(At(pending_.seg, pending_.where.offset, p,
                              "record at " + Position(lsn, opts_.name_bias) + ": " + st.message(),
                              opts_.record_verdict));
}

Status Scanner::Run() {
  if (Status st = List(); !st.ok()) {
    OnStop(st);
    return Status::Ok();
  }
  if (!exists_) return Status::Ok();
  log::RecoveryOptions ro;
  ro.mode = log::RecoveryMode::kSkipCorrupted;
  ro.read_only = true;
  ro.name_bias = opts_.name_bias;
  ro.replay_from = opts_.replay_from;
  ro.on_batch = [this](const log::BatchLocation& b) { Announce(b); };
  ro.replay = [this](log::Lsn lsn, std::span<const uint8_t> rec) { OnRecord(lsn, rec); };
  log::RecoveredLog rec;
  Status st = log::RecoverLog(io_, dir_, ro, &rec, &out_->report);
  Commit();
  if (codec_fd_ != io::kInvalidFile) io_->close(codec_fd_);
  if (!st.ok()) {
    if (st.code() == Status::Code::kInvalidArgument) return st;
    OnStop(st);
  } else {
    out_->next_lsn = rec.next_lsn;
    TakeRecovered(rec);
    ClassifyCuts();
    FindGaps();
  }
  std::stable_sort(out_->findings.begin(), out_->findings.end(), [](const Finding& a, const Finding& b) {
    return a.file != b.file ? a.file < b.file : a.offset < b.offset;  // names sort in LSN order
  });
  if (opts_.progress) opts_.progress(out_->total_bytes);
  return Status::Ok();
}

void Scanner::TakeRecovered(const log::RecoveredLog& rec) {
  for (const log::SegmentState& k : rec.segments) {
    int i = SegmentIndex(k.name);
    if (i < 0) continue;
    SegmentScan& s = out_->segments[static_cast<size_t>(i)];
    s.kept = true;
    s.header = k.header;
    s.end_offset = k.end_offset;
  }
}

// Recovery's cuts and removals, as findings with recovery's verdict.
void Scanner::ClassifyCuts() {
  for (const log::RecoveryReport::Cut& c : out_->report.cuts) {
    int i = SegmentIndex(c.segment);
    size_t seg = i < 0 ? out_->segments.size() : static_cast<size_t>(i);
    if (StartsWith(c.reason, kTornPrefix)) {
      out_->findings.push_back(At(seg, c.offset, Problem::kTornTail,
                                  c.reason.substr(std::char_traits<char>::length(kTornPrefix)) + " (" +
                                      std::to_string(c.bytes) + " bytes to the end of the data)",
                                  Verdict::kTrims));
      continue;
    }
    std::string why = c.reason;
    for (const char* p : {kDroppedPrefix, kSkippedPrefix})
      if (StartsWith(why, p)) why = why.substr(std::char_traits<char>::length(p));
    Problem p = Problem::kBadBatch;
    if (c.offset == 0 && c.bytes == 0) {  // the whole segment: its header
      p = Contains(why, "segment starts at LSN") ? Problem::kLsnGap : Problem::kBadHeader;
    } else if (Contains(why, "hash mismatch")) {
      p = Problem::kChecksum;
    } else if (Contains(why, "batch LSN")) {
      p = Problem::kLsnGap;
    }
    out_->findings.push_back(At(seg, c.offset, p, why, Verdict::kRefuses));
  }
  // A removal without a cut: the final segment was all zeros (its header
  // never became durable). Recovery deletes it; nothing was ever in it.
  for (const std::string& name : out_->report.removed) {
    bool cut = std::any_of(out_->report.cuts.begin(), out_->report.cuts.end(),
                           [&](const log::RecoveryReport::Cut& c) { return c.segment == name; });
    if (cut) continue;
    int i = SegmentIndex(name);
    out_->findings.push_back(At(i < 0 ? out_->segments.size() : static_cast<size_t>(i), 0, Problem::kTornTail,
                                "the final segment is all zeros: a crash cut its creation short (recovery "
                                "deletes the file)",
                                Verdict::kTrims));
  }
}

// Skip mode accepts a segment that starts past the expected LSN. Between
// two adjacent kept segments, that is a gap unless the first one was
// compacted (its gaps are by design) or lost its end to a cut already
// reported.
void Scanner::FindGaps() {
  const SegmentScan* prev = nullptr;
  for (size_t i = 0; i < out_->segments.size(); ++i) {
    const SegmentScan& s = out_->segments[i];
    if (!s.kept) {
      prev = nullptr;  // its bad header is reported; the chain restarts after it
      continue;
    }
    if (prev != nullptr && (prev->header.flags & log::kSegmentCompacted) == 0) {
      bool tail_cut = std::any_of(out_->report.cuts.begin(), out_->report.cuts.end(),
                                  [&](const log::RecoveryReport::Cut& c) {
                                    return c.segment == prev->name && StartsWith(c.reason, kDroppedPrefix);
                                  });
      log::Lsn expected = prev->batches > 0 ? prev->last_lsn + 1 : prev->header.base_lsn;
      if (!tail_cut && s.header.base_lsn != expected) {
        std::string what = "segment starts at " + Position(s.header.base_lsn, opts_.name_bias) + ", expected " +
                           Position(expected, opts_.name_bias);
        if (s.header.base_lsn > expected)
          what += ": " + Position(expected, opts_.name_bias) + " to " +
                  Position(s.header.base_lsn - 1, opts_.name_bias) + " are missing (a segment file lost?)";
        out_->findings.push_back(At(i, 0, Problem::kLsnGap, what, Verdict::kRefuses));
      }
    }
    prev = &s;
  }
}

// An unsupported version or an I/O error ends recovery's scan: report it
// where it happened. Nothing after it was read.
void Scanner::OnStop(const Status& st) {
  out_->stopped = true;
  size_t seg = out_->segments.size();
  for (size_t i = 0; i < out_->segments.size(); ++i)
    if (Contains(st.message(), out_->segments[i].name.c_str())) seg = i;
  Problem p = st.code() == Status::Code::kUnsupported ? Problem::kUnsupported
              : st.code() == Status::Code::kCorruption ? Problem::kBadBatch
                                                       : Problem::kReadError;
  out_->findings.push_back(At(seg, OffsetIn(st.message()), p, st.ToString() + " (the scan of this log stopped here)",
                              Verdict::kRefuses));
}

}  // namespace

std::string Position(log::Lsn lsn, uint64_t name_bias) {
  if (name_bias == 1) return "offset " + std::to_string(lsn - 1);
  return "LSN " + std::to_string(lsn);
}

Status ScanLog(io::IoBackend* io, const std::string& dir, const std::string& rel_dir, const LogScanOptions& opts,
               LogScan* out) {
  if (io == nullptr || dir.empty() || out == nullptr)
    return Status::InvalidArgument("ScanLog: no backend, directory or output");
  *out = LogScan();
  out->rel_dir = rel_dir;
  Scanner s(io, dir, opts, out);
  return s.Run();
}

}  // namespace synap::check
