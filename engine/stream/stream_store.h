// StreamStore: every room of an engine instance, the partitioned topics
// made of them, and consumer groups' committed offsets.
//
// Layout under the store's directory (<data>/streams):
//   <room>/            one directory per room (room.h)
//   __meta/            the store's own room, compacted: consumer-group
//                      commits and topic definitions, as keyed events
//   .deleted.<room>/   a room being deleted (finished at the next open)
//
// A topic of N partitions is the rooms "<topic>-0" .. "<topic>-<N-1>" (as
// Kafka names partition directories); an event with a key goes to partition
// XXH3-64(key) mod N, one without a key round-robin.
//
// Thread-safety: every method may be called from any thread; Close() last.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/stream/room.h"
#include "engine/stream/stream_options.h"
#include "engine/wal/group_committer.h"

namespace synap::stream {

struct GroupOffset {
  std::string group, room;
  uint64_t committed = 0;    // the next offset the group will read
  uint64_t next_offset = 0;  // the room's high watermark
  uint64_t lag = 0;          // next_offset - committed
};

struct MaintenanceStats {
  uint64_t passes = 0;
  uint64_t segments_deleted = 0;  // by retention
  uint64_t compactions = 0;
  uint64_t events_compacted = 0;  // dropped by compaction
  uint64_t errors = 0;
  std::string last_error;
};

class StreamStore {
 public:
  static Result<std::unique_ptr<StreamStore>> Open(wal::GroupCommitter* committer, const std::string& dir,
                                                   const StreamOptions& opts);
  ~StreamStore();

  // ---- rooms ----
  // Creates a room with the store's defaults overridden by `settings`
  // ("name=value" lines or ';'-separated). AlreadyExists if it exists;
  // InvalidArgument (name, settings); TooLarge (stream.max_rooms).
  Status CreateRoom(const std::string& name, const std::string& settings);
  // Deletes a room and its events; NotFound if missing.
  Status DeleteRoom(const std::string& name);
  std::vector<std::string> ListRooms();
  Result<RoomInfo> Info(const std::string& name);

  // Appends events to a room (created first when missing and
  // stream.auto_create is on, else NotFound). Returns the first offset.
  Result<uint64_t> Append(const std::string& room, std::span<const EventIn> events);
  // Room::AppendAsync, creating the room as Append does.
  Status AppendAsync(const std::string& room, std::span<const EventIn> events,
                     std::function<void(Status, uint64_t first)> done);
  Status Read(const std::string& room, uint64_t from, uint32_t max_records, uint64_t max_bytes, uint32_t wait_ms,
              EventBatch* out);
  Result<uint64_t> OffsetForTime(const std::string& room, int64_t ts_ms);

  // ---- waiting without a thread ----
  // Registrations waiting for rooms that do not exist yet, all names
  // together (a room's own are bounded by Room::kMaxReadableWaiters).
  static constexpr size_t kMaxAwaitingWaiters = 100000;
  // Room::OnReadable on `room`, under a handle unique in this store (the
  // result: for CancelReadable). A room that does not exist yet is waited
  // for: the registration moves to the room when it is created, so an
  // event at `from` there runs cb(true); cb(false) if the store closes
  // first. InvalidArgument (a bad name), Busy (kMaxAwaitingWaiters, or the
  // room's limit), Closed; cb is not called then.
  Result<uint64_t> OnReadable(const std::string& room, uint64_t from, std::function<void(bool readable)> cb);
  // True: the registration's cb will never run. False: it ran, is running,
  // or never existed.
  bool CancelReadable(uint64_t handle);

  // ---- consumer groups ----
  // Durably records that `group` will next read `offset` of `room`.
  // NotFound (room), OutOfRange (offset beyond the room's end), InvalidArgument (group name).
  Status CommitOffset(const std::string& group, const std::string& room, uint64_t offset);
  // CommitOffset without waiting: returns once the commit is ordered in the
  // meta room; done(status) runs once it is durable (and visible to
  // CommittedOffset) or the meta room's log failed — on the committer thread,
  // or at once on this one. An error before anything was logged (the ones
  // CommitOffset returns) is returned, and done is not called. Commits of one
  // (group, room) take effect in the order they were ordered here.
  Status CommitOffsetAsync(const std::string& group, const std::string& room, uint64_t offset,
                           std::function<void(Status)> done);
  // Forgets the group's commit for the room (a tombstone in the meta room,
  // as DeleteRoom writes for each of a room's commits). NotFound when the
  // group has no commit for it; the room itself need not exist any more.
  Status DeleteCommit(const std::string& group, const std::string& room);
  // DeleteCommit without waiting, as CommitOffsetAsync.
  Status DeleteCommitAsync(const std::string& group, const std::string& room, std::function<void(Status)> done);
  // NotFound when the group has committed nothing for the room.
  Result<uint64_t> CommittedOffset(const std::string& group, const std::string& room);
  // Every (group, room) commit; of one group when `group` is not empty.
  // InvalidArgument for a bad group name.
  Result<std::vector<GroupOffset>> GroupOffsets(const std::string& group);

  // ---- partitioned topics ----
  Status CreateTopic(const std::string& name, uint32_t partitions, const std::string& settings);
  Result<uint32_t> TopicPartitions(const std::string& name);  // NotFound
  std::vector<std::pair<std::string, uint32_t>> ListTopics();
  // Appends one event to the partition its key picks; returns (partition, offset).
  Result<std::pair<uint32_t, uint64_t>> Produce(const std::string& topic, const EventIn& event);
  static std::string PartitionRoom(const std::string& topic, uint32_t partition);

  // ---- maintenance ----
  // Compacts a room now (whatever its cleanup policy); returns events dropped.
  Result<uint64_t> Compact(const std::string& room);
  // Room::TrimBefore on a room: deletes its sealed segments whose events are
  // all below `offset`. NotFound (no such room), InvalidArgument (a bad name,
  // "__meta" included: the store's own room is not the user's to trim).
  // Waits only for a maintenance operation on this same room.
  Result<Trimmed> TrimBefore(const std::string& room, uint64_t offset);
  // One pass over every room: index files, retention, due compactions.
  // Called by the engine's background thread every stream.maintenance_ms.
  void Maintain(int64_t now_ms);
  MaintenanceStats maintenance_stats();
  // Closes sealed segments' files unread for idle_ms (Maintain: 30 s).
  void CloseIdleFiles(int64_t idle_ms);

  Status Sync();
  Status Close();

 private:
  StreamStore(wal::GroupCommitter* committer, std::string dir, const StreamOptions& opts);
  Status LoadMeta();
  Status OpenRooms();
  bool HasSegments(const std::string& room_dir);
  Result<std::shared_ptr<Room>> Find(const std::string& name, bool create);
  Result<std::shared_ptr<Room>> CreateLocked(const std::string& name, const RoomSettings& settings);
  Status RemoveTree(const std::string& dir);
  Status DeleteClosedRoom(const std::string& name, const std::shared_ptr<Room>& room);
  // Moves the registrations awaiting `name` to its new room. The caller
  // holds rooms_mu_ exclusively, so no registration for the name can go to
  // awaiting_ meanwhile.
  void AdoptAwaiting(const std::string& name, Room& room);
  void ForgetReadable(uint64_t handle);
  Status AppendMeta(const std::string& key, const std::string& value, uint64_t* offset);
  // Logs key -> value in the meta room and applies it once durable.
  Status AppendMetaAsync(const std::string& key, const std::string& value, std::function<void(Status)> done);
  // The checks CommitOffset makes before logging anything.
  Status CheckCommit(const std::string& group, const std::string& room, uint64_t offset);
  Status CheckDeleteCommit(const std::string& group, const std::string& room);
  void ApplyMeta(std::string_view key, std::string_view value, uint64_t meta_offset);

  wal::GroupCommitter* committer_;
  io::IoBackend* io_;
  std::string dir_;
  StreamOptions opts_;
  std::unique_ptr<Room> meta_;

  std::shared_mutex rooms_mu_;
  std::unordered_map<std::string, std::shared_ptr<Room>> rooms_;
  std::set<std::string> deleting_;  // names reserved until their delete finishes

  std::mutex meta_mu_;  // guards what follows
  struct Commit {
    uint64_t offset = 0;
    uint64_t meta_offset = 0;  // where it was logged: a later log entry wins
    bool deleted = false;      // a tombstone (its room was deleted); kept so that order holds
  };
  std::map<std::pair<std::string, std::string>, Commit> commits_;  // (group, room)
  std::map<std::string, uint32_t> topics_;
  std::mutex topics_create_mu_;

  // Readable registrations (OnReadable). Taken after rooms_mu_; never held
  // while a Room's method or a callback runs.
  std::mutex readable_mu_;
  uint64_t next_readable_ = 1;
  std::unordered_map<uint64_t, std::string> readable_rooms_;  // handle -> room: not yet run or cancelled
  struct Awaiting {
    uint64_t from;
    std::function<void(bool)> cb;
  };
  std::map<std::string, std::map<uint64_t, Awaiting>> awaiting_;  // rooms not created yet: handle -> registration
  size_t awaiting_count_ = 0;

  std::atomic<uint64_t> round_robin_{0};
  std::mutex maint_mu_;  // one maintenance pass (or Compact) at a time
  MaintenanceStats maint_;
  bool closed_ = false;
};

}  // namespace synap::stream
