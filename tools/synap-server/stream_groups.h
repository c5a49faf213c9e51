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
// Thread-safety: Find/Create/Destroy lock the registry; everything in a
// Group is guarded by its own `mu`, which callers hold while they use it. Lock
// order: registry, then a group. Commits of one group are issued under its
// `mu`, so they reach the engine's log in the order of the states they
// record. libsynap's completion callbacks never take these locks (they may
// run at once on the calling thread).
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
  // it has no commit; SYNAP_EINVAL for bad names.
  int Find(synap_db* db, const std::string& room, const std::string& group, std::shared_ptr<Group>* out);
  // A new group at `offset`, in memory at once, its first commit issued:
  // fn(user, result, offset) says when it is durable. SYNAP_EEXIST if the
  // group exists (in memory or durably); other errors from the commit (fn is
  // then not called, and nothing is kept).
  int Create(synap_db* db, const std::string& room, const std::string& group, uint64_t offset, synap_appended_fn fn,
             void* user);
  // Forgets a group, in memory and durably (synap_group_delete_async).
  // *existed: it was there. SYNAP_OK with *deferred: fn reports the delete
  // durable; without: nothing to delete durably (fn not called).
  int Destroy(synap_db* db, const std::string& room, const std::string& group, synap_appended_fn fn, void* user,
              bool* existed, bool* deferred);
  // Commits g.Floor() if it moved since the last commit (the caller holds
  // g.mu): SYNAP_OK, and fn reports it durable; SYNAP_NOTSET when no commit
  // is needed (fn not called); an error from synap_group_commit_async.
  static int CommitFloor(synap_db* db, Group& g, synap_appended_fn fn, void* user);
  // A synap_appended_fn for commits nobody waits for.
  static void Ignore(void* user, int result, uint64_t offset);

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Group>> groups_;  // (room, group)
};

}  // namespace synap::server
