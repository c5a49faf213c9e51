// KvStore: Redis's string commands on a sharded in-memory table, written
// through the log.
//
// The write path, for every mutation (kv_write.cc):
//   1. lock the key's shard(s) exclusively and read the key's current state:
//      the newest pending (logged, not yet acknowledged) write if any, else
//      the table;
//   2. decide the outcome (NX/XX, the new integer, ...) and encode the
//      result as an idempotent record (kv_record.h);
//   3. append it to the log, which hands out the LSN, and queue it in the
//      shard as pending — still under the lock, so two writers to one key are
//      ordered the same way in the log and in memory;
//   4. unlock, wait for the log to acknowledge the LSN (or hand the caller a
//      ticket), then apply the shard's acknowledged pending writes to the
//      table in LSN order.
// Readers see only the table, so they see a write once it is acknowledged
// and never one that could still be lost. A shard whose oldest pending write
// is acknowledged is brought up to date by whoever touches it next.
//
// If the log fails, every pending and later write fails with its error and
// nothing of them becomes visible; reads go on.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/base/clock.h"
#include "engine/base/status.h"
#include "engine/kv/key_table.h"
#include "engine/kv/kv_options.h"
#include "engine/kv/kv_record.h"
#include "engine/log/format.h"

namespace synap::wal {
class Wal;
}

namespace synap::kv {

using log::Lsn;

// How SET or EXPIRE read their time argument.
enum class ExpiryUnit : uint8_t { kNone, kSeconds, kMillis, kAtSeconds, kAtMillis };

struct SetArgs {
  ExpiryUnit unit = ExpiryUnit::kNone;
  int64_t expire = 0;
  bool nx = false, xx = false, keep_ttl = false, get = false;
};

enum class ExpireCond : uint8_t { kAlways, kNx, kXx, kGt, kLt };

// What a conditional write did.
enum class Outcome : uint8_t { kDone, kNotSet, kNotFound };

// A key's value (a view, valid under the shard's lock) and expiry.
struct KeyState {
  std::string_view value;
  int64_t expire_at_ms = 0;
};

struct KvStats {
  uint64_t keys = 0;
  uint64_t used_memory = 0;
  uint64_t pending = 0;       // writes logged, not yet acknowledged
  uint64_t expired = 0;       // keys deleted by the expiry sweep
  uint64_t evicted = 0;       // keys deleted to stay under maxmemory
  uint64_t writes = 0;        // records logged
};

class KvStore {
 public:
  explicit KvStore(const KvOptions& opts);
  ~KvStore();

  // ---- Recovery (before Attach; single-threaded) ----
  Status LoadSnapshotEntry(std::span<const uint8_t> rec);
  // Applies one replayed KV record (model byte included). Records are
  // buffered and applied in batches: FinishReplay() applies the rest, and
  // must be called before Attach().
  Status Replay(std::span<const uint8_t> record);
  Status FinishReplay();
  // From now on writes go to `wal`, which must outlive the store.
  void Attach(wal::Wal* wal);

  // ---- Reads ----
  // Calls fn(value) under the shard's shared lock: false when absent.
  template <typename Fn>
  bool Read(std::string_view key, Fn&& fn);
  Result<bool> Get(std::string_view key, std::string* value);
  Result<uint64_t> Exists(std::span<const std::string_view> keys);
  // PTTL: -1 without expiry, NotFound when absent.
  Result<int64_t> PTtl(std::string_view key);
  uint64_t DbSize();
  // One SCAN step; appends matching keys to *out, returns the next cursor.
  Result<uint64_t> Scan(uint64_t cursor, std::string_view pattern, uint64_t count, std::vector<std::string>* out);

  // ---- Writes ----
  // With ticket == nullptr a write returns once acknowledged; otherwise it
  // returns once logged and sets *ticket to the LSN to wait for (0: none).
  Result<Outcome> Set(std::string_view key, std::string_view value, const SetArgs& args,
                      std::optional<std::string>* old, Lsn* ticket = nullptr);
  Result<bool> GetDel(std::string_view key, std::string* value, Lsn* ticket = nullptr);
  Result<uint64_t> Del(std::span<const std::string_view> keys, Lsn* ticket = nullptr);
  Result<int64_t> IncrBy(std::string_view key, int64_t delta, Lsn* ticket = nullptr);
  Result<uint64_t> Append(std::string_view key, std::string_view value, Lsn* ticket = nullptr);
  // nx: MSETNX (kNotSet when any key exists).
  Result<Outcome> MSet(std::span<const std::string_view> keys, std::span<const std::string_view> values, bool nx,
                       Lsn* ticket = nullptr);
  Result<Outcome> Expire(std::string_view key, ExpiryUnit unit, int64_t value, ExpireCond cond,
                         Lsn* ticket = nullptr);
  Result<Outcome> Persist(std::string_view key, Lsn* ticket = nullptr);
  Status FlushAll(Lsn* ticket = nullptr);

  // ---- Background work ----
  // One bounded step of the active expiry sweep: logs deletes for expired
  // keys in a few shards. Returns how many it deleted.
  Result<uint64_t> SweepExpired();
  // Applies every acknowledged pending write (tickets' visibility).
  void DrainAll();

  // ---- Snapshots ----
  // Applies every acknowledged write and returns the LSN a snapshot of the
  // table taken from now on must be replayed from.
  Lsn SnapshotStart();
  // Copies up to `buckets` buckets of shard `shard`, from `cursor`, through
  // fn(key, value, expire_at_ms) under the shard's shared lock; returns the
  // next cursor (0: the shard is done). Expired keys are skipped, except
  // those with a pending write: that write (a PERSIST or EXPIRE logged while
  // the key was alive) is replayed over the snapshot and needs the key.
  template <typename Fn>
  uint64_t SnapshotStep(uint32_t shard, uint64_t cursor, uint32_t buckets, Fn&& fn);
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }

  KvStats stats() const;
  const KvOptions& options() const { return opts_; }
  // TooLarge when a key is over kv.max_key_bytes (every method checks).
  Status CheckKey(std::string_view key) const;
  int64_t Now() const { return opts_.clock ? opts_.clock() : WallMs(); }

 private:
  // A logged write not yet acknowledged, holding the key's resulting state.
  struct PendingWrite {
    Lsn lsn = 0;
    std::string key;
    uint64_t hash = 0;
    bool flush = false;    // FLUSHALL: the shard becomes empty
    bool deleted = false;  // the key is absent after it
    Entry entry;           // the key's state after it (when !deleted)
  };
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    KeyTable table;
    std::deque<PendingWrite> pending;                                  // LSN order
    std::unordered_map<std::string_view, PendingWrite*> newest;        // key -> its newest pending write
    PendingWrite* flush = nullptr;                                     // newest pending FLUSHALL
    std::atomic<Lsn> oldest_pending{0};                                // 0: none
    uint64_t sweep_cursor = 0;
  };
  // The key's current state as a writer sees it (pending included).
  struct Current {
    bool present = false;          // false: absent or expired
    KeyState state;
    const KeyState* entry() const { return present ? &state : nullptr; }
    Lsn lsn = 0;                   // the pending write it comes from (0: the table)
    int64_t bytes = 0;             // what the key's state is counted as in used_memory
                                   // (an expired node still in the table included)
  };
  class Locked;  // exclusive locks on a set of shards (kv_write.cc)

  uint64_t Hash(std::string_view key) const;
  // Bits 48..59 of the hash pick the shard (up to 4096), the low bits the
  // bucket: the two never overlap for any table a shard can hold.
  size_t ShardIndex(uint64_t hash) const { return (hash >> 48) & (shards_.size() - 1); }
  Shard& ShardOf(uint64_t hash) { return shards_[ShardIndex(hash)]; }
  Status CheckValue(size_t len) const;
  static bool Expired(int64_t expire_at_ms, int64_t now) { return expire_at_ms != 0 && expire_at_ms <= now; }
  void Touch(const Node& n) const;
  int64_t ToAbsoluteMs(ExpiryUnit unit, int64_t v, int64_t now) const;

  // Shared-lock entry for readers: brings the shard up to date first.
  std::shared_lock<std::shared_mutex> ReadLock(Shard& s);
  void Drain(Shard& s, Lsn acked);  // under s.mu exclusively
  void ApplyToTable(Shard& s, PendingWrite& w);
  Current Lookup(Shard& s, std::string_view key, uint64_t hash, int64_t now);  // under s.mu exclusively

  // Logs `ops` (one record), queues them as pending in their shards (all
  // locked by `locked`) and returns the LSN.
  Result<Lsn> LogAndQueue(Locked& locked, std::span<const Op> ops, std::span<const uint64_t> hashes, int64_t now);
  // Waits for `lsn` (unless ticket) and applies acknowledged writes.
  Status Finish(Lsn lsn, Lsn* ticket, std::span<const uint64_t> hashes);
  void ApplyOp(Shard& s, const Op& op, uint64_t hash);  // replay: straight to the table
  // kv.maxmemory: evicts (logging deletes) until under the limit, or refuses.
  Status MakeRoom();

  KvOptions opts_;
  std::vector<Shard> shards_;
  wal::Wal* wal_ = nullptr;
  std::atomic<int64_t> used_memory_{0};
  std::atomic<uint64_t> expired_{0}, evicted_{0}, writes_{0};
  std::atomic<uint32_t> sweep_shard_{0};
  std::mutex evict_mu_;  // one evictor at a time
  // Replay's batch (recovery is single-threaded).
  static constexpr size_t kReplayBatch = 1024;
  std::vector<uint8_t> replay_buf_;
  std::vector<size_t> replay_ends_;
  std::vector<Op> replay_ops_;
  std::vector<uint64_t> replay_hashes_;
};

// ---- template definitions ----

template <typename Fn>
bool KvStore::Read(std::string_view key, Fn&& fn) {
  uint64_t h = Hash(key);
  Shard& s = ShardOf(h);
  auto lk = ReadLock(s);
  const Node* n = s.table.Find(key, h);
  // The clock is read only for keys with an expiry: most reads never pay for it.
  if (n == nullptr || (n->expire_at_ms != 0 && Expired(n->expire_at_ms, Now()))) return false;
  Touch(*n);
  fn(n->value());
  return true;
}

template <typename Fn>
uint64_t KvStore::SnapshotStep(uint32_t shard, uint64_t cursor, uint32_t buckets, Fn&& fn) {
  Shard& s = shards_[shard];
  auto lk = ReadLock(s);
  int64_t now = Now();
  do {
    cursor = s.table.ScanStep(cursor, [&](const Node& n) {
      if (!Expired(n.expire_at_ms, now) || s.newest.contains(n.key())) fn(n.key(), n.value(), n.expire_at_ms);
    });
  } while (cursor != 0 && --buckets > 0);
  return cursor;
}

}  // namespace synap::kv
