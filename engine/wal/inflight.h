// InflightOp: one asynchronous request of a Wal, from prepare to completion.
// Its address is the request's tag, so a completion finds its log and batch.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/io/backend.h"
#include "engine/log/format.h"

namespace synap::wal {

class Wal;
struct BatchBuffer;

struct InflightOp {
  enum class Kind : uint8_t { kBatch, kSync };
  Wal* wal = nullptr;
  Kind kind = Kind::kBatch;
  std::unique_ptr<BatchBuffer> batch;  // kBatch: the bytes, header and padding included
  uint64_t offset = 0;                 // kBatch: where the batch starts in the segment
  uint32_t len = 0;                    // kBatch: its footprint
  uint32_t done = 0;                   // bytes known written (a short write leaves < len)
  io::Durability durability = io::Durability::kNone;
  log::Lsn first_lsn = 0, last_lsn = 0;  // kBatch
  log::Lsn sync_target = 0;              // kSync: durable up to this once complete
  bool complete = false;
  bool failed = false;
};

}  // namespace synap::wal
