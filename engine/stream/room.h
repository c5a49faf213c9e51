// Room: one partition of a stream — an append-only log of events addressed
// by offsets contiguous from 0 — in a directory of its own:
//
//   ROOM                          its settings (RoomSettings text)
//   LOCK                          held while open
//   <20-digit base offset>.log    segments: the WAL's segment format, each
//                                 named by the offset of its first event
//   <base>.index, <base>.timeindex   sparse indexes of sealed segments
//
// Writes go through a wal::Wal on the engine's shared GroupCommitter, so
// appends to many rooms (and to the main log) share io_uring submissions.
// Offset n is the log's LSN n + 1.
//
// Visibility: an event is readable once its append is acknowledged under the
// room's fsync mode (the "high watermark", next_offset()); reads never see
// further, so a reader never sees an event a crash could take back.
//
// Thread-safety: every method may be called from any thread. Maintenance
// (retention, trimming, compaction, index files) runs one operation at a
// time per room: each takes the room's maintenance lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/stream/event.h"
#include "engine/stream/segment_index.h"
#include "engine/stream/stream_options.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"

namespace synap::stream {

// Events read from a room, in offset order, as one buffer of record bytes
// and a table of views into it.
struct ReadEvent {
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  uint32_t record_pos = 0, record_len = 0;    // the encoded event, in EventBatch::bytes
  uint32_t key_pos = 0, key_len = 0;          // in EventBatch::bytes
  uint32_t payload_pos = 0, payload_len = 0;  // in EventBatch::bytes
  uint32_t first_header = 0, header_count = 0;  // in EventBatch::headers
};
struct ReadHeader {
  uint32_t name_pos = 0, name_len = 0, value_pos = 0, value_len = 0;
};
struct EventBatch {
  std::string bytes;
  std::vector<ReadEvent> events;
  std::vector<ReadHeader> headers;
  uint64_t next_offset = 0;  // where the next read should start
  uint64_t high_watermark = 0;  // the room's next_offset() when read
  void Clear() { bytes.clear(), events.clear(), headers.clear(); }
};

// What deleting a room's oldest segments did (Room::TrimBefore).
struct Trimmed {
  uint64_t events = 0;           // how far the earliest offset moved (offsets compaction had emptied count too)
  uint64_t segments = 0;         // segment files deleted
  uint64_t earliest_offset = 0;  // the room's first kept offset afterwards
};

struct RoomInfo {
  std::string name;
  uint64_t earliest_offset = 0;  // the first offset still kept
  uint64_t next_offset = 0;      // the high watermark: one past the last readable event
  uint64_t segments = 0;
  uint64_t bytes = 0;            // segment bytes in use
  uint64_t readable_waiters = 0;  // OnReadable registrations not yet run or cancelled
  RoomSettings settings;
  log::RecoveryReport recovery;
};

class Room {
 public:
  // Opens (creating if needed) the room in `dir`.
  static Result<std::unique_ptr<Room>> Open(wal::GroupCommitter* committer, const std::string& dir,
                                            const std::string& name, const RoomSettings& settings,
                                            const StreamOptions& opts);
  ~Room();
  // The per-event and per-append limits (the store's; a room may be stricter).
  static Status CheckEvents(std::span<const EventIn> events, const StreamOptions& opts);

  // Appends `events` as one batch (all or none) with contiguous offsets and
  // waits until they are acknowledged. Returns the first offset.
  // InvalidArgument (empty), TooLarge (a named limit), ReadOnly (the log
  // failed), Closed.
  Result<uint64_t> Append(std::span<const EventIn> events);
  // The same, without waiting: returns once the events are ordered in the
  // log; done(status, first offset) runs once they are acknowledged or the
  // log failed — on the committer thread, or at once on this one. An error
  // before anything was appended is returned, and done is not called.
  Status AppendAsync(std::span<const EventIn> events, std::function<void(Status, uint64_t first)> done);

  // Reads events from `from` on: at most max_records events and about
  // max_bytes of record bytes (at least one event when any is there). With
  // wait_ms > 0 and nothing at `from` yet, waits up to wait_ms for an append.
  // OutOfRange if `from` is below earliest_offset() (the message names it)
  // or beyond next_offset().
  Status Read(uint64_t from, uint32_t max_records, uint64_t max_bytes, uint32_t wait_ms, EventBatch* out);

  // Registrations OnReadable holds at once in one room: each keeps a
  // callback until it runs or is cancelled, so a caller that never cancels
  // (or a flood of blocked readers) cannot grow memory without bound.
  static constexpr size_t kMaxReadableWaiters = 100000;

  // Calls cb(true) once an event at `from` is readable, or cb(false) when
  // the room closes first: at once on this thread if so already, else on the
  // committer thread (or the closing one). For event loops: a blocking read
  // without a blocked thread. `handle` names the registration for
  // CancelReadable (the caller picks it, unique among this room's); Busy
  // when kMaxReadableWaiters are registered (cb is not called).
  Status OnReadable(uint64_t handle, uint64_t from, std::function<void(bool readable)> cb);
  // Forgets a registration: true means its callback will never run; false
  // means it ran, is running, or was never registered here.
  bool CancelReadable(uint64_t handle);

  // The first offset whose event timestamp is >= ts_ms; next_offset() when none.
  Result<uint64_t> OffsetForTime(int64_t ts_ms);

  uint64_t next_offset() const { return wal_->acked_lsn(); }  // offsets < this are readable
  uint64_t earliest_offset() const;
  RoomInfo Info() const;
  const std::string& name() const { return name_; }
  const RoomSettings& settings() const { return settings_; }

  // ---- maintenance (one operation at a time per room; each waits for the one in progress) ----
  // Deletes whole sealed segments past retention_bytes / retention_ms.
  // Returns how many.
  Result<uint64_t> ApplyRetention(int64_t now_ms);
  // Deletes every sealed segment all of whose events are below `offset`
  // (Kafka's DeleteRecords, Redis's XTRIM ~), whatever the cleanup policy,
  // through retention's path: durable when it returns, and safe against
  // reads and appends in progress. Approximate by design: a segment is the
  // unit of deletion, so events below `offset` that share a segment with
  // one at or above it stay; the newest segment is never deleted, and
  // `offset` is taken as at most the high watermark. Offsets never change;
  // the earliest offset becomes the first kept segment's base.
  Result<Trimmed> TrimBefore(uint64_t offset);
  // Rewrites sealed segments keeping only the latest event per key (events
  // without a key are kept); offsets do not change. Returns events dropped.
  Result<uint64_t> Compact(uint64_t max_keys);
  // Writes the index files of sealed segments that lack them.
  Status PersistIndexes();
  // Closes sealed segments' files that no read has used for idle_ms (each
  // read segment holds a descriptor until then).
  void CloseIdleFiles(int64_t idle_ms);
  // True when a segment was sealed since the last compaction.
  bool CompactionDue() const;

  Status Sync() { return wal_->Sync(); }
  Status Close();

 private:
  struct Segment;
  struct PendingTs {  // an append call's first offset, and the running max timestamp before it
    uint64_t first;
    int64_t ts_before;
  };
  Room(std::string dir, std::string name, const RoomSettings& settings, const StreamOptions& opts);
  Result<uint64_t> Order(std::span<const EventIn> events, log::Lsn* last);
  void OnBatch(const log::BatchLocation& where);
  bool TrustSealed(const log::SegmentHeader& h, log::Lsn next_base, uint64_t file_size);
  void OnReplay(log::Lsn lsn, std::span<const uint8_t> rec);
  void FinishOpen();
  struct ReadStart;
  Status SegmentFor(uint64_t offset, ReadStart* start);
  bool SegmentEndsAt(const std::shared_ptr<Segment>& seg, uint64_t pos, uint64_t* successor);
  Status ReadSegment(ReadStart& s, uint64_t hw, uint32_t max_records, uint64_t max_bytes, EventBatch* out,
                     uint64_t* next);
  Status ReadRange(uint64_t from, uint64_t hw, uint32_t max_records, uint64_t max_bytes, EventBatch* out);
  bool WaitForData(uint64_t from, uint32_t wait_ms);
  Status WriteIndexes();
  void NotifyWaiters();
  uint64_t EarliestLocked() const;  // caller holds mu_
  // Retention's and TrimBefore's one deletion path: takes the oldest sealed
  // segments off the room while drop(segment, its successor's base, bytes
  // of it and every later segment) says so, then deletes their files. The
  // caller holds maint_mu_.
  using DropTest = std::function<bool(const Segment& seg, uint64_t successor, uint64_t bytes_from_here)>;
  Result<Trimmed> DropOldestSegments(const DropTest& drop);
  struct LatestKeys;  // key hash -> latest offset
  Status CompactSegment(const std::shared_ptr<Segment>& seg, const LatestKeys& latest, uint64_t* dropped);

  std::string dir_, name_;
  RoomSettings settings_;
  StreamOptions opts_;
  io::IoBackend* io_ = nullptr;
  std::unique_ptr<wal::Wal> wal_;
  log::RecoveryReport recovery_;

  std::mutex append_mu_;     // orders appends with pending_ts_
  int64_t ts_appended_max_ = INT64_MIN;  // running max timestamp of appended events

  // One maintenance operation at a time (retention, trim, compaction, index
  // files, the close): taken before mu_, never by the committer thread.
  std::mutex maint_mu_;

  mutable std::mutex mu_;    // guards what follows
  std::map<uint64_t, std::shared_ptr<Segment>> segs_;  // by base offset
  std::deque<PendingTs> pending_ts_;
  int64_t ts_placed_max_ = INT64_MIN;  // running max timestamp up to the last placed batch
  bool opening_ = true;
  uint64_t log_start_ = 0;  // base of the oldest segment file (compaction may empty it)
  uint64_t sealed_since_compaction_ = 0;

  mutable std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::atomic<int> waiters_{0};
  struct ReadableWait {
    uint64_t from;
    std::function<void(bool)> cb;
  };
  std::map<uint64_t, ReadableWait> readable_;  // OnReadable's by handle, under wait_mu_
  std::atomic<bool> closed_{false};
  bool opened_ = false;  // Open finished: Close may write index files
};

}  // namespace synap::stream
