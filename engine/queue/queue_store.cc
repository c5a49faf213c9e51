// QueueStore: the commands. Each checks its arguments and the state, builds
// the record, and logs it (Log() applies it: queue_apply.cc).
#include <algorithm>
#include <chrono>

#include "engine/base/clock.h"
#include "engine/queue/queue_state.h"
#include "engine/wal/wal.h"

namespace synap::queue {

Status QueueSettings::Validate() const {
  if (max_depth == 0) return Status::InvalidArgument("queue max_depth must be at least 1");
  if (ack_deadline_ms == 0) return Status::InvalidArgument("queue ack_deadline_ms must be at least 1");
  if (dead_letter_max == 0) return Status::InvalidArgument("queue dead_letter_max must be at least 1");
  if (default_priority > kMaxPriority) return Status::InvalidArgument("queue default_priority must be 0..9");
  return Status::Ok();
}

QueueStore::QueueStore(const QueueStoreOptions& opts) : opts_(opts) {}
QueueStore::~QueueStore() { Wake({}, Status::Closed("the queue store is closed")); }

int64_t QueueStore::Now() const {
  if (opts_.clock) return opts_.clock();
  return WallMs();
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
  Wake(name, Status::NotFound("queue '" + std::string(name) + "' was deleted"));  // waiting consumers learn it
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
  if (msgs.size() > kMaxMessageId + 1 - next_id_)
    return Status::TooLarge("queue message ids are exhausted (the largest is " + std::to_string(kMaxMessageId) + ")");
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
    wal_->OnAcked(*lsn, [this, queue = std::string(name)](const Status&) { Wake(queue); });
    return ids;
  }
  SYNAP_RETURN_IF_ERROR(wal_->WaitFor(*lsn));
  Wake(name);  // deliverable now
  return ids;
}

Result<std::vector<Delivery>> QueueStore::Consume(std::string_view name, std::string_view consumer, uint32_t max,
                                                  uint32_t wait_ms, uint32_t prefetch) {
  if (max == 0 || max > kMaxConsumeBatch) return Status::InvalidArgument("consume max must be 1..10000");
  if (consumer.empty() || consumer.size() > kMaxQueueNameBytes)
    return Status::InvalidArgument("consumer name must be 1..256 bytes");
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  // The sweep below may make more messages ready than this call takes: the
  // others must wake blocked consumers and NotifyReady waiters. Declared
  // before the lock, so it runs after the unlock.
  bool swept = false;
  struct WakeOnExit {
    std::function<void()> fn;
    ~WakeOnExit() { fn(); }
  } wake_on_exit{[&] {
    if (swept) Wake(name);
  }};
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    Result<Queue*> found = Find(name);
    if (!found.ok()) return found.status();
    Queue& q = **found;
    int64_t now = Now();
    swept |= Sweep(q, now) > 0;
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
  if (requeue) Wake(name);
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
  std::unique_lock<std::mutex> lk(mu_);
  if (wal_ == nullptr) return uint64_t{0};
  uint64_t moved = 0;
  int64_t now = Now();
  std::vector<std::string> woken;
  for (auto& [name, q] : queues_) {
    uint64_t n = Sweep(*q, now);
    if (n > 0) woken.push_back(name);
    moved += n;
  }
  lk.unlock();
  for (const std::string& name : woken) Wake(name);
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
  Wake(name);
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

// ---- waiting without a thread ----

// A message is deliverable when the head of some priority is published
// durably (the order Consume takes them in: it stops at the first that is not).
bool QueueStore::Deliverable(const Queue& q) const {
  Lsn acked = wal_ == nullptr ? 0 : wal_->acked_lsn();
  for (const auto& level : q.ready)
    if (!level.empty() && q.msgs.at(level.front()).lsn <= acked) return true;
  return false;
}

Result<uint64_t> QueueStore::NotifyReady(std::string_view name, std::function<void(Status)> fn) {
  uint64_t handle = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Result<Queue*> q = Find(name);
    if (!q.ok()) return q.status();
    {
      std::lock_guard<std::mutex> wl(waiters_mu_);
      if (waiters_.size() >= kMaxReadyWaiters)
        return Status::Busy("too many waiting consumers (" + std::to_string(kMaxReadyWaiters) + ")");
      handle = next_waiter_++;
      waiters_.emplace(handle, ReadyWaiter{std::string(name), std::move(fn)});
    }
    // Registered before the check, so no wake-up falls between the two: a
    // change made after the check (an ack advancing acked_lsn, a requeue
    // under mu_) is followed by a Wake that finds this waiter.
    if (!Deliverable(**q)) return handle;
  }
  std::function<void(Status)> now;
  {
    std::lock_guard<std::mutex> wl(waiters_mu_);
    auto it = waiters_.find(handle);
    if (it == waiters_.end()) return handle;  // a concurrent Wake took it and runs it
    now = std::move(it->second.fn);
    waiters_.erase(it);
  }
  now(Status::Ok());
  return handle;
}

bool QueueStore::CancelNotifyReady(uint64_t handle) {
  std::lock_guard<std::mutex> wl(waiters_mu_);
  return waiters_.erase(handle) > 0;
}

void QueueStore::Wake(std::string_view queue, const Status& why) {
  ready_cv_.notify_all();
  std::vector<std::function<void(Status)>> run;
  {
    std::lock_guard<std::mutex> wl(waiters_mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (queue.empty() || it->second.queue == queue) {
        run.push_back(std::move(it->second.fn));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& fn : run) fn(why);
}

}  // namespace synap::queue
