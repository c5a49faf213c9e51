// The in-memory model the whole-engine simulation (tests/unit/
// engine_sim_test.cc) checks the engine against: what every acknowledged
// write left in the KV store, the queues and the streams, and what one
// write whose outcome is unknown (it failed with an I/O error, or met the
// crash) would change if it turned out durable after all.
//
// The model is deliberately naive (std::map, whole copies): it is the
// specification, so it must be obviously right, not fast.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace synap::testing::sim {

// FNV-1a over everything a run did and saw: two runs of one seed must end
// with the same value (determinism), whatever the threads did meanwhile.
class Digest {
 public:
  void Add(std::string_view s) {
    if (echo) std::fprintf(stderr, "\n  %.*s", static_cast<int>(s.size()), s.data());
    Add(static_cast<uint64_t>(s.size()));
    for (unsigned char c : s) Byte(c);
  }
  void Add(uint64_t v) {
    if (echo) std::fprintf(stderr, " %llu", static_cast<unsigned long long>(v));
    for (int i = 0; i < 8; i++) Byte(static_cast<uint8_t>(v >> (8 * i)));
  }
  uint64_t value() const { return h_; }
  bool echo = false;  // print what is added (SYNAP_SIM_TRACE=1): a readable trace of the run

 private:
  void Byte(uint8_t b) { h_ = (h_ ^ b) * 1099511628211ull; }
  uint64_t h_ = 1469598103934665603ull;
};

// ---------------------------------------------------------------- KV ----

struct KvEntry {
  std::string value;
  int64_t expire_at = 0;  // absolute Unix ms; 0: none
  bool operator==(const KvEntry&) const = default;
};
using KvState = std::map<std::string, KvEntry>;

inline bool Expired(const KvEntry& e, int64_t now) { return e.expire_at != 0 && e.expire_at <= now; }

// What a reader sees at `now`: expired keys are gone.
inline KvState LiveKv(const KvState& s, int64_t now) {
  KvState out;
  for (const auto& [k, e] : s)
    if (!Expired(e, now)) out.emplace(k, e);
  return out;
}

struct KvOp {
  enum Kind : uint8_t { kSet, kDel, kIncr, kAppend, kMSet, kExpire, kPersist, kGetDel, kSweep, kFlushAll };
  Kind kind = kSet;
  std::string key, key2, value, value2;
  int64_t n = 0;  // kSet: PX ms (0: no TTL); kIncr: delta; kExpire: ms from now
  bool nx = false, xx = false;
};

// What the engine must answer, per the model.
struct KvExpect {
  bool changes = false;    // the op alters state (so it must be logged)
  bool too_large = false;  // TooLarge refusal
  bool done = true;        // kDone (false: kNotSet / kNotFound / not found)
  int outcome = 0;         // kv::Outcome as int, where the op returns one
  int64_t number = 0;      // kIncr: new value; kAppend: new length; kDel: count
  std::string text;        // kGetDel: the value
};

// Applies `op` at time `now` to `s` (the acknowledged state) and says what
// the engine must have answered. Expired keys count as absent, as in the
// engine. Outcomes: 0 kDone, 1 kNotSet, 2 kNotFound (kv::Outcome).
inline KvExpect ApplyKv(const KvOp& op, int64_t now, size_t max_value, KvState* s) {
  auto live = [&](const std::string& k) -> KvEntry* {
    auto it = s->find(k);
    if (it == s->end()) return nullptr;
    if (Expired(it->second, now)) {
      s->erase(it);
      return nullptr;
    }
    return &it->second;
  };
  KvExpect x;
  switch (op.kind) {
    case KvOp::kSet: {
      KvEntry* cur = live(op.key);
      if ((op.nx && cur) || (op.xx && !cur)) {
        x.outcome = 1;
        x.done = false;
        break;
      }
      (*s)[op.key] = {op.value, op.n ? now + op.n : 0};
      x.changes = true;
      break;
    }
    case KvOp::kDel:
      for (const std::string* k : {&op.key, &op.key2}) {
        if (k->empty() || !live(*k)) continue;
        s->erase(*k);
        x.number++;
      }
      x.changes = x.number > 0;
      break;
    case KvOp::kIncr: {
      KvEntry* cur = live(op.key);
      int64_t v = cur ? std::stoll(cur->value) + op.n : op.n;
      (*s)[op.key] = {std::to_string(v), cur ? cur->expire_at : 0};
      x.number = v;
      x.changes = true;
      break;
    }
    case KvOp::kAppend: {
      KvEntry* cur = live(op.key);
      std::string v = (cur ? cur->value : std::string()) + op.value;
      if (v.size() > max_value) {
        x.too_large = true;
        break;
      }
      (*s)[op.key] = {v, cur ? cur->expire_at : 0};
      x.number = static_cast<int64_t>(v.size());
      x.changes = true;
      break;
    }
    case KvOp::kMSet:
      (*s)[op.key] = {op.value, 0};
      (*s)[op.key2] = {op.value2, 0};
      x.changes = true;
      break;
    case KvOp::kExpire: {
      KvEntry* cur = live(op.key);
      if (!cur) {
        x.outcome = 2;
        x.done = false;
        break;
      }
      cur->expire_at = now + op.n;
      x.changes = true;
      break;
    }
    case KvOp::kPersist: {
      KvEntry* cur = live(op.key);
      if (!cur || cur->expire_at == 0) {
        x.outcome = cur ? 1 : 2;
        x.done = false;
        break;
      }
      cur->expire_at = 0;
      x.changes = true;
      break;
    }
    case KvOp::kGetDel: {
      KvEntry* cur = live(op.key);
      if (!cur) {
        x.done = false;
        break;
      }
      x.text = cur->value;
      s->erase(op.key);
      x.changes = true;
      break;
    }
    case KvOp::kSweep:  // deletes expired keys only: nothing a reader sees
      break;
    case KvOp::kFlushAll:
      s->clear();
      x.changes = true;
      break;
  }
  return x;
}

// ------------------------------------------------------------- queues ----

struct QMsg {
  std::string payload;
  uint8_t priority = 0;
  bool dead = false;
  std::string reason;  // of a dead letter
  bool operator==(const QMsg&) const = default;
};
// id -> message, every message not acked. After a restart a message is
// either live (ready) or dead: in-flight deliveries go back to ready.
using QueueState = std::map<uint64_t, QMsg>;

struct QueueOp {
  enum Kind : uint8_t { kPublish, kAck, kNack, kRequeueDead };
  Kind kind = kPublish;
  std::vector<std::pair<std::string, uint8_t>> publish;  // payload, priority
  std::vector<uint64_t> ids;                              // kAck; kNack/kRequeueDead: one
  bool requeue = true;                                    // kNack
};

// The state after a queue op whose outcome is unknown, if it was durable.
// A publish's ids are only known from what recovery found: `recovered`
// supplies them (by payload); nullopt if it holds only part of the batch.
inline std::optional<QueueState> QueueAfter(const QueueOp& op, QueueState s, const QueueState& recovered) {
  switch (op.kind) {
    case QueueOp::kPublish:
      for (const auto& [payload, prio] : op.publish) {
        bool found = false;
        for (const auto& [id, m] : recovered)
          if (m.payload == payload && !s.count(id)) {
            s[id] = QMsg{payload, prio, false, ""};
            found = true;
            break;
          }
        if (!found) return std::nullopt;
      }
      return s;
    case QueueOp::kAck:
      for (uint64_t id : op.ids) s.erase(id);
      return s;
    case QueueOp::kNack:
      if (!op.requeue && s.count(op.ids[0])) {
        s[op.ids[0]].dead = true;
        s[op.ids[0]].reason = "rejected";
      }
      return s;
    case QueueOp::kRequeueDead:
      if (s.count(op.ids[0])) {
        s[op.ids[0]].dead = false;
        s[op.ids[0]].reason.clear();
      }
      return s;
  }
  return s;
}

// ------------------------------------------------------------ streams ----

struct SEvent {
  std::string key, payload;
  int64_t ts = 0;
  bool operator==(const SEvent&) const = default;
};

struct StreamState {
  std::vector<std::vector<SEvent>> rooms;               // events by offset, per room
  std::map<std::pair<int, int>, uint64_t> commits;      // (group, room) -> offset
  bool operator==(const StreamState&) const = default;
};

struct StreamOp {
  enum Kind : uint8_t { kAppend, kCommit };
  Kind kind = kAppend;
  int room = 0, group = 0;
  std::vector<SEvent> events;  // kAppend
  uint64_t offset = 0;         // kCommit
};

inline void ApplyStream(const StreamOp& op, StreamState* s) {
  if (op.kind == StreamOp::kAppend) {
    auto& r = s->rooms[op.room];
    r.insert(r.end(), op.events.begin(), op.events.end());
  } else {
    s->commits[{op.group, op.room}] = op.offset;
  }
}

// ------------------------------------------------------- unknown writes ----

// The write whose outcome is unknown in one log, if any. A log is poisoned
// by its first failed write, so it has at most one such write per run of
// the engine (the model checks that no later write in it is acknowledged).
struct Unknown {
  std::optional<KvOp> kv;
  int64_t kv_now = 0;  // the clock when the KV op ran
  std::optional<QueueOp> queue;
  std::optional<StreamOp> stream;
  bool any() const { return kv || queue || stream; }
};

}  // namespace synap::testing::sim
