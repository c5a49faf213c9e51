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
  Key key{room, group};
  auto it = groups_.find(key);
  if (it != groups_.end()) {
    *out = it->second;
    return SYNAP_OK;
  }
  // Checked under mu_, as Destroy adds it: no load can slip in between.
  if (tombstones_->Has(key)) return SYNAP_NOTFOUND;
  uint64_t committed = 0;
  int rc = synap_group_committed(db, group.c_str(), room.c_str(), &committed);
  if (rc != SYNAP_OK) return rc;
  auto g = std::make_shared<Group>();
  g->room = room;
  g->name = group;
  g->cursor = g->committed = committed;
  groups_.emplace(std::move(key), g);
  *out = std::move(g);
  return SYNAP_OK;
}

// The group goes into the registry only once its commit is issued, and under
// its own lock, so no other command can issue a commit of it before this one.
int StreamGroups::Create(synap_db* db, const std::string& room, const std::string& group, uint64_t offset,
                         synap_appended_fn fn, void* user) {
  std::lock_guard lk(mu_);
  Key key{room, group};
  if (groups_.count(key)) return SYNAP_EEXIST;
  if (tombstones_->Has(key)) return SYNAP_EBUSY;
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
  groups_.emplace(std::move(key), g);
  return SYNAP_OK;
}

struct StreamGroups::DeleteDone {
  std::shared_ptr<Tombstones> tombstones;
  Key key;
  synap_appended_fn fn;
  void* user;
};

// The engine applied the delete before this runs (or failed to log it, and
// the commit stays): either way Find may consult it again.
void StreamGroups::OnDeleted(void* user, int result, uint64_t offset) {
  auto* d = static_cast<DeleteDone*>(user);
  d->tombstones->Remove(d->key);  // before the reply: a pipelined CREATE behind it finds no tombstone
  d->fn(d->user, result, offset);
  delete d;
}

// The delete is issued under the group's lock, after any commit of it (each
// is issued under that lock by a holder that checked `destroyed`). A
// DESTROY racing the group's very first commit (CREATE's, not yet durable)
// finds nothing durable to delete and that commit lands afterwards: the
// group is gone from memory but comes back at the next start. CREATE's reply
// waits for that commit, so only another connection can hit this window.
int StreamGroups::Destroy(synap_db* db, const std::string& room, const std::string& group, synap_appended_fn fn,
                          void* user, bool* existed, bool* deferred) {
  *existed = *deferred = false;
  Key key{room, group};
  std::shared_ptr<Group> g;
  {
    std::lock_guard lk(mu_);
    if (!tombstones_->Add(key)) return SYNAP_OK;  // another DESTROY's delete is in flight: gone already
    auto it = groups_.find(key);
    if (it != groups_.end()) {
      g = std::move(it->second);
      groups_.erase(it);
    }
  }
  // Outside the registry lock: a holder of g->mu may be in a long read.
  std::unique_lock<std::mutex> gl;
  if (g) {
    gl = std::unique_lock(g->mu);
    g->destroyed = true;
  }
  auto* done = new DeleteDone{tombstones_, key, fn, user};
  int rc = synap_group_delete_async(db, group.c_str(), room.c_str(), OnDeleted, done);
  if (rc == SYNAP_OK) {
    *existed = *deferred = true;
    return SYNAP_OK;
  }
  delete done;  // not issued: OnDeleted never runs
  if (rc == SYNAP_NOTFOUND) {  // nothing durable to delete
    *existed = g != nullptr;
    tombstones_->Remove(key);
    return SYNAP_OK;
  }
  // Not deleted on disk, so it stays in memory too: the group is back as it was.
  if (g) {
    g->destroyed = false;
    gl.unlock();
  }
  std::lock_guard lk(mu_);
  if (g) groups_.emplace(key, std::move(g));
  tombstones_->Remove(key);
  return rc;
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
