// KvStore's writes: decide under the shards' locks, log, queue, wait, apply.
// (kv_store.h tells the whole path and why readers never see a write before
// it is acknowledged.)
#include <algorithm>
#include <cassert>
#include <charconv>
#include <climits>
#include <set>

#include "engine/kv/kv_locked.h"
#include "engine/kv/kv_store.h"
#include "engine/wal/wal.h"

namespace synap::kv {

namespace {

bool ParseInt64(std::string_view s, int64_t* v) {
  // Redis's rules: optional '-', digits, no spaces or '+', at most 20 bytes.
  if (s.empty() || s.size() > 20 || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !(s.size() > 1 && s[0] == '0') &&
         !(s.size() > 1 && s[0] == '-' && s[1] == '0');
}

Status InvalidExpire(const char* cmd) {
  return Status::InvalidArgument(std::string("invalid expire time in '") + cmd + "' command");
}

// The whole state of a key after `op`, given the state before it.
bool StateAfter(const Op& op, const KeyState* before, Entry* after) {
  switch (op.kind) {
    case OpKind::kPut: *after = Entry{std::string(op.value), op.expire_at_ms}; return true;
    case OpKind::kAppendAt:
      after->value = before != nullptr ? std::string(before->value) : std::string();
      after->value.resize(op.offset, '\0');
      after->value.append(op.value);
      after->expire_at_ms = before != nullptr ? before->expire_at_ms : 0;
      return true;
    case OpKind::kSetExpiry:
      if (before == nullptr) return false;
      *after = Entry{std::string(before->value), op.expire_at_ms};
      return true;
    case OpKind::kDelete:
    case OpKind::kFlushAll: return false;
  }
  return false;
}

}  // namespace

Result<Lsn> KvStore::LogAndQueue(Locked&, std::span<const Op> ops, std::span<const uint64_t> hashes, int64_t now) {
  assert(ops.size() == hashes.size() && wal_ != nullptr);
  std::string rec;
  EncodeRecord(ops, &rec);
  Result<Lsn> lsn = wal_->Append(std::span(reinterpret_cast<const uint8_t*>(rec.data()), rec.size()));
  if (!lsn.ok()) return lsn.status();
  // Queued in op order, so a key written twice in one record ends as the
  // second op says, in memory as in replay.
  for (size_t i = 0; i < ops.size(); i++) {
    const Op& op = ops[i];
    if (op.kind == OpKind::kFlushAll) {
      for (Shard& s : shards_) {
        s.pending.push_back(PendingWrite{*lsn, {}, 0, true, true, {}});
        s.flush = &s.pending.back();
        s.newest.clear();  // every earlier pending write is superseded
        if (s.oldest_pending.load(std::memory_order_relaxed) == 0) s.oldest_pending.store(*lsn);
      }
      used_memory_.store(0, std::memory_order_relaxed);
      continue;
    }
    Shard& s = ShardOf(hashes[i]);
    Current cur = Lookup(s, op.key, hashes[i], now);
    PendingWrite w{*lsn, std::string(op.key), hashes[i], false, false, {}};
    w.deleted = !StateAfter(op, cur.entry(), &w.entry);
    int64_t after = w.deleted ? 0 : static_cast<int64_t>(EntryBytes(op.key.size(), w.entry.value.size()));
    used_memory_.fetch_add(after - cur.bytes, std::memory_order_relaxed);
    s.pending.push_back(std::move(w));
    // Re-key the entry: its key view must point into the newest write,
    // which outlives the older one (operator[] would keep the old view).
    PendingWrite* back = &s.pending.back();
    s.newest.erase(std::string_view(back->key));
    s.newest.emplace(std::string_view(back->key), back);
    if (s.oldest_pending.load(std::memory_order_relaxed) == 0) s.oldest_pending.store(*lsn);
  }
  writes_.fetch_add(1, std::memory_order_relaxed);
  return lsn;
}

Status KvStore::Finish(Lsn lsn, Lsn* ticket, std::span<const uint64_t> hashes) {
  if (ticket != nullptr) {
    *ticket = lsn;
    return Status::Ok();
  }
  if (lsn == 0) return Status::Ok();
  SYNAP_RETURN_IF_ERROR(wal_->WaitFor(lsn));
  Lsn acked = wal_->acked_lsn();
  auto drain = [&](Shard& s) {
    Lsn oldest = s.oldest_pending.load(std::memory_order_acquire);
    if (oldest == 0 || oldest > acked) return;
    std::unique_lock<std::shared_mutex> lk(s.mu);
    Drain(s, acked);
  };
  if (hashes.empty()) {  // FLUSHALL
    for (Shard& s : shards_) drain(s);
  } else {
    for (uint64_t h : hashes) drain(ShardOf(h));
  }
  return Status::Ok();
}

Result<Outcome> KvStore::Set(std::string_view key, std::string_view value, const SetArgs& a,
                             std::optional<std::string>* old, Lsn* ticket) {
  if (a.nx && a.xx) return Status::InvalidArgument("NX and XX options at the same time are not compatible");
  if (a.keep_ttl && a.unit != ExpiryUnit::kNone) return Status::InvalidArgument("KEEPTTL and an expiry are exclusive");
  bool seconds = a.unit == ExpiryUnit::kSeconds || a.unit == ExpiryUnit::kAtSeconds;
  if (a.unit != ExpiryUnit::kNone && (a.expire <= 0 || (seconds && a.expire > INT64_MAX / 1000)))
    return InvalidExpire("set");
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  SYNAP_RETURN_IF_ERROR(CheckValue(value.size()));
  SYNAP_RETURN_IF_ERROR(MakeRoom());
  uint64_t h = Hash(key);
  Locked locked(this, std::span(&h, 1));
  int64_t now = Now();
  Current cur = Lookup(ShardOf(h), key, h, now);
  if (a.get && old != nullptr) {
    if (cur.present) *old = std::string(cur.state.value);
    else old->reset();
  }
  if ((a.nx && cur.present) || (a.xx && !cur.present)) {
    locked.Unlock();
    SYNAP_RETURN_IF_ERROR(Finish(cur.lsn, ticket, std::span(&h, 1)));
    return Outcome::kNotSet;
  }
  int64_t at = a.keep_ttl ? (cur.present ? cur.state.expire_at_ms : 0) : ToAbsoluteMs(a.unit, a.expire, now);
  Op op{OpKind::kPut, key, value, 0, at};
  if (at != 0 && at <= now) {  // already expired: the key is gone
    if (!cur.present) {
      locked.Unlock();
      SYNAP_RETURN_IF_ERROR(Finish(cur.lsn, ticket, std::span(&h, 1)));
      return Outcome::kDone;
    }
    op = Op{OpKind::kDelete, key, {}, 0, 0};
  }
  Result<Lsn> lsn = LogAndQueue(locked, std::span(&op, 1), std::span(&h, 1), now);
  if (!lsn.ok()) return lsn.status();
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(*lsn, ticket, std::span(&h, 1)));
  return Outcome::kDone;
}

Result<bool> KvStore::GetDel(std::string_view key, std::string* value, Lsn* ticket) {
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  uint64_t h = Hash(key);
  Locked locked(this, std::span(&h, 1));
  int64_t now = Now();
  Current cur = Lookup(ShardOf(h), key, h, now);
  Lsn lsn = cur.lsn;
  if (cur.present) {
    *value = std::string(cur.state.value);
    Op op{OpKind::kDelete, key, {}, 0, 0};
    Result<Lsn> r = LogAndQueue(locked, std::span(&op, 1), std::span(&h, 1), now);
    if (!r.ok()) return r.status();
    lsn = *r;
  }
  bool found = cur.present;
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(lsn, ticket, std::span(&h, 1)));
  return found;
}

Result<uint64_t> KvStore::Del(std::span<const std::string_view> keys, Lsn* ticket) {
  std::vector<uint64_t> hashes;
  for (std::string_view k : keys) {
    SYNAP_RETURN_IF_ERROR(CheckKey(k));
    hashes.push_back(Hash(k));
  }
  Locked locked(this, hashes);
  int64_t now = Now();
  std::vector<Op> ops;
  std::vector<uint64_t> op_hashes;
  std::set<std::string_view> seen;  // DEL k k deletes (and counts) k once
  Lsn lsn = 0;
  for (size_t i = 0; i < keys.size(); i++) {
    if (!seen.insert(keys[i]).second) continue;
    Current cur = Lookup(ShardOf(hashes[i]), keys[i], hashes[i], now);
    lsn = std::max(lsn, cur.lsn);
    if (!cur.present) continue;
    ops.push_back(Op{OpKind::kDelete, keys[i], {}, 0, 0});
    op_hashes.push_back(hashes[i]);
  }
  if (!ops.empty()) {
    Result<Lsn> r = LogAndQueue(locked, ops, op_hashes, now);
    if (!r.ok()) return r.status();
    lsn = *r;
  }
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(lsn, ticket, hashes));
  return uint64_t{ops.size()};
}

Result<int64_t> KvStore::IncrBy(std::string_view key, int64_t delta, Lsn* ticket) {
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  SYNAP_RETURN_IF_ERROR(MakeRoom());
  uint64_t h = Hash(key);
  Locked locked(this, std::span(&h, 1));
  int64_t now = Now();
  Current cur = Lookup(ShardOf(h), key, h, now);
  int64_t v = 0;
  if (cur.present && !ParseInt64(cur.state.value, &v))
    return Status::InvalidArgument("value is not an integer or out of range");
  if (__builtin_add_overflow(v, delta, &v)) return Status::OutOfRange("increment or decrement would overflow");
  std::string text = std::to_string(v);
  SYNAP_RETURN_IF_ERROR(CheckValue(text.size()));
  Op op{OpKind::kPut, key, text, 0, cur.present ? cur.state.expire_at_ms : 0};
  Result<Lsn> lsn = LogAndQueue(locked, std::span(&op, 1), std::span(&h, 1), now);
  if (!lsn.ok()) return lsn.status();
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(*lsn, ticket, std::span(&h, 1)));
  return v;
}

Result<uint64_t> KvStore::Append(std::string_view key, std::string_view value, Lsn* ticket) {
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  SYNAP_RETURN_IF_ERROR(MakeRoom());
  uint64_t h = Hash(key);
  Locked locked(this, std::span(&h, 1));
  int64_t now = Now();
  Current cur = Lookup(ShardOf(h), key, h, now);
  size_t old_len = cur.present ? cur.state.value.size() : 0;
  SYNAP_RETURN_IF_ERROR(CheckValue(old_len + value.size()));
  // An absent key is written whole: an AppendAt could land on an expired
  // node still in the table and inherit its expiry.
  Op op = cur.present ? Op{OpKind::kAppendAt, key, value, old_len, 0} : Op{OpKind::kPut, key, value, 0, 0};
  Result<Lsn> lsn = LogAndQueue(locked, std::span(&op, 1), std::span(&h, 1), now);
  if (!lsn.ok()) return lsn.status();
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(*lsn, ticket, std::span(&h, 1)));
  return uint64_t{old_len + value.size()};
}

Result<Outcome> KvStore::MSet(std::span<const std::string_view> keys, std::span<const std::string_view> values,
                              bool nx, Lsn* ticket) {
  if (keys.size() != values.size()) return Status::InvalidArgument("MSET needs as many values as keys");
  if (keys.empty()) return Status::InvalidArgument("MSET needs at least one key");
  std::vector<uint64_t> hashes;
  for (size_t i = 0; i < keys.size(); i++) {
    SYNAP_RETURN_IF_ERROR(CheckKey(keys[i]));
    SYNAP_RETURN_IF_ERROR(CheckValue(values[i].size()));
    hashes.push_back(Hash(keys[i]));
  }
  SYNAP_RETURN_IF_ERROR(MakeRoom());
  Locked locked(this, hashes);
  int64_t now = Now();
  if (nx) {
    Lsn observed = 0;
    bool any = false;
    for (size_t i = 0; i < keys.size(); i++) {
      Current cur = Lookup(ShardOf(hashes[i]), keys[i], hashes[i], now);
      observed = std::max(observed, cur.lsn);
      any = any || cur.present;
    }
    if (any) {
      locked.Unlock();
      SYNAP_RETURN_IF_ERROR(Finish(observed, ticket, hashes));
      return Outcome::kNotSet;
    }
  }
  std::vector<Op> ops;
  for (size_t i = 0; i < keys.size(); i++) ops.push_back(Op{OpKind::kPut, keys[i], values[i], 0, 0});
  Result<Lsn> lsn = LogAndQueue(locked, ops, hashes, now);
  if (!lsn.ok()) return lsn.status();
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(*lsn, ticket, hashes));
  return Outcome::kDone;
}

Result<Outcome> KvStore::Expire(std::string_view key, ExpiryUnit unit, int64_t value, ExpireCond cond, Lsn* ticket) {
  if (unit == ExpiryUnit::kNone) return Status::InvalidArgument("EXPIRE needs a unit");
  bool seconds = unit == ExpiryUnit::kSeconds || unit == ExpiryUnit::kAtSeconds;
  if (seconds && (value > INT64_MAX / 1000 || value < INT64_MIN / 1000)) return InvalidExpire("expire");
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  uint64_t h = Hash(key);
  Locked locked(this, std::span(&h, 1));
  int64_t now = Now();
  Current cur = Lookup(ShardOf(h), key, h, now);
  auto done = [&](Lsn lsn, Outcome o) -> Result<Outcome> {
    locked.Unlock();
    SYNAP_RETURN_IF_ERROR(Finish(lsn, ticket, std::span(&h, 1)));
    return o;
  };
  if (!cur.present) return done(cur.lsn, Outcome::kNotFound);
  int64_t at = ToAbsoluteMs(unit, value, now);
  int64_t have = cur.state.expire_at_ms;  // 0: none, i.e. infinitely far
  bool ok = cond == ExpireCond::kAlways || (cond == ExpireCond::kNx && have == 0) ||
            (cond == ExpireCond::kXx && have != 0) || (cond == ExpireCond::kGt && have != 0 && at > have) ||
            (cond == ExpireCond::kLt && (have == 0 || at < have));
  if (!ok) return done(cur.lsn, Outcome::kNotSet);
  // A time in the past deletes the key (and 0 must not read as "persist").
  Op op = at <= now ? Op{OpKind::kDelete, key, {}, 0, 0} : Op{OpKind::kSetExpiry, key, {}, 0, at};
  Result<Lsn> lsn = LogAndQueue(locked, std::span(&op, 1), std::span(&h, 1), now);
  if (!lsn.ok()) return lsn.status();
  return done(*lsn, Outcome::kDone);
}

Result<Outcome> KvStore::Persist(std::string_view key, Lsn* ticket) {
  SYNAP_RETURN_IF_ERROR(CheckKey(key));
  uint64_t h = Hash(key);
  Locked locked(this, std::span(&h, 1));
  int64_t now = Now();
  Current cur = Lookup(ShardOf(h), key, h, now);
  Outcome o = !cur.present ? Outcome::kNotFound
              : cur.state.expire_at_ms == 0 ? Outcome::kNotSet
                                              : Outcome::kDone;
  Lsn lsn = cur.lsn;
  if (o == Outcome::kDone) {
    Op op{OpKind::kSetExpiry, key, {}, 0, 0};
    Result<Lsn> r = LogAndQueue(locked, std::span(&op, 1), std::span(&h, 1), now);
    if (!r.ok()) return r.status();
    lsn = *r;
  }
  locked.Unlock();
  SYNAP_RETURN_IF_ERROR(Finish(lsn, ticket, std::span(&h, 1)));
  return o;
}

Status KvStore::FlushAll(Lsn* ticket) {
  if (!opts_.allow_flushall)
    return Status::Permission("FLUSHALL is disabled (set kv.allow_flushall=true to allow it)");
  Locked locked(this);
  Op op{OpKind::kFlushAll, {}, {}, 0, 0};
  uint64_t no_hash = 0;
  Result<Lsn> lsn = LogAndQueue(locked, std::span(&op, 1), std::span(&no_hash, 1), Now());
  if (!lsn.ok()) return lsn.status();
  locked.Unlock();
  return Finish(*lsn, ticket, {});
}

}  // namespace synap::kv
