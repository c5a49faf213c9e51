// Every knob of the KV store, with its default and its limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/base/status.h"

namespace synap::kv {

// What to do when a write would pass kv.maxmemory (Redis's eight policies).
enum class EvictionPolicy : uint8_t {
  kNoEviction,      // refuse the write with OutOfMemory
  kAllKeysLru,      // evict the least recently used key (approximated by sampling)
  kAllKeysLfu,      // the least frequently used (a decaying logarithmic counter)
  kAllKeysRandom,
  kVolatileLru,     // the same, among keys with an expiry only
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,     // the key that would expire soonest
};

Result<EvictionPolicy> ParseEvictionPolicy(const std::string& s);  // "allkeys-lru", ...
const char* EvictionPolicyName(EvictionPolicy p);

inline constexpr uint32_t kMaxShards = 4096;
inline constexpr uint32_t kMaxKeyBytesLimit = 1u << 20;  // 1 MiB
// Bytes a log record spends around one key and value (model, counts, kind,
// lengths, expiry): a value may take max_record_bytes minus this and the key.
inline constexpr uint32_t kRecordOverhead = 64;

struct KvOptions {
  uint32_t shards = 64;                    // a power of two, 1..kMaxShards
  uint32_t max_key_bytes = 64u << 10;      // 1..kMaxKeyBytesLimit
  uint32_t max_value_bytes = 4u << 20;     // with the key, fits one log record
  uint64_t maxmemory = 0;                  // 0: no limit
  EvictionPolicy policy = EvictionPolicy::kNoEviction;
  uint32_t maxmemory_samples = 5;          // 1..64
  uint32_t active_expire_ms = 100;         // the sweep's period; 0: off (lazy expiry only)
  bool allow_flushall = false;
  // Unix time in milliseconds; tests replace it to move time. Empty: the
  // system's real-time clock.
  std::function<int64_t()> clock;

  // Checks every field; `max_record_bytes` is the log's record limit.
  Status Validate(uint32_t max_record_bytes) const;
};


}  // namespace synap::kv
