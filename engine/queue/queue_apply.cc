// QueueStore::ApplyRecord: the one place that changes queue state, live
// (right after a record is appended) and in replay alike.
#include <algorithm>
#include <chrono>

#include "engine/queue/queue_state.h"
#include "engine/wal/wal.h"

namespace synap::queue {

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

}  // namespace synap::queue
