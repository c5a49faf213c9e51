// Room: open and recovery, appends, the index hook, blocking waits, close.
// Reads are in room_read.cc, retention and compaction in room_maintenance.cc.
#include "engine/stream/room.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include "engine/base/clock.h"
#include "engine/log/segment.h"
#include "engine/stream/room_segment.h"

namespace synap::stream {


Result<std::shared_ptr<SegmentFile>> SegmentFile::Open(io::IoBackend* io, const std::string& path) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return f.status();
  auto file = std::make_shared<SegmentFile>(io, *f);
  uint8_t raw[log::kSegmentHeaderSize];
  Result<size_t> n = io->read_at(*f, 0, raw, sizeof raw);
  Status st = !n.ok() ? n.status() : log::DecodeSegmentHeader(raw, *n, &file->header);
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  return file;
}

// A batch must fit in one segment (with its header block): a room with small
// segments takes smaller appends than stream.max_append_bytes.
Room::Room(std::string dir, std::string name, const RoomSettings& settings, const StreamOptions& opts)
    : dir_(std::move(dir)), name_(std::move(name)), settings_(settings), opts_(opts) {
  uint64_t fits = settings.segment_bytes - 8192;
  opts_.max_append_bytes = static_cast<uint32_t>(std::min<uint64_t>(opts.max_append_bytes, fits));
  opts_.max_event_bytes = std::min(opts.max_event_bytes, opts_.max_append_bytes - 4);
}

Room::~Room() { Close(); }

Result<std::unique_ptr<Room>> Room::Open(wal::GroupCommitter* committer, const std::string& dir,
                                         const std::string& name, const RoomSettings& settings,
                                         const StreamOptions& opts) {
  SYNAP_RETURN_IF_ERROR(settings.Validate().WithContext("room " + name));
  std::unique_ptr<Room> r(new Room(dir, name, settings, opts));
  r->io_ = committer->io();
  // Retention may have removed the first segments: the log starts at the
  // oldest one left, and nothing before it is wanted.
  log::Lsn first_lsn = 1;
  if (Result<std::vector<std::string>> names = r->io_->list_dir(dir); names.ok()) {
    log::Lsn lowest = UINT64_MAX, base;
    for (const std::string& n : *names)
      if (log::ParseSegmentFileName(n, &base)) lowest = std::min(lowest, base + 1);
    if (lowest != UINT64_MAX) first_lsn = lowest;
  }
  r->log_start_ = first_lsn - 1;
  wal::WalOptions wo;
  wo.dir = dir;
  wo.fsync = settings.fsync;
  wo.fsync_interval_ms = opts.fsync_interval_ms;
  wo.segment_bytes = settings.segment_bytes;
  wo.codec = settings.codec;
  wo.max_record_bytes = r->opts_.max_event_bytes;
  wo.max_batch_bytes = r->opts_.max_append_bytes;
  wo.max_pending_bytes = std::max<uint64_t>(64ull << 20, r->opts_.max_append_bytes);
  wo.preallocate = opts.preallocate;
  wo.segment_name_bias = 1;
  Room* self = r.get();
  wo.on_batch = [self](const log::BatchLocation& b) { self->OnBatch(b); };
  wo.trust_sealed = [self](const log::SegmentHeader& h, log::Lsn next, uint64_t size) {
    return self->TrustSealed(h, next, size);
  };
  Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(
      committer, wo, [self](log::Lsn lsn, std::span<const uint8_t> rec) { self->OnReplay(lsn, rec); },
      &r->recovery_, first_lsn);
  if (!w.ok()) return w.status().WithContext("room " + name);
  r->wal_ = std::move(*w);
  r->FinishOpen();
  r->opened_ = true;
  return r;
}

// Recovery may have cut a torn tail after announcing its batches: forget
// what lies at or past the recovered end.
void Room::FinishOpen() {
  std::lock_guard lk(mu_);
  uint64_t end = wal_->last_lsn();  // the next offset
  while (!segs_.empty() && segs_.rbegin()->first >= end && segs_.size() > 1) segs_.erase(std::prev(segs_.end()));
  if (!segs_.empty()) {
    SegmentIndex& idx = segs_.rbegin()->second->idx;
    while (!idx.entries.empty() && idx.base_offset + idx.entries.back().rel_offset >= end) idx.entries.pop_back();
    if (idx.entries.empty()) segs_.erase(std::prev(segs_.end()));
  }
  for (auto it = segs_.begin(); it != segs_.end(); ++it) it->second->sealed = std::next(it) != segs_.end();
  ts_appended_max_ = ts_placed_max_;
  opening_ = false;
}

// An index is trusted only if it describes this very file: same last offset,
// same compaction state, and an end inside it (exactly its end for a
// compacted file, which is written to that length). Compaction removes a
// segment's index files durably before renaming the new file over it, so a
// stale index of an earlier version cannot pass.
bool Room::TrustSealed(const log::SegmentHeader& h, log::Lsn next_base, uint64_t file_size) {
  uint64_t base = h.base_lsn - 1;
  Result<SegmentIndex> idx = ReadIndexFiles(io_, dir_, base);
  if (!idx.ok()) return false;  // missing or damaged: recovery reads the segment and we rebuild
  bool compacted = (h.flags & log::kSegmentCompacted) != 0;
  if (idx->last_offset != next_base - 2 || idx->compacted != compacted || (idx->entries.empty() && !compacted))
    return false;
  if (compacted ? idx->end_position != file_size : idx->end_position > file_size) return false;
  auto seg = std::make_shared<Segment>();
  seg->base = base;
  seg->path = dir_ + "/" + log::SegmentFileName(h.base_lsn, 1);
  seg->idx = std::move(*idx);
  seg->sealed = seg->persisted = true;
  std::lock_guard lk(mu_);
  if (!segs_.empty()) {  // a scanned segment before this one is sealed now
    Segment& prev = *segs_.rbegin()->second;
    prev.sealed = true;
    prev.idx.last_offset = base - 1;
    prev.idx.max_ts = std::max(prev.idx.max_ts, ts_placed_max_);
  }
  ts_placed_max_ = std::max(ts_placed_max_, seg->idx.max_ts);
  segs_[base] = std::move(seg);
  return true;
}

void Room::OnReplay(log::Lsn, std::span<const uint8_t> rec) {
  int64_t ts;
  if (EventTimestamp(rec, &ts)) {
    std::lock_guard lk(mu_);
    ts_placed_max_ = std::max(ts_placed_max_, ts);
  }
}

// Every batch of the log, in order (see WalOptions::on_batch): extends the
// newest segment's index, or starts a segment and seals the one before.
void Room::OnBatch(const log::BatchLocation& b) {
  uint64_t base = b.segment_base - 1, first = b.first_lsn - 1;
  std::lock_guard lk(mu_);
  int64_t ts_before = ts_placed_max_;
  if (!opening_) {
    while (!pending_ts_.empty() && pending_ts_.front().first < first) pending_ts_.pop_front();
    if (!pending_ts_.empty() && pending_ts_.front().first == first) ts_before = pending_ts_.front().ts_before;
    ts_placed_max_ = std::max(ts_placed_max_, ts_before);
  }
  auto it = segs_.find(base);
  if (it == segs_.end()) {
    if (!segs_.empty()) {
      Segment& prev = *segs_.rbegin()->second;
      prev.sealed = true;
      prev.idx.last_offset = base - 1;
      prev.idx.max_ts = ts_before;
      sealed_since_compaction_++;
    }
    auto seg = std::make_shared<Segment>();
    seg->base = base;
    seg->path = dir_ + "/" + log::SegmentFileName(b.segment_base, 1);
    seg->idx.base_offset = base;
    seg->idx.compacted = (b.segment_flags & log::kSegmentCompacted) != 0;
    it = segs_.emplace(base, std::move(seg)).first;
  }
  SegmentIndex& idx = it->second->idx;
  if (idx.entries.empty() || b.offset - idx.entries.back().position >= opts_.index_interval_bytes)
    idx.entries.push_back({static_cast<uint32_t>(first - base), static_cast<uint32_t>(b.offset), ts_before});
  idx.last_offset = first + b.record_count - 1;
  idx.end_position = b.offset + b.footprint;
  idx.max_ts = ts_before;  // a lower bound until the segment is sealed
}

Status Room::CheckEvents(std::span<const EventIn> events, const StreamOptions& opts) {
  if (events.empty()) return Status::InvalidArgument("append of no events");
  uint64_t total = 0;
  for (const EventIn& e : events) {
    if (e.key.size() > opts.max_key_bytes)
      return Status::TooLarge("event key of " + std::to_string(e.key.size()) + " bytes exceeds stream.max_key_bytes (" +
                              std::to_string(opts.max_key_bytes) + ")");
    if (e.headers.size() > opts.max_headers)
      return Status::TooLarge("event with " + std::to_string(e.headers.size()) +
                              " headers exceeds stream.max_headers (" + std::to_string(opts.max_headers) + ")");
    size_t n = EncodedEventSize(e);
    if (n > opts.max_event_bytes)
      return Status::TooLarge("event of " + std::to_string(n) + " bytes exceeds stream.max_event_bytes (" +
                              std::to_string(opts.max_event_bytes) + " here)");
    total += n + log::kRecordPrefixSize;
  }
  if (total > opts.max_append_bytes)
    return Status::TooLarge("append of " + std::to_string(total) + " bytes exceeds stream.max_append_bytes (" +
                            std::to_string(opts.max_append_bytes) + " here)");
  return Status::Ok();
}

Result<uint64_t> Room::Append(std::span<const EventIn> events) {
  log::Lsn last = 0;
  Result<uint64_t> first = Order(events, &last);
  if (!first.ok()) return first;
  SYNAP_RETURN_IF_ERROR(wal_->WaitFor(last));
  return first;
}

Status Room::AppendAsync(std::span<const EventIn> events, std::function<void(Status, uint64_t first)> done) {
  log::Lsn last = 0;
  Result<uint64_t> first = Order(events, &last);
  if (!first.ok()) return first.status();
  wal_->OnAcked(last, [done = std::move(done), f = *first](Status st) { done(st, f); });
  return Status::Ok();
}

// Encodes the events and puts them in the log, in order; *last is the LSN
// to wait for. Returns the first offset.
Result<uint64_t> Room::Order(std::span<const EventIn> events, log::Lsn* last_lsn) {
  if (closed_.load()) return Status::Closed("room " + name_ + " is closed");
  SYNAP_RETURN_IF_ERROR(CheckEvents(events, opts_));
  int64_t now = WallMs(), batch_max = INT64_MIN;
  for (const EventIn& e : events) batch_max = std::max(batch_max, e.timestamp_ms != 0 ? e.timestamp_ms : now);
  thread_local std::string scratch;
  thread_local std::vector<std::span<const uint8_t>> spans;
  scratch.clear();
  spans.clear();
  std::vector<size_t> ends;
  ends.reserve(events.size());
  for (const EventIn& e : events) {
    EncodeEvent(e, e.timestamp_ms != 0 ? e.timestamp_ms : now, &scratch);
    ends.push_back(scratch.size());
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(scratch.data());
  for (size_t i = 0, start = 0; i < ends.size(); start = ends[i++]) spans.emplace_back(p + start, ends[i] - start);

  Result<log::Lsn> last = Status::Ok();
  uint64_t first = 0;
  {
    std::lock_guard alk(append_mu_);
    first = wal_->last_lsn();  // the next offset: only this lock appends here
    {
      std::lock_guard lk(mu_);
      pending_ts_.push_back({first, ts_appended_max_});
    }
    last = wal_->AppendMany(spans);
    if (!last.ok()) {
      std::lock_guard lk(mu_);
      if (!pending_ts_.empty() && pending_ts_.back().first == first) pending_ts_.pop_back();
      return last.status();
    }
    ts_appended_max_ = std::max(ts_appended_max_, batch_max);
  }
  if (waiters_.load() > 0) wal_->OnAcked(*last, [this](Status) { NotifyWaiters(); });
  *last_lsn = *last;
  return first;
}

void Room::NotifyWaiters() {
  std::vector<std::pair<bool, std::function<void(bool)>>> ready;
  {
    std::lock_guard lk(wait_mu_);
    wait_cv_.notify_all();
    // No log when its recovery failed (Close from ~Room after a failed
    // Open): nothing is readable then, and nobody can be waiting.
    uint64_t next = wal_ ? next_offset() : 0;
    for (auto it = readable_.begin(); it != readable_.end();) {
      if (it->second.from < next || closed_.load()) {
        ready.emplace_back(it->second.from < next, std::move(it->second.cb));
        it = readable_.erase(it);
        waiters_.fetch_sub(1);
      } else {
        ++it;
      }
    }
  }
  for (auto& [readable, cb] : ready) cb(readable);  // outside the lock: a callback may register again
}

Status Room::OnReadable(uint64_t handle, uint64_t from, std::function<void(bool)> cb) {
  bool readable = false;
  {
    std::lock_guard lk(wait_mu_);
    readable = next_offset() > from;
    if (!readable && !closed_.load()) {
      if (readable_.size() >= kMaxReadableWaiters)
        return Status::Busy("room " + name_ + " has " + std::to_string(kMaxReadableWaiters) +
                            " readers waiting (the limit): cancel some first");
      if (readable_.count(handle) > 0)
        return Status::InvalidArgument("readable handle " + std::to_string(handle) + " is in use");
      readable_.emplace(handle, ReadableWait{from, std::move(cb)});
      waiters_.fetch_add(1);  // from now on appends register an ack callback (see WaitForData)
      cb = nullptr;
    }
  }
  if (cb) {
    cb(readable);
    return Status::Ok();
  }
  if (wal_->last_lsn() > from) wal_->OnAcked(from + 1, [this](Status) { NotifyWaiters(); });
  return Status::Ok();
}

// Under wait_mu_, as NotifyWaiters takes a callback out: once that one has
// it, this finds nothing, so a true here and a call of the callback never
// both happen.
bool Room::CancelReadable(uint64_t handle) {
  std::lock_guard lk(wait_mu_);
  if (readable_.erase(handle) == 0) return false;
  waiters_.fetch_sub(1);
  return true;
}

// Waits until an event at `from` is readable, the room closes, or wait_ms
// pass. No polling: appends wake waiters through the log's ack callbacks.
bool Room::WaitForData(uint64_t from, uint32_t wait_ms) {
  waiters_.fetch_add(1);
  // An append made but not yet acknowledged saw no waiter: cover it here.
  // Later appends see waiters_ > 0 and register their own callback.
  if (wal_->last_lsn() > from) wal_->OnAcked(from + 1, [this](Status) { NotifyWaiters(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::unique_lock lk(wait_mu_);
  bool got = wait_cv_.wait_until(lk, deadline, [&] { return next_offset() > from || closed_.load(); });
  waiters_.fetch_sub(1);
  return got && !closed_.load();
}

uint64_t Room::earliest_offset() const {
  std::lock_guard lk(mu_);
  return EarliestLocked();
}

uint64_t Room::EarliestLocked() const {
  return segs_.empty() ? next_offset() : std::min(log_start_, segs_.begin()->first);
}

RoomInfo Room::Info() const {
  RoomInfo info;
  info.name = name_;
  info.settings = settings_;
  info.recovery = recovery_;
  info.next_offset = next_offset();
  {
    std::lock_guard wk(wait_mu_);
    info.readable_waiters = readable_.size();
  }
  std::lock_guard lk(mu_);
  info.earliest_offset = segs_.empty() ? info.next_offset : std::min(log_start_, segs_.begin()->first);
  info.segments = segs_.size();
  for (const auto& [base, seg] : segs_) info.bytes += seg->idx.end_position;
  return info;
}

Status Room::Close() {
  if (closed_.exchange(true)) return Status::Ok();
  NotifyWaiters();
  Status st;
  if (opened_) {  // never from a failed recovery; not beside a trim or compaction in progress
    std::lock_guard mk(maint_mu_);
    st = WriteIndexes();
  }
  Status ws = wal_ ? wal_->Close() : Status::Ok();
  return ws.ok() ? st : ws;
}

}  // namespace synap::stream
