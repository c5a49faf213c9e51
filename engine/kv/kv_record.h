// The KV store's log records. Every record is physical and idempotent: it
// says what keys become, never how to compute it (INCR logs the resulting
// value, a TTL is an absolute Unix time, an expiry or eviction is a delete),
// so replaying a record onto a state that already holds it, or holds later
// writes of the same keys, ends in the same state once the rest of the log is
// replayed. That is what lets a snapshot be taken while writes go on.
//
// Layout (docs/format.md, "KV records"):
//   u8 model (kModelKv) | varint op count | ops...
//   op: u8 kind, then
//     kPut       varint klen, key, varint vlen, value, i64 expire_at_ms (LE)
//     kDelete    varint klen, key
//     kAppendAt  varint klen, key, varint offset, varint vlen, bytes
//                (the value becomes its first `offset` bytes, zero-padded,
//                followed by `bytes`: idempotent, unlike a plain append)
//     kSetExpiry varint klen, key, i64 expire_at_ms (0: persist)
//     kFlushAll  (nothing)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace synap::kv {

// The first byte of every engine log record names the data model it belongs
// to, so one log carries them all and recovery can route each record.
inline constexpr uint8_t kModelKv = 1;

enum class OpKind : uint8_t { kPut = 1, kDelete = 2, kAppendAt = 3, kSetExpiry = 4, kFlushAll = 5 };

struct Op {
  OpKind kind = OpKind::kPut;
  std::string_view key;
  std::string_view value;   // kPut: the value; kAppendAt: the bytes appended
  uint64_t offset = 0;      // kAppendAt
  int64_t expire_at_ms = 0; // kPut, kSetExpiry
};

// Appends the encoding of `ops` (as one record) to *out.
void EncodeRecord(std::span<const Op> ops, std::string* out);
// Bytes EncodeRecord would add for one op (for limit checks before encoding).
size_t EncodedOpBytes(const Op& op);
// Decodes a record; the ops' views point into `record`. Corruption on any
// malformed byte (a record is checksummed by the log, so this means a bug or
// a record of a newer version).
Status DecodeRecord(std::span<const uint8_t> record, std::vector<Op>* ops);

// Snapshot records (type kSnapshotKvEntry): varint klen, key, varint vlen,
// value, i64 expire_at_ms.
inline constexpr uint8_t kSnapshotKvEntry = 1;
void EncodeSnapshotEntry(std::string_view key, std::string_view value, int64_t expire_at_ms, std::string* out);
Status DecodeSnapshotEntry(std::span<const uint8_t> rec, std::string_view* key, std::string_view* value,
                           int64_t* expire_at_ms);

}  // namespace synap::kv
