// StreamGroups: the in-memory half of Redis consumer groups on synap-server.
//
// A Synap group's durable state is one committed offset per (group, room),
// Kafka's model (synap_group_commit). Redis's pending entries list (PEL) has
// no durable home in Synap, so it lives here, shared by every event loop:
// per (room, group) the delivery cursor, each pending entry's consumer,
// delivery time and count, and each consumer's pending set.
//
// The link between the two: the committed offset is kept at the group's
// floor — its lowest pending offset, or its cursor when nothing is pending.
// Every offset below the floor was delivered and acknowledged (or read with
// NOACK), so after a restart, when this memory is gone and the cursor starts
// again from the committed offset, exactly the entries not yet
// acknowledged (and any delivered after them) come again: at-least-once.
//
// XGROUP DESTROY removes a group from memory at once, but the engine
// forgets its commit only when the delete is durable. Until then a
// tombstone stands in the registry: Find answers SYNAP_NOTFOUND for it
// (instead of loading the group again from its commit, whose next commit
// would land after the delete and bring the group back), and Create answers
// SYNAP_EBUSY.
//
// Thread-safety: Find/Create/Destroy lock the registry; everything in a
// Group is guarded by its own `mu`, which callers hold while they use it
// (XREADGROUP holds it through a read of up to 100,000 entries). The
// registry lock is never held while waiting for a group's (Create locks
// only a group nobody else can see yet), so a busy group never stalls
// every loop's Find. Commits of one group are issued under its `mu`, so they
// reach the engine's log in the order of the states they record. libsynap's
// completion callbacks never take these locks (they may run at once on the
// calling thread, and the calls that issue them may wait for the committer
// thread that runs them); a delete's callback takes only the tombstones'
// own lock, a leaf held around set operations only.
#pragma once

#include <synap/synap.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace synap::server {

class StreamGroups {
 public:
  // Limits (refused with an error naming them, never a crash):
  // '>' reads stop delivering once a group holds this many pending entries
  // (about 150 bytes of memory each) until some are acknowledged.
  static constexpr size_t kMaxPendingPerGroup = 1000000;
  static constexpr size_t kMaxConsumersPerGroup = 10000;
  static constexpr size_t kMaxConsumerNameBytes = 255;

  struct Pending {
    std::string consumer;
    int64_t delivered_ms = 0;  // the last delivery (steady clock: for idle times only)
    uint64_t deliveries = 0;
  };
  struct Consumer {
    std::set<uint64_t> pending;  // offsets, each also in the group's pel
    int64_t seen_ms = 0;         // the last command that named it (steady clock)
    int64_t active_ms = -1;      // the last read that delivered it entries (steady clock); -1: none yet
  };

  struct Group {
    std::mutex mu;
    std::string room, name;
    bool destroyed = false;  // XGROUP DESTROY ran: a holder of an old pointer treats the group as gone
    uint64_t cursor = 0;     // the next offset '>' delivers
    uint64_t committed = 0;  // the offset of the last commit issued (durable once its callback says so)
    std::map<uint64_t, Pending> pel;
    std::map<std::string, Consumer> consumers;

    // The offset the group's commit should hold (see the file comment).
    uint64_t Floor() const { return pel.empty() ? cursor : std::min(cursor, pel.begin()->first); }
    // Finds or creates a consumer and marks it seen; nullptr when the group
    // already has kMaxConsumersPerGroup others.
    Consumer* Join(const std::string& consumer, int64_t now_ms);
    // Records a delivery of `offset` to `consumer` (which has Joined). An
    // entry pending for another consumer moves to this one.
    void Deliver(uint64_t offset, const std::string& consumer, int64_t now_ms);
    // Removes a pending entry; false if it was not pending.
    bool Ack(uint64_t offset);
    // Forgets a consumer and its pending entries; returns how many. -1: no such consumer.
    int64_t DropConsumer(const std::string& consumer);
  };

  static int64_t NowMs();  // steady clock, ms

  // The group `group` of `room`, loaded from its durable commit the first
  // time (cursor = committed offset, nothing pending). SYNAP_NOTFOUND when
  // it has no commit or is being destroyed; SYNAP_EINVAL for bad names.
  int Find(synap_db* db, const std::string& room, const std::string& group, std::shared_ptr<Group>* out);
  // A new group at `offset`, in memory at once, its first commit issued:
  // fn(user, result, offset) says when it is durable. SYNAP_EEXIST if the
  // group exists (in memory or durably); SYNAP_EBUSY while a DESTROY of it
  // is not durable yet (try again); other errors from the commit (fn is
  // then not called, and nothing is kept).
  int Create(synap_db* db, const std::string& room, const std::string& group, uint64_t offset, synap_appended_fn fn,
             void* user);
  // Forgets a group, in memory at once and durably (synap_group_delete_async),
  // the tombstone standing until the delete's callback. *existed: it was
  // there. SYNAP_OK with *deferred: fn reports the delete durable (or its
  // error: the log failed, the commit stays, and Find loads the group again
  // from it, so memory follows the disk); without: nothing to delete
  // durably (fn not called; also when another DESTROY of it is in flight).
  // Another error: the delete was not issued, and the group is back in
  // memory as it was (*existed false).
  int Destroy(synap_db* db, const std::string& room, const std::string& group, synap_appended_fn fn, void* user,
              bool* existed, bool* deferred);
  // Commits g.Floor() if it moved since the last commit (the caller holds
  // g.mu): SYNAP_OK, and fn reports it durable; SYNAP_NOTSET when no commit
  // is needed (fn not called); an error from synap_group_commit_async.
  static int CommitFloor(synap_db* db, Group& g, synap_appended_fn fn, void* user);
  // A synap_appended_fn for commits nobody waits for.
  static void Ignore(void* user, int result, uint64_t offset);

 private:
  using Key = std::pair<std::string, std::string>;  // (room, group)
  // Groups whose delete is issued and not yet durable. Shared with the
  // deletes' callbacks, which may run after the registry is gone (at
  // synap_close, once the loops are).
  struct Tombstones {
    std::mutex mu;  // a leaf: held around set operations only
    std::set<Key> keys;
    bool Has(const Key& k) {
      std::lock_guard lk(mu);
      return keys.count(k) > 0;
    }
    bool Add(const Key& k) {
      std::lock_guard lk(mu);
      return keys.insert(k).second;
    }
    void Remove(const Key& k) {
      std::lock_guard lk(mu);
      keys.erase(k);
    }
  };
  struct DeleteDone;
  static void OnDeleted(void* user, int result, uint64_t offset);

  std::mutex mu_;
  std::map<Key, std::shared_ptr<Group>> groups_;
  std::shared_ptr<Tombstones> tombstones_ = std::make_shared<Tombstones>();  // Add/Remove under mu_, but for OnDeleted
};

}  // namespace synap::server
