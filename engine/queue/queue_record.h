// The queue store's log and snapshot records (docs/format.md §16).
//
// Log record: u8 model (kModelQueue) | u8 op | bytes queue name | fields.
// Every op names its messages by id and states a result (a delivery carries
// the absolute delivery count), so replaying a record onto a state that
// already holds it changes nothing.
#pragma once

#include <cstdint>

namespace synap::queue {

inline constexpr uint8_t kModelQueue = 2;

enum class QueueOp : uint8_t {
  kDeclare = 1,      // settings: max_depth v, ack_deadline v, max_retries v, dead_letter_max v,
                     //           default_priority u8, message_ttl v
  kDelete = 2,       // -
  kPurge = 3,        // - (ready and delayed messages)
  kPublish = 4,      // v count, then each: v id, u8 priority, v max_retries, i64 due_ms,
                     //   i64 published_ms, v header count, (bytes key, bytes value)*, bytes payload
  kDeliver = 5,      // bytes consumer, i64 deadline_ms, v count, (v id, v delivery_count)*
  kAck = 6,          // v count, v id*
  kRequeue = 7,      // v id (to the head of its priority: nack, expired deadline)
  kDeadLetter = 8,   // v id, u8 reason
  kRevive = 9,       // v count, v id* (dead letters back to ready, delivery count reset)
  kPurgeDead = 10,   // -
};

enum class DeadReason : uint8_t { kRejected = 1, kMaxRetries = 2, kExpired = 3 };

// Snapshot record types (the KV store uses 1).
inline constexpr uint8_t kSnapshotQueue = 2;    // bytes name, the kDeclare settings
inline constexpr uint8_t kSnapshotMessage = 3;  // bytes queue, u8 state, v id, u8 priority, v max_retries,
                                                // v deliveries, i64 due_ms, i64 published_ms, u8 reason,
                                                // v header count, headers, bytes payload
inline constexpr uint8_t kSnapshotQueueStore = 4;  // v next_id (first; once per snapshot)

}  // namespace synap::queue
