#include "tools/synap-server/stream_groups.h"

#include <chrono>

namespace synap::server {

int64_t StreamGroups::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

StreamGroups::Consumer* StreamGroups::Group::Join(const std::string& consumer, int64_t now_ms) {
  auto it = consumers.find(consumer);
  if (it == consumers.end()) {
    if (consumers.size() >= kMaxConsumersPerGroup) return nullptr;
    it = consumers.emplace(consumer, Consumer{}).first;
  }
  it->second.seen_ms = now_ms;
  return &it->second;
}

void StreamGroups::Group::Deliver(uint64_t offset, const std::string& consumer, int64_t now_ms) {
  auto [it, fresh] = pel.try_emplace(offset);
  Pending& p = it->second;
  if (!fresh && p.consumer != consumer) {
    auto old = consumers.find(p.consumer);
    if (old != consumers.end()) old->second.pending.erase(offset);
  }
  p.consumer = consumer;
  p.delivered_ms = now_ms;
  p.deliveries++;
  consumers[consumer].pending.insert(offset);
}

bool StreamGroups::Group::Ack(uint64_t offset) {
  auto it = pel.find(offset);
  if (it == pel.end()) return false;
  auto owner = consumers.find(it->second.consumer);
  if (owner != consumers.end()) owner->second.pending.erase(offset);
  pel.erase(it);
  return true;
}

int64_t StreamGroups::Group::DropConsumer(const std::string& consumer) {
  auto it = consumers.find(consumer);
  if (it == consumers.end()) return -1;
  for (uint64_t offset : it->second.pending) pel.erase(offset);
  int64_t n = static_cast<int64_t>(it->second.pending.size());
  consumers.erase(it);
  return n;
}

int StreamGroups::Find(synap_db* db, const std::string& room, const std::string& group,
                       std::shared_ptr<Group>* out) {
  std::lock_guard lk(mu_);
  auto it = groups_.find({room, group});
  if (it != groups_.end()) {
    *out = it->second;
    return SYNAP_OK;
  }
  uint64_t committed = 0;
  int rc = synap_group_committed(db, group.c_str(), room.c_str(), &committed);
  if (rc != SYNAP_OK) return rc;
  auto g = std::make_shared<Group>();
  g->room = room;
  g->name = group;
  g->cursor = g->committed = committed;
  groups_.emplace(std::make_pair(room, group), g);
  *out = std::move(g);
  return SYNAP_OK;
}

// The group goes into the registry only once its commit is issued, and under
// its own lock, so no other command can issue a commit of it before this one.
int StreamGroups::Create(synap_db* db, const std::string& room, const std::string& group, uint64_t offset,
                         synap_appended_fn fn, void* user) {
  std::lock_guard lk(mu_);
  if (groups_.count({room, group})) return SYNAP_EEXIST;
  uint64_t committed = 0;
  int rc = synap_group_committed(db, group.c_str(), room.c_str(), &committed);
  if (rc == SYNAP_OK) return SYNAP_EEXIST;
  if (rc != SYNAP_NOTFOUND) return rc;
  auto g = std::make_shared<Group>();
  g->room = room;
  g->name = group;
  g->cursor = g->committed = offset;
  std::lock_guard gl(g->mu);
  rc = synap_group_commit_async(db, group.c_str(), room.c_str(), offset, fn, user);
  if (rc != SYNAP_OK) return rc;
  groups_.emplace(std::make_pair(room, group), g);
  return SYNAP_OK;
}

// The delete is issued under the group's lock, after any commit of it. A
// DESTROY racing the group's very first commit (CREATE's, not yet durable)
// finds nothing durable to delete and that commit lands afterwards: the
// group is gone from memory but comes back at the next start. CREATE's reply
// waits for that commit, so only another connection can hit this window.
int StreamGroups::Destroy(synap_db* db, const std::string& room, const std::string& group, synap_appended_fn fn,
                          void* user, bool* existed, bool* deferred) {
  std::lock_guard lk(mu_);
  *existed = *deferred = false;
  std::shared_ptr<Group> g;
  std::unique_lock<std::mutex> gl;
  auto it = groups_.find({room, group});
  if (it != groups_.end()) {
    g = it->second;
    gl = std::unique_lock(g->mu);
    g->destroyed = true;
    groups_.erase(it);
    *existed = true;
  }
  int rc = synap_group_delete_async(db, group.c_str(), room.c_str(), fn, user);
  if (rc == SYNAP_NOTFOUND) return SYNAP_OK;
  if (rc != SYNAP_OK) return rc;
  *existed = *deferred = true;
  return SYNAP_OK;
}

int StreamGroups::CommitFloor(synap_db* db, Group& g, synap_appended_fn fn, void* user) {
  uint64_t floor = g.Floor();
  if (floor == g.committed) return SYNAP_NOTSET;
  int rc = synap_group_commit_async(db, g.name.c_str(), g.room.c_str(), floor, fn, user);
  if (rc == SYNAP_OK) g.committed = floor;
  return rc;
}

void StreamGroups::Ignore(void*, int, uint64_t) {}

}  // namespace synap::server
