// The queue store's log and snapshot records (docs/format.md §16).
//
// Log record: u8 model (kModelQueue) | u8 op | bytes queue name | fields.
// Every op names its messages by id and states a result (a delivery carries
// the absolute delivery count), so replaying a record onto a state that
// already holds it changes nothing.
//
// DecodeRecord is the one reader of a log record: the store's replay and
// live apply (queue_apply.cc) and the offline dump (engine/check) use it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/queue/queue_store.h"

namespace synap::queue {

inline constexpr uint8_t kModelQueue = 2;

enum class QueueOp : uint8_t {
  kDeclare = 1,     // settings: max_depth v, ack_deadline v, max_retries v, dead_letter_max v,
                    //           default_priority u8, message_ttl v
  kDelete = 2,      // -
  kPurge = 3,       // - (ready and delayed messages)
  kPublish = 4,     // v count, then each: v id, u8 priority, v max_retries, i64 due_ms,
                    //   i64 published_ms, v header count, (bytes key, bytes value)*, bytes payload
  kDeliver = 5,     // bytes consumer, i64 deadline_ms, v count, (v id, v delivery_count)*
  kAck = 6,         // v count, v id*
  kRequeue = 7,     // v id (to the head of its priority: nack, expired deadline)
  kDeadLetter = 8,  // v id, u8 reason
  kRevive = 9,      // v count, v id* (dead letters back to ready, delivery count reset)
  kPurgeDead = 10,  // -
};

enum class DeadReason : uint8_t { kRejected = 1, kMaxRetries = 2, kExpired = 3 };

// "declare", "publish", ...; "unknown" for a value outside QueueOp.
const char* QueueOpName(QueueOp op);
// "rejected", "max_retries", "expired"; "unknown" otherwise.
const char* ReasonName(DeadReason r);

// A log record decoded. Views point into the record's bytes.
struct PublishedMessage {
  uint64_t id = 0;
  uint8_t priority = 0;  // 0..kMaxPriority
  uint64_t max_retries = 0;
  int64_t due_ms = 0;  // 0: deliverable at once
  int64_t published_ms = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // at most kMaxHeaders
  std::string_view payload;
};
struct DeliveredMessage {
  uint64_t id = 0;
  uint64_t delivery_count = 0;
};
struct QueueRecord {
  QueueOp op = QueueOp::kDeclare;
  std::string_view queue;
  QueueSettings settings;                   // kDeclare
  std::vector<PublishedMessage> published;  // kPublish
  std::string_view consumer;                // kDeliver
  int64_t deadline_ms = 0;                  // kDeliver
  std::vector<DeliveredMessage> delivered;  // kDeliver
  std::vector<uint64_t> ids;                // kAck, kRevive; kRequeue and kDeadLetter: exactly one
  uint8_t reason = 0;                       // kDeadLetter: a DeadReason value, as stored
};

// Decodes a whole log record. Corruption when a field is missing, a
// priority or header count is out of range, or bytes follow the last field;
// Unsupported for an op this build does not know (a newer writer).
Status DecodeRecord(std::span<const uint8_t> record, QueueRecord* out);

// Snapshot record types (the KV store uses 1).
inline constexpr uint8_t kSnapshotQueue = 2;       // bytes name, the kDeclare settings
inline constexpr uint8_t kSnapshotMessage = 3;     // bytes queue, u8 state, v id, u8 priority, v max_retries,
                                                   // v deliveries, i64 due_ms, i64 published_ms, u8 reason,
                                                   // v header count, headers, bytes payload
inline constexpr uint8_t kSnapshotQueueStore = 4;  // v next_id (first; once per snapshot)

}  // namespace synap::queue
