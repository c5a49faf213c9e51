#include "engine/stream/stream_store.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "engine/base/coding.h"
#include "engine/stream/meta_entry.h"

namespace synap::stream {

namespace {

constexpr const char* kMetaRoom = kMetaRoomName;
constexpr const char* kDeletedPrefix = ".deleted.";
constexpr size_t kMaxGroupName = 255;
constexpr int64_t kIdleFileMs = 30000;  // a sealed segment unread this long gives its descriptor back

// Meta events (meta_entry.h): key "g\0<group>\0<room>" -> u64 offset; key "t\0<topic>" -> u32 partitions.
std::string CommitKey(const std::string& group, const std::string& room) {
  return std::string("g\0", 2) + group + std::string(1, '\0') + room;
}
std::string TopicKey(const std::string& topic) { return std::string("t\0", 2) + topic; }

std::string Fixed(uint64_t v, size_t n) {
  std::string s(n, '\0');
  std::memcpy(s.data(), &v, n);  // little-endian hosts only (as the whole format)
  return s;
}

Status ValidateGroupName(const std::string& group) {
  if (group.empty() || group.size() > kMaxGroupName || group.find('\0') != std::string::npos)
    return Status::InvalidArgument("group name must be 1.." + std::to_string(kMaxGroupName) + " bytes without NUL");
  return Status::Ok();
}

}  // namespace

StreamStore::StreamStore(wal::GroupCommitter* committer, std::string dir, const StreamOptions& opts)
    : committer_(committer), io_(committer->io()), dir_(std::move(dir)), opts_(opts) {}

StreamStore::~StreamStore() { Close(); }

Result<std::unique_ptr<StreamStore>> StreamStore::Open(wal::GroupCommitter* committer, const std::string& dir,
                                                       const StreamOptions& opts) {
  SYNAP_RETURN_IF_ERROR(opts.Validate());
  std::unique_ptr<StreamStore> s(new StreamStore(committer, dir, opts));
  SYNAP_RETURN_IF_ERROR(s->io_->make_dir(dir));
  SYNAP_RETURN_IF_ERROR(s->LoadMeta());
  SYNAP_RETURN_IF_ERROR(s->OpenRooms());
  return s;
}

// The meta room is small (compacted) and read whole at open.
Status StreamStore::LoadMeta() {
  RoomSettings ms;
  ms.segment_bytes = std::max<uint64_t>(8ull << 20, log::AlignUp(opts_.max_append_bytes + 8192ull, 4096));
  ms.fsync = wal::FsyncMode::kAlways;
  ms.cleanup = Cleanup::kCompact;
  // Its own limits: a commit's key holds a group and a room name, whatever
  // the user's stream.max_key_bytes.
  StreamOptions mo = opts_;
  mo.max_key_bytes = std::max<uint32_t>(mo.max_key_bytes, 1024);
  mo.max_event_bytes = std::max<uint32_t>(mo.max_event_bytes, 4096);
  mo.max_append_bytes = std::max<uint32_t>(mo.max_append_bytes, 65536);
  Result<std::unique_ptr<Room>> m = Room::Open(committer_, dir_ + "/" + kMetaRoom, kMetaRoom, ms, mo);
  if (!m.ok()) return m.status();
  meta_ = std::move(*m);
  EventBatch b;
  for (uint64_t from = meta_->earliest_offset(); from < meta_->next_offset();) {
    SYNAP_RETURN_IF_ERROR(meta_->Read(from, 65536, 16u << 20, 0, &b));
    for (const ReadEvent& e : b.events)
      ApplyMeta({b.bytes.data() + e.key_pos, e.key_len}, {b.bytes.data() + e.payload_pos, e.payload_len}, e.offset);
    if (b.next_offset <= from) break;
    from = b.next_offset;
  }
  return Status::Ok();
}

void StreamStore::ApplyMeta(std::string_view key, std::string_view value, uint64_t meta_offset) {
  std::lock_guard lk(meta_mu_);
  MetaEntry e = DecodeMetaEntry(key, value);
  if (e.kind == MetaEntry::Kind::kCommit) {
    std::pair<std::string, std::string> k{std::string(e.group), std::string(e.room)};
    auto it = commits_.find(k);
    if (it != commits_.end() && meta_offset < it->second.meta_offset) return;  // an older entry
    commits_[k] = Commit{e.offset, meta_offset, e.deleted};
  } else if (e.kind == MetaEntry::Kind::kTopic) {
    if (e.partitions == 0) {
      topics_.erase(std::string(e.topic));
    } else {
      topics_[std::string(e.topic)] = e.partitions;
    }
  }
}

// Whether a room directory holds a log segment (docs/format.md §17).
bool StreamStore::HasSegments(const std::string& room_dir) {
  Result<std::vector<std::string>> names = io_->list_dir(room_dir);
  if (!names.ok()) return true;  // cannot tell: keep it, and let the open report what is wrong
  return std::any_of(names->begin(), names->end(), [](const std::string& f) {
    return f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0;
  });
}

Status StreamStore::OpenRooms() {
  Result<std::vector<std::string>> names = io_->list_dir(dir_);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    if (n.rfind(kDeletedPrefix, 0) == 0) {
      SYNAP_RETURN_IF_ERROR(RemoveTree(dir_ + "/" + n));  // a delete the last run did not finish
      continue;
    }
    if (n == kMetaRoom || !ValidateRoomName(n).ok()) continue;
    RoomSettings settings = opts_.defaults;
    std::vector<uint8_t> text;
    io::OpenOptions oo;
    oo.read_only = true;
    Result<io::FileHandle> f = io_->open(dir_ + "/" + n + "/ROOM", oo);
    if (f.ok()) {
      Result<uint64_t> size = io_->file_size(*f);
      if (size.ok() && *size < 65536) {
        text.resize(*size);
        Result<size_t> got = io_->read_at(*f, 0, text.data(), text.size());
        if (got.ok()) text.resize(*got);
      }
      io_->close(*f);
      Status st = settings.Apply(std::string(text.begin(), text.end()));
      if (!st.ok()) return st.WithContext("room " + n + ": ROOM file");
    } else if (!HasSegments(dir_ + "/" + n)) {
      // CreateLocked makes ROOM durable before the room's log exists, so a
      // directory with neither is a creation a crash cut short: nothing in
      // it was ever acknowledged. Opening it with the defaults would pin
      // settings nobody asked for; remove it, so a retried create starts
      // afresh (found by tests/powerloss).
      std::fprintf(stderr, "synap: room %s has neither a ROOM file nor a segment (its creation was cut short); "
                   "removing it\n", n.c_str());
      SYNAP_RETURN_IF_ERROR(RemoveTree(dir_ + "/" + n));
      continue;
    } else {
      std::fprintf(stderr, "synap: room %s has no ROOM file; opening it with the default settings\n", n.c_str());
    }
    Result<std::unique_ptr<Room>> r = Room::Open(committer_, dir_ + "/" + n, n, settings, opts_);
    if (!r.ok()) return r.status();
    rooms_.emplace(n, std::move(*r));
  }
  // A topic whose partitions were not all created before a crash.
  std::map<std::string, uint32_t> topics;
  {
    std::lock_guard lk(meta_mu_);
    topics = topics_;
  }
  for (const auto& [t, n] : topics)
    for (uint32_t p = 0; p < n; p++)
      if (!rooms_.count(PartitionRoom(t, p))) {
        Result<std::shared_ptr<Room>> r = CreateLocked(PartitionRoom(t, p), opts_.defaults);
        if (!r.ok()) return r.status();
      }
  return Status::Ok();
}

Status StreamStore::RemoveTree(const std::string& dir) {
  Result<std::vector<std::string>> names = io_->list_dir(dir);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) SYNAP_RETURN_IF_ERROR(io_->remove(dir + "/" + n));
  SYNAP_RETURN_IF_ERROR(io_->remove(dir));
  return io_->sync_dir(dir_);
}

// Caller holds rooms_mu_ exclusively. The ROOM file is durable before the
// room's log exists, so a room's settings are never lost.
Result<std::shared_ptr<Room>> StreamStore::CreateLocked(const std::string& name, const RoomSettings& settings) {
  if (rooms_.size() >= opts_.max_rooms)
    return Status::TooLarge("stream.max_rooms (" + std::to_string(opts_.max_rooms) + ") rooms exist");
  // `settings` passed RoomSettings::Apply/Validate (or are the validated defaults).
  if (deleting_.count(name)) return Status::Busy("room " + name + " is being deleted; try again");
  std::string dir = dir_ + "/" + name;
  // A directory that is there already belongs to someone (a room that failed
  // to open at startup, say): never remove it on failure below.
  bool existed = io_->list_dir(dir).ok();
  SYNAP_RETURN_IF_ERROR(io_->make_dir(dir));
  std::string text = settings.ToText();
  io::OpenOptions oo;
  oo.create = true;
  Result<io::FileHandle> f = io_->open(dir + "/ROOM.tmp", oo);
  if (!f.ok()) return f.status();
  Status st = io_->truncate(*f, 0);
  if (st.ok()) st = io_->write_at(*f, 0, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  if (st.ok()) st = io_->sync(*f);
  io_->close(*f);
  if (st.ok()) st = io_->rename(dir + "/ROOM.tmp", dir + "/ROOM");
  if (st.ok()) st = io_->sync_dir(dir);
  if (!st.ok()) return st;
  Result<std::unique_ptr<Room>> r = Room::Open(committer_, dir, name, settings, opts_);
  if (!r.ok()) {
    if (!existed) (void)RemoveTree(dir);  // best effort: a room that never opened holds no event
    return r.status();
  }
  std::shared_ptr<Room> room = std::move(*r);
  rooms_.emplace(name, room);
  AdoptAwaiting(name, *room);
  return room;
}

Result<std::shared_ptr<Room>> StreamStore::Find(const std::string& name, bool create) {
  {
    std::shared_lock lk(rooms_mu_);
    if (closed_) return Status::Closed("the stream store is closed");
    auto it = rooms_.find(name);
    if (it != rooms_.end()) return it->second;
  }
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(name));
  if (!create || !opts_.auto_create) return Status::NotFound("no room named " + name);
  std::unique_lock lk(rooms_mu_);
  auto it = rooms_.find(name);
  if (it != rooms_.end()) return it->second;
  return CreateLocked(name, opts_.defaults);
}

Status StreamStore::CreateRoom(const std::string& name, const std::string& settings) {
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(name));
  RoomSettings rs = opts_.defaults;
  SYNAP_RETURN_IF_ERROR(rs.Apply(settings));
  std::unique_lock lk(rooms_mu_);
  if (closed_) return Status::Closed("the stream store is closed");
  if (rooms_.count(name)) return Status::AlreadyExists("room " + name + " already exists");
  return CreateLocked(name, rs).status();
}

// The name stays reserved (creates get Busy) until the files are gone, so
// no new room can be made at the path while the old one is torn down.
Status StreamStore::DeleteRoom(const std::string& name) {
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(name));
  std::shared_ptr<Room> room;
  {
    std::unique_lock lk(rooms_mu_);
    auto it = rooms_.find(name);
    if (it == rooms_.end()) return Status::NotFound("no room named " + name);
    room = std::move(it->second);
    rooms_.erase(it);
    deleting_.insert(name);
  }
  Status st = DeleteClosedRoom(name, room);
  std::unique_lock lk(rooms_mu_);
  deleting_.erase(name);
  return st;
}

Status StreamStore::DeleteClosedRoom(const std::string& name, const std::shared_ptr<Room>& room) {
  {
    std::lock_guard mk(maint_mu_);  // not while a maintenance pass works on it (it stops at closed rooms)
    room->Close();
  }
  // The room's commits go first (a tombstone per commit in the meta room):
  // a crash after them leaves a room without commits, never commits that a
  // later room of the same name would inherit.
  std::vector<std::string> groups;
  {
    std::lock_guard ml(meta_mu_);
    for (const auto& [k, c] : commits_)
      if (k.second == name && !c.deleted) groups.push_back(k.first);
  }
  for (const std::string& g : groups) {
    uint64_t at = 0;
    std::string key = CommitKey(g, name);
    SYNAP_RETURN_IF_ERROR(AppendMeta(key, "", &at));
    ApplyMeta(key, "", at);
  }
  // The rename is the delete (durable with the directory sync); removing the
  // files after it may be finished by the next open.
  std::string trash = dir_ + "/" + kDeletedPrefix + name;
  SYNAP_RETURN_IF_ERROR(io_->rename(dir_ + "/" + name, trash));
  SYNAP_RETURN_IF_ERROR(io_->sync_dir(dir_));
  return RemoveTree(trash);
}

std::vector<std::string> StreamStore::ListRooms() {
  std::shared_lock lk(rooms_mu_);
  std::vector<std::string> out;
  for (const auto& [n, r] : rooms_) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

Result<RoomInfo> StreamStore::Info(const std::string& name) {
  Result<std::shared_ptr<Room>> r = Find(name, false);
  if (!r.ok()) return r.status();
  return (*r)->Info();
}

Result<uint64_t> StreamStore::Append(const std::string& room, std::span<const EventIn> events) {
  SYNAP_RETURN_IF_ERROR(Room::CheckEvents(events, opts_));  // a refused append creates no room
  Result<std::shared_ptr<Room>> r = Find(room, true);
  if (!r.ok()) return r.status();
  return (*r)->Append(events);
}

Status StreamStore::AppendAsync(const std::string& room, std::span<const EventIn> events,
                                std::function<void(Status, uint64_t first)> done) {
  SYNAP_RETURN_IF_ERROR(Room::CheckEvents(events, opts_));
  Result<std::shared_ptr<Room>> r = Find(room, true);
  if (!r.ok()) return r.status();
  return (*r)->AppendAsync(events, std::move(done));
}

Status StreamStore::Read(const std::string& room, uint64_t from, uint32_t max_records, uint64_t max_bytes,
                         uint32_t wait_ms, EventBatch* out) {
  Result<std::shared_ptr<Room>> r = Find(room, false);
  if (!r.ok()) return r.status();
  return (*r)->Read(from, max_records, max_bytes, wait_ms, out);
}

// The handle is known (readable_rooms_) before cb can run, and the wrapper
// forgets it before cb runs: from then on CancelReadable says "ran".
Result<uint64_t> StreamStore::OnReadable(const std::string& room, uint64_t from,
                                         std::function<void(bool readable)> cb) {
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(room));
  uint64_t handle = 0;
  {
    std::lock_guard wl(readable_mu_);
    handle = next_readable_++;
    readable_rooms_.emplace(handle, room);
  }
  std::function<void(bool)> wrapped = [this, handle, cb = std::move(cb)](bool readable) {
    ForgetReadable(handle);
    cb(readable);
  };
  std::shared_ptr<Room> r;
  Status st;
  {
    std::shared_lock lk(rooms_mu_);
    auto it = rooms_.find(room);
    if (closed_) {
      st = Status::Closed("the stream store is closed");
    } else if (it != rooms_.end()) {
      r = it->second;
    } else {  // under rooms_mu_, so the room cannot be created before this is in awaiting_
      std::lock_guard wl(readable_mu_);
      if (awaiting_count_ >= kMaxAwaitingWaiters) {
        st = Status::Busy(std::to_string(kMaxAwaitingWaiters) +
                          " readers wait for rooms that do not exist yet (the limit): cancel some first");
      } else {
        awaiting_[room].emplace(handle, Awaiting{from, std::move(wrapped)});
        awaiting_count_++;
      }
    }
  }
  // Outside rooms_mu_: the callback may run at once, and may call in again.
  if (r) st = r->OnReadable(handle, from, std::move(wrapped));
  if (!st.ok()) {
    ForgetReadable(handle);
    return st;
  }
  return handle;
}

bool StreamStore::CancelReadable(uint64_t handle) {
  std::string name;
  {
    std::lock_guard wl(readable_mu_);
    auto it = readable_rooms_.find(handle);
    if (it == readable_rooms_.end()) return false;
    name = it->second;
    auto a = awaiting_.find(name);
    if (a != awaiting_.end() && a->second.erase(handle) > 0) {
      if (a->second.empty()) awaiting_.erase(a);
      awaiting_count_--;
      readable_rooms_.erase(it);
      return true;
    }
  }
  // Not awaiting, so it is in the room (AdoptAwaiting finished under
  // rooms_mu_, which this waits for), or it is being called back.
  std::shared_ptr<Room> r;
  {
    std::shared_lock lk(rooms_mu_);
    auto it = rooms_.find(name);
    if (it == rooms_.end()) return false;  // deleted: its close calls every registration back
    r = it->second;
  }
  if (!r->CancelReadable(handle)) return false;
  ForgetReadable(handle);
  return true;
}

void StreamStore::ForgetReadable(uint64_t handle) {
  std::lock_guard wl(readable_mu_);
  readable_rooms_.erase(handle);
}

// A new room can already hold events (its directory was left behind): then
// a registration runs at once, under rooms_mu_. Never Busy: a room's limit
// is at least kMaxAwaitingWaiters, and the room is new.
void StreamStore::AdoptAwaiting(const std::string& name, Room& room) {
  static_assert(kMaxAwaitingWaiters <= Room::kMaxReadableWaiters);
  std::map<uint64_t, Awaiting> waits;
  {
    std::lock_guard wl(readable_mu_);
    auto it = awaiting_.find(name);
    if (it == awaiting_.end()) return;
    waits = std::move(it->second);
    awaiting_.erase(it);
    awaiting_count_ -= waits.size();
  }
  for (auto& [handle, w] : waits) (void)room.OnReadable(handle, w.from, std::move(w.cb));
}

Result<uint64_t> StreamStore::OffsetForTime(const std::string& room, int64_t ts_ms) {
  Result<std::shared_ptr<Room>> r = Find(room, false);
  if (!r.ok()) return r.status();
  return (*r)->OffsetForTime(ts_ms);
}

Status StreamStore::AppendMeta(const std::string& key, const std::string& value, uint64_t* offset) {
  EventIn e;
  e.key = key;
  e.payload = value;
  Result<uint64_t> off = meta_->Append(std::span<const EventIn>(&e, 1));
  if (!off.ok()) return off.status();
  *offset = *off;
  return Status::Ok();
}

// The meta room orders entries, and ApplyMeta keeps a key's entry of the
// highest meta offset, so commits take effect in the order they were logged
// whichever acknowledgement callback runs first.
Status StreamStore::AppendMetaAsync(const std::string& key, const std::string& value,
                                    std::function<void(Status)> done) {
  EventIn e;
  e.key = key;
  e.payload = value;
  return meta_->AppendAsync(std::span<const EventIn>(&e, 1),
                            [this, key, value, done = std::move(done)](Status st, uint64_t at) {
                              if (st.ok()) ApplyMeta(key, value, at);
                              done(st);
                            });
}

Status StreamStore::CheckCommit(const std::string& group, const std::string& room, uint64_t offset) {
  SYNAP_RETURN_IF_ERROR(ValidateGroupName(group));
  Result<std::shared_ptr<Room>> r = Find(room, false);
  if (!r.ok()) return r.status();
  uint64_t next = (*r)->next_offset();
  if (offset > next)
    return Status::OutOfRange("offset " + std::to_string(offset) + " is beyond the end of room " + room +
                              " (next offset " + std::to_string(next) + ")");
  return Status::Ok();
}

Status StreamStore::CommitOffset(const std::string& group, const std::string& room, uint64_t offset) {
  SYNAP_RETURN_IF_ERROR(CheckCommit(group, room, offset));
  std::string key = CommitKey(group, room), value = Fixed(offset, 8);
  uint64_t at = 0;
  SYNAP_RETURN_IF_ERROR(AppendMeta(key, value, &at));
  ApplyMeta(key, value, at);
  return Status::Ok();
}

Status StreamStore::CommitOffsetAsync(const std::string& group, const std::string& room, uint64_t offset,
                                      std::function<void(Status)> done) {
  SYNAP_RETURN_IF_ERROR(CheckCommit(group, room, offset));
  return AppendMetaAsync(CommitKey(group, room), Fixed(offset, 8), std::move(done));
}

// A tombstone is an empty value (ApplyMeta marks the commit deleted). The
// check and the append are not atomic: two deletes at once both log a
// tombstone, which is harmless.
Status StreamStore::CheckDeleteCommit(const std::string& group, const std::string& room) {
  SYNAP_RETURN_IF_ERROR(ValidateGroupName(group));
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(room));
  std::lock_guard lk(meta_mu_);
  auto it = commits_.find({group, room});
  if (it == commits_.end() || it->second.deleted)
    return Status::NotFound("group " + group + " has committed no offset for room " + room);
  return Status::Ok();
}

Status StreamStore::DeleteCommit(const std::string& group, const std::string& room) {
  SYNAP_RETURN_IF_ERROR(CheckDeleteCommit(group, room));
  std::string key = CommitKey(group, room);
  uint64_t at = 0;
  SYNAP_RETURN_IF_ERROR(AppendMeta(key, "", &at));
  ApplyMeta(key, "", at);
  return Status::Ok();
}

Status StreamStore::DeleteCommitAsync(const std::string& group, const std::string& room,
                                      std::function<void(Status)> done) {
  SYNAP_RETURN_IF_ERROR(CheckDeleteCommit(group, room));
  return AppendMetaAsync(CommitKey(group, room), "", std::move(done));
}

Result<uint64_t> StreamStore::CommittedOffset(const std::string& group, const std::string& room) {
  SYNAP_RETURN_IF_ERROR(ValidateGroupName(group));
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(room));
  std::lock_guard lk(meta_mu_);
  auto it = commits_.find({group, room});
  if (it == commits_.end() || it->second.deleted)
    return Status::NotFound("group " + group + " has committed no offset for room " + room);
  return it->second.offset;
}

Result<std::vector<GroupOffset>> StreamStore::GroupOffsets(const std::string& group) {
  if (!group.empty()) SYNAP_RETURN_IF_ERROR(ValidateGroupName(group));
  std::vector<GroupOffset> out;
  {
    std::lock_guard lk(meta_mu_);
    for (const auto& [k, c] : commits_)
      if (!c.deleted && (group.empty() || k.first == group)) out.push_back({k.first, k.second, c.offset, 0, 0});
  }
  for (GroupOffset& g : out) {
    Result<std::shared_ptr<Room>> r = Find(g.room, false);
    g.next_offset = r.ok() ? (*r)->next_offset() : 0;
    g.lag = g.next_offset > g.committed ? g.next_offset - g.committed : 0;
  }
  return out;
}

std::string StreamStore::PartitionRoom(const std::string& topic, uint32_t partition) {
  return topic + "-" + std::to_string(partition);
}

Status StreamStore::CreateTopic(const std::string& name, uint32_t partitions, const std::string& settings) {
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(name));
  if (partitions < 1) return Status::InvalidArgument("a topic needs at least 1 partition");
  if (partitions > opts_.max_partitions)
    return Status::TooLarge(std::to_string(partitions) + " partitions exceed stream.max_partitions (" +
                            std::to_string(opts_.max_partitions) + ")");
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(PartitionRoom(name, partitions - 1)));
  RoomSettings rs = opts_.defaults;
  SYNAP_RETURN_IF_ERROR(rs.Apply(settings));
  std::lock_guard tk(topics_create_mu_);
  {
    std::lock_guard lk(meta_mu_);
    if (topics_.count(name)) return Status::AlreadyExists("topic " + name + " already exists");
  }
  {
    std::shared_lock lk(rooms_mu_);
    for (uint32_t p = 0; p < partitions; p++)
      if (rooms_.count(PartitionRoom(name, p)))
        return Status::AlreadyExists("room " + PartitionRoom(name, p) + " already exists");
    // Checked before anything is logged, so a refused topic leaves nothing.
    if (rooms_.size() + partitions > opts_.max_rooms)
      return Status::TooLarge("topic " + name + " needs " + std::to_string(partitions) + " rooms; " +
                              std::to_string(rooms_.size()) + " of stream.max_rooms (" +
                              std::to_string(opts_.max_rooms) + ") exist");
  }
  // The topic is logged first: a crash before its rooms exist is repaired at open.
  uint64_t at = 0;
  std::string key = TopicKey(name), value = Fixed(partitions, 4);
  SYNAP_RETURN_IF_ERROR(AppendMeta(key, value, &at));
  ApplyMeta(key, value, at);
  std::unique_lock lk(rooms_mu_);
  for (uint32_t p = 0; p < partitions; p++) {
    if (rooms_.count(PartitionRoom(name, p))) continue;
    Result<std::shared_ptr<Room>> r = CreateLocked(PartitionRoom(name, p), rs);
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Result<uint32_t> StreamStore::TopicPartitions(const std::string& name) {
  SYNAP_RETURN_IF_ERROR(ValidateRoomName(name));
  std::lock_guard lk(meta_mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return Status::NotFound("no topic named " + name);
  return it->second;
}

std::vector<std::pair<std::string, uint32_t>> StreamStore::ListTopics() {
  std::lock_guard lk(meta_mu_);
  return {topics_.begin(), topics_.end()};
}

Result<std::pair<uint32_t, uint64_t>> StreamStore::Produce(const std::string& topic, const EventIn& event) {
  Result<uint32_t> n = TopicPartitions(topic);
  if (!n.ok()) return n.status();
  SYNAP_RETURN_IF_ERROR(Room::CheckEvents(std::span<const EventIn>(&event, 1), opts_));
  uint32_t p = event.key.empty() ? static_cast<uint32_t>(round_robin_.fetch_add(1) % *n)
                                 : static_cast<uint32_t>(XXH3_64bits(event.key.data(), event.key.size()) % *n);
  Result<std::shared_ptr<Room>> r = Find(PartitionRoom(topic, p), true);
  if (!r.ok()) return r.status();
  Result<uint64_t> off = (*r)->Append(std::span<const EventIn>(&event, 1));
  if (!off.ok()) return off.status();
  return std::make_pair(p, *off);
}

Result<uint64_t> StreamStore::Compact(const std::string& room) {
  Result<std::shared_ptr<Room>> r = Find(room, false);
  if (!r.ok()) return r.status();
  std::lock_guard mk(maint_mu_);
  Result<uint64_t> dropped = (*r)->Compact(opts_.compact_max_keys);
  if (dropped.ok()) {
    maint_.compactions++;
    maint_.events_compacted += *dropped;
  }
  return dropped;
}

Result<Trimmed> StreamStore::TrimBefore(const std::string& room, uint64_t offset) {
  Result<std::shared_ptr<Room>> r = Find(room, false);
  if (!r.ok()) return r.status();
  return (*r)->TrimBefore(offset);
}

void StreamStore::Maintain(int64_t now_ms) {
  std::vector<std::shared_ptr<Room>> rooms;
  {
    std::shared_lock lk(rooms_mu_);
    if (closed_) return;
    for (const auto& [n, r] : rooms_) rooms.push_back(r);
  }
  std::lock_guard mk(maint_mu_);
  maint_.passes++;
  auto note = [&](const std::string& room, const Status& st) {
    if (st.ok() || st.code() == Status::Code::kClosed) return;
    maint_.errors++;
    maint_.last_error = "room " + room + ": " + st.message();
  };
  auto one = [&](Room& r) {
    Result<uint64_t> deleted = r.ApplyRetention(now_ms);
    if (deleted.ok()) maint_.segments_deleted += *deleted;
    note(r.name(), deleted.status());
    if (r.CompactionDue()) {
      Result<uint64_t> dropped = r.Compact(opts_.compact_max_keys);
      if (dropped.ok()) maint_.compactions++, maint_.events_compacted += *dropped;
      note(r.name(), dropped.status());
    }
    note(r.name(), r.PersistIndexes());
  };
  for (const auto& r : rooms) one(*r);
  one(*meta_);
  CloseIdleFiles(kIdleFileMs);
}

void StreamStore::CloseIdleFiles(int64_t idle_ms) {
  std::shared_lock lk(rooms_mu_);
  for (const auto& [n, r] : rooms_) r->CloseIdleFiles(idle_ms);
}

MaintenanceStats StreamStore::maintenance_stats() {
  std::lock_guard mk(maint_mu_);
  return maint_;
}

Status StreamStore::Sync() {
  std::vector<std::shared_ptr<Room>> rooms;
  {
    std::shared_lock lk(rooms_mu_);
    for (const auto& [n, r] : rooms_) rooms.push_back(r);
  }
  for (const auto& r : rooms) SYNAP_RETURN_IF_ERROR(r->Sync());
  return Status::Ok();
}

Status StreamStore::Close() {
  std::unordered_map<std::string, std::shared_ptr<Room>> rooms;
  {
    std::unique_lock lk(rooms_mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    rooms.swap(rooms_);
  }
  std::lock_guard mk(maint_mu_);
  Status first;
  for (auto& [n, r] : rooms) {
    Status st = r->Close();
    if (first.ok()) first = st;
  }
  if (meta_) {
    Status st = meta_->Close();
    if (first.ok()) first = st;
  }
  // Readers still waiting for a room that never came: closed_ keeps new ones out.
  std::map<std::string, std::map<uint64_t, Awaiting>> awaiting;
  {
    std::lock_guard wl(readable_mu_);
    awaiting.swap(awaiting_);
    awaiting_count_ = 0;
  }
  for (auto& [name, waits] : awaiting)
    for (auto& [handle, w] : waits) w.cb(false);
  return first;
}

}  // namespace synap::stream
