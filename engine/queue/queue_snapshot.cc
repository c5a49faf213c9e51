// QueueStore: recovery (replay, snapshot load, Attach) and snapshots.
#include <algorithm>
#include <chrono>

#include "engine/queue/queue_state.h"
#include "engine/wal/wal.h"

namespace synap::queue {

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
      // `name` captured by an init-capture: clang 14 cannot capture a
      // structured binding (a C++20 rule it lacks; scripts/fuzz.sh builds with it).
      auto emit = [&, &name = name](const Message& m) {
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
    if (!in.Varint(&next) || !in.done() || next > kMaxMessageId + 1)
      return Status::Corruption("malformed queue store snapshot record");
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
  if (m.id == 0 || m.id > kMaxMessageId) return Status::Corruption("queue message id out of range in snapshot");
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
