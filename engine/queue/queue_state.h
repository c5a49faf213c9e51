// The queue store's in-memory state and record helpers, shared by its
// source files (queue_store.cc: commands; queue_apply.cc: transitions;
// queue_snapshot.cc: recovery and snapshots). Private to engine/queue.
#pragma once

#include <list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/coding.h"
#include "engine/queue/queue_record.h"
#include "engine/queue/queue_store.h"

namespace synap::queue {

enum class State : uint8_t { kReady = 0, kDelayed = 1, kInFlight = 2, kDead = 3 };

inline std::string Begin(QueueOp op, std::string_view queue) {
  std::string r;
  r.push_back(static_cast<char>(kModelQueue));
  r.push_back(static_cast<char>(op));
  PutBytes(queue, &r);
  return r;
}

inline void PutSettings(const QueueSettings& s, std::string* r) {
  PutVarint(s.max_depth, r);
  PutVarint(s.ack_deadline_ms, r);
  PutVarint(s.max_retries, r);
  PutVarint(s.dead_letter_max, r);
  r->push_back(static_cast<char>(s.default_priority));
  PutVarint(s.message_ttl_ms, r);
}

inline bool GetSettings(ByteReader* in, QueueSettings* s) {
  uint64_t deadline, retries;
  if (!in->Varint(&s->max_depth) || !in->Varint(&deadline) || !in->Varint(&retries) ||
      !in->Varint(&s->dead_letter_max) || !in->U8(&s->default_priority) || !in->Varint(&s->message_ttl_ms))
    return false;
  s->ack_deadline_ms = static_cast<uint32_t>(deadline);
  s->max_retries = static_cast<uint32_t>(retries);
  return true;
}

inline bool SameSettings(const QueueSettings& a, const QueueSettings& b) {
  return a.max_depth == b.max_depth && a.ack_deadline_ms == b.ack_deadline_ms && a.max_retries == b.max_retries &&
         a.dead_letter_max == b.dead_letter_max && a.default_priority == b.default_priority &&
         a.message_ttl_ms == b.message_ttl_ms;
}


struct QueueStore::Message {
  uint64_t id = 0;
  uint8_t priority = 0;
  uint32_t max_retries = 0;
  uint32_t deliveries = 0;
  int64_t due_ms = 0, published_ms = 0, deadline_ms = 0;
  Lsn lsn = 0;  // its publish record; deliverable once acknowledged (0: recovered)
  State state = State::kReady;
  DeadReason reason = DeadReason::kRejected;
  std::string payload, consumer;
  std::vector<Header> headers;
  std::list<uint64_t>::iterator pos;                    // in ready[priority] or dead
  std::multimap<int64_t, uint64_t>::iterator timer;     // in delayed or deadlines
};

struct QueueStore::Queue {
  std::string name;
  QueueSettings settings;
  std::unordered_map<uint64_t, Message> msgs;
  std::list<uint64_t> ready[kMaxPriority + 1];
  std::list<uint64_t> dead;
  std::multimap<int64_t, uint64_t> delayed, deadlines;
  std::unordered_map<std::string, uint32_t> consumers;  // unacked deliveries by consumer
  QueueStats st;

  uint64_t depth() const { return msgs.size() - dead.size(); }

  void Detach(Message& m) {
    switch (m.state) {
      case State::kReady: ready[m.priority].erase(m.pos); break;
      case State::kDead: dead.erase(m.pos); break;
      case State::kDelayed: delayed.erase(m.timer); break;
      case State::kInFlight: {
        deadlines.erase(m.timer);
        auto c = consumers.find(m.consumer);
        if (c != consumers.end() && --c->second == 0) consumers.erase(c);
        break;
      }
    }
  }
  void ToReady(Message& m, bool front) {
    auto& l = ready[m.priority];
    m.pos = front ? l.insert(l.begin(), m.id) : l.insert(l.end(), m.id);
    m.state = State::kReady;
  }
  void ToDead(Message& m, DeadReason r) {
    m.pos = dead.insert(dead.end(), m.id);
    m.state = State::kDead;
    m.reason = r;
  }
  void Erase(Message& m) {
    Detach(m);
    msgs.erase(m.id);
  }
};

}  // namespace synap::queue
