// KV semantics, command by command, as a Redis user expects them; then
// persistence of each (reopen replays the log).
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engine/base/glob.h"
#include "tests/support/db_fixture.h"

namespace synap::kv {
namespace {

using testing::DbTest;
using SV = std::string_view;

class KvTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    Open();
  }
  Outcome Set(SV k, SV v, SetArgs a = {}) {
    auto r = kv().Set(k, v, a, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Outcome::kNotFound;
  }
  int64_t PTtl(SV k) {
    auto r = kv().PTtl(k);
    return r.ok() ? *r : -2;
  }
};

TEST_F(KvTest, SetGetOverwrite) {
  EXPECT_EQ(Get("k"), "<absent>");
  EXPECT_EQ(Set("k", "v1"), Outcome::kDone);
  EXPECT_EQ(Get("k"), "v1");
  EXPECT_EQ(Set("k", "v2"), Outcome::kDone);
  EXPECT_EQ(Get("k"), "v2");
  EXPECT_EQ(Set("", ""), Outcome::kDone);  // empty key and value are keys like any other
  EXPECT_EQ(Get(""), "");
  std::string bin("a\0b\xff", 4);
  EXPECT_EQ(Set(bin, bin), Outcome::kDone);
  EXPECT_EQ(Get(bin), bin);
}

TEST_F(KvTest, SetNxXxGet) {
  SetArgs nx;
  nx.nx = true;
  SetArgs xx;
  xx.xx = true;
  EXPECT_EQ(Set("k", "x", xx), Outcome::kNotSet);
  EXPECT_EQ(Get("k"), "<absent>");
  EXPECT_EQ(Set("k", "a", nx), Outcome::kDone);
  EXPECT_EQ(Set("k", "b", nx), Outcome::kNotSet);
  EXPECT_EQ(Get("k"), "a");
  EXPECT_EQ(Set("k", "c", xx), Outcome::kDone);
  EXPECT_EQ(Get("k"), "c");
  SetArgs get;
  get.get = true;
  std::optional<std::string> old;
  ASSERT_TRUE(kv().Set("k", "d", get, &old).ok());
  EXPECT_EQ(old, "c");
  ASSERT_TRUE(kv().Set("new", "e", get, &old).ok());
  EXPECT_FALSE(old.has_value());
  SetArgs both;
  both.nx = both.xx = true;
  EXPECT_EQ(kv().Set("k", "z", both, nullptr).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(KvTest, SetExpiryUnitsAndKeepTtl) {
  SetArgs ex;
  ex.unit = ExpiryUnit::kSeconds;
  ex.expire = 10;
  Set("k", "v", ex);
  EXPECT_EQ(PTtl("k"), 10000);
  now_ += 4000;
  EXPECT_EQ(PTtl("k"), 6000);
  SetArgs keep;
  keep.keep_ttl = true;
  Set("k", "v2", keep);
  EXPECT_EQ(PTtl("k"), 6000);
  Set("k", "v3");  // a plain SET drops the expiry
  EXPECT_EQ(PTtl("k"), -1);
  SetArgs pxat;
  pxat.unit = ExpiryUnit::kAtMillis;
  pxat.expire = now_ + 1500;
  Set("k", "v4", pxat);
  EXPECT_EQ(PTtl("k"), 1500);
  now_ += 1500;  // expiry is inclusive: at the instant, the key is gone
  EXPECT_EQ(Get("k"), "<absent>");
  EXPECT_EQ(PTtl("k"), -2);
  // An absolute time already past deletes the key at once.
  Set("k", "v5");
  SetArgs past;
  past.unit = ExpiryUnit::kAtSeconds;
  past.expire = 1;
  EXPECT_EQ(Set("k", "v6", past), Outcome::kDone);
  EXPECT_EQ(Get("k"), "<absent>");
  // Relative expiries must be positive, as in Redis.
  SetArgs zero;
  zero.unit = ExpiryUnit::kMillis;
  zero.expire = 0;
  EXPECT_EQ(kv().Set("k", "v", zero, nullptr).status().code(), Status::Code::kInvalidArgument);
  zero.expire = INT64_MAX;
  zero.unit = ExpiryUnit::kSeconds;
  EXPECT_EQ(kv().Set("k", "v", zero, nullptr).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(KvTest, ExpiredKeyActsAbsentForEveryCommand) {
  SetArgs px;
  px.unit = ExpiryUnit::kMillis;
  px.expire = 100;
  Set("k", "5", px);
  now_ += 100;
  SetArgs nx;
  nx.nx = true;
  EXPECT_EQ(Set("k", "fresh", nx), Outcome::kDone);  // NX sees the expired key as absent
  EXPECT_EQ(PTtl("k"), -1);
  Set("n", "5", px);
  now_ += 200;
  EXPECT_EQ(*kv().IncrBy("n", 1), 1);  // counts from 0, and without the old expiry
  EXPECT_EQ(PTtl("n"), -1);
  Set("a", "xy", px);
  now_ += 200;
  EXPECT_EQ(*kv().Append("a", "z"), 1u);
  EXPECT_EQ(Get("a"), "z");
  EXPECT_EQ(PTtl("a"), -1);
}

TEST_F(KvTest, GetDelAndDel) {
  Set("a", "1");
  Set("b", "2");
  std::string v;
  EXPECT_TRUE(*kv().GetDel("a", &v));
  EXPECT_EQ(v, "1");
  EXPECT_FALSE(*kv().GetDel("a", &v));
  Set("c", "3");
  std::vector<SV> keys = {"b", "c", "missing", "b"};
  EXPECT_EQ(*kv().Del(keys), 2u);  // a key named twice counts once
  EXPECT_EQ(*kv().Del(keys), 0u);
  EXPECT_EQ(kv().DbSize(), 0u);
}

TEST_F(KvTest, IncrDecrAndErrors) {
  EXPECT_EQ(*kv().IncrBy("n", 1), 1);
  EXPECT_EQ(*kv().IncrBy("n", -11), -10);
  EXPECT_EQ(Get("n"), "-10");
  Set("big", std::to_string(INT64_MAX));
  EXPECT_EQ(kv().IncrBy("big", 1).status().code(), Status::Code::kOutOfRange);
  EXPECT_EQ(Get("big"), std::to_string(INT64_MAX));  // unchanged
  Set("small", std::to_string(INT64_MIN));
  EXPECT_EQ(kv().IncrBy("small", -1).status().code(), Status::Code::kOutOfRange);
  for (SV bad : {"abc", "1.5", " 1", "1 ", "+1", "01", "-0", "", "99999999999999999999"}) {
    Set("s", bad);
    EXPECT_EQ(kv().IncrBy("s", 1).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  SetArgs ex;
  ex.unit = ExpiryUnit::kSeconds;
  ex.expire = 100;
  Set("t", "7", ex);
  EXPECT_EQ(*kv().IncrBy("t", 3), 10);
  EXPECT_EQ(PTtl("t"), 100000);  // INCR keeps the expiry
}

TEST_F(KvTest, AppendAndStrlen) {
  EXPECT_EQ(*kv().Append("a", "hello"), 5u);
  EXPECT_EQ(*kv().Append("a", " world"), 11u);
  EXPECT_EQ(Get("a"), "hello world");
  size_t len = 0;
  EXPECT_TRUE(kv().Read("a", [&](SV v) { len = v.size(); }));
  EXPECT_EQ(len, 11u);
}

TEST_F(KvTest, MSetAndMSetNx) {
  std::vector<SV> keys = {"a", "b", "a"}, vals = {"1", "2", "3"};
  EXPECT_EQ(*kv().MSet(keys, vals, false), Outcome::kDone);
  EXPECT_EQ(Get("a"), "3");  // the later of two writes of one key wins
  EXPECT_EQ(Get("b"), "2");
  std::vector<SV> k2 = {"c", "b"}, v2 = {"x", "y"};
  EXPECT_EQ(*kv().MSet(k2, v2, true), Outcome::kNotSet);  // b exists: nothing is set
  EXPECT_EQ(Get("c"), "<absent>");
  std::vector<SV> k3 = {"c", "d"}, v3 = {"x", "y"};
  EXPECT_EQ(*kv().MSet(k3, v3, true), Outcome::kDone);
  EXPECT_EQ(Get("d"), "y");
  std::vector<SV> one = {"x"};
  EXPECT_EQ(kv().MSet(one, {}, false).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(KvTest, ExpireFamilyAndConditions) {
  EXPECT_EQ(*kv().Expire("nokey", ExpiryUnit::kSeconds, 10, ExpireCond::kAlways), Outcome::kNotFound);
  Set("k", "v");
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kSeconds, 10, ExpireCond::kXx), Outcome::kNotSet);
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kSeconds, 10, ExpireCond::kGt), Outcome::kNotSet);  // none = infinite
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kSeconds, 10, ExpireCond::kNx), Outcome::kDone);
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kSeconds, 20, ExpireCond::kNx), Outcome::kNotSet);
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kMillis, 5000, ExpireCond::kGt), Outcome::kNotSet);
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kMillis, 5000, ExpireCond::kLt), Outcome::kDone);
  EXPECT_EQ(PTtl("k"), 5000);
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kAtMillis, now_ + 7000, ExpireCond::kGt), Outcome::kDone);
  EXPECT_EQ(PTtl("k"), 7000);
  EXPECT_EQ(*kv().Persist("k"), Outcome::kDone);
  EXPECT_EQ(PTtl("k"), -1);
  EXPECT_EQ(*kv().Persist("k"), Outcome::kNotSet);
  EXPECT_EQ(*kv().Persist("nokey"), Outcome::kNotFound);
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kSeconds, 0, ExpireCond::kAlways), Outcome::kDone);  // deletes
  EXPECT_EQ(Get("k"), "<absent>");
  Set("k", "v");
  EXPECT_EQ(*kv().Expire("k", ExpiryUnit::kSeconds, -5, ExpireCond::kAlways), Outcome::kDone);
  EXPECT_EQ(Get("k"), "<absent>");
}

TEST_F(KvTest, ScanReportsEveryKeyOnceWhileTableResizes) {
  for (int i = 0; i < 2000; i++) Set("key:" + std::to_string(i), "v");
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  int steps = 0;
  do {
    std::vector<std::string> out;
    auto r = kv().Scan(cursor, "", 37, &out);
    ASSERT_TRUE(r.ok());
    cursor = *r;
    seen.insert(out.begin(), out.end());
    // Keys come and go between steps; the tables grow and shrink.
    if (steps % 3 == 0) Set("extra:" + std::to_string(steps), "v");
    if (steps % 5 == 0) {
      std::vector<SV> d = {"key:1500"};
      (void)kv().Del(d);
    }
    steps++;
  } while (cursor != 0 && steps < 100000);
  for (int i = 0; i < 2000; i++) {
    if (i == 1500) continue;
    EXPECT_GE(seen.count("key:" + std::to_string(i)), 1u) << i;
  }
  // Without resizes during the scan, no key is reported twice.
  std::multiset<std::string> again;
  cursor = 0;
  do {
    std::vector<std::string> out;
    cursor = *kv().Scan(cursor, "key:1*", 100, &out);
    again.insert(out.begin(), out.end());
  } while (cursor != 0);
  std::set<std::string> unique(again.begin(), again.end());
  EXPECT_EQ(unique.size(), again.size());
  EXPECT_EQ(again.size(), 1110u);  // key:1, key:10..19, key:100..199, key:1000..1999, minus key:1500
}

TEST_F(KvTest, ExpiredKeysAreSweptWithLoggedDeletes) {
  SetArgs px;
  px.unit = ExpiryUnit::kMillis;
  px.expire = 50;
  for (int i = 0; i < 300; i++) Set("e" + std::to_string(i), "v", px);
  Set("keep", "v");
  EXPECT_EQ(kv().DbSize(), 301u);  // expired keys count until removed, as in Redis
  now_ += 100;
  uint64_t swept = 0;
  for (int i = 0; i < 200 && swept < 300; i++) swept += *kv().SweepExpired();
  EXPECT_EQ(swept, 300u);
  ASSERT_TRUE(db_->Sync().ok());
  kv().DrainAll();
  EXPECT_EQ(kv().DbSize(), 1u);
  EXPECT_EQ(kv().stats().expired, 300u);
  Reopen();
  EXPECT_EQ(kv().DbSize(), 1u);
}

TEST_F(KvTest, FlushAllOnlyWhenAllowed) {
  Set("a", "1");
  EXPECT_EQ(kv().FlushAll().code(), Status::Code::kPermission);
  EXPECT_EQ(Get("a"), "1");
  opts_.kv.allow_flushall = true;
  Reopen();
  Set("b", "2");
  ASSERT_TRUE(kv().FlushAll().ok());
  EXPECT_EQ(kv().DbSize(), 0u);
  Set("c", "3");
  Reopen();
  EXPECT_EQ(Get("a"), "<absent>");
  EXPECT_EQ(Get("c"), "3");
}

TEST_F(KvTest, KeyAndValueLimits) {
  opts_.kv.max_key_bytes = 8;
  opts_.kv.max_value_bytes = 16;
  Reopen();
  EXPECT_EQ(kv().Set("123456789", "v", {}, nullptr).status().code(), Status::Code::kTooLarge);
  EXPECT_EQ(kv().Set("k", std::string(17, 'x'), {}, nullptr).status().code(), Status::Code::kTooLarge);
  Set("k", std::string(10, 'x'));
  EXPECT_EQ(kv().Append("k", std::string(7, 'y')).status().code(), Status::Code::kTooLarge);
  std::string v;
  EXPECT_EQ(kv().Get("123456789", &v).status().code(), Status::Code::kTooLarge);
}

TEST_F(KvTest, EveryCommandSurvivesReopen) {
  Set("s", "v");
  SetArgs ex;
  ex.unit = ExpiryUnit::kSeconds;
  ex.expire = 100;
  Set("ttl", "v", ex);
  (void)kv().IncrBy("n", 41);
  (void)kv().IncrBy("n", 1);
  (void)kv().Append("a", "he");
  (void)kv().Append("a", "llo");
  std::vector<SV> mk = {"m1", "m2"}, mv = {"x", "y"};
  (void)kv().MSet(mk, mv, false);
  Set("gone", "v");
  std::vector<SV> del = {"gone"};
  (void)kv().Del(del);
  Set("p", "v", ex);
  (void)kv().Persist("p");
  Set("e", "v");
  (void)kv().Expire("e", ExpiryUnit::kSeconds, 50, ExpireCond::kAlways);
  Reopen();
  EXPECT_EQ(Get("s"), "v");
  EXPECT_EQ(PTtl("ttl"), 100000);
  EXPECT_EQ(Get("n"), "42");
  EXPECT_EQ(Get("a"), "hello");
  EXPECT_EQ(Get("m2"), "y");
  EXPECT_EQ(Get("gone"), "<absent>");
  EXPECT_EQ(PTtl("p"), -1);
  EXPECT_EQ(PTtl("e"), 50000);
  now_ += 100000;  // expiry is an absolute time: it passes while closed too
  Reopen();
  EXPECT_EQ(Get("ttl"), "<absent>");
}

TEST_F(KvTest, ConcurrentIncrementsAreNeverLost) {
  constexpr int kThreads = 8, kEach = 500;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&] {
      for (int i = 0; i < kEach; i++) {
        auto r = kv().IncrBy("counter", 1);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(Get("counter"), std::to_string(kThreads * kEach));
  Reopen();
  EXPECT_EQ(Get("counter"), std::to_string(kThreads * kEach));
}

TEST_F(KvTest, TicketsMakeWritesVisibleOnlyWhenAcknowledged) {
  Lsn ticket = 0;
  ASSERT_TRUE(kv().Set("k", "v", {}, nullptr, &ticket).ok());
  ASSERT_GT(ticket, 0u);
  ASSERT_TRUE(db_->wal().WaitFor(ticket).ok());
  EXPECT_EQ(Get("k"), "v");  // the reader brings the shard up to date
  // A result computed from a pending write is consistent with it.
  Lsn t2 = 0;
  ASSERT_EQ(*kv().IncrBy("c", 5, &t2), 5);
  ASSERT_EQ(*kv().IncrBy("c", 5, &t2), 10);
  ASSERT_TRUE(db_->wal().WaitFor(t2).ok());
  EXPECT_EQ(Get("c"), "10");
}

TEST_F(KvTest, OneShardAndManyShardsBehaveAlike) {
  for (uint32_t shards : {1u, 4096u}) {
    opts_.kv.shards = shards;
    Reopen();
    Set("k" + std::to_string(shards), "v");
    std::vector<SV> keys = {"a", "b"}, vals = {"1", "2"};
    ASSERT_TRUE(kv().MSet(keys, vals, false).ok());
    std::vector<std::string> all;
    uint64_t cursor = 0;
    do cursor = *kv().Scan(cursor, "", 10, &all);
    while (cursor != 0);
    EXPECT_EQ(all.size(), kv().DbSize()) << shards;
    EXPECT_EQ(Get("b"), "2");
  }
}

// ---- kv.maxmemory and the eviction policies ----

class EvictionTest : public KvTest {
 protected:
  // Room for about `keys` keys of 16-byte names and 100-byte values.
  void Limit(const char* policy, uint64_t keys) {
    opts_.kv.maxmemory = keys * EntryBytes(16, 100);
    opts_.kv.policy = *ParseEvictionPolicy(policy);
    Reopen();
  }
  static std::string Key(int i) {
    char b[17];
    std::snprintf(b, sizeof b, "key%013d", i);
    return b;
  }
  Status Put(int i, int64_t ttl_ms = 0) {
    SetArgs a;
    if (ttl_ms != 0) a.unit = ExpiryUnit::kMillis, a.expire = ttl_ms;
    return kv().Set(Key(i), std::string(100, 'v'), a, nullptr).status();
  }
};

TEST_F(EvictionTest, NoEvictionRefusesWritesButNotDeletes) {
  Limit("noeviction", 50);
  int written = 0;
  Status st;
  while ((st = Put(written)).ok() && written < 1000) written++;
  EXPECT_EQ(st.code(), Status::Code::kOutOfMemory) << st.ToString();
  EXPECT_GE(written, 45);
  EXPECT_LE(written, 52);
  EXPECT_EQ(kv().IncrBy("n", 1).status().code(), Status::Code::kOutOfMemory);
  std::string k0 = Key(0);
  std::vector<SV> del = {k0};
  EXPECT_EQ(*kv().Del(del), 1u);  // deleting is always allowed
  EXPECT_TRUE(Put(1000).ok());    // and makes room
}

TEST_F(EvictionTest, AllKeysPoliciesStayUnderTheLimit) {
  for (const char* policy : {"allkeys-random", "allkeys-lru", "allkeys-lfu"}) {
    Limit(policy, 100);
    for (int i = 0; i < 1000; i++) ASSERT_TRUE(Put(i).ok()) << policy;
    // As in Redis, room is made before a write: the write itself may pass
    // the limit by one key until the next write evicts again.
    EXPECT_LE(kv().stats().used_memory, opts_.kv.maxmemory + EntryBytes(16, 100)) << policy;
    EXPECT_LE(kv().DbSize(), 101u) << policy;
    EXPECT_GE(kv().DbSize(), 90u) << policy;
    EXPECT_GE(kv().stats().evicted, 899u) << policy;
    Reopen();  // evictions are logged deletes: the log agrees
    EXPECT_LE(kv().DbSize(), 101u) << policy;
    opts_.kv.allow_flushall = true;
    Reopen();
    ASSERT_TRUE(kv().FlushAll().ok());
  }
}

TEST_F(EvictionTest, LruKeepsTheKeyReadEverySecond) {
  Limit("allkeys-lru", 100);
  ASSERT_TRUE(Put(-1).ok());
  for (int i = 0; i < 2000; i++) {
    now_ += 1000;
    std::string v;
    ASSERT_TRUE(*kv().Get(Key(-1), &v)) << "the hot key was evicted after " << i << " writes";
    ASSERT_TRUE(Put(i).ok());
  }
}

TEST_F(EvictionTest, LfuKeepsTheKeyReadMostOften) {
  Limit("allkeys-lfu", 100);
  ASSERT_TRUE(Put(-1).ok());
  std::string v;
  for (int r = 0; r < 500; r++) (void)kv().Get(Key(-1), &v);  // a high counter
  for (int i = 0; i < 2000; i++) {
    ASSERT_TRUE(*kv().Get(Key(-1), &v)) << "the hot key was evicted after " << i << " writes";
    ASSERT_TRUE(Put(i).ok());
  }
}

TEST_F(EvictionTest, VolatilePoliciesEvictOnlyKeysWithAnExpiry) {
  for (const char* policy : {"volatile-random", "volatile-lru", "volatile-lfu", "volatile-ttl"}) {
    Limit(policy, 100);
    for (int i = 0; i < 30; i++) ASSERT_TRUE(Put(i).ok());  // persistent
    for (int i = 30; i < 1000; i++) ASSERT_TRUE(Put(i, 1'000'000 + i).ok()) << policy;
    for (int i = 0; i < 30; i++) EXPECT_TRUE(*kv().Exists(std::vector<SV>{Key(i)}) == 1) << policy << " " << i;
    EXPECT_LE(kv().stats().used_memory, opts_.kv.maxmemory + EntryBytes(16, 100)) << policy;
    opts_.kv.allow_flushall = true;
    Reopen();
    ASSERT_TRUE(kv().FlushAll().ok());
  }
  // With no key to evict, a volatile policy refuses like noeviction.
  Limit("volatile-lru", 20);
  Status st;
  for (int i = 0; i < 100 && (st = Put(i)).ok(); i++) {
  }
  EXPECT_EQ(st.code(), Status::Code::kOutOfMemory);
}

TEST_F(EvictionTest, VolatileTtlEvictsTheSoonestToExpire) {
  Limit("volatile-ttl", 100);
  // Expiries grow with i: the survivors should be the latest ones.
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(Put(i, 1'000'000 + i * 1000).ok());
  int late = 0;
  for (int i = 900; i < 1000; i++) late += static_cast<int>(*kv().Exists(std::vector<SV>{Key(i)}));
  EXPECT_GE(late, 60) << "volatile-ttl should keep mostly the keys that expire last";
}

TEST(Glob, RedisPatterns) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h*llo", "heeeello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("h[b-a]llo", "hallo"));  // reversed ranges, as in Redis
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(GlobMatch("*a*b*c*", "xxaxxcxxbxx"));
  EXPECT_TRUE(GlobMatch("user:*:name", "user:42:name"));
  // A pathological pattern finishes quickly (no exponential backtracking).
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

}  // namespace
}  // namespace synap::kv
