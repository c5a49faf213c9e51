// KvStore::Locked, shared by the files that write (kv_write.cc, kv_evict.cc).
#pragma once

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "engine/kv/kv_store.h"
#include "engine/wal/wal.h"

namespace synap::kv {

// Exclusive locks on the shards of a set of keys (or on every shard), taken
// in shard order so that two multi-key writers cannot deadlock. Each shard
// is brought up to date as it is locked.
class KvStore::Locked {
 public:
  Locked(KvStore* kv, std::span<const uint64_t> hashes) : kv_(kv) {
    for (uint64_t h : hashes) index_.push_back(h >> kv->shard_shift_);
    std::sort(index_.begin(), index_.end());
    index_.erase(std::unique(index_.begin(), index_.end()), index_.end());
    LockAll();
  }
  explicit Locked(KvStore* kv) : kv_(kv) {  // every shard
    for (size_t i = 0; i < kv->shards_.size(); i++) index_.push_back(i);
    LockAll();
  }
  void Unlock() { locks_.clear(); }

 private:
  void LockAll() {
    Lsn acked = kv_->wal_->acked_lsn();
    for (size_t i : index_) {
      locks_.emplace_back(kv_->shards_[i].mu);
      kv_->Drain(kv_->shards_[i], acked);
    }
  }
  KvStore* kv_;
  std::vector<size_t> index_;
  std::vector<std::unique_lock<std::shared_mutex>> locks_;
};

}  // namespace synap::kv
