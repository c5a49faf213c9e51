// KvStore: the shard table, reads, the pending-write queue and recovery.
// Writes are in kv_write.cc, eviction and expiry in kv_evict.cc.
#include "engine/kv/kv_store.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cassert>

#include "engine/base/glob.h"
#include "engine/wal/wal.h"

namespace synap::kv {

KvStore::KvStore(const KvOptions& opts) : opts_(opts), shards_(opts.shards) {
  assert(std::has_single_bit(opts.shards) && opts.shards <= kMaxShards);
}

KvStore::~KvStore() = default;

uint64_t KvStore::Hash(std::string_view key) const { return XXH3_64bits(key.data(), key.size()); }

Status KvStore::CheckKey(std::string_view key) const {
  if (key.size() > opts_.max_key_bytes)
    return Status::TooLarge("key of " + std::to_string(key.size()) + " bytes is over kv.max_key_bytes (" +
                            std::to_string(opts_.max_key_bytes) + ")");
  return Status::Ok();
}

Status KvStore::CheckValue(size_t len) const {
  if (len > opts_.max_value_bytes)
    return Status::TooLarge("value of " + std::to_string(len) + " bytes is over kv.max_value_bytes (" +
                            std::to_string(opts_.max_value_bytes) + ")");
  return Status::Ok();
}

// The eviction clock. LRU keeps the access time in seconds. LFU keeps
// minutes<<8 | a logarithmic counter that loses one per idle minute and grows
// with probability 1/((counter-5)*10+1): Redis's lfu-decay-time 1 and
// lfu-log-factor 10.
void KvStore::Touch(const Node& n) const {
  EvictionPolicy p = opts_.policy;
  if (p == EvictionPolicy::kNoEviction || p == EvictionPolicy::kAllKeysRandom ||
      p == EvictionPolicy::kVolatileRandom || p == EvictionPolicy::kVolatileTtl)
    return;  // nobody reads the clock: keep readers off the entry's cache line
  std::atomic_ref<uint32_t> access(const_cast<uint32_t&>(n.access));
  int64_t now = Now();
  if (p == EvictionPolicy::kAllKeysLru || p == EvictionPolicy::kVolatileLru) {
    access.store(static_cast<uint32_t>(now / 1000), std::memory_order_relaxed);
    return;
  }
  uint32_t old = access.load(std::memory_order_relaxed);
  uint32_t minutes = static_cast<uint32_t>(now / 60000) & 0xffffff;
  uint32_t counter = old & 0xff;
  uint32_t idle = (minutes - (old >> 8)) & 0xffffff;
  counter = idle >= counter ? 0 : counter - idle;
  if (counter < 255) {
    uint32_t base = counter > 5 ? counter - 5 : 0;
    // A cheap per-thread generator is enough for a probabilistic counter.
    thread_local uint64_t rng = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&rng);
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    if ((rng % (base * 10 + 1)) == 0) counter++;
  }
  access.store(minutes << 8 | counter, std::memory_order_relaxed);
}

int64_t KvStore::ToAbsoluteMs(ExpiryUnit unit, int64_t v, int64_t now) const {
  // Saturate instead of overflowing: a time past int64 is "never" in practice.
  auto sat_mul = [](int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? (a < 0 ? INT64_MIN : INT64_MAX) : r;
  };
  auto sat_add = [](int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b < 0 ? INT64_MIN : INT64_MAX) : r;
  };
  switch (unit) {
    case ExpiryUnit::kNone: return 0;
    case ExpiryUnit::kSeconds: return sat_add(now, sat_mul(v, 1000));
    case ExpiryUnit::kMillis: return sat_add(now, v);
    case ExpiryUnit::kAtSeconds: return sat_mul(v, 1000);
    case ExpiryUnit::kAtMillis: return v;
  }
  return 0;
}

// ---- pending writes ----

std::shared_lock<std::shared_mutex> KvStore::ReadLock(Shard& s) {
  Lsn oldest = s.oldest_pending.load(std::memory_order_acquire);
  if (oldest != 0 && wal_ != nullptr && oldest <= wal_->acked_lsn()) {
    std::unique_lock<std::shared_mutex> lk(s.mu);
    Drain(s, wal_->acked_lsn());
  }
  return std::shared_lock<std::shared_mutex>(s.mu);
}

void KvStore::Drain(Shard& s, Lsn acked) {
  while (!s.pending.empty() && s.pending.front().lsn <= acked) {
    PendingWrite& w = s.pending.front();
    ApplyToTable(s, w);
    if (s.flush == &w) s.flush = nullptr;
    auto it = s.newest.find(std::string_view(w.key));
    if (!w.flush && it != s.newest.end() && it->second == &w) s.newest.erase(it);
    s.pending.pop_front();
  }
  s.oldest_pending.store(s.pending.empty() ? 0 : s.pending.front().lsn, std::memory_order_release);
}

void KvStore::ApplyToTable(Shard& s, PendingWrite& w) {
  if (w.flush) {
    s.table.Clear();
    return;
  }
  if (w.deleted) {
    s.table.Erase(w.key, w.hash);
  } else {
    s.table.Put(w.key, w.hash, w.entry.value, w.entry.expire_at_ms);
  }
}

KvStore::Current KvStore::Lookup(Shard& s, std::string_view key, uint64_t hash, int64_t now) {
  Current c;
  auto it = s.newest.find(key);
  if (it != s.newest.end()) {
    const PendingWrite* w = it->second;
    c.lsn = w->lsn;
    if (!w->deleted) c.bytes = static_cast<int64_t>(EntryBytes(key.size(), w->entry.value.size()));
    if (!w->deleted && !Expired(w->entry.expire_at_ms, now)) {
      c.present = true;
      c.state = KeyState{w->entry.value, w->entry.expire_at_ms};
    }
    return c;
  }
  if (s.flush != nullptr) {
    c.lsn = s.flush->lsn;
    return c;
  }
  const Node* n = s.table.Find(key, hash);
  if (n != nullptr) c.bytes = static_cast<int64_t>(EntryBytes(key.size(), n->value_len));
  if (n != nullptr && !Expired(n->expire_at_ms, now)) {
    c.present = true;
    c.state = KeyState{n->value(), n->expire_at_ms};
  }
  return c;
}

void KvStore::DrainAll() {
  if (wal_ == nullptr) return;
  for (Shard& s : shards_) {
    if (s.oldest_pending.load(std::memory_order_acquire) == 0) continue;
    std::unique_lock<std::shared_mutex> lk(s.mu);
    Drain(s, wal_->acked_lsn());
  }
}

Lsn KvStore::SnapshotStart() {
  Lsn acked = wal_ != nullptr ? wal_->acked_lsn() : 0;
  // After this loop every record <= acked is in the table: a writer queues
  // its pending write under the shard's lock before the LSN can be acked.
  for (Shard& s : shards_) {
    std::unique_lock<std::shared_mutex> lk(s.mu);
    Drain(s, acked);
  }
  return acked + 1;
}

// ---- reads ----

Result<bool> KvStore::Get(std::string_view key, std::string* value) {
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  return Read(key, [&](std::string_view v) { value->assign(v); });
}

Result<uint64_t> KvStore::Exists(std::span<const std::string_view> keys) {
  uint64_t n = 0;
  for (std::string_view k : keys) {
    SYNAP_RETURN_IF_ERROR(CheckKey(k));
    n += Read(k, [](std::string_view) {}) ? 1 : 0;
  }
  return n;
}

Result<int64_t> KvStore::PTtl(std::string_view key) {
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  uint64_t h = Hash(key);
  Shard& s = ShardOf(h);
  auto lk = ReadLock(s);
  int64_t now = Now();
  const Node* n = s.table.Find(key, h);
  if (n == nullptr || Expired(n->expire_at_ms, now)) return Status::NotFound("no such key");
  return n->expire_at_ms == 0 ? int64_t{-1} : n->expire_at_ms - now;
}

uint64_t KvStore::DbSize() {
  uint64_t n = 0;
  for (Shard& s : shards_) {
    auto lk = ReadLock(s);
    n += s.table.size();
  }
  return n;
}

// The cursor: the low bits name the shard, the rest is that shard's table
// cursor. Shards are scanned in order; each one's cursor runs to 0.
Result<uint64_t> KvStore::Scan(uint64_t cursor, std::string_view pattern, uint64_t count,
                               std::vector<std::string>* out) {
  if (count == 0) count = 10;
  uint32_t bits = std::countr_zero(opts_.shards);
  uint64_t shard = cursor & (opts_.shards - 1);
  uint64_t inner = cursor >> bits;
  if (bits > 0 && inner >> (64 - bits) != 0) return Status::InvalidArgument("invalid cursor");
  bool match_all = pattern.empty() || pattern == "*";
  uint64_t visited = 0;
  // Visit buckets until `count` keys were looked at (Redis's COUNT is also a
  // hint about work, not an exact number of results).
  while (shard < opts_.shards && visited < count) {
    Shard& s = shards_[shard];
    auto lk = ReadLock(s);
    int64_t now = Now();
    do {
      inner = s.table.ScanStep(inner, [&](const Node& n) {
        visited++;
        if (Expired(n.expire_at_ms, now)) return;
        if (match_all || GlobMatch(pattern, n.key())) out->emplace_back(n.key());
      });
      // A cursor wider than this table (it shrank) still works: ScanStep masks it.
    } while (inner != 0 && visited < count);
    if (inner == 0) shard++;
  }
  if (shard >= opts_.shards) return uint64_t{0};
  return (inner << bits) | shard;
}

// ---- recovery ----

void KvStore::ApplyOp(Shard& s, const Op& op, uint64_t hash) {
  Node* n = op.kind == OpKind::kFlushAll ? nullptr : s.table.Find(op.key, hash);
  int64_t before = n != nullptr ? static_cast<int64_t>(EntryBytes(n->key_len, n->value_len)) : 0;
  int64_t after = 0;
  switch (op.kind) {
    case OpKind::kFlushAll: break;  // handled by the caller: it spans every shard
    case OpKind::kDelete:
      if (n != nullptr) s.table.Erase(op.key, hash);
      break;
    case OpKind::kPut:
      // Kept even if already expired: a later record may still apply to it
      // as it did when written (a PERSIST or a later EXPIRE made before the
      // old TTL passed, an APPEND). Readers never see an expired node; the
      // expiry sweep deletes it.
      s.table.Put(op.key, hash, op.value, op.expire_at_ms);
      after = static_cast<int64_t>(EntryBytes(op.key.size(), op.value.size()));
      break;
    case OpKind::kAppendAt: {
      // An append is logged only for a key present when written, so it finds
      // no node only when a snapshot left the key out as expired (it keeps
      // the key's expiry: still expired) or a later record deletes it: either
      // way the key stays absent. Building it from zeros would resurrect it.
      if (n == nullptr) break;
      std::string v(n->value());
      v.resize(op.offset, '\0');
      v.append(op.value);
      s.table.Put(op.key, hash, v, n->expire_at_ms);
      after = static_cast<int64_t>(EntryBytes(op.key.size(), v.size()));
      break;
    }
    case OpKind::kSetExpiry:
      if (n != nullptr) n->expire_at_ms = op.expire_at_ms;
      after = before;
      break;
  }
  used_memory_.fetch_add(after - before, std::memory_order_relaxed);
}

// Replay buffers records and applies them in batches, so that it can
// prefetch: a log is in write order, so each op's bucket and node are a
// cache miss, and a batch lets the next ones' misses overlap this one's work
// (a snapshot, written in table order, does not need it).
Status KvStore::Replay(std::span<const uint8_t> record) {
  replay_buf_.insert(replay_buf_.end(), record.begin(), record.end());
  replay_ends_.push_back(replay_buf_.size());
  if (replay_ends_.size() >= kReplayBatch) return FinishReplay();
  return Status::Ok();
}

Status KvStore::FinishReplay() {
  replay_ops_.clear();
  std::vector<Op> ops;
  size_t begin = 0;
  for (size_t end : replay_ends_) {
    SYNAP_RETURN_IF_ERROR(DecodeRecord(std::span(replay_buf_.data() + begin, end - begin), &ops));
    replay_ops_.insert(replay_ops_.end(), ops.begin(), ops.end());
    begin = end;
  }
  replay_hashes_.resize(replay_ops_.size());
  for (size_t i = 0; i < replay_ops_.size(); i++)
    replay_hashes_[i] = replay_ops_[i].kind == OpKind::kFlushAll ? 0 : Hash(replay_ops_[i].key);
  // Two stages ahead: the bucket slot kFar ops ahead, the node kNear ahead
  // (by then its slot is in cache). Prefetches are hints: a resize between
  // them only wastes one.
  constexpr size_t kFar = 16, kNear = 8;
  for (size_t i = 0; i < replay_ops_.size(); i++) {
    if (i + kFar < replay_ops_.size()) ShardOf(replay_hashes_[i + kFar]).table.PrefetchSlot(replay_hashes_[i + kFar]);
    if (i + kNear < replay_ops_.size()) ShardOf(replay_hashes_[i + kNear]).table.PrefetchNode(replay_hashes_[i + kNear]);
    const Op& op = replay_ops_[i];
    if (op.kind == OpKind::kFlushAll) {
      for (Shard& s : shards_) s.table.Clear();
      used_memory_.store(0, std::memory_order_relaxed);
      continue;
    }
    ApplyOp(ShardOf(replay_hashes_[i]), op, replay_hashes_[i]);
  }
  replay_buf_.clear();
  replay_ends_.clear();
  replay_ops_.clear();
  return Status::Ok();
}

Status KvStore::LoadSnapshotEntry(std::span<const uint8_t> rec) {
  Op op;
  op.kind = OpKind::kPut;
  SYNAP_RETURN_IF_ERROR(DecodeSnapshotEntry(rec, &op.key, &op.value, &op.expire_at_ms));
  uint64_t h = Hash(op.key);
  ApplyOp(ShardOf(h), op, h);
  return Status::Ok();
}

void KvStore::Attach(wal::Wal* wal) { wal_ = wal; }

KvStats KvStore::stats() const {
  KvStats st;
  for (const Shard& s : shards_) {
    std::shared_lock<std::shared_mutex> lk(s.mu);
    st.keys += s.table.size();
    st.pending += s.pending.size();
  }
  st.used_memory = static_cast<uint64_t>(std::max<int64_t>(0, used_memory_.load(std::memory_order_relaxed)));
  st.expired = expired_.load(std::memory_order_relaxed);
  st.evicted = evicted_.load(std::memory_order_relaxed);
  st.writes = writes_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace synap::kv
