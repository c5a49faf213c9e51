#include "engine/log/recovery.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>

#include "engine/log/codec.h"
#include "engine/log/segment.h"

namespace synap::log {

Result<RecoveryMode> ParseRecoveryMode(const std::string& name) {
  if (name == "tolerate_torn_tail") return RecoveryMode::kTolerateTornTail;
  if (name == "point_in_time") return RecoveryMode::kPointInTime;
  if (name == "skip") return RecoveryMode::kSkipCorrupted;
  return Status::InvalidArgument("unknown recovery mode '" + name +
                                 "' (expected tolerate_torn_tail, point_in_time or skip)");
}

const char* RecoveryModeName(RecoveryMode m) {
  switch (m) {
    case RecoveryMode::kTolerateTornTail: return "tolerate_torn_tail";
    case RecoveryMode::kPointInTime: return "point_in_time";
    case RecoveryMode::kSkipCorrupted: return "skip";
  }
  return "unknown";
}

std::string RecoveryReport::ToString() const {
  std::ostringstream os;
  os << "recovered " << segments << " segments (" << trusted << " trusted unread), " << batches << " batches, " << records << " records ("
     << replayed << " replayed), " << bytes << " bytes, LSN " << first_lsn << ".." << last_lsn << " in "
     << elapsed_ms << " ms";
  for (const Cut& c : cuts)
    os << "; cut " << c.segment << " at offset " << c.offset << " (" << c.bytes << " bytes): " << c.reason;
  for (const std::string& r : removed) os << "; removed " << r;
  return os.str();
}

namespace {

Status ReadWhole(io::IoBackend* io, const std::string& path, std::vector<uint8_t>* buf) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return f.status();
  Result<uint64_t> size = io->file_size(*f);
  Status st = size.status();
  if (st.ok()) {
    buf->resize(*size);
    Result<size_t> n = io->read_at(*f, 0, buf->data(), buf->size());
    st = n.status();
    if (st.ok() && *n != buf->size()) st = Status::Corruption(path + ": file shrank while being read");
  }
  io->close(*f);
  return st;
}

bool AllZero(const std::vector<uint8_t>& b, uint64_t from) {
  return std::all_of(b.begin() + static_cast<ptrdiff_t>(from), b.end(), [](uint8_t c) { return c == 0; });
}

uint64_t LastNonZero(const std::vector<uint8_t>& b) {
  for (uint64_t i = b.size(); i > 0; --i)
    if (b[i - 1] != 0) return i;
  return 0;
}

// A whole batch at `pos`: header valid and payload hash matching.
// A whole batch at `pos`: header valid and payload hash matching. Unsupported
// (a newer format version) is not damage: the caller must refuse, not repair.
Status BatchAt(const std::vector<uint8_t>& buf, uint64_t pos, const SegmentHeader& seg, BatchHeader* h) {
  if (pos + kBatchHeaderSize > buf.size()) return Status::Corruption("batch header past segment end");
  SYNAP_RETURN_IF_ERROR(DecodeBatchHeader(buf.data() + pos, buf.size() - pos, seg.segment_id, h));
  if (buf.size() - pos - kBatchHeaderSize < h->stored_len) return Status::Corruption("batch payload past segment end");
  if (Hash(buf.data() + pos + kBatchHeaderSize, h->stored_len, seg.segment_id) != h->payload_hash)
    return Status::Corruption("batch payload hash mismatch");
  return Status::Ok();
}

// Decodes a validated batch and hands its records to `replay`. The record
// walk is checked whole before the first record is handed out: a batch whose
// hashes hold but whose records do not fit its payload is damage, dropped
// or refused by the caller, and `replay` must not have seen any of it
// (found by tests/fuzz/fuzz_log_recovery).
Status ReplayBatch(const BatchHeader& h, const uint8_t* stored, const RecoveryOptions& opts,
                   std::vector<uint8_t>* scratch, uint64_t* replayed) {
  std::span<const uint8_t> raw(stored, h.stored_len);
  if (h.codec != Codec::kNone) {
    SYNAP_RETURN_IF_ERROR(Decompress(h.codec, raw, h.raw_len, scratch));
    raw = std::span<const uint8_t>(*scratch);
  }
  bool replay_any = opts.replay && h.last_lsn() >= opts.replay_from;
  SYNAP_RETURN_IF_ERROR(ForEachRecord(raw, h.record_count, [](uint32_t, std::span<const uint8_t>) {}));
  if (!replay_any) return Status::Ok();
  return ForEachRecord(raw, h.record_count, [&](uint32_t i, std::span<const uint8_t> rec) {
    Lsn lsn = h.first_lsn + i;
    if (lsn >= opts.replay_from) {
      opts.replay(lsn, rec);
      ++*replayed;
    }
  });
}

// A batch at `pos` that recovery would take as it stands: BatchAt, and a
// payload that decodes into exactly its records. Only such a batch may end a
// damaged region in skip mode, which resumes at it and takes its LSN as the
// next: one with good hashes but records that do not fit was damaged in
// turn, after the next LSN had already jumped to it (found by
// tests/fuzz/fuzz_log_recovery: a second recovery answered another next LSN).
bool WholeBatchAt(const std::vector<uint8_t>& buf, uint64_t pos, const SegmentHeader& seg, BatchHeader* h) {
  if (!BatchAt(buf, pos, seg, h).ok()) return false;
  std::span<const uint8_t> raw(buf.data() + pos + kBatchHeaderSize, h->stored_len);
  std::vector<uint8_t> decoded;
  if (h->codec != Codec::kNone) {
    if (!Decompress(h->codec, raw, h->raw_len, &decoded).ok()) return false;
    raw = std::span<const uint8_t>(decoded);
  }
  return ForEachRecord(raw, h->record_count, [](uint32_t, std::span<const uint8_t>) {}).ok();
}

// Damage found at `offset` of a segment, and what the bytes after it say.
struct Damage {
  uint64_t offset = 0;
  std::string reason;
  bool proven_durable = false;  // a later batch's watermark reaches into the damage
  Lsn proof_lsn = 0;            // that batch's first LSN
  uint64_t resume = 0;          // offset of the first valid batch after the damage (0: none)
};

// Looks past damage at `d->offset` for valid batches of the same segment.
void InspectAfterDamage(const std::vector<uint8_t>& buf, const SegmentHeader& seg, Lsn damaged_lsn,
                        Lsn last_good, Damage* d) {
  for (uint64_t q = d->offset + seg.alignment; q + kBatchHeaderSize <= buf.size(); q += seg.alignment) {
    uint32_t magic;
    std::memcpy(&magic, buf.data() + q, 4);
    if (magic != kBatchMagic) continue;
    BatchHeader h;
    if (!BatchAt(buf, q, seg, &h).ok() || h.first_lsn <= last_good) continue;
    // Any batch with good hashes proves durability (refusing is the safe
    // side); only a whole one may be resumed at.
    if (d->resume == 0 && WholeBatchAt(buf, q, seg, &h)) d->resume = q;
    if (!d->proven_durable && h.durable_watermark >= damaged_lsn) {
      d->proven_durable = true;
      d->proof_lsn = h.first_lsn;
    }
    if (d->proven_durable && d->resume != 0) return;
  }
}

class Recovery {
 public:
  Recovery(io::IoBackend* io, const std::string& dir, const RecoveryOptions& opts, RecoveredLog* out,
           RecoveryReport* report)
      : io_(io), dir_(dir), opts_(opts), out_(out), report_(report) {}

  Status Run();

 private:
  enum class Next { kContinue, kStop };
  enum class Action { kTrimTail, kCutAndStop, kCutSegment, kSkip };
  Status ListSegments();
  Status ScanSegment(const std::string& name, bool final, Next* next);
  bool TrustSealed(const std::string& name, const std::string& next_name);
  Status CheckChain(const SegmentHeader& h, const std::string& name) const;
  Status OnBadHeader(const std::string& name, bool final, const Status& why, Next* next);
  Status Decide(const std::string& name, bool final, const Damage& d, Action* action) const;
  void AcceptBatch(const BatchHeader& h, SegmentState* s);
  Status ZeroRange(const std::string& name, uint64_t from, uint64_t to);
  Status RemoveSegment(const std::string& name);
  Status RemoveLater();
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  io::IoBackend* io_;
  std::string dir_;
  const RecoveryOptions& opts_;
  RecoveredLog* out_;
  RecoveryReport* report_;
  std::vector<std::string> names_;
  size_t index_ = 0;
  Lsn expected_ = 0;  // the next LSN; 0 until the first segment tells
  bool gap_ok_ = false;  // the previous segment was compacted: the next base may lie beyond expected_
  std::string hole_segment_;  // the last segment in which skip mode zeroed a hole with batches after it
  std::vector<uint8_t> buf_, scratch_;
};

Status Recovery::ListSegments() {
  Result<std::vector<std::string>> all = io_->list_dir(dir_);
  if (!all.ok()) return all.status();
  std::vector<std::pair<Lsn, std::string>> segs;
  for (const std::string& n : *all) {
    Lsn base;
    if (ParseSegmentFileName(n, &base)) segs.emplace_back(base + opts_.name_bias, n);
  }
  std::sort(segs.begin(), segs.end());
  for (auto& [base, n] : segs) names_.push_back(n);
  return Status::Ok();
}

Status Recovery::Run() {
  auto t0 = std::chrono::steady_clock::now();
  SYNAP_RETURN_IF_ERROR(ListSegments());
  for (index_ = 0; index_ < names_.size(); ++index_) {
    if (index_ + 1 < names_.size() && TrustSealed(names_[index_], names_[index_ + 1])) continue;
    Next next = Next::kContinue;
    SYNAP_RETURN_IF_ERROR(ScanSegment(names_[index_], index_ + 1 == names_.size(), &next));
    if (next == Next::kStop) break;
  }
  for (const SegmentState& s : out_->segments)
    out_->next_segment_id = std::max(out_->next_segment_id, s.header.segment_id + 1);
  out_->next_lsn = expected_ == 0 ? 1 : expected_;
  // Known only now: a segment scanned as non-final becomes the last one when
  // every later one is removed.
  out_->seal_last = !out_->segments.empty() && out_->segments.back().name == hole_segment_;
  report_->segments = out_->segments.size();
  report_->elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return Status::Ok();
}

void Recovery::AcceptBatch(const BatchHeader& h, SegmentState* s) {
  if (report_->first_lsn == 0) report_->first_lsn = h.first_lsn;
  report_->last_lsn = s->last_lsn = h.last_lsn();
  report_->batches++;
  report_->records += h.record_count;
  report_->bytes += BatchFootprint(h.stored_len, s->header.alignment);
  s->batches++;
  expected_ = h.last_lsn() + 1;
}

Status Recovery::ScanSegment(const std::string& name, bool final, Next* next) {
  SYNAP_RETURN_IF_ERROR(ReadWhole(io_, Path(name), &buf_));
  SegmentState s;
  s.name = name;
  s.file_size = buf_.size();
  Status hs = DecodeSegmentHeader(buf_.data(), buf_.size(), &s.header);
  if (hs.ok()) hs = CheckChain(s.header, name);
  if (hs.code() == Status::Code::kUnsupported) return Status::Unsupported(Path(name) + ": " + hs.message());
  if (!hs.ok()) return OnBadHeader(name, final, hs, next);
  if (expected_ == 0 || s.header.base_lsn > expected_) expected_ = s.header.base_lsn;
  bool compacted = (s.header.flags & kSegmentCompacted) != 0;
  gap_ok_ = compacted;

  uint64_t pos = s.header.data_offset;
  while (pos < buf_.size()) {
    BatchHeader h;
    std::string why;
    Status bs = BatchAt(buf_, pos, s.header, &h);
    if (bs.code() == Status::Code::kUnsupported)
      return Status::Unsupported(Path(name) + " at byte offset " + std::to_string(pos) + ": " + bs.message());
    if (bs.ok()) {
      if (h.first_lsn == expected_ || (compacted && h.first_lsn > expected_)) {
        if (opts_.on_batch)
          opts_.on_batch({s.header.base_lsn, pos, BatchFootprint(h.stored_len, s.header.alignment), h.first_lsn,
                          h.record_count, s.header.flags});
        Status rs = ReplayBatch(h, buf_.data() + pos + kBatchHeaderSize, opts_, &scratch_, &report_->replayed);
        if (rs.ok()) {
          AcceptBatch(h, &s);
          pos += BatchFootprint(h.stored_len, s.header.alignment);
          continue;
        }
        why = rs.message();
      } else {
        why = "batch LSN " + std::to_string(h.first_lsn) + ", expected " + std::to_string(expected_);
      }
    } else {
      why = bs.message();
    }
    if (AllZero(buf_, pos)) break;  // the segment's unused end
    Damage d;
    d.offset = pos;
    d.reason = why;
    InspectAfterDamage(buf_, s.header, expected_, expected_ - 1, &d);
    Action action = Action::kCutAndStop;
    SYNAP_RETURN_IF_ERROR(Decide(name, final, d, &action));
    if (action == Action::kSkip) {
      report_->cuts.push_back({name, d.offset, d.resume - d.offset, "corruption skipped: " + d.reason});
      SYNAP_RETURN_IF_ERROR(ZeroRange(name, d.offset, d.resume));
      pos = d.resume;
      BatchAt(buf_, pos, s.header, &h);  // InspectAfterDamage validated it
      expected_ = h.first_lsn;  // skip mode accepts the LSN gap
      hole_segment_ = name;
      continue;
    }
    uint64_t end = std::max<uint64_t>(LastNonZero(buf_), d.offset);
    std::string kind = action == Action::kTrimTail ? "torn tail: " : "corruption dropped: ";
    report_->cuts.push_back({name, d.offset, end - d.offset, kind + d.reason});
    SYNAP_RETURN_IF_ERROR(ZeroRange(name, d.offset, end));
    if (action != Action::kCutSegment) {
      SYNAP_RETURN_IF_ERROR(RemoveLater());
      *next = Next::kStop;
    }
    break;
  }
  // `pos` is aligned: the next batch goes there. It may lie past the end of
  // the file (a crash kept a batch but not all of its padding); clamping it
  // to the file size would resume appends at an unaligned offset, where the
  // next recovery, stepping batch by aligned footprint, never looks: it
  // would cut every batch appended after this one as a torn tail.
  s.end_offset = pos;
  out_->segments.push_back(std::move(s));
  return Status::Ok();
}

// A decoded header that does not continue the chain: its base LSN must be
// the next expected one (later only after a compacted segment, or in skip
// mode) and match its file name.
Status Recovery::CheckChain(const SegmentHeader& h, const std::string& name) const {
  bool gap_allowed = opts_.mode == RecoveryMode::kSkipCorrupted || gap_ok_;
  if (expected_ != 0 && h.base_lsn != expected_ && !(gap_allowed && h.base_lsn > expected_))
    return Status::Corruption("segment starts at LSN " + std::to_string(h.base_lsn) + ", expected " +
                              std::to_string(expected_));
  Lsn base_from_name = 0;
  ParseSegmentFileName(name, &base_from_name);
  if (h.base_lsn != base_from_name + opts_.name_bias)
    return Status::Corruption("header says base LSN " + std::to_string(h.base_lsn) + " but the file name says " +
                              std::to_string(base_from_name + opts_.name_bias));
  return Status::Ok();
}

// Reads only the header of a sealed segment and asks the owner whether it
// vouches for the rest (see TrustSealedFn). Any doubt: false, and the
// segment is scanned like any other.
bool Recovery::TrustSealed(const std::string& name, const std::string& next_name) {
  if (!opts_.trust_sealed) return false;
  Lsn next_base = 0;
  ParseSegmentFileName(next_name, &next_base);
  next_base += opts_.name_bias;
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io_->open(Path(name), oo);
  if (!f.ok()) return false;
  uint8_t raw[kSegmentHeaderSize];
  Result<size_t> n = io_->read_at(*f, 0, raw, sizeof raw);
  Result<uint64_t> size = io_->file_size(*f);
  io_->close(*f);
  SegmentState s;
  if (!n.ok() || *n != sizeof raw || !size.ok()) return false;
  if (!DecodeSegmentHeader(raw, sizeof raw, &s.header).ok() || !CheckChain(s.header, name).ok()) return false;
  if (next_base <= s.header.base_lsn || !opts_.trust_sealed(s.header, next_base, *size)) return false;
  s.name = name;
  s.file_size = *size;
  s.last_lsn = next_base - 1;
  if (report_->first_lsn == 0) report_->first_lsn = s.header.base_lsn;
  report_->last_lsn = s.last_lsn;
  report_->trusted++;
  expected_ = next_base;
  gap_ok_ = false;
  out_->segments.push_back(std::move(s));
  return true;
}

// A segment whose header is unreadable, or whose base LSN breaks the chain.
Status Recovery::OnBadHeader(const std::string& name, bool final, const Status& why, Next* next) {
  if (final && LastNonZero(buf_) == 0) {
    // Created, but its header never became durable: nothing was ever written to it.
    *next = Next::kStop;
    return RemoveSegment(name);
  }
  if (opts_.mode == RecoveryMode::kTolerateTornTail)
    return Status::Corruption("log corruption in segment " + Path(name) + " at byte offset 0: " + why.message() +
                              "; refusing to open; choose recovery mode point_in_time or skip to discard it");
  report_->cuts.push_back({name, 0, 0, "corruption dropped: " + why.message()});
  SYNAP_RETURN_IF_ERROR(RemoveSegment(name));
  if (opts_.mode == RecoveryMode::kPointInTime) {
    SYNAP_RETURN_IF_ERROR(RemoveLater());
    *next = Next::kStop;
  }
  return Status::Ok();
}

// What damage at d.offset means; see the rules in recovery.h.
Status Recovery::Decide(const std::string& name, bool final, const Damage& d, Action* action) const {
  if (final && !d.proven_durable) {
    *action = Action::kTrimTail;
    return Status::Ok();
  }
  switch (opts_.mode) {
    case RecoveryMode::kTolerateTornTail: {
      std::string why = final ? " (batch LSN " + std::to_string(d.proof_lsn) +
                                    " after it shows the damaged bytes had been made durable)"
                              : " (in a sealed, non-final segment)";
      return Status::Corruption("log corruption in segment " + Path(name) + " at byte offset " +
                                std::to_string(d.offset) + ": " + d.reason + why +
                                "; refusing to open; choose recovery mode point_in_time or skip to discard "
                                "from there");
    }
    case RecoveryMode::kPointInTime: *action = Action::kCutAndStop; return Status::Ok();
    case RecoveryMode::kSkipCorrupted:
      *action = d.resume != 0 ? Action::kSkip : Action::kCutSegment;
      return Status::Ok();
  }
  return Status::InvalidArgument("unknown recovery mode");
}

Status Recovery::RemoveSegment(const std::string& name) {
  report_->removed.push_back(name);
  if (opts_.read_only) return Status::Ok();
  SYNAP_RETURN_IF_ERROR(io_->remove(Path(name)));
  return io_->sync_dir(dir_);
}

Status Recovery::ZeroRange(const std::string& name, uint64_t from, uint64_t to) {
  if (to > from) std::memset(buf_.data() + from, 0, to - from);
  if (opts_.read_only || to <= from) return Status::Ok();
  io::OpenOptions oo;
  Result<io::FileHandle> f = io_->open(Path(name), oo);
  if (!f.ok()) return f.status();
  std::vector<uint8_t> zeros(to - from, 0);
  Status st = io_->write_at(*f, from, zeros.data(), zeros.size());
  if (st.ok()) st = io_->sync(*f);
  io_->close(*f);
  return st;
}

Status Recovery::RemoveLater() {
  for (size_t i = index_ + 1; i < names_.size(); ++i) report_->removed.push_back(names_[i]);
  if (!opts_.read_only) {
    for (size_t i = index_ + 1; i < names_.size(); ++i) SYNAP_RETURN_IF_ERROR(io_->remove(Path(names_[i])));
    if (index_ + 1 < names_.size()) SYNAP_RETURN_IF_ERROR(io_->sync_dir(dir_));
  }
  names_.resize(std::min(names_.size(), index_ + 1));
  return Status::Ok();
}

}  // namespace

Status RecoverLog(io::IoBackend* io, const std::string& dir, const RecoveryOptions& opts, RecoveredLog* out,
                  RecoveryReport* report) {
  *out = RecoveredLog();
  *report = RecoveryReport();
  Recovery r(io, dir, opts, out, report);
  return r.Run();
}

}  // namespace synap::log
