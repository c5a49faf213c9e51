#include "engine/kv/kv_record.h"

#include "engine/base/coding.h"

#include <cstring>

namespace synap::kv {
namespace {

void PutI64(int64_t v, std::string* out) { PutFixed64(static_cast<uint64_t>(v), out); }
using Reader = ByteReader;

}  // namespace

size_t EncodedOpBytes(const Op& op) {
  size_t n = 1 + VarintBytes(op.key.size()) + op.key.size();
  switch (op.kind) {
    case OpKind::kPut: return n + VarintBytes(op.value.size()) + op.value.size() + 8;
    case OpKind::kDelete: return n;
    case OpKind::kAppendAt: return n + VarintBytes(op.offset) + VarintBytes(op.value.size()) + op.value.size();
    case OpKind::kSetExpiry: return n + 8;
    case OpKind::kFlushAll: return 1;
  }
  return n;
}

void EncodeRecord(std::span<const Op> ops, std::string* out) {
  out->push_back(static_cast<char>(kModelKv));
  PutVarint(ops.size(), out);
  for (const Op& op : ops) {
    out->push_back(static_cast<char>(op.kind));
    if (op.kind == OpKind::kFlushAll) continue;
    PutBytes(op.key, out);
    switch (op.kind) {
      case OpKind::kPut:
        PutBytes(op.value, out);
        PutI64(op.expire_at_ms, out);
        break;
      case OpKind::kAppendAt:
        PutVarint(op.offset, out);
        PutBytes(op.value, out);
        break;
      case OpKind::kSetExpiry: PutI64(op.expire_at_ms, out); break;
      case OpKind::kDelete:
      case OpKind::kFlushAll: break;
    }
  }
}

Status DecodeRecord(std::span<const uint8_t> record, std::vector<Op>* ops) {
  ops->clear();
  Reader r{record.data(), record.data() + record.size()};
  uint8_t model;
  uint64_t count;
  if (!r.U8(&model) || model != kModelKv) return Status::Corruption("not a KV record");
  // Each op takes at least one byte: a count beyond the record is malformed.
  if (!r.Varint(&count) || count > record.size()) return Status::Corruption("KV record: bad op count");
  ops->reserve(count);
  for (uint64_t i = 0; i < count; i++) {
    uint8_t kind;
    Op op;
    if (!r.U8(&kind)) return Status::Corruption("KV record: truncated op");
    op.kind = static_cast<OpKind>(kind);
    bool ok = true;
    switch (op.kind) {
      case OpKind::kFlushAll: break;
      case OpKind::kPut: ok = r.Bytes(&op.key) && r.Bytes(&op.value) && r.I64(&op.expire_at_ms); break;
      case OpKind::kDelete: ok = r.Bytes(&op.key); break;
      case OpKind::kAppendAt: ok = r.Bytes(&op.key) && r.Varint(&op.offset) && r.Bytes(&op.value); break;
      case OpKind::kSetExpiry: ok = r.Bytes(&op.key) && r.I64(&op.expire_at_ms); break;
      default: return Status::Corruption("KV record: unknown op kind " + std::to_string(kind));
    }
    if (!ok) return Status::Corruption("KV record: truncated op");
    ops->push_back(op);
  }
  if (r.p != r.end) return Status::Corruption("KV record: trailing bytes");
  return Status::Ok();
}

void EncodeSnapshotEntry(std::string_view key, std::string_view value, int64_t expire_at_ms, std::string* out) {
  PutBytes(key, out);
  PutBytes(value, out);
  PutI64(expire_at_ms, out);
}

Status DecodeSnapshotEntry(std::span<const uint8_t> rec, std::string_view* key, std::string_view* value,
                           int64_t* expire_at_ms) {
  Reader r{rec.data(), rec.data() + rec.size()};
  if (!r.Bytes(key) || !r.Bytes(value) || !r.I64(expire_at_ms) || r.p != r.end)
    return Status::Corruption("malformed KV snapshot entry");
  return Status::Ok();
}

}  // namespace synap::kv
