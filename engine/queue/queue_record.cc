// DecodeRecord: the one reader of the queue store's log records (§16 of
// docs/format.md). It checks the whole record before anything is applied,
// so a malformed record changes no state.
#include "engine/queue/queue_record.h"

#include "engine/queue/queue_state.h"

namespace synap::queue {

const char* QueueOpName(QueueOp op) {
  switch (op) {
    case QueueOp::kDeclare: return "declare";
    case QueueOp::kDelete: return "delete";
    case QueueOp::kPurge: return "purge";
    case QueueOp::kPublish: return "publish";
    case QueueOp::kDeliver: return "deliver";
    case QueueOp::kAck: return "ack";
    case QueueOp::kRequeue: return "requeue";
    case QueueOp::kDeadLetter: return "dead_letter";
    case QueueOp::kRevive: return "revive";
    case QueueOp::kPurgeDead: return "purge_dead";
  }
  return "unknown";
}

const char* ReasonName(DeadReason r) {
  switch (r) {
    case DeadReason::kRejected: return "rejected";
    case DeadReason::kMaxRetries: return "max_retries";
    case DeadReason::kExpired: return "expired";
  }
  return "unknown";
}

namespace {

bool GetPublished(ByteReader* in, PublishedMessage* m) {
  uint64_t headers;
  if (!in->Varint(&m->id) || !in->U8(&m->priority) || !in->Varint(&m->max_retries) || !in->I64(&m->due_ms) ||
      !in->I64(&m->published_ms) || !in->Varint(&headers) || headers > kMaxHeaders || m->priority > kMaxPriority ||
      m->id == 0 || m->id > kMaxMessageId)
    return false;
  for (uint64_t h = 0; h < headers; h++) {
    std::string_view k, v;
    if (!in->Bytes(&k) || !in->Bytes(&v)) return false;
    m->headers.emplace_back(k, v);
  }
  return in->Bytes(&m->payload);
}

// A count read from the record cannot exceed the bytes left: every counted
// item takes at least one byte. This bounds the reserve() below.
bool GetCount(ByteReader* in, uint64_t* n) { return in->Varint(n) && *n <= static_cast<uint64_t>(in->end - in->p); }

bool GetIds(ByteReader* in, std::vector<uint64_t>* ids) {
  uint64_t n, id;
  if (!GetCount(in, &n)) return false;
  ids->reserve(n);
  for (uint64_t i = 0; i < n; i++) {
    if (!in->Varint(&id)) return false;
    ids->push_back(id);
  }
  return true;
}

bool GetFields(QueueOp op, ByteReader* in, QueueRecord* out) {
  switch (op) {
    case QueueOp::kDeclare: return GetSettings(in, &out->settings);
    case QueueOp::kDelete:
    case QueueOp::kPurge:
    case QueueOp::kPurgeDead: return true;
    case QueueOp::kPublish: {
      uint64_t n;
      if (!GetCount(in, &n)) return false;
      out->published.resize(n);
      for (PublishedMessage& m : out->published)
        if (!GetPublished(in, &m)) return false;
      return true;
    }
    case QueueOp::kDeliver: {
      uint64_t n;
      if (!in->Bytes(&out->consumer) || !in->I64(&out->deadline_ms) || !GetCount(in, &n)) return false;
      out->delivered.resize(n);
      for (DeliveredMessage& d : out->delivered)
        if (!in->Varint(&d.id) || !in->Varint(&d.delivery_count)) return false;
      return true;
    }
    case QueueOp::kAck:
    case QueueOp::kRevive: return GetIds(in, &out->ids);
    case QueueOp::kRequeue:
    case QueueOp::kDeadLetter: {
      uint64_t id;
      if (!in->Varint(&id)) return false;
      out->ids.push_back(id);
      return op == QueueOp::kRequeue || in->U8(&out->reason);
    }
  }
  return false;
}

}  // namespace

Status DecodeRecord(std::span<const uint8_t> record, QueueRecord* out) {
  *out = QueueRecord();
  ByteReader in{record.data(), record.data() + record.size()};
  uint8_t model, op;
  if (!in.U8(&model) || model != kModelQueue || !in.U8(&op) || !in.Bytes(&out->queue))
    return Status::Corruption("malformed queue record");
  if (op < static_cast<uint8_t>(QueueOp::kDeclare) || op > static_cast<uint8_t>(QueueOp::kPurgeDead))
    return Status::Unsupported("queue record with unknown op " + std::to_string(op));
  out->op = static_cast<QueueOp>(op);
  if (!GetFields(out->op, &in, out) || !in.done())
    return Status::Corruption(std::string("malformed queue record (") + QueueOpName(out->op) + ")");
  return Status::Ok();
}

}  // namespace synap::queue
