// QueueStore: durable work queues (RabbitMQ-like) on the log.
//
// A queue holds messages in four states: ready (one FIFO per priority 0..9,
// 9 served first), delayed (until a due time), in flight (handed to a
// consumer, until acked, nacked or its ack deadline passes) and dead (the
// queue's dead-letter list). Every transition is a log record keyed by
// message id (queue_record.h), applied to memory in LSN order under the
// store's lock right after it is appended. Two rules keep the log's promise:
//  * a message is handed to a consumer only once its publish record is
//    acknowledged (its LSN <= the log's acked LSN), so nobody processes a
//    message a crash could take back;
//  * publish, ack and nack return once their record is acknowledged (or hand
//    back a ticket); a delivery record is not waited for: losing one only
//    makes a delivery count one lower, never loses a message.
// An ack that the log loses makes the message come back after a restart:
// delivery is at least once, and an acknowledged ack is never undone.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/log/format.h"

namespace synap::wal {
class Wal;
}

namespace synap::queue {

using log::Lsn;

inline constexpr uint8_t kMaxPriority = 9;
// The largest message id: INT64_MAX, so that an id fits a RESP integer and
// an int64 in every binding, and the next id never wraps to 0. A record or
// snapshot claiming more is corruption; a publish past it fails.
inline constexpr uint64_t kMaxMessageId = (uint64_t{1} << 63) - 1;
inline constexpr size_t kMaxQueueNameBytes = 256;
inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxHeaderBytes = 64u << 10;  // all of a message's header keys and values
inline constexpr uint32_t kMaxConsumeBatch = 10000;
// Registrations of NotifyReady at once: each holds a callback until it runs
// or is cancelled, so an event loop that forgot to cancel cannot grow memory
// without bound.
inline constexpr size_t kMaxReadyWaiters = 100000;

struct QueueSettings {
  uint64_t max_depth = 1'000'000;        // ready + delayed + in flight; a publish past it: Busy "queue full"
  uint32_t ack_deadline_ms = 30'000;     // an unacked delivery is requeued after this
  uint32_t max_retries = 5;              // a message delivered more often is dead-lettered
  uint64_t dead_letter_max = 1'000'000;  // dead letters kept; when full, nack(requeue=false) is Busy
  uint8_t default_priority = 0;
  uint64_t message_ttl_ms = 0;           // 0: none; a ready message older than this is dead-lettered
  Status Validate() const;
};

struct Header {
  std::string key, value;
};

struct PublishArgs {
  std::string_view payload;
  int priority = -1;           // 0..9; -1: the queue's default
  std::vector<Header> headers;
  uint64_t delay_ms = 0;       // delivered only after this
  int64_t max_retries = -1;    // -1: the queue's setting
};

struct Delivery {
  uint64_t id = 0;
  std::string payload;
  std::vector<Header> headers;
  uint8_t priority = 0;
  uint32_t delivery_count = 0;  // 1 on the first delivery
  bool redelivered = false;
  std::string reason;           // dead letters: why ("rejected", "max_retries", "expired")
};

struct QueueStats {
  uint64_t ready = 0, in_flight = 0, delayed = 0, dead_lettered = 0;
  uint64_t published = 0, delivered = 0, acked = 0, nacked = 0, redelivered = 0, expired = 0;
  uint64_t consumers = 0;
};

struct QueueStoreOptions {
  bool auto_create = true;   // publish to an unknown queue creates it with default settings
  uint64_t max_payload_bytes = 4u << 20;
  std::function<int64_t()> clock;  // Unix ms; empty: the real-time clock
};

class QueueStore {
 public:
  explicit QueueStore(const QueueStoreOptions& opts);
  ~QueueStore();

  // ---- Recovery (before Attach) ----
  Status Replay(std::span<const uint8_t> record);  // model byte included
  Status LoadSnapshotRecord(uint8_t type, std::span<const uint8_t> payload);
  // After replay: in-flight messages go back to ready (redelivered). Then
  // writes go to `wal`, which must outlive the store.
  void Attach(wal::Wal* wal);

  // ---- Queues ----
  // Creates a queue, or checks that an existing one has these settings
  // (InvalidArgument if not), as RabbitMQ's declare does.
  Status Declare(std::string_view name, const QueueSettings& settings);
  Status Delete(std::string_view name);                 // NotFound if absent
  Result<uint64_t> Purge(std::string_view name);        // ready and delayed messages removed
  std::vector<std::string> List();
  Result<QueueSettings> Settings(std::string_view name);

  // ---- Messages ----
  // Publishes messages (one record, all or none) and returns their ids.
  // Busy when the queue would pass max_depth. With ticket: returns once logged.
  Result<std::vector<uint64_t>> Publish(std::string_view name, std::span<const PublishArgs> msgs,
                                        Lsn* ticket = nullptr);
  // Hands out up to max ready messages to `consumer`, waiting up to wait_ms
  // for one when none is ready. `prefetch` (0: none) caps the consumer's
  // unacked deliveries in this queue.
  Result<std::vector<Delivery>> Consume(std::string_view name, std::string_view consumer, uint32_t max,
                                        uint32_t wait_ms, uint32_t prefetch = 0);
  // NotFound for an id not in flight in this queue (unknown, or acked already).
  Status Ack(std::string_view name, std::span<const uint64_t> ids, Lsn* ticket = nullptr);
  // requeue: back to the head of its priority; else to the dead-letter list.
  Status Nack(std::string_view name, uint64_t id, bool requeue, Lsn* ticket = nullptr);

  // ---- Dead letters ----
  Result<std::vector<Delivery>> DeadLetters(std::string_view name, uint64_t offset, uint32_t limit);
  // Moves one dead letter (id) or all (id == 0) back to ready, delivery count reset.
  Result<uint64_t> RequeueDeadLetters(std::string_view name, uint64_t id, Lsn* ticket = nullptr);
  Result<uint64_t> PurgeDeadLetters(std::string_view name, Lsn* ticket = nullptr);

  Result<QueueStats> Stats(std::string_view name);

  // ---- Waiting without a thread (event loops) ----
  // Calls fn(Ok) once a message of queue `name` may be deliverable: at once
  // (on this thread) if one is now, else when a publish is acknowledged or a
  // message is requeued, revived or falls due (on the thread that made it
  // so: the committer's, the background tick's, or a caller's). fn(NotFound)
  // if the queue is deleted, fn(Closed) when the store closes. Exactly once
  // unless cancelled. A wake-up may find nothing (another consumer was
  // faster): consume, and register again. fn runs without the store's lock
  // but must be short and must not call back into the store. NotFound (fn
  // not called) for a missing queue; Busy past kMaxReadyWaiters.
  Result<uint64_t> NotifyReady(std::string_view name, std::function<void(Status)> fn);
  // True if registration `handle` was removed before it ran: its fn never
  // runs. False if it ran, is running, or never existed.
  bool CancelNotifyReady(uint64_t handle);

  // Background step: requeues deliveries past their deadline, releases due
  // delayed messages, dead-letters expired ones. Returns transitions made.
  Result<uint64_t> Tick();

  // ---- Snapshots ----
  // Calls fn(type, payload) for every queue and message, copied under the
  // lock once every applied record is acknowledged (the copy holds nothing
  // the log could still lose). Records are idempotent, so the log from any
  // LSN at or before the call replays onto the result.
  Status ForEachSnapshotRecord(const std::function<Status(uint8_t, std::span<const uint8_t>)>& fn);

 private:
  struct Queue;
  struct Message;
  int64_t Now() const;
  Result<Queue*> Find(std::string_view name);
  Result<Lsn> Log(const std::string& record);
  Status Wait(Lsn lsn, Lsn* ticket);
  Status ApplyRecord(std::span<const uint8_t> record, Lsn lsn);  // under mu_
  bool Deliverable(const Queue& q) const;                        // under mu_
  // Wakes blocked consumers and runs the NotifyReady callbacks of `queue`
  // (every queue's when empty) with `why`. Never called with mu_ held: the
  // callbacks run outside the store's lock.
  void Wake(std::string_view queue, const Status& why = Status::Ok());
  uint64_t Sweep(Queue& q, int64_t now);                         // under mu_

  QueueStoreOptions opts_;
  wal::Wal* wal_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable ready_cv_;  // a message may have become deliverable
  std::map<std::string, std::unique_ptr<Queue>, std::less<>> queues_;
  uint64_t next_id_ = 1;
  struct ReadyWaiter {
    std::string queue;
    std::function<void(Status)> fn;
  };
  std::mutex waiters_mu_;  // taken after mu_ when both are held, never before
  std::map<uint64_t, ReadyWaiter> waiters_;
  uint64_t next_waiter_ = 1;
};

}  // namespace synap::queue
