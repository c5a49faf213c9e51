// KvStore's background deletes: eviction under kv.maxmemory and the active
// expiry sweep. Both log a delete for every key they remove (an eviction or
// an expiry is a write like any other), and neither waits for it: the
// memory they free is counted as soon as the delete is queued.
#include <random>

#include "engine/kv/kv_locked.h"
#include "engine/kv/kv_store.h"
#include "engine/wal/wal.h"

namespace synap::kv {
namespace {

bool Volatile(EvictionPolicy p) {
  return p == EvictionPolicy::kVolatileLru || p == EvictionPolicy::kVolatileLfu ||
         p == EvictionPolicy::kVolatileRandom || p == EvictionPolicy::kVolatileTtl;
}

uint64_t NextRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

// Attempts per sample before a volatile policy gives up on finding a key
// with an expiry (they may all be persistent).
constexpr int kSampleTries = 16;
// Keys evicted per write before it gives up: bounds the work one write does.
constexpr int kMaxEvictionsPerWrite = 1024;
// Buckets the sweep looks at per shard per step, and shards per step.
constexpr uint32_t kSweepBuckets = 256;
constexpr uint32_t kSweepShards = 16;

}  // namespace

// Redis's approximation: sample kv.maxmemory_samples keys, evict the best
// candidate for the policy (the idlest, least used, soonest to expire, or
// any), and repeat while over the limit.
Status KvStore::MakeRoom() {
  if (opts_.maxmemory == 0 || used_memory_.load(std::memory_order_relaxed) <= static_cast<int64_t>(opts_.maxmemory))
    return Status::Ok();
  if (opts_.policy == EvictionPolicy::kNoEviction)
    return Status::OutOfMemory("command not allowed when used memory > 'kv.maxmemory'");
  std::lock_guard<std::mutex> one_evictor(evict_mu_);
  bool vol = Volatile(opts_.policy);
  for (int round = 0; used_memory_.load(std::memory_order_relaxed) > static_cast<int64_t>(opts_.maxmemory);
       round++) {
    if (round == kMaxEvictionsPerWrite)
      return Status::OutOfMemory("command not allowed when used memory > 'kv.maxmemory' (eviction fell behind)");
    std::string best;
    uint64_t best_hash = 0;
    int64_t best_score = INT64_MIN;
    int64_t now = Now();
    for (uint32_t i = 0; i < opts_.maxmemory_samples; i++) {
      for (int t = 0; t < kSampleTries; t++) {
        uint64_t r = NextRandom();
        Shard& s = shards_[r % shards_.size()];
        std::shared_lock<std::shared_mutex> lk(s.mu);
        const Node* n = s.table.Sample(NextRandom());
        if (n == nullptr || (vol && n->expire_at_ms == 0)) continue;
        int64_t score = 0;  // higher evicts first
        uint32_t access = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(n->access)).load(std::memory_order_relaxed);
        switch (opts_.policy) {
          case EvictionPolicy::kAllKeysLru:
          case EvictionPolicy::kVolatileLru: score = now / 1000 - access; break;
          case EvictionPolicy::kAllKeysLfu:
          case EvictionPolicy::kVolatileLfu: score = 255 - static_cast<int64_t>(access & 0xff); break;
          case EvictionPolicy::kVolatileTtl: score = -n->expire_at_ms; break;
          default: score = 0; break;
        }
        if (best.empty() || score > best_score) {
          best = n->key();
          best_hash = n->hash;
          best_score = score;
        }
        break;
      }
    }
    if (best.empty())
      return Status::OutOfMemory(std::string("command not allowed when used memory > 'kv.maxmemory': no key to evict under ") +
                                 EvictionPolicyName(opts_.policy));
    Locked locked(this, std::span(&best_hash, 1));
    Current cur = Lookup(ShardOf(best_hash), best, best_hash, now);
    if (!cur.present) continue;  // deleted meanwhile
    Op op{OpKind::kDelete, best, {}, 0, 0};
    Result<Lsn> lsn = LogAndQueue(locked, std::span(&op, 1), std::span(&best_hash, 1), now);
    if (!lsn.ok()) return lsn.status();
    evicted_.fetch_add(1, std::memory_order_relaxed);
  }
  return Status::Ok();
}

// Walks a few shards' buckets from where the last step stopped and deletes
// the expired keys found. Every bucket is visited once per full pass of the
// cursor, so an expired key is removed within one pass even if nobody reads it.
Result<uint64_t> KvStore::SweepExpired() {
  if (wal_ == nullptr) return uint64_t{0};
  uint64_t deleted = 0;
  uint32_t first = sweep_shard_.fetch_add(kSweepShards, std::memory_order_relaxed);
  for (uint32_t k = 0; k < std::min<uint32_t>(kSweepShards, shard_count()); k++) {
    Shard& s = shards_[(first + k) % shards_.size()];
    std::vector<std::string> keys;
    std::vector<uint64_t> hashes;
    {
      auto lk = ReadLock(s);
      int64_t now = Now();
      uint32_t budget = kSweepBuckets;
      // sweep_cursor is only touched here, and one sweeper runs at a time.
      do {
        s.sweep_cursor = s.table.ScanStep(s.sweep_cursor, [&](const Node& n) {
          if (Expired(n.expire_at_ms, now)) {
            keys.emplace_back(n.key());
            hashes.push_back(n.hash);
          }
        });
      } while (s.sweep_cursor != 0 && --budget > 0);
    }
    if (keys.empty()) continue;
    Locked locked(this, hashes);
    int64_t now = Now();
    std::vector<Op> ops;
    std::vector<uint64_t> op_hashes;
    for (size_t i = 0; i < keys.size(); i++) {
      // Only a key whose current state is the table's expired node: a
      // pending write may have brought it back or deleted it already.
      Current cur = Lookup(s, keys[i], hashes[i], now);
      if (cur.present || cur.lsn != 0 || cur.bytes == 0) continue;
      ops.push_back(Op{OpKind::kDelete, keys[i], {}, 0, 0});
      op_hashes.push_back(hashes[i]);
    }
    if (ops.empty()) continue;
    Result<Lsn> lsn = LogAndQueue(locked, ops, op_hashes, now);
    if (!lsn.ok()) return lsn.status();
    deleted += ops.size();
  }
  expired_.fetch_add(deleted, std::memory_order_relaxed);
  return deleted;
}

}  // namespace synap::kv
