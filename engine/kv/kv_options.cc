#include "engine/kv/kv_options.h"

#include <bit>
#include <chrono>

namespace synap::kv {
namespace {

constexpr struct {
  EvictionPolicy policy;
  const char* name;
} kPolicies[] = {
    {EvictionPolicy::kNoEviction, "noeviction"},         {EvictionPolicy::kAllKeysLru, "allkeys-lru"},
    {EvictionPolicy::kAllKeysLfu, "allkeys-lfu"},        {EvictionPolicy::kAllKeysRandom, "allkeys-random"},
    {EvictionPolicy::kVolatileLru, "volatile-lru"},      {EvictionPolicy::kVolatileLfu, "volatile-lfu"},
    {EvictionPolicy::kVolatileRandom, "volatile-random"}, {EvictionPolicy::kVolatileTtl, "volatile-ttl"},
};

}  // namespace

Result<EvictionPolicy> ParseEvictionPolicy(const std::string& s) {
  for (const auto& p : kPolicies)
    if (s == p.name) return p.policy;
  return Status::InvalidArgument("kv.maxmemory_policy: unknown policy '" + s +
                                 "' (noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, "
                                 "volatile-lfu, volatile-random, volatile-ttl)");
}

const char* EvictionPolicyName(EvictionPolicy p) {
  for (const auto& e : kPolicies)
    if (e.policy == p) return e.name;
  return "unknown";
}

Status KvOptions::Validate(uint32_t max_record_bytes) const {
  if (shards == 0 || shards > kMaxShards || !std::has_single_bit(shards))
    return Status::InvalidArgument("kv.shards must be a power of two in 1..4096, not " + std::to_string(shards));
  if (max_key_bytes == 0 || max_key_bytes > kMaxKeyBytesLimit)
    return Status::InvalidArgument("kv.max_key_bytes must be in 1..1048576, not " + std::to_string(max_key_bytes));
  uint64_t room = max_record_bytes > max_key_bytes + kRecordOverhead
                      ? uint64_t{max_record_bytes} - max_key_bytes - kRecordOverhead
                      : 0;
  if (max_value_bytes == 0 || max_value_bytes > room)
    return Status::InvalidArgument("kv.max_value_bytes must be in 1.." + std::to_string(room) +
                                   " (wal.max_record_bytes - kv.max_key_bytes - 64), not " +
                                   std::to_string(max_value_bytes));
  if (maxmemory_samples == 0 || maxmemory_samples > 64)
    return Status::InvalidArgument("kv.maxmemory_samples must be in 1..64, not " + std::to_string(maxmemory_samples));
  if (active_expire_ms > 60000)
    return Status::InvalidArgument("kv.active_expire_ms must be in 0..60000, not " + std::to_string(active_expire_ms));
  return Status::Ok();
}

}  // namespace synap::kv
