// KeyTable: one shard's keys, a chained hash table of power-of-two size.
//
// Why not an open-addressing map (abseil's flat_hash_map, measured as the
// first choice): SCAN needs a cursor that stays valid across inserts,
// deletes and resizes, and the eviction policies need random samples. A
// chained table with a reverse-binary cursor (the scheme Redis's dict uses)
// gives both: a key present for a whole scan is reported at least once
// whatever resizes happen between steps. Resizes here are done at once
// under the shard's lock (a shard holds 1/64 of the keys by default).
//
// Not thread-safe: the owning shard's lock protects it. Entry::access is the
// exception: readers holding the shared lock update it with atomic_ref.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace synap::kv {

// A key's state outside the table (a pending write): value and expiry.
struct Entry {
  std::string value;
  int64_t expire_at_ms = 0;  // Unix milliseconds; 0: no expiry
};

// One key in the table: a header, then the key's bytes, then the value's,
// in one allocation. A lookup reads the header and the key from the same
// cache line (16-byte keys fit beside the header) and a GET copies the
// value from the next ones, with no pointer to chase.
struct Node {
  Node* next = nullptr;
  uint64_t hash = 0;
  int64_t expire_at_ms = 0;  // Unix milliseconds; 0: no expiry
  uint32_t access = 0;       // eviction clock: LRU seconds, or LFU minutes<<8 | counter;
                             // readers holding the shared lock update it with atomic_ref
  uint32_t key_len = 0;
  uint32_t value_len = 0;
  uint32_t capacity = 0;     // bytes after the header: key_len + value_len + slack

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {bytes(), key_len}; }
  std::string_view value() const { return {bytes() + key_len, value_len}; }
};

// An estimate of the memory one key costs, used for kv.maxmemory: the node
// with its bytes and allocator header, and its bucket slot.
size_t EntryBytes(size_t key_len, size_t value_len);

class KeyTable {
 public:
  KeyTable();
  ~KeyTable();
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  Node* Find(std::string_view key, uint64_t hash) const;
  // Sets a key's value and expiry, inserting it if absent. An existing key
  // keeps its eviction clock; its node moves when the value outgrows it.
  void Put(std::string_view key, uint64_t hash, std::string_view value, int64_t expire_at_ms);
  // Removes a key; false if it was absent.
  bool Erase(std::string_view key, uint64_t hash);
  void Clear();

  size_t size() const { return size_; }
  size_t bucket_count() const { return buckets_.size(); }

  // One step of a reverse-binary cursor scan: calls fn(const Node&) for every
  // node of the bucket the cursor names and returns the next cursor (0 when
  // the scan is complete). Start with 0.
  template <typename Fn>
  uint64_t ScanStep(uint64_t cursor, Fn&& fn) const {
    uint64_t mask = buckets_.size() - 1;
    for (const Node* n = buckets_[cursor & mask]; n != nullptr; n = n->next) fn(*n);
    return NextCursor(cursor, mask);
  }
  static uint64_t NextCursor(uint64_t cursor, uint64_t mask);

  // Cache hints for a lookup of `hash` soon: its bucket slot, then (once the
  // slot is cached) the first node of its chain.
  void PrefetchSlot(uint64_t hash) const { __builtin_prefetch(&buckets_[hash & (buckets_.size() - 1)]); }
  void PrefetchNode(uint64_t hash) const {
    const Node* n = buckets_[hash & (buckets_.size() - 1)];
    if (n != nullptr) __builtin_prefetch(n);
  }

  // A node picked with `rnd` (roughly uniform over non-empty buckets), or
  // nullptr when the table is empty.
  const Node* Sample(uint64_t rnd) const;

 private:
  void Resize(size_t buckets);
  void MaybeShrink();

  std::vector<Node*> buckets_;  // size is a power of two, >= kMinBuckets
  size_t size_ = 0;
};

}  // namespace synap::kv
