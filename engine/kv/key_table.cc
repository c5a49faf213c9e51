#include "engine/kv/key_table.h"

#include <bit>
#include <cassert>
#include <cstring>
#include <new>

namespace synap::kv {
namespace {

constexpr size_t kMinBuckets = 16;
constexpr size_t kAllocHeader = 16;

uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
  v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
  return __builtin_bswap64(v);
}

Node* NewNode(std::string_view key, uint64_t hash, std::string_view value, int64_t expire_at_ms, size_t capacity) {
  assert(capacity >= key.size() + value.size() && capacity <= UINT32_MAX);
  void* mem = ::operator new(sizeof(Node) + capacity);
  Node* n = new (mem) Node;
  n->hash = hash;
  n->expire_at_ms = expire_at_ms;
  n->key_len = static_cast<uint32_t>(key.size());
  n->value_len = static_cast<uint32_t>(value.size());
  n->capacity = static_cast<uint32_t>(capacity);
  if (!key.empty()) std::memcpy(n->bytes(), key.data(), key.size());
  if (!value.empty()) std::memcpy(n->bytes() + key.size(), value.data(), value.size());
  return n;
}

void DeleteNode(Node* n) {
  n->~Node();
  ::operator delete(n);
}

}  // namespace

size_t EntryBytes(size_t key_len, size_t value_len) {
  return sizeof(Node) + key_len + value_len + kAllocHeader + sizeof(Node*);
}

KeyTable::KeyTable() : buckets_(kMinBuckets, nullptr) {}

KeyTable::~KeyTable() { Clear(); }

Node* KeyTable::Find(std::string_view key, uint64_t hash) const {
  for (Node* n = buckets_[hash & (buckets_.size() - 1)]; n != nullptr; n = n->next)
    if (n->hash == hash && n->key() == key) return n;
  return nullptr;
}

void KeyTable::Put(std::string_view key, uint64_t hash, std::string_view value, int64_t expire_at_ms) {
  Node** link = &buckets_[hash & (buckets_.size() - 1)];
  for (; *link != nullptr; link = &(*link)->next) {
    Node* n = *link;
    if (n->hash != hash || n->key() != key) continue;
    if (key.size() + value.size() <= n->capacity) {
      std::memmove(n->bytes() + n->key_len, value.data(), value.size());
      n->value_len = static_cast<uint32_t>(value.size());
      n->expire_at_ms = expire_at_ms;
      return;
    }
    // Outgrown: a new node with a quarter to spare, so APPEND after APPEND
    // does not copy the whole value each time.
    size_t need = key.size() + value.size();
    Node* m = NewNode(key, hash, value, expire_at_ms, need + need / 4);
    m->access = n->access;
    m->next = n->next;
    *link = m;
    DeleteNode(n);
    return;
  }
  // Load factor 1, as in Redis: chains stay short and the table stays small.
  if (size_ + 1 > buckets_.size()) Resize(buckets_.size() * 2);
  Node* n = NewNode(key, hash, value, expire_at_ms, key.size() + value.size());
  Node*& head = buckets_[hash & (buckets_.size() - 1)];
  n->next = head;
  head = n;
  size_++;
}

bool KeyTable::Erase(std::string_view key, uint64_t hash) {
  for (Node** p = &buckets_[hash & (buckets_.size() - 1)]; *p != nullptr; p = &(*p)->next) {
    Node* n = *p;
    if (n->hash != hash || n->key() != key) continue;
    *p = n->next;
    DeleteNode(n);
    size_--;
    MaybeShrink();
    return true;
  }
  return false;
}

void KeyTable::Clear() {
  for (Node*& head : buckets_) {
    while (head != nullptr) {
      Node* next = head->next;
      DeleteNode(head);
      head = next;
    }
  }
  size_ = 0;
  buckets_.assign(kMinBuckets, nullptr);
}

// Shrink below 1/8 full, so a table that oscillates around a size does not
// resize back and forth.
void KeyTable::MaybeShrink() {
  if (buckets_.size() > kMinBuckets && size_ * 8 < buckets_.size())
    Resize(std::max(kMinBuckets, std::bit_ceil(size_ * 2)));
}

void KeyTable::Resize(size_t buckets) {
  assert(std::has_single_bit(buckets) && buckets >= kMinBuckets);
  std::vector<Node*> next(buckets, nullptr);
  for (Node* head : buckets_) {
    while (head != nullptr) {
      Node* n = head;
      head = n->next;
      Node*& dst = next[n->hash & (buckets - 1)];
      n->next = dst;
      dst = n;
    }
  }
  buckets_.swap(next);
}

// Increments the cursor's reversed bits above the mask: buckets are visited
// in an order where every bucket of a smaller or larger table maps onto the
// ones not yet visited, which is what makes the scan survive resizes.
uint64_t KeyTable::NextCursor(uint64_t cursor, uint64_t mask) {
  cursor |= ~mask;
  cursor = ReverseBits(cursor);
  cursor++;
  return ReverseBits(cursor);
}

const Node* KeyTable::Sample(uint64_t rnd) const {
  if (size_ == 0) return nullptr;
  size_t mask = buckets_.size() - 1;
  // Empty buckets are skipped by walking on; at load >= 1/8 the walk is short.
  for (size_t i = 0; i <= mask; i++) {
    const Node* n = buckets_[(rnd + i) & mask];
    if (n == nullptr) continue;
    size_t len = 0;
    for (const Node* m = n; m != nullptr; m = m->next) len++;
    size_t pick = (rnd >> 32) % len;
    while (pick-- > 0) n = n->next;
    return n;
  }
  return nullptr;
}

}  // namespace synap::kv
