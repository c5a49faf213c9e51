// Room reads: find the segment and the index entry at or before an offset,
// then walk batches forward, checking each one's hash (a sealed segment that
// recovery trusted unread is checked here), up to the high watermark.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>

#include "engine/log/codec.h"
#include "engine/stream/room.h"
#include "engine/stream/room_segment.h"

namespace synap::stream {

namespace {
int64_t NowMsForReads() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

struct Room::ReadStart {
  std::shared_ptr<Segment> seg;
  std::shared_ptr<SegmentFile> file;  // held for the whole walk
  uint64_t pos = 0;            // where to start walking batches
  uint64_t from = 0;           // the first offset wanted
  bool sealed = false;         // it had a successor when looked up
  uint64_t end_position = 0;   // sealed: just past its last batch
  uint64_t successor = 0;      // sealed: the next segment's base offset
};

// The segment holding `offset` (or the first after a compaction gap), its
// open file, and the index entry to start from. NotFound when no segment is
// at or after it; OutOfRange when retention removed it meanwhile. The file
// is opened outside mu_ (the committer thread takes mu_ for every batch).
Status Room::SegmentFor(uint64_t offset, ReadStart* s) {
  std::unique_lock lk(mu_);
  if (offset < log_start_)
    return Status::OutOfRange("offset " + std::to_string(offset) + " is below the earliest kept offset " +
                              std::to_string(log_start_) + " of room " + name_);
  auto it = segs_.upper_bound(offset);
  if (it == segs_.begin()) {
    if (it == segs_.end()) return Status::NotFound("no segment");
    offset = it->first;  // below the first segment: start at it
  } else {
    --it;
  }
  s->seg = it->second;
  if (s->seg->file == nullptr) {
    lk.unlock();
    Result<std::shared_ptr<SegmentFile>> f = SegmentFile::Open(io_, s->seg->path);
    lk.lock();
    if (s->seg->file == nullptr) {  // else another reader, or compaction, installed it first: use that one
      if (!f.ok()) return f.status().WithContext("room " + name_);
      s->seg->file = std::move(*f);
    }
    it = segs_.find(s->seg->base);
    if (it == segs_.end() || it->second != s->seg) {  // replaced or removed while unlocked: look again
      lk.unlock();
      return SegmentFor(offset, s);
    }
  }
  s->file = s->seg->file;
  s->seg->last_read_ms = NowMsForReads();
  const IndexEntry* e = s->seg->idx.Floor(offset);
  s->pos = e != nullptr ? e->position : s->file->header.data_offset;
  s->from = offset;
  auto next = std::next(it);
  s->sealed = next != segs_.end();
  s->end_position = s->seg->idx.end_position;
  s->successor = s->sealed ? next->first : 0;
  return Status::Ok();
}

// A walk of a segment that was the newest when it began found no batch at
// `pos`: true when the segment has since been sealed and ends there.
bool Room::SegmentEndsAt(const std::shared_ptr<Segment>& seg, uint64_t pos, uint64_t* successor) {
  std::lock_guard lk(mu_);
  auto it = segs_.find(seg->base);
  if (it == segs_.end() || std::next(it) == segs_.end() || pos < it->second->idx.end_position) return false;
  *successor = std::next(it)->first;
  return true;
}

namespace {

// Reads a file through a window, refilled in large sequential preads.
// `hint` is about how many bytes the caller will want: a tail reader after
// one event does not pull a megabyte through the page cache.
class Window {
 public:
  Window(io::IoBackend* io, io::FileHandle fd, uint64_t hint)
      : io_(io), fd_(fd), chunk_(std::clamp<uint64_t>(hint, kMinChunk, kMaxChunk)) {}
  // Makes [pos, pos+n) available; returns it, or null at end of file.
  Result<const uint8_t*> Get(uint64_t pos, size_t n) {
    if (pos >= start_ && pos + n <= start_ + len_) return buf_.data() + (pos - start_);
    size_t want = std::max<size_t>(n, chunk_);
    chunk_ = std::min<size_t>(chunk_ * 2, kMaxChunk);  // a long walk reads ever larger pieces
    if (buf_.size() < want) buf_.resize(want);
    Result<size_t> got = io_->read_at(fd_, pos, buf_.data(), want);
    if (!got.ok()) return got.status();
    start_ = pos;
    len_ = *got;
    if (len_ < n) return static_cast<const uint8_t*>(nullptr);
    return buf_.data();
  }

 private:
  static constexpr size_t kMinChunk = 16 << 10, kMaxChunk = 1 << 20;
  io::IoBackend* io_;
  io::FileHandle fd_;
  size_t chunk_;
  // Reused by the thread's next window: no allocation per read.
  static thread_local std::vector<uint8_t> scratch_;
  std::vector<uint8_t>& buf_ = scratch_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

thread_local std::vector<uint8_t> Window::scratch_;

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0) return false;
  return true;
}

// Copies one record into the batch, with views of its parts.
Status AddEvent(uint64_t offset, std::span<const uint8_t> rec, EventBatch* out) {
  EventView v;
  SYNAP_RETURN_IF_ERROR(DecodeEvent(rec, &v));
  ReadEvent e;
  e.offset = offset;
  e.timestamp_ms = v.timestamp_ms;
  uint32_t base = static_cast<uint32_t>(out->bytes.size());
  const char* r = reinterpret_cast<const char*>(rec.data());
  auto pos = [&](std::string_view part) { return base + static_cast<uint32_t>(part.data() - r); };
  e.record_pos = base;
  e.record_len = static_cast<uint32_t>(rec.size());
  e.key_pos = pos(v.key);
  e.key_len = static_cast<uint32_t>(v.key.size());
  e.payload_pos = pos(v.payload);
  e.payload_len = static_cast<uint32_t>(v.payload.size());
  e.first_header = static_cast<uint32_t>(out->headers.size());
  e.header_count = static_cast<uint32_t>(v.headers.size());
  for (const HeaderView& h : v.headers)
    out->headers.push_back({pos(h.name), static_cast<uint32_t>(h.name.size()), pos(h.value),
                            static_cast<uint32_t>(h.value.size())});
  out->bytes.append(r, rec.size());
  out->events.push_back(e);
  return Status::Ok();
}

}  // namespace

// Walks batches of s.seg from s.pos, adding events in [s.from, hw) to *out
// until a limit is met. *next becomes the offset after the last one looked
// at; when the segment is exhausted, its successor's base.
Status Room::ReadSegment(ReadStart& s, uint64_t hw, uint32_t max_records, uint64_t max_bytes, EventBatch* out,
                         uint64_t* next) {
  const log::SegmentHeader& sh = s.file->header;
  Window win(io_, s.file->fd, max_bytes - std::min<uint64_t>(max_bytes, out->bytes.size()) + log::kBatchHeaderSize);
  std::vector<uint8_t> raw;
  uint64_t pos = s.pos;
  *next = s.from;
  auto damaged = [&](const std::string& why) {
    return Status::Corruption("room " + name_ + ": " + s.seg->path + " at byte offset " + std::to_string(pos) + ": " +
                              why);
  };
  for (;;) {
    if (*next >= hw || out->events.size() >= max_records || out->bytes.size() >= max_bytes) return Status::Ok();
    if (s.sealed && pos >= s.end_position) {
      *next = std::max(*next, s.successor);
      return Status::Ok();
    }
    Result<const uint8_t*> hp = win.Get(pos, log::kBatchHeaderSize);
    if (!hp.ok()) return hp.status();
    log::BatchHeader h;
    Status hs = *hp == nullptr ? Status::Corruption("end of file") : log::DecodeBatchHeader(*hp, log::kBatchHeaderSize, sh.segment_id, &h);
    if (!hs.ok()) {
      uint64_t successor;
      bool zeros = *hp == nullptr || AllZero(*hp, log::kBatchHeaderSize);
      if (!s.sealed && zeros && SegmentEndsAt(s.seg, pos, &successor)) {
        *next = std::max(*next, successor);
        return Status::Ok();
      }
      return damaged(hs.message());  // below the high watermark every batch is whole
    }
    uint64_t footprint = log::BatchFootprint(h.stored_len, sh.alignment);
    Result<const uint8_t*> bp = win.Get(pos, log::kBatchHeaderSize + h.stored_len);
    if (!bp.ok()) return bp.status();
    if (*bp == nullptr) return damaged("batch runs past the end of the file");
    const uint8_t* stored = *bp + log::kBatchHeaderSize;
    uint64_t first = h.first_lsn - 1;
    if (first + h.record_count <= *next) {  // wholly before what is wanted
      pos += footprint;
      continue;
    }
    if (log::Hash(stored, h.stored_len, sh.segment_id) != h.payload_hash) return damaged("batch payload hash mismatch");
    std::span<const uint8_t> payload(stored, h.stored_len);
    if (h.codec != log::Codec::kNone) {
      SYNAP_RETURN_IF_ERROR(log::Decompress(h.codec, payload, h.raw_len, &raw));
      payload = raw;
    }
    Status es;
    SYNAP_RETURN_IF_ERROR(log::ForEachRecord(payload, h.record_count, [&](uint32_t i, std::span<const uint8_t> rec) {
      uint64_t off = first + i;
      if (!es.ok() || off < *next || off >= hw || out->events.size() >= max_records ||
          (out->bytes.size() >= max_bytes && !out->events.empty()))
        return;
      es = AddEvent(off, rec, out);
      *next = off + 1;
    }));
    SYNAP_RETURN_IF_ERROR(es);
    if (out->events.size() >= max_records || out->bytes.size() >= max_bytes) return Status::Ok();
    *next = std::max(*next, std::min(first + h.record_count, hw));
    pos += footprint;
  }
}

Status Room::ReadRange(uint64_t from, uint64_t hw, uint32_t max_records, uint64_t max_bytes, EventBatch* out) {
  uint64_t next = from;
  while (next < hw && out->events.size() < max_records && out->bytes.size() < max_bytes) {
    ReadStart s;
    Status st = SegmentFor(next, &s);
    if (st.code() == Status::Code::kNotFound) break;
    SYNAP_RETURN_IF_ERROR(st);
    uint64_t after = next;
    SYNAP_RETURN_IF_ERROR(ReadSegment(s, hw, max_records, max_bytes, out, &after));
    if (after <= next) break;  // no progress: nothing more below hw
    next = after;
  }
  out->next_offset = next;
  return Status::Ok();
}

Status Room::Read(uint64_t from, uint32_t max_records, uint64_t max_bytes, uint32_t wait_ms, EventBatch* out) {
  out->Clear();
  if (closed_.load()) return Status::Closed("room " + name_ + " is closed");
  max_records = std::clamp<uint32_t>(max_records, 1, opts_.max_read_records);
  max_bytes = std::clamp<uint64_t>(max_bytes, 1, opts_.max_read_bytes);
  uint64_t hw = next_offset();
  if (from > hw)
    return Status::OutOfRange("offset " + std::to_string(from) + " is beyond the end of room " + name_ +
                              " (next offset " + std::to_string(hw) + ")");
  if (from == hw && wait_ms > 0) {
    WaitForData(from, std::min(wait_ms, opts_.max_wait_ms));
    if (closed_.load()) return Status::Closed("room " + name_ + " was closed or deleted during the read");
    hw = next_offset();
  }
  uint64_t earliest = earliest_offset();
  if (from < earliest)
    return Status::OutOfRange("offset " + std::to_string(from) + " is below the earliest kept offset " +
                              std::to_string(earliest) + " of room " + name_);
  out->high_watermark = hw;
  return ReadRange(from, hw, max_records, max_bytes, out);
}

Result<uint64_t> Room::OffsetForTime(int64_t ts_ms) {
  uint64_t hw = next_offset(), from = 0;
  {
    std::lock_guard lk(mu_);
    if (segs_.empty()) return hw;
    from = segs_.begin()->first;
    for (const auto& [base, seg] : segs_) {
      // Every event before this segment's end is older than ts_ms: skip it.
      if (seg->sealed && seg->idx.max_ts < ts_ms) continue;
      const IndexEntry* e = seg->idx.FloorTime(ts_ms);
      from = e != nullptr ? base + e->rel_offset : base;
      break;
    }
  }
  EventBatch b;
  while (from < hw) {
    b.Clear();
    SYNAP_RETURN_IF_ERROR(ReadRange(from, hw, 256, 256u << 10, &b));
    for (const ReadEvent& e : b.events)
      if (e.timestamp_ms >= ts_ms) return e.offset;
    if (b.next_offset <= from) break;
    from = b.next_offset;
  }
  return hw;
}

}  // namespace synap::stream
