// QueueStore: queue state, its transitions (ApplyRecord, the one place that
// changes it, live and in replay alike) and the commands that log them.
#include "engine/queue/queue_store.h"

#include <algorithm>
#include <chrono>

#include "engine/base/coding.h"
#include "engine/queue/queue_record.h"
#include "engine/wal/wal.h"

namespace synap::queue {
namespace {

enum class State : uint8_t { kReady = 0, kDelayed = 1, kInFlight = 2, kDead = 3 };

const char* ReasonName(DeadReason r) {
  switch (r) {
    case DeadReason::kRejected: return "rejected";
    case DeadReason::kMaxRetries: return "max_retries";
    case DeadReason::kExpired: return "expired";
  }
  return "unknown";
}

std::string Begin(QueueOp op, std::string_view queue) {
  std::string r;
  r.push_back(static_cast<char>(kModelQueue));
  r.push_back(static_cast<char>(op));
  PutBytes(queue, &r);
  return r;
}

void PutSettings(const QueueSettings& s, std::string* r) {
  PutVarint(s.max_depth, r);
  PutVarint(s.ack_deadline_ms, r);
  PutVarint(s.max_retries, r);
  PutVarint(s.dead_letter_max, r);
  r->push_back(static_cast<char>(s.default_priority));
  PutVarint(s.message_ttl_ms, r);
}

bool GetSettings(ByteReader* in, QueueSettings* s) {
  uint64_t deadline, retries;
  if (!in->Varint(&s->max_depth) || !in->Varint(&deadline) || !in->Varint(&retries) ||
      !in->Varint(&s->dead_letter_max) || !in->U8(&s->default_priority) || !in->Varint(&s->message_ttl_ms))
    return false;
  s->ack_deadline_ms = static_cast<uint32_t>(deadline);
  s->max_retries = static_cast<uint32_t>(retries);
  return true;
}

bool SameSettings(const QueueSettings& a, const QueueSettings& b) {
  return a.max_depth == b.max_depth && a.ack_deadline_ms == b.ack_deadline_ms && a.max_retries == b.max_retries &&
         a.dead_letter_max == b.dead_letter_max && a.default_priority == b.default_priority &&
         a.message_ttl_ms == b.message_ttl_ms;
}

}  // namespace

Status QueueSettings::Validate() const {
  if (max_depth == 0) return Status::InvalidArgument("queue max_depth must be at least 1");
  if (ack_deadline_ms == 0) return Status::InvalidArgument("queue ack_deadline_ms must be at least 1");
  if (dead_letter_max == 0) return Status::InvalidArgument("queue dead_letter_max must be at least 1");
  if (default_priority > kMaxPriority) return Status::InvalidArgument("queue default_priority must be 0..9");
  return Status::Ok();
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

QueueStore::QueueStore(const QueueStoreOptions& opts) : opts_(opts) {}
QueueStore::~QueueStore() = default;

int64_t QueueStore::Now() const {
  if (opts_.clock) return opts_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<QueueStore::Queue*> QueueStore::Find(std::string_view name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) return Status::NotFound("no queue named '" + std::string(name) + "'");
  return it->second.get();
}

Result<Lsn> QueueStore::Log(const std::string& record) {
  if (wal_ == nullptr) return Status::Closed("the queue store is not open for writes");
  Result<Lsn> lsn = wal_->Append(std::span(reinterpret_cast<const uint8_t*>(record.data()), record.size()));
  if (!lsn.ok()) return lsn.status();
  Status st = ApplyRecord(std::span(reinterpret_cast<const uint8_t*>(record.data()), record.size()), *lsn);
  if (!st.ok()) return Status::Corruption("a queue record this store wrote does not apply: " + st.message());
  return lsn;
}

Status QueueStore::Wait(Lsn lsn, Lsn* ticket) {
  if (ticket != nullptr) {
    *ticket = lsn;
    return Status::Ok();
  }
  return lsn == 0 ? Status::Ok() : wal_->WaitFor(lsn);
}

// ---- the transitions ----

Status QueueStore::ApplyRecord(std::span<const uint8_t> record, Lsn lsn) {
  ByteReader in{record.data(), record.data() + record.size()};
  uint8_t model, op;
  std::string_view name;
  if (!in.U8(&model) || model != kModelQueue || !in.U8(&op) || !in.Bytes(&name))
    return Status::Corruption("malformed queue record");
  auto bad = [] { return Status::Corruption("malformed queue record"); };
  bool live = wal_ != nullptr;
  int64_t now = Now();
  if (static_cast<QueueOp>(op) == QueueOp::kDeclare) {
    QueueSettings s;
    if (!GetSettings(&in, &s)) return bad();
    auto& q = queues_[std::string(name)];
    if (q == nullptr) q = std::make_unique<Queue>(), q->name = name;
    q->settings = s;
    return Status::Ok();
  }
  auto it = queues_.find(name);
  if (it == queues_.end()) return Status::Ok();  // replayed onto a state where it was deleted since
  Queue& q = *it->second;
  switch (static_cast<QueueOp>(op)) {
    case QueueOp::kDelete: queues_.erase(it); break;
    case QueueOp::kPurge: {
      std::vector<uint64_t> gone;
      for (auto& [id, m] : q.msgs)
        if (m.state == State::kReady || m.state == State::kDelayed) gone.push_back(id);
      for (uint64_t id : gone) q.Erase(q.msgs.at(id));
      break;
    }
    case QueueOp::kPublish: {
      uint64_t n;
      if (!in.Varint(&n)) return bad();
      for (uint64_t i = 0; i < n; i++) {
        Message m;
        uint64_t retries, headers;
        std::string_view payload;
        if (!in.Varint(&m.id) || !in.U8(&m.priority) || !in.Varint(&retries) || !in.I64(&m.due_ms) ||
            !in.I64(&m.published_ms) || !in.Varint(&headers) || headers > kMaxHeaders || m.priority > kMaxPriority)
          return bad();
        for (uint64_t h = 0; h < headers; h++) {
          std::string_view k, v;
          if (!in.Bytes(&k) || !in.Bytes(&v)) return bad();
          m.headers.push_back(Header{std::string(k), std::string(v)});
        }
        if (!in.Bytes(&payload)) return bad();
        next_id_ = std::max(next_id_, m.id + 1);
        if (q.msgs.count(m.id) != 0) continue;  // replayed onto a state that has it
        m.max_retries = static_cast<uint32_t>(retries);
        m.payload = payload;
        m.lsn = lsn;
        Message& stored = q.msgs.emplace(m.id, std::move(m)).first->second;
        if (stored.due_ms > now) {
          stored.state = State::kDelayed;
          stored.timer = q.delayed.emplace(stored.due_ms, stored.id);
        } else {
          q.ToReady(stored, false);
        }
        if (live) q.st.published++;
      }
      break;
    }
    case QueueOp::kDeliver: {
      std::string_view consumer;
      int64_t deadline;
      uint64_t n;
      if (!in.Bytes(&consumer) || !in.I64(&deadline) || !in.Varint(&n)) return bad();
      for (uint64_t i = 0; i < n; i++) {
        uint64_t id, count;
        if (!in.Varint(&id) || !in.Varint(&count)) return bad();
        auto m = q.msgs.find(id);
        if (m == q.msgs.end() || m->second.state == State::kDead) continue;
        q.Detach(m->second);
        m->second.deliveries = static_cast<uint32_t>(count);
        m->second.consumer = consumer;
        m->second.deadline_ms = deadline;
        m->second.state = State::kInFlight;
        m->second.timer = q.deadlines.emplace(deadline, id);
        q.consumers[std::string(consumer)]++;
        if (live) q.st.delivered++, q.st.redelivered += count > 1 ? 1 : 0;
      }
      break;
    }
    case QueueOp::kAck: {
      uint64_t n, id;
      if (!in.Varint(&n)) return bad();
      for (uint64_t i = 0; i < n; i++) {
        if (!in.Varint(&id)) return bad();
        auto m = q.msgs.find(id);
        if (m == q.msgs.end()) continue;
        q.Erase(m->second);
        if (live) q.st.acked++;
      }
      break;
    }
    case QueueOp::kRequeue: {
      uint64_t id;
      if (!in.Varint(&id)) return bad();
      auto m = q.msgs.find(id);
      if (m == q.msgs.end()) break;
      q.Detach(m->second);
      q.ToReady(m->second, true);  // the head of its priority, as RabbitMQ requeues
      if (live) q.st.nacked++;
      break;
    }
    case QueueOp::kDeadLetter: {
      uint64_t id;
      uint8_t reason;
      if (!in.Varint(&id) || !in.U8(&reason)) return bad();
      auto m = q.msgs.find(id);
      if (m == q.msgs.end()) break;
      q.Detach(m->second);
      q.ToDead(m->second, static_cast<DeadReason>(reason));
      if (live && reason == static_cast<uint8_t>(DeadReason::kExpired)) q.st.expired++;
      break;
    }
    case QueueOp::kRevive: {
      uint64_t n, id;
      if (!in.Varint(&n)) return bad();
      for (uint64_t i = 0; i < n; i++) {
        if (!in.Varint(&id)) return bad();
        auto m = q.msgs.find(id);
        if (m == q.msgs.end() || m->second.state != State::kDead) continue;
        q.Detach(m->second);
        m->second.deliveries = 0;
        m->second.published_ms = now;  // a fresh TTL
        q.ToReady(m->second, false);
      }
      break;
    }
    case QueueOp::kPurgeDead: {
      while (!q.dead.empty()) q.Erase(q.msgs.at(q.dead.front()));
      break;
    }
    default: return Status::Unsupported("queue record with unknown op " + std::to_string(op));
  }
  return in.done() ? Status::Ok() : bad();
}

// ---- commands ----

Status QueueStore::Declare(std::string_view name, const QueueSettings& settings) {
  if (name.empty() || name.size() > kMaxQueueNameBytes)
    return Status::InvalidArgument("queue name must be 1..256 bytes");
  SYNAP_RETURN_IF_ERROR(settings.Validate());
  std::unique_lock<std::mutex> lk(mu_);
  if (auto q = queues_.find(name); q != queues_.end()) {
    if (SameSettings(q->second->settings, settings)) return Status::Ok();
    return Status::InvalidArgument("queue '" + std::string(name) + "' exists with other settings");
  }
  std::string r = Begin(QueueOp::kDeclare, name);
  PutSettings(settings, &r);
  Result<Lsn> lsn = Log(r);
  if (!lsn.ok()) return lsn.status();
  lk.unlock();
  return Wait(*lsn, nullptr);
}

Status QueueStore::Delete(std::string_view name) {
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  Result<Lsn> lsn = Log(Begin(QueueOp::kDelete, name));
  if (!lsn.ok()) return lsn.status();
  lk.unlock();
  ready_cv_.notify_all();  // waiting consumers learn the queue is gone
  return Wait(*lsn, nullptr);
}

Result<uint64_t> QueueStore::Purge(std::string_view name) {
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  uint64_t before = (*q)->msgs.size();
  Result<Lsn> lsn = Log(Begin(QueueOp::kPurge, name));
  if (!lsn.ok()) return lsn.status();
  uint64_t purged = before - (*q)->msgs.size();
  lk.unlock();
  SYNAP_RETURN_IF_ERROR(Wait(*lsn, nullptr));
  return purged;
}

std::vector<std::string> QueueStore::List() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::string> names;
  for (const auto& [name, q] : queues_) names.push_back(name);
  return names;
}

Result<QueueSettings> QueueStore::Settings(std::string_view name) {
  std::lock_guard<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  return (*q)->settings;
}

Result<std::vector<uint64_t>> QueueStore::Publish(std::string_view name, std::span<const PublishArgs> msgs,
                                                  Lsn* ticket) {
  if (msgs.empty()) return Status::InvalidArgument("publish needs at least one message");
  for (const PublishArgs& a : msgs) {
    if (a.payload.size() > opts_.max_payload_bytes)
      return Status::TooLarge("payload of " + std::to_string(a.payload.size()) + " bytes is over the limit (" +
                              std::to_string(opts_.max_payload_bytes) + ")");
    if (a.priority > kMaxPriority || a.priority < -1) return Status::InvalidArgument("priority must be 0..9");
    if (a.headers.size() > kMaxHeaders) return Status::TooLarge("more than 64 headers");
    size_t hb = 0;
    for (const Header& h : a.headers) hb += h.key.size() + h.value.size();
    if (hb > kMaxHeaderBytes) return Status::TooLarge("headers over 64 KiB");
  }
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> found = Find(name);
  if (!found.ok() && found.status().IsNotFound() && opts_.auto_create) {
    lk.unlock();
    SYNAP_RETURN_IF_ERROR(Declare(name, QueueSettings{}));
    lk.lock();
    found = Find(name);
  }
  if (!found.ok()) return found.status();
  Queue& q = **found;
  if (q.depth() + msgs.size() > q.settings.max_depth)
    return Status::Busy("queue full: '" + std::string(name) + "' holds " + std::to_string(q.depth()) +
                        " messages, max_depth is " + std::to_string(q.settings.max_depth));
  int64_t now = Now();
  std::string r = Begin(QueueOp::kPublish, name);
  PutVarint(msgs.size(), &r);
  std::vector<uint64_t> ids;
  for (const PublishArgs& a : msgs) {
    uint64_t id = next_id_++;
    ids.push_back(id);
    PutVarint(id, &r);
    r.push_back(static_cast<char>(a.priority < 0 ? q.settings.default_priority : a.priority));
    PutVarint(a.max_retries < 0 ? q.settings.max_retries : static_cast<uint64_t>(a.max_retries), &r);
    PutFixed64(static_cast<uint64_t>(a.delay_ms > 0 ? now + static_cast<int64_t>(a.delay_ms) : 0), &r);
    PutFixed64(static_cast<uint64_t>(now), &r);
    PutVarint(a.headers.size(), &r);
    for (const Header& h : a.headers) PutBytes(h.key, &r), PutBytes(h.value, &r);
    PutBytes(a.payload, &r);
  }
  Result<Lsn> lsn = Log(r);
  if (!lsn.ok()) return lsn.status();
  lk.unlock();
  if (ticket != nullptr) {
    *ticket = *lsn;
    wal_->OnAcked(*lsn, [this](const Status&) { ready_cv_.notify_all(); });
    return ids;
  }
  SYNAP_RETURN_IF_ERROR(wal_->WaitFor(*lsn));
  ready_cv_.notify_all();  // deliverable now
  return ids;
}

Result<std::vector<Delivery>> QueueStore::Consume(std::string_view name, std::string_view consumer, uint32_t max,
                                                  uint32_t wait_ms, uint32_t prefetch) {
  if (max == 0 || max > kMaxConsumeBatch) return Status::InvalidArgument("consume max must be 1..10000");
  if (consumer.empty() || consumer.size() > kMaxQueueNameBytes)
    return Status::InvalidArgument("consumer name must be 1..256 bytes");
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    Result<Queue*> found = Find(name);
    if (!found.ok()) return found.status();
    Queue& q = **found;
    int64_t now = Now();
    Sweep(q, now);
    uint32_t room = max;
    if (prefetch != 0) {
      auto c = q.consumers.find(std::string(consumer));
      uint32_t held = c == q.consumers.end() ? 0 : c->second;
      room = held >= prefetch ? 0 : std::min(max, prefetch - held);
    }
    Lsn acked = wal_->acked_lsn();
    std::vector<Message*> take;
    for (int p = kMaxPriority; p >= 0 && take.size() < room; p--) {
      for (uint64_t id : q.ready[p]) {
        Message& m = q.msgs.at(id);
        if (m.lsn > acked) break;  // published, not yet durable: neither it nor what follows
        take.push_back(&m);
        if (take.size() == room) break;
      }
    }
    if (!take.empty()) {
      int64_t deadline = now + q.settings.ack_deadline_ms;
      std::string r = Begin(QueueOp::kDeliver, name);
      PutBytes(consumer, &r);
      PutFixed64(static_cast<uint64_t>(deadline), &r);
      PutVarint(take.size(), &r);
      std::vector<Delivery> out;
      for (Message* m : take) {
        PutVarint(m->id, &r);
        PutVarint(m->deliveries + 1, &r);
        out.push_back(Delivery{m->id, m->payload, m->headers, m->priority, m->deliveries + 1, m->deliveries > 0, {}});
      }
      Result<Lsn> lsn = Log(r);  // not waited for: see the header
      if (!lsn.ok()) return lsn.status();
      return out;
    }
    auto clock_now = std::chrono::steady_clock::now();
    if (clock_now >= until) return std::vector<Delivery>{};
    // Sleep until notified, the wait ends, or the next timer (a delayed
    // message, a deadline) falls due.
    auto wake = until;
    int64_t next = INT64_MAX;
    if (!q.delayed.empty()) next = std::min(next, q.delayed.begin()->first);
    if (!q.deadlines.empty()) next = std::min(next, q.deadlines.begin()->first);
    if (next != INT64_MAX) wake = std::min(wake, clock_now + std::chrono::milliseconds(std::max<int64_t>(1, next - now)));
    ready_cv_.wait_until(lk, wake);
  }
}

Status QueueStore::Ack(std::string_view name, std::span<const uint64_t> ids, Lsn* ticket) {
  if (ids.empty()) return Status::InvalidArgument("ack needs at least one id");
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  for (uint64_t id : ids) {
    auto m = (*q)->msgs.find(id);
    if (m == (*q)->msgs.end() || m->second.state != State::kInFlight)
      return Status::NotFound("message " + std::to_string(id) + " is not in flight in queue '" + std::string(name) +
                              "' (unknown, or acknowledged already)");
  }
  std::string r = Begin(QueueOp::kAck, name);
  PutVarint(ids.size(), &r);
  for (uint64_t id : ids) PutVarint(id, &r);
  Result<Lsn> lsn = Log(r);
  if (!lsn.ok()) return lsn.status();
  lk.unlock();
  return Wait(*lsn, ticket);
}

Status QueueStore::Nack(std::string_view name, uint64_t id, bool requeue, Lsn* ticket) {
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> found = Find(name);
  if (!found.ok()) return found.status();
  Queue& q = **found;
  auto m = q.msgs.find(id);
  if (m == q.msgs.end() || m->second.state != State::kInFlight)
    return Status::NotFound("message " + std::to_string(id) + " is not in flight in queue '" + std::string(name) + "'");
  std::string r;
  bool retries_spent = m->second.deliveries > m->second.max_retries;
  if (requeue && !retries_spent) {
    r = Begin(QueueOp::kRequeue, name);
    PutVarint(id, &r);
  } else {
    if (q.dead.size() >= q.settings.dead_letter_max)
      return Status::Busy("dead-letter list of queue '" + std::string(name) + "' is full (" +
                          std::to_string(q.settings.dead_letter_max) + "); the message stays in flight");
    r = Begin(QueueOp::kDeadLetter, name);
    PutVarint(id, &r);
    r.push_back(static_cast<char>(requeue ? DeadReason::kMaxRetries : DeadReason::kRejected));
  }
  Result<Lsn> lsn = Log(r);
  if (!lsn.ok()) return lsn.status();
  if (!requeue) q.st.nacked++;
  lk.unlock();
  ready_cv_.notify_all();
  return Wait(*lsn, ticket);
}

// Deadlines past due: back to the head of the queue, or to the dead letters
// once max_retries deliveries are spent (kept in flight if those are full:
// never dropped). Delayed messages that fell due become ready. Ready
// messages older than the TTL are dead-lettered (checked at each priority's
// head, where the oldest wait, as RabbitMQ does).
uint64_t QueueStore::Sweep(Queue& q, int64_t now) {
  uint64_t moved = 0;
  auto log = [&](std::string r) {
    if (Log(r).ok()) moved++;
  };
  while (!q.deadlines.empty() && q.deadlines.begin()->first <= now) {
    Message& m = q.msgs.at(q.deadlines.begin()->second);
    if (m.deliveries > m.max_retries && q.dead.size() < q.settings.dead_letter_max) {
      std::string r = Begin(QueueOp::kDeadLetter, q.name);
      PutVarint(m.id, &r);
      r.push_back(static_cast<char>(DeadReason::kMaxRetries));
      log(r);
    } else {
      std::string r = Begin(QueueOp::kRequeue, q.name);
      PutVarint(m.id, &r);
      log(r);
    }
    if (m.state == State::kInFlight) break;  // the log refused: stop, the error surfaces on the next write
  }
  while (!q.delayed.empty() && q.delayed.begin()->first <= now) {
    Message& m = q.msgs.at(q.delayed.begin()->second);
    q.Detach(m);
    q.ToReady(m, false);  // time alone moves it: replay decides the same from due_ms
    moved++;
  }
  if (q.settings.message_ttl_ms != 0) {
    for (auto& l : q.ready) {
      while (!l.empty() && q.dead.size() < q.settings.dead_letter_max) {
        Message& m = q.msgs.at(l.front());
        if (m.published_ms + static_cast<int64_t>(q.settings.message_ttl_ms) > now) break;
        std::string r = Begin(QueueOp::kDeadLetter, q.name);
        PutVarint(m.id, &r);
        r.push_back(static_cast<char>(DeadReason::kExpired));
        log(r);
        if (m.state == State::kReady) break;
      }
    }
  }
  return moved;
}

Result<uint64_t> QueueStore::Tick() {
  std::lock_guard<std::mutex> lk(mu_);
  if (wal_ == nullptr) return uint64_t{0};
  uint64_t moved = 0;
  int64_t now = Now();
  for (auto& [name, q] : queues_) moved += Sweep(*q, now);
  if (moved > 0) ready_cv_.notify_all();
  return moved;
}

Result<std::vector<Delivery>> QueueStore::DeadLetters(std::string_view name, uint64_t offset, uint32_t limit) {
  if (limit == 0 || limit > kMaxConsumeBatch) return Status::InvalidArgument("dead letters limit must be 1..10000");
  std::lock_guard<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  std::vector<Delivery> out;
  uint64_t i = 0;
  for (uint64_t id : (*q)->dead) {
    if (i++ < offset) continue;
    if (out.size() == limit) break;
    const Message& m = (*q)->msgs.at(id);
    out.push_back(Delivery{m.id, m.payload, m.headers, m.priority, m.deliveries, m.deliveries > 1, ReasonName(m.reason)});
  }
  return out;
}

Result<uint64_t> QueueStore::RequeueDeadLetters(std::string_view name, uint64_t id, Lsn* ticket) {
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  std::vector<uint64_t> ids;
  if (id != 0) {
    auto m = (*q)->msgs.find(id);
    if (m == (*q)->msgs.end() || m->second.state != State::kDead)
      return Status::NotFound("message " + std::to_string(id) + " is not a dead letter of queue '" +
                              std::string(name) + "'");
    ids.push_back(id);
  } else {
    ids.assign((*q)->dead.begin(), (*q)->dead.end());
  }
  if (ids.empty()) return uint64_t{0};
  std::string r = Begin(QueueOp::kRevive, name);
  PutVarint(ids.size(), &r);
  for (uint64_t i : ids) PutVarint(i, &r);
  Result<Lsn> lsn = Log(r);
  if (!lsn.ok()) return lsn.status();
  lk.unlock();
  ready_cv_.notify_all();
  SYNAP_RETURN_IF_ERROR(Wait(*lsn, ticket));
  return uint64_t{ids.size()};
}

Result<uint64_t> QueueStore::PurgeDeadLetters(std::string_view name, Lsn* ticket) {
  std::unique_lock<std::mutex> lk(mu_);
  Result<Queue*> q = Find(name);
  if (!q.ok()) return q.status();
  uint64_t n = (*q)->dead.size();
  Result<Lsn> lsn = Log(Begin(QueueOp::kPurgeDead, name));
  if (!lsn.ok()) return lsn.status();
  lk.unlock();
  SYNAP_RETURN_IF_ERROR(Wait(*lsn, ticket));
  return n;
}

Result<QueueStats> QueueStore::Stats(std::string_view name) {
  std::lock_guard<std::mutex> lk(mu_);
  Result<Queue*> found = Find(name);
  if (!found.ok()) return found.status();
  Queue& q = **found;
  QueueStats st = q.st;
  st.delayed = q.delayed.size();
  st.in_flight = q.deadlines.size();
  st.dead_lettered = q.dead.size();
  st.ready = q.msgs.size() - st.delayed - st.in_flight - st.dead_lettered;
  st.consumers = q.consumers.size();
  return st;
}

// ---- recovery and snapshots ----

Status QueueStore::Replay(std::span<const uint8_t> record) {
  std::lock_guard<std::mutex> lk(mu_);
  return ApplyRecord(record, 0);
}

// In-flight messages of a crashed run come back first, in id order, at the
// head of their priority, marked redelivered by their delivery count.
void QueueStore::Attach(wal::Wal* wal) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [name, q] : queues_) {
    std::vector<uint64_t> flying;
    for (const auto& [deadline, id] : q->deadlines) flying.push_back(id);
    std::sort(flying.rbegin(), flying.rend());  // pushed to the front: highest id first
    for (uint64_t id : flying) {
      Message& m = q->msgs.at(id);
      q->Detach(m);
      q->ToReady(m, true);
    }
  }
  wal_ = wal;
}

Status QueueStore::ForEachSnapshotRecord(const std::function<Status(uint8_t, std::span<const uint8_t>)>& fn) {
  std::vector<std::pair<uint8_t, std::string>> recs;
  {
    std::lock_guard<std::mutex> lk(mu_);
    // Memory already holds transitions whose records may not be durable (an
    // ack, say). A snapshot must not: if the log then lost the record, the
    // snapshot would keep its effect (an unacknowledged ack would lose the
    // message). So copy only once everything applied is acknowledged: no
    // record can be appended while we hold the lock.
    if (wal_ != nullptr) SYNAP_RETURN_IF_ERROR(wal_->WaitFor(wal_->last_lsn()));
    // The id counter is the store's, not a queue's: it must survive the
    // deletion of every queue, or ids would be handed out again.
    std::string store;
    PutVarint(next_id_, &store);
    recs.emplace_back(kSnapshotQueueStore, std::move(store));
    for (const auto& [name, q] : queues_) {
      std::string r;
      PutBytes(name, &r);
      PutSettings(q->settings, &r);
      recs.emplace_back(kSnapshotQueue, std::move(r));
      auto emit = [&](const Message& m) {
        std::string s;
        PutBytes(name, &s);
        s.push_back(static_cast<char>(m.state));
        PutVarint(m.id, &s);
        s.push_back(static_cast<char>(m.priority));
        PutVarint(m.max_retries, &s);
        PutVarint(m.deliveries, &s);
        PutFixed64(static_cast<uint64_t>(m.due_ms), &s);
        PutFixed64(static_cast<uint64_t>(m.published_ms), &s);
        s.push_back(static_cast<char>(m.reason));
        PutVarint(m.headers.size(), &s);
        for (const Header& h : m.headers) PutBytes(h.key, &s), PutBytes(h.value, &s);
        PutBytes(m.payload, &s);
        recs.emplace_back(kSnapshotMessage, std::move(s));
      };
      // Order is state: each ready list front to back, then the rest. A
      // message in flight stays in flight when loaded (a purge replayed
      // after the snapshot must spare it, as it did); Attach() readies it.
      for (const auto& [t, id] : q->deadlines) emit(q->msgs.at(id));
      for (int p = kMaxPriority; p >= 0; p--)
        for (uint64_t id : q->ready[p]) emit(q->msgs.at(id));
      for (uint64_t id : q->dead) emit(q->msgs.at(id));
      for (const auto& [t, id] : q->delayed) emit(q->msgs.at(id));
    }
  }
  for (const auto& [type, r] : recs)
    SYNAP_RETURN_IF_ERROR(fn(type, std::span(reinterpret_cast<const uint8_t*>(r.data()), r.size())));
  return Status::Ok();
}

Status QueueStore::LoadSnapshotRecord(uint8_t type, std::span<const uint8_t> payload) {
  std::lock_guard<std::mutex> lk(mu_);
  ByteReader in{payload.data(), payload.data() + payload.size()};
  if (type == kSnapshotQueueStore) {
    uint64_t next;
    if (!in.Varint(&next) || !in.done()) return Status::Corruption("malformed queue store snapshot record");
    next_id_ = std::max(next_id_, next);
    return Status::Ok();
  }
  std::string_view name;
  if (!in.Bytes(&name)) return Status::Corruption("malformed queue snapshot record");
  if (type == kSnapshotQueue) {
    auto q = std::make_unique<Queue>();
    q->name = name;
    if (!GetSettings(&in, &q->settings) || !in.done()) return Status::Corruption("malformed queue snapshot record");
    queues_[std::string(name)] = std::move(q);
    return Status::Ok();
  }
  auto it = queues_.find(name);
  if (it == queues_.end()) return Status::Corruption("snapshot message of an undeclared queue");
  Queue& q = *it->second;
  Message m;
  uint8_t state, reason;
  uint64_t retries, deliveries, headers;
  std::string_view payload_view;
  if (!in.U8(&state) || !in.Varint(&m.id) || !in.U8(&m.priority) || !in.Varint(&retries) || !in.Varint(&deliveries) ||
      !in.I64(&m.due_ms) || !in.I64(&m.published_ms) || !in.U8(&reason) || !in.Varint(&headers) ||
      headers > kMaxHeaders || m.priority > kMaxPriority || state > 3)
    return Status::Corruption("malformed queue message in snapshot");
  for (uint64_t h = 0; h < headers; h++) {
    std::string_view k, v;
    if (!in.Bytes(&k) || !in.Bytes(&v)) return Status::Corruption("malformed queue message in snapshot");
    m.headers.push_back(Header{std::string(k), std::string(v)});
  }
  if (!in.Bytes(&payload_view) || !in.done()) return Status::Corruption("malformed queue message in snapshot");
  m.max_retries = static_cast<uint32_t>(retries);
  m.deliveries = static_cast<uint32_t>(deliveries);
  m.payload = payload_view;
  next_id_ = std::max(next_id_, m.id + 1);
  uint64_t id = m.id;
  if (!q.msgs.emplace(id, std::move(m)).second) return Status::Corruption("message id twice in a snapshot");
  Message& s = q.msgs.at(id);
  switch (static_cast<State>(state)) {
    case State::kDead: q.ToDead(s, static_cast<DeadReason>(reason)); break;
    case State::kDelayed:
      s.state = State::kDelayed;
      s.timer = q.delayed.emplace(s.due_ms, s.id);
      break;
    case State::kInFlight:  // no consumer now; Attach() makes it ready at the head
      s.state = State::kInFlight;
      s.timer = q.deadlines.emplace(0, s.id);
      q.consumers[s.consumer]++;
      break;
    case State::kReady: q.ToReady(s, false); break;
  }
  return Status::Ok();
}

}  // namespace synap::queue
