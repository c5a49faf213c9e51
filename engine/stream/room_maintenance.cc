// Room maintenance, one operation at a time per room (maint_mu_): index
// files for sealed segments, retention and trimming, compaction.
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <unordered_map>

#include "engine/log/codec.h"
#include "engine/log/segment.h"
#include "engine/stream/room.h"
#include "engine/stream/room_segment.h"

namespace synap::stream {

Status Room::PersistIndexes() {
  if (closed_.load()) return Status::Closed("room " + name_ + " is closed");
  std::lock_guard mk(maint_mu_);
  return WriteIndexes();
}

void Room::CloseIdleFiles(int64_t idle_ms) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  std::lock_guard lk(mu_);
  for (auto& [base, seg] : segs_)
    if (seg->sealed && seg->file != nullptr && seg->file.use_count() == 1 && now - seg->last_read_ms >= idle_ms)
      seg->file.reset();  // no read holds it: closed now
}

Status Room::WriteIndexes() {
  std::vector<std::pair<std::shared_ptr<Segment>, SegmentIndex>> todo;
  {
    std::lock_guard lk(mu_);
    for (auto& [base, seg] : segs_)
      if (seg->sealed && !seg->persisted) todo.emplace_back(seg, seg->idx);
  }
  for (auto& [seg, idx] : todo) {
    SYNAP_RETURN_IF_ERROR(WriteIndexFiles(io_, dir_, idx));
    std::lock_guard lk(mu_);
    seg->persisted = true;
  }
  return Status::Ok();
}

Result<uint64_t> Room::ApplyRetention(int64_t now_ms) {
  if (closed_.load()) return Status::Closed("room " + name_ + " is closed");
  if (settings_.cleanup == Cleanup::kCompact) return 0;
  if (settings_.retention_bytes == 0 && settings_.retention_ms == 0) return 0;
  std::lock_guard mk(maint_mu_);
  Result<Trimmed> t = DropOldestSegments([&](const Segment& s, uint64_t, uint64_t bytes_from_here) {
    bool too_big = settings_.retention_bytes != 0 && bytes_from_here > settings_.retention_bytes;
    bool too_old = settings_.retention_ms != 0 && s.idx.max_ts != INT64_MIN &&
                   s.idx.max_ts < now_ms - static_cast<int64_t>(settings_.retention_ms);
    return too_big || too_old;
  });
  if (!t.ok()) return t.status();
  return t->segments;
}

// A segment goes when its successor starts at or below `offset`: then all
// its events are below it. Clamping to the high watermark keeps every
// deleted event acknowledged (an unacknowledged batch may already have
// sealed the segment before it).
Result<Trimmed> Room::TrimBefore(uint64_t offset) {
  if (closed_.load()) return Status::Closed("room " + name_ + " is closed");
  std::lock_guard mk(maint_mu_);
  uint64_t before = std::min(offset, next_offset());
  return DropOldestSegments([before](const Segment&, uint64_t successor, uint64_t) { return successor <= before; });
}

Result<Trimmed> Room::DropOldestSegments(const DropTest& drop) {
  std::vector<std::shared_ptr<Segment>> gone;
  Trimmed t;
  uint64_t cutoff = 0;
  {
    std::lock_guard lk(mu_);
    uint64_t earliest = EarliestLocked();
    uint64_t bytes = 0;
    for (const auto& [base, seg] : segs_) bytes += seg->idx.end_position;
    for (auto it = segs_.begin(); it != segs_.end() && std::next(it) != segs_.end(); ++it) {
      if (!drop(*it->second, std::next(it)->first, bytes)) break;
      bytes -= it->second->idx.end_position;
      cutoff = std::next(it)->first;
      gone.push_back(it->second);
    }
    // Out of the map first: a reader either holds the segment (and its open
    // file) already or finds it gone and gets OutOfRange.
    for (const auto& seg : gone) segs_.erase(seg->base);
    if (!gone.empty()) log_start_ = cutoff;
    t.earliest_offset = EarliestLocked();
    t.events = gone.empty() ? 0 : t.earliest_offset - earliest;
    t.segments = gone.size();
  }
  if (gone.empty()) return t;
  // Oldest first, then the directory is synced: a crash leaves a shorter
  // prefix deleted, never a hole, and the next open starts at the oldest
  // file left.
  Result<uint64_t> removed = wal_->RemoveSegmentsBelow(cutoff + 1);
  if (!removed.ok()) return removed.status().WithContext("room " + name_);
  for (const auto& seg : gone) RemoveIndexFiles(io_, dir_, seg->base);
  return t;
}

bool Room::CompactionDue() const {
  if (settings_.cleanup == Cleanup::kDelete) return false;
  std::lock_guard lk(mu_);
  return sealed_since_compaction_ > 0;
}

namespace {

struct KeyHash {
  size_t operator()(const XXH128_hash_t& h) const { return h.low64; }
};
struct KeyEq {
  bool operator()(const XXH128_hash_t& a, const XXH128_hash_t& b) const { return XXH128_isEqual(a, b); }
};

XXH128_hash_t KeyOf(const EventBatch& b, const ReadEvent& e) {
  return XXH3_128bits(b.bytes.data() + e.key_pos, e.key_len);
}

}  // namespace

struct Room::LatestKeys : std::unordered_map<XXH128_hash_t, uint64_t, KeyHash, KeyEq> {};

// Kafka's cleanup.policy=compact, simply: one pass over the room finds the
// latest offset of every key (by a 128-bit hash), then each sealed segment
// holding a superseded event is rewritten beside itself and renamed over
// it. Appends go on meanwhile: only sealed segments are touched.
Result<uint64_t> Room::Compact(uint64_t max_keys) {
  if (closed_.load()) return Status::Closed("room " + name_ + " is closed");
  std::lock_guard mk(maint_mu_);
  std::vector<std::shared_ptr<Segment>> sealed;
  {
    std::lock_guard lk(mu_);
    sealed_since_compaction_ = 0;
    for (auto& [base, seg] : segs_)
      if (seg->sealed) sealed.push_back(seg);
  }
  if (sealed.empty()) return 0;
  uint64_t hw = next_offset();
  LatestKeys latest;
  EventBatch b;
  for (uint64_t from = earliest_offset(); from < hw;) {
    b.Clear();
    SYNAP_RETURN_IF_ERROR(ReadRange(from, hw, 65536, 16u << 20, &b));
    for (const ReadEvent& e : b.events) {
      if (e.key_len == 0) continue;
      latest[KeyOf(b, e)] = e.offset;
      if (latest.size() > max_keys)
        return Status::TooLarge("room " + name_ + ": compaction found more than stream.compact_max_keys (" +
                                std::to_string(max_keys) + ") distinct keys");
    }
    if (b.next_offset <= from) break;
    from = b.next_offset;
  }
  uint64_t dropped = 0;
  for (const auto& seg : sealed) SYNAP_RETURN_IF_ERROR(CompactSegment(seg, latest, &dropped));
  return dropped;
}

namespace {

// Builds a compacted segment file in memory: header block, then one batch
// per run of consecutive kept offsets (split at max_batch bytes).
class CompactedWriter {
 public:
  CompactedWriter(const log::SegmentHeader& old, log::Codec codec, uint32_t index_interval)
      : header_(old), codec_(codec), interval_(index_interval) {
    header_.flags = (old.flags & ~log::kSegmentDirect) | log::kSegmentCompacted;
    file_.assign(header_.data_offset, 0);
    log::EncodeSegmentHeader(header_, file_.data());
  }
  // Adds one kept event; ts_before = the room's running max before it.
  void Add(uint64_t offset, std::span<const uint8_t> rec, int64_t ts_before) {
    if (count_ > 0 && (offset != next_ || raw_.size() + rec.size() + 4 > kMaxBatch)) Flush();
    if (count_ == 0) {
      first_ = offset;
      first_ts_ = ts_before;
    }
    uint32_t len = static_cast<uint32_t>(rec.size());
    raw_.append(reinterpret_cast<const char*>(&len), 4);
    raw_.append(reinterpret_cast<const char*>(rec.data()), rec.size());
    count_++;
    next_ = offset + 1;
  }
  void Flush() {
    if (count_ == 0) return;
    log::BatchHeader h;
    h.record_count = count_;
    h.first_lsn = first_ + 1;
    h.segment_id = header_.segment_id;
    h.raw_len = static_cast<uint32_t>(raw_.size());
    std::span<const uint8_t> raw(reinterpret_cast<const uint8_t*>(raw_.data()), raw_.size());
    std::vector<uint8_t> stored;
    if (codec_ != log::Codec::kNone && raw_.size() >= 4096 && log::Compress(codec_, 1, raw, &stored, 0)) {
      h.codec = codec_;
    } else {
      stored.assign(raw.begin(), raw.end());
    }
    h.stored_len = static_cast<uint32_t>(stored.size());
    h.payload_hash = log::Hash(stored.data(), stored.size(), header_.segment_id);
    uint64_t pos = file_.size();
    if (entries_.empty() || pos - entries_.back().position >= interval_)
      entries_.push_back({static_cast<uint32_t>(first_ - (header_.base_lsn - 1)), static_cast<uint32_t>(pos), first_ts_});
    file_.resize(pos + log::BatchFootprint(h.stored_len, header_.alignment), 0);
    log::EncodeBatchHeader(h, file_.data() + pos);
    std::memcpy(file_.data() + pos + log::kBatchHeaderSize, stored.data(), stored.size());
    raw_.clear();
    count_ = 0;
  }
  const std::vector<uint8_t>& file() const { return file_; }
  std::vector<IndexEntry>& entries() { return entries_; }

 private:
  static constexpr size_t kMaxBatch = 1 << 20;
  log::SegmentHeader header_;
  log::Codec codec_;
  uint32_t interval_;
  std::vector<uint8_t> file_;
  std::string raw_;
  uint32_t count_ = 0;
  uint64_t first_ = 0, next_ = 0;
  int64_t first_ts_ = INT64_MIN;
  std::vector<IndexEntry> entries_;
};

}  // namespace

Status Room::CompactSegment(const std::shared_ptr<Segment>& seg, const LatestKeys& latest, uint64_t* dropped) {
  SegmentIndex old;
  log::SegmentHeader header;
  {
    // Installed before the rename: every read of this Segment keeps the old file.
    std::lock_guard lk(mu_);
    if (seg->file == nullptr) {
      Result<std::shared_ptr<SegmentFile>> f = SegmentFile::Open(io_, seg->path);
      if (!f.ok()) return f.status();
      seg->file = std::move(*f);
    }
    header = seg->file->header;
    old = seg->idx;
  }
  CompactedWriter w(header, settings_.codec, opts_.index_interval_bytes);
  int64_t running = old.entries.empty() ? INT64_MIN : old.entries.front().ts_before;
  uint64_t kept = 0, seen = 0;
  EventBatch b;
  for (uint64_t from = old.base_offset; from <= old.last_offset;) {
    b.Clear();
    SYNAP_RETURN_IF_ERROR(ReadRange(from, old.last_offset + 1, 65536, 16u << 20, &b));
    for (const ReadEvent& e : b.events) {
      seen++;
      auto it = e.key_len == 0 ? latest.end() : latest.find(KeyOf(b, e));
      if (e.key_len == 0 || it == latest.end() || it->second == e.offset) {
        w.Add(e.offset, {reinterpret_cast<const uint8_t*>(b.bytes.data()) + e.record_pos, e.record_len}, running);
        kept++;
      }
      running = std::max(running, e.timestamp_ms);
    }
    if (b.next_offset <= from) break;
    from = b.next_offset;
  }
  if (kept == seen) return Status::Ok();
  w.Flush();

  std::string tmp = seg->path + ".compact";
  io_->remove(tmp);
  io::OpenOptions oo;
  oo.create = true;
  oo.exclusive = true;
  Result<io::FileHandle> f = io_->open(tmp, oo);
  if (!f.ok()) return f.status();
  auto fresh = std::make_shared<Segment>();
  fresh->file = std::make_shared<SegmentFile>(io_, *f);  // follows the file through the rename
  fresh->file->header = header;
  fresh->file->header.flags = (header.flags & ~log::kSegmentDirect) | log::kSegmentCompacted;
  Status st = io_->write_at(*f, 0, w.file().data(), w.file().size());
  if (st.ok()) st = io_->sync(*f);
  // The old file's index must never describe the new one, even after a
  // power cut: its removal is durable before the rename.
  if (st.ok()) {
    RemoveIndexFiles(io_, dir_, seg->base);
    st = io_->sync_dir(dir_);
  }
  if (st.ok()) st = io_->rename(tmp, seg->path);
  if (st.ok()) st = io_->sync_dir(dir_);
  if (!st.ok()) {
    io_->remove(tmp);
    return st.WithContext("room " + name_ + ": compacting " + seg->path);
  }
  fresh->base = seg->base;
  fresh->path = seg->path;
  fresh->sealed = true;
  fresh->idx = old;
  fresh->idx.compacted = true;
  fresh->idx.end_position = w.file().size();
  fresh->idx.entries = std::move(w.entries());
  fresh->persisted = WriteIndexFiles(io_, dir_, fresh->idx).ok();
  {
    std::lock_guard lk(mu_);
    auto it = segs_.find(seg->base);
    if (it != segs_.end() && it->second == seg) it->second = fresh;
  }
  *dropped += seen - kept;
  return Status::Ok();
}

}  // namespace synap::stream
