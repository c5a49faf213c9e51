// QueueStore::ApplyRecord: the one place that changes queue state, live
// (right after a record is appended) and in replay alike. The record is
// decoded whole first (DecodeRecord), so a malformed one changes nothing.
#include <algorithm>
#include <chrono>

#include "engine/queue/queue_state.h"
#include "engine/wal/wal.h"

namespace synap::queue {

Status QueueStore::ApplyRecord(std::span<const uint8_t> record, Lsn lsn) {
  QueueRecord r;
  SYNAP_RETURN_IF_ERROR(DecodeRecord(record, &r));
  bool live = wal_ != nullptr;
  int64_t now = Now();
  if (r.op == QueueOp::kDeclare) {
    auto& q = queues_[std::string(r.queue)];
    if (q == nullptr) q = std::make_unique<Queue>(), q->name = r.queue;
    q->settings = r.settings;
    return Status::Ok();
  }
  auto it = queues_.find(r.queue);
  if (it == queues_.end()) return Status::Ok();  // replayed onto a state where it was deleted since
  Queue& q = *it->second;
  switch (r.op) {
    case QueueOp::kDeclare: break;  // handled above
    case QueueOp::kDelete: queues_.erase(it); break;
    case QueueOp::kPurge: {
      std::vector<uint64_t> gone;
      for (auto& [id, m] : q.msgs)
        if (m.state == State::kReady || m.state == State::kDelayed) gone.push_back(id);
      for (uint64_t id : gone) q.Erase(q.msgs.at(id));
      break;
    }
    case QueueOp::kPublish:
      for (const PublishedMessage& p : r.published) {
        next_id_ = std::max(next_id_, p.id + 1);
        if (q.msgs.count(p.id) != 0) continue;  // replayed onto a state that has it
        Message m;
        m.id = p.id;
        m.priority = p.priority;
        m.max_retries = static_cast<uint32_t>(p.max_retries);
        m.due_ms = p.due_ms;
        m.published_ms = p.published_ms;
        for (const auto& [k, v] : p.headers) m.headers.push_back(Header{std::string(k), std::string(v)});
        m.payload = p.payload;
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
    case QueueOp::kDeliver:
      for (const DeliveredMessage& d : r.delivered) {
        auto m = q.msgs.find(d.id);
        if (m == q.msgs.end() || m->second.state == State::kDead) continue;
        q.Detach(m->second);
        m->second.deliveries = static_cast<uint32_t>(d.delivery_count);
        m->second.consumer = r.consumer;
        m->second.deadline_ms = r.deadline_ms;
        m->second.state = State::kInFlight;
        m->second.timer = q.deadlines.emplace(r.deadline_ms, d.id);
        q.consumers[std::string(r.consumer)]++;
        if (live) q.st.delivered++, q.st.redelivered += d.delivery_count > 1 ? 1 : 0;
      }
      break;
    case QueueOp::kAck:
      for (uint64_t id : r.ids) {
        auto m = q.msgs.find(id);
        if (m == q.msgs.end()) continue;
        q.Erase(m->second);
        if (live) q.st.acked++;
      }
      break;
    case QueueOp::kRequeue: {
      auto m = q.msgs.find(r.ids.front());
      if (m == q.msgs.end()) break;
      q.Detach(m->second);
      q.ToReady(m->second, true);  // the head of its priority, as RabbitMQ requeues
      if (live) q.st.nacked++;
      break;
    }
    case QueueOp::kDeadLetter: {
      auto m = q.msgs.find(r.ids.front());
      if (m == q.msgs.end()) break;
      q.Detach(m->second);
      q.ToDead(m->second, static_cast<DeadReason>(r.reason));
      if (live && r.reason == static_cast<uint8_t>(DeadReason::kExpired)) q.st.expired++;
      break;
    }
    case QueueOp::kRevive:
      for (uint64_t id : r.ids) {
        auto m = q.msgs.find(id);
        if (m == q.msgs.end() || m->second.state != State::kDead) continue;
        q.Detach(m->second);
        m->second.deliveries = 0;
        m->second.published_ms = now;  // a fresh TTL
        q.ToReady(m->second, false);
      }
      break;
    case QueueOp::kPurgeDead:
      while (!q.dead.empty()) q.Erase(q.msgs.at(q.dead.front()));
      break;
  }
  return Status::Ok();
}

}  // namespace synap::queue
