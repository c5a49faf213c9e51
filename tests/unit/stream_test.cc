// Stream engine (engine/stream): appends and reads, offsets, seek by time,
// blocking reads, consumer groups, topics, room names, concurrency — all
// through db::Database (db->streams()). Index files, retention, compaction
// and crash tails are in stream_maintenance_test.cc.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tests/support/forwarding_backend.h"
#include "tests/support/stream_fixture.h"

namespace synap::stream {
namespace {

// ---------------------------------------------------------------------------
// 1. Offsets, round trips, read limits, edges.
TEST_F(StreamTest, AppendAndReadRoundTripWithLimits) {
  ASSERT_TRUE(ss().CreateRoom("basic", "").ok());

  const std::string bin_value("\0x\xff", 3);
  HeaderView hs[2] = {{"content-type", "text/plain"}, {"trace", bin_value}};
  EventIn e0;
  e0.key = "k0";
  e0.headers = hs;
  e0.payload = "hello";
  e0.timestamp_ms = 1234567;
  Result<uint64_t> r0 = ss().Append("basic", std::span<const EventIn>(&e0, 1));
  ASSERT_TRUE(r0.ok()) << r0.status().ToString();
  EXPECT_EQ(*r0, 0u);

  // A batch of 5, timestamps 0 (= now), keys on some, a binary payload.
  const std::string bin_payload("a\0b\0\xfe", 5);
  std::vector<std::string> payloads = {"one", "", bin_payload, std::string(3000, 'z'), "five"};
  std::vector<std::string> keys = {"", "key-1", "", "key-3", ""};
  std::vector<EventIn> batch(5);
  for (size_t i = 0; i < 5; i++) {
    batch[i].key = keys[i];
    batch[i].payload = payloads[i];
  }
  int64_t before = WallMs();
  Result<uint64_t> r1 = ss().Append("basic", batch);
  int64_t after = WallMs();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(*r1, 1u) << "a batch append returns its first offset";
  EXPECT_EQ(Put("basic", "seven", "", 99), 6u);
  EXPECT_EQ(InfoOf("basic").next_offset, 7u);

  EventBatch b;
  ASSERT_TRUE(ss().Read("basic", 0, 1000, 1 << 20, 0, &b).ok());
  std::vector<Ev> all = Events(b);
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(b.next_offset, 7u);
  EXPECT_EQ(b.high_watermark, 7u);
  for (size_t i = 0; i < all.size(); i++) EXPECT_EQ(all[i].offset, i);
  EXPECT_EQ(all[0].key, "k0");
  EXPECT_EQ(all[0].payload, "hello");
  EXPECT_EQ(all[0].ts, 1234567);
  ASSERT_EQ(all[0].headers.size(), 2u);
  EXPECT_EQ(all[0].headers[0], (std::pair<std::string, std::string>{"content-type", "text/plain"}));
  EXPECT_EQ(all[0].headers[1], (std::pair<std::string, std::string>{"trace", bin_value}));
  for (size_t i = 0; i < 5; i++) {
    EXPECT_EQ(all[1 + i].key, keys[i]) << i;
    EXPECT_EQ(all[1 + i].payload, payloads[i]) << i;
    EXPECT_TRUE(all[1 + i].headers.empty());
    EXPECT_GE(all[1 + i].ts, before) << "timestamp 0 means the append time";
    EXPECT_LE(all[1 + i].ts, after) << "timestamp 0 means the append time";
  }
  EXPECT_EQ(all[6].ts, 99);
  EXPECT_EQ(all[6].payload, "seven");

  // max_records.
  ASSERT_TRUE(ss().Read("basic", 0, 3, 1 << 20, 0, &b).ok());
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.events[2].offset, 2u);
  EXPECT_EQ(b.next_offset, 3u);
  ASSERT_TRUE(ss().Read("basic", 2, 2, 1 << 20, 0, &b).ok());
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].offset, 2u);
  EXPECT_EQ(b.events[1].offset, 3u);
  EXPECT_EQ(b.next_offset, 4u);

  // max_bytes tiny: still one event.
  for (uint64_t from : {0u, 3u, 4u, 6u}) {
    ASSERT_TRUE(ss().Read("basic", from, 1000, 1, 0, &b).ok());
    ASSERT_EQ(b.events.size(), 1u) << from;
    EXPECT_EQ(b.events[0].offset, from);
    EXPECT_EQ(b.next_offset, from + 1);
  }
  // max_bytes: stops once reached (the last event may cross it), not before.
  ASSERT_TRUE(ss().Read("basic", 0, 1000, 100, 0, &b).ok());
  ASSERT_FALSE(b.events.empty());
  ASSERT_LT(b.events.size(), 7u);
  uint64_t sum = 0;
  for (const ReadEvent& e : b.events) sum += e.record_len;
  EXPECT_EQ(sum, b.bytes.size());
  EXPECT_LT(sum - b.events.back().record_len, 100u) << "an event was added after max_bytes was reached";
  EXPECT_GE(sum, 100u) << "the read stopped before max_bytes while events remained";
  EXPECT_EQ(b.next_offset, b.events.back().offset + 1);

  // At next_offset: empty; beyond: OutOfRange; empty append: InvalidArgument.
  ASSERT_TRUE(ss().Read("basic", 7, 1000, 1 << 20, 0, &b).ok());
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.next_offset, 7u);
  Status beyond = ss().Read("basic", 8, 1000, 1 << 20, 0, &b);
  EXPECT_EQ(beyond.code(), Status::Code::kOutOfRange) << beyond.ToString();
  Result<uint64_t> empty = ss().Append("basic", std::span<const EventIn>());
  EXPECT_EQ(empty.status().code(), Status::Code::kInvalidArgument) << empty.status().ToString();
  EXPECT_EQ(InfoOf("basic").next_offset, 7u);
  EXPECT_EQ(ss().Read("missing", 0, 10, 1 << 20, 0, &b).code(), Status::Code::kNotFound);
}

// Named limits refuse the whole append and leave the room unchanged.
TEST_F(StreamTest, LimitsRefuseWholeAppend) {
  ASSERT_EQ(Put("lim", "x"), 0u);
  std::string big(16384, 'b');  // encoded, it exceeds max_event_bytes
  EventIn e;
  e.payload = big;
  EXPECT_EQ(ss().Append("lim", std::span<const EventIn>(&e, 1)).status().code(), Status::Code::kTooLarge);

  std::string part(15000, 'p');  // 5 of these exceed max_append_bytes (64 KiB)
  std::vector<EventIn> five(5);
  for (EventIn& x : five) x.payload = part;
  EXPECT_EQ(ss().Append("lim", five).status().code(), Status::Code::kTooLarge);

  std::string key(2000, 'k');  // over max_key_bytes (1024)
  EventIn k;
  k.key = key;
  k.payload = "v";
  EXPECT_EQ(ss().Append("lim", std::span<const EventIn>(&k, 1)).status().code(), Status::Code::kTooLarge);

  std::vector<HeaderView> many(65, HeaderView{"h", "v"});  // over max_headers (64)
  EventIn h;
  h.headers = many;
  h.payload = "v";
  EXPECT_EQ(ss().Append("lim", std::span<const EventIn>(&h, 1)).status().code(), Status::Code::kTooLarge);
  // One good event and one bad in the same call: neither is appended.
  std::vector<EventIn> mixed(2);
  mixed[0].payload = "good";
  mixed[1].payload = big;
  EXPECT_EQ(ss().Append("lim", mixed).status().code(), Status::Code::kTooLarge);

  EXPECT_EQ(InfoOf("lim").next_offset, 1u);
  EXPECT_EQ(Put("lim", "y"), 1u);
  std::vector<Ev> all = ReadAll("lim");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].payload, "y");
}

// ---------------------------------------------------------------------------
// 2. Reads across many segment boundaries.
TEST_F(StreamTest, ReadsAcrossManySegments) {
  const uint64_t n = 3000;
  ASSERT_EQ(Fill("many", n, 500, [](uint64_t i) { return 1'000'000 + static_cast<int64_t>(i); }, 20), n);
  RoomInfo info = InfoOf("many");
  EXPECT_EQ(info.next_offset, n);
  EXPECT_EQ(info.earliest_offset, 0u);
  EXPECT_GT(info.segments, 10u);
  std::vector<uint64_t> bases = SegmentBases("many");
  EXPECT_EQ(bases.size(), info.segments);
  ASSERT_FALSE(bases.empty());
  EXPECT_EQ(bases.front(), 0u);

  // Everything from 0, in several chunk shapes.
  for (uint32_t chunk : {100000u, 37u, 1u << 10}) {
    std::vector<Ev> all = ReadAll("many", 0, chunk);
    ASSERT_EQ(all.size(), n) << "chunk " << chunk;
    for (uint64_t i = 0; i < n; i++) {
      ASSERT_EQ(all[i].offset, i);
      ASSERT_EQ(all[i].payload, PayloadFor(i, 500)) << i;
      ASSERT_EQ(all[i].ts, 1'000'000 + static_cast<int64_t>(i));
    }
  }
  // By bytes: 3000 bytes per read (about 5 events).
  std::vector<Ev> by_bytes = ReadAll("many", 0, 100000, 3000);
  ASSERT_EQ(by_bytes.size(), n);
  for (uint64_t i = 0; i < n; i++) ASSERT_EQ(by_bytes[i].offset, i);

  // From random offsets, and right at and around each segment's base.
  std::mt19937 rng(7);
  std::vector<uint64_t> starts;
  for (int i = 0; i < 120; i++) starts.push_back(rng() % n);
  for (uint64_t b : bases)
    for (int64_t d : {-1, 0, 1})
      if (static_cast<int64_t>(b) + d >= 0 && b + d < n) starts.push_back(b + d);
  EventBatch b;
  for (uint64_t from : starts) {
    uint32_t want = 1 + rng() % 300;
    ASSERT_TRUE(ss().Read("many", from, want, 64u << 20, 0, &b).ok());
    uint64_t expect = std::min<uint64_t>(want, n - from);
    ASSERT_EQ(b.events.size(), expect) << "from " << from;
    std::vector<Ev> got = Events(b);
    for (uint64_t i = 0; i < expect; i++) {
      ASSERT_EQ(got[i].offset, from + i);
      ASSERT_EQ(got[i].payload, PayloadFor(from + i, 500));
    }
    EXPECT_EQ(b.next_offset, from + expect);
  }
}

// A reader tails the room while a writer appends across segment rolls.
TEST_F(StreamTest, TailingReaderSeesEveryEventAcrossRolls) {
  const uint64_t n = 1500;
  ASSERT_TRUE(ss().CreateRoom("tail", "").ok());
  std::vector<Ev> seen;
  std::thread reader([&] {
    EventBatch b;
    uint64_t from = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (from < n && std::chrono::steady_clock::now() < deadline) {
      Status st = ss().Read("tail", from, 97, 1 << 20, 1000, &b);
      if (!st.ok()) {
        ADD_FAILURE() << st.ToString();
        return;
      }
      for (Ev& e : Events(b)) seen.push_back(std::move(e));
      from = b.next_offset;
    }
  });
  uint64_t end = Fill("tail", n, 500, [](uint64_t) { return 0; }, 4);
  reader.join();
  EXPECT_EQ(end, n);
  EXPECT_GT(InfoOf("tail").segments, 4u);
  ASSERT_EQ(seen.size(), n);
  for (uint64_t i = 0; i < n; i++) {
    ASSERT_EQ(seen[i].offset, i);
    ASSERT_EQ(seen[i].payload, PayloadFor(i, 500));
  }
}

// ---------------------------------------------------------------------------
// 5. Seek by time.
TEST_F(StreamTest, OffsetForTimeMonotonic) {
  const uint64_t n = 1500;
  const int64_t t0 = 1'600'000'000'000;
  auto ts_of = [&](uint64_t i) { return t0 + 10 * static_cast<int64_t>(i); };
  EXPECT_EQ(ss().OffsetForTime("mono", t0).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(ss().CreateRoom("mono", "").ok());
  Result<uint64_t> none = ss().OffsetForTime("mono", t0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u) << "an empty room: next_offset";
  ASSERT_EQ(Fill("mono", n, 400, ts_of, 8), n);
  ASSERT_GT(InfoOf("mono").segments, 3u);

  for (uint64_t i = 0; i < n; i += 11) {
    Result<uint64_t> exact = ss().OffsetForTime("mono", ts_of(i));
    Result<uint64_t> between = ss().OffsetForTime("mono", ts_of(i) - 7);
    ASSERT_TRUE(exact.ok() && between.ok());
    ASSERT_EQ(*exact, i) << "ts " << ts_of(i);
    ASSERT_EQ(*between, i) << "ts " << ts_of(i) - 7;
  }
  EXPECT_EQ(*ss().OffsetForTime("mono", INT64_MIN), 0u);
  EXPECT_EQ(*ss().OffsetForTime("mono", 0), 0u);
  EXPECT_EQ(*ss().OffsetForTime("mono", ts_of(n - 1) + 1), n) << "beyond every event: next_offset";
  EXPECT_EQ(*ss().OffsetForTime("mono", INT64_MAX), n);
  EXPECT_EQ(Put("mono", "later", "", ts_of(n)), n);
  EXPECT_EQ(*ss().OffsetForTime("mono", ts_of(n - 1) + 1), n);
  EXPECT_EQ(*ss().OffsetForTime("mono", ts_of(n) + 1), n + 1);
}

// Out-of-order timestamps: still "the first offset whose timestamp is >= ts"
// (room.h), thanks to the indexes' running maximum.
TEST_F(StreamTest, OffsetForTimeOutOfOrder) {
  const uint64_t n = 1200;
  const int64_t t0 = 1'600'000'000'000;
  auto ts_of = [&](uint64_t i) -> int64_t {
    int64_t t = t0 + 10 * static_cast<int64_t>(i);
    if (i % 17 == 5) t -= 4000;                  // late arrivals
    if (i == 300) t = t0 + 10 * 700;             // one from the future
    if (i == 900) t = t0 + 10 * 1100 + 3;        // another
    return t;
  };
  ASSERT_EQ(Fill("ooo", n, 400, ts_of, 5), n);
  auto brute = [&](int64_t target) {
    for (uint64_t i = 0; i < n; i++)
      if (ts_of(i) >= target) return i;
    return n;
  };
  std::set<int64_t> targets;
  for (uint64_t i = 0; i < n; i += 13) targets.insert({ts_of(i), ts_of(i) - 3, ts_of(i) + 1});
  for (uint64_t i = 5; i < n; i += 17 * 7) targets.insert({ts_of(i), ts_of(i) + 1});  // the late arrivals
  for (int64_t t : {t0 + 10 * 700, t0 + 10 * 700 - 1, t0 + 10 * 700 + 1, t0 + 10 * 1100 + 2})
    targets.insert(t);
  for (int64_t t : targets) {
    Result<uint64_t> o = ss().OffsetForTime("ooo", t);
    ASSERT_TRUE(o.ok());
    ASSERT_EQ(*o, brute(t)) << "target " << t - t0;
  }
  Reopen();  // the same from the index files
  for (int64_t t : targets) ASSERT_EQ(*ss().OffsetForTime("ooo", t), brute(t)) << "after reopen, target " << t - t0;
}

// ---------------------------------------------------------------------------
// 6. Blocking reads.
TEST_F(StreamTest, BlockingReadWakesOnAppend) {
  ASSERT_EQ(Put("wait", "first"), 0u);
  EventBatch b;
  Status st;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration took{};
  std::thread reader([&] {
    st = ss().Read("wait", 1, 10, 1 << 20, 5000, &b);
    took = std::chrono::steady_clock::now() - t0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Put("wait", "second"), 1u);
  reader.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<Ev> got = Events(b);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset, 1u);
  EXPECT_EQ(got[0].payload, "second");
  EXPECT_EQ(b.next_offset, 2u);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 4000);
}

// Deleting the room ends a blocking read on it at once.
TEST_F(StreamTest, DeleteRoomEndsBlockingRead) {
  ASSERT_EQ(Put("gone", "x"), 0u);
  EventBatch b;
  Status st;
  auto t0 = std::chrono::steady_clock::now();
  int64_t took_ms = 0;
  std::thread reader([&] {
    st = ss().Read("gone", 1, 10, 1 << 20, 5000, &b);
    took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(ss().DeleteRoom("gone").ok());
  reader.join();
  EXPECT_LT(took_ms, 4000) << "the read waited out its wait_ms on a deleted room";
  EXPECT_TRUE(b.events.empty());
  EXPECT_TRUE(st.ok() || st.code() == Status::Code::kClosed) << st.ToString();
  EXPECT_FALSE(fs::exists(RoomDir("gone")));
}

TEST_F(StreamTest, BlockingReadTimesOutEmpty) {
  ASSERT_EQ(Put("idle", "x"), 0u);
  EventBatch b;
  auto t0 = std::chrono::steady_clock::now();
  Status st = ss().Read("idle", 1, 10, 1 << 20, 200, &b);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.next_offset, 1u);
  EXPECT_GE(ms, 190);
  EXPECT_LT(ms, 4000);
}

// ---------------------------------------------------------------------------
// 9. Consumer groups.
TEST_F(StreamTest, ConsumerGroupCommits) {
  ASSERT_EQ(Fill("cg", 20, 50, [](uint64_t) { return 0; }), 20u);
  ASSERT_EQ(Fill("cg2", 5, 50, [](uint64_t) { return 0; }), 5u);

  EXPECT_EQ(ss().CommittedOffset("g1", "cg").status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(ss().CommitOffset("g1", "cg", 5).ok());
  EXPECT_EQ(*ss().CommittedOffset("g1", "cg"), 5u);
  ASSERT_TRUE(ss().CommitOffset("g1", "cg", 12).ok());
  EXPECT_EQ(*ss().CommittedOffset("g1", "cg"), 12u) << "the later commit wins";
  ASSERT_TRUE(ss().CommitOffset("g1", "cg", 3).ok());  // moving back is allowed
  EXPECT_EQ(*ss().CommittedOffset("g1", "cg"), 3u);
  ASSERT_TRUE(ss().CommitOffset("g1", "cg2", 5).ok());  // the end itself is fine
  ASSERT_TRUE(ss().CommitOffset("g2", "cg", 20).ok());
  EXPECT_EQ(ss().CommittedOffset("g2", "cg2").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().CommittedOffset("g3", "cg").status().code(), Status::Code::kNotFound);

  EXPECT_EQ(ss().CommitOffset("g1", "cg", 21).code(), Status::Code::kOutOfRange);
  EXPECT_EQ(ss().CommitOffset("g1", "nope", 0).code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().CommitOffset("", "cg", 1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ss().CommitOffset(std::string(256, 'g'), "cg", 1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ss().CommitOffset(std::string("a\0b", 3), "cg", 1).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(ss().CommitOffset(std::string(255, 'g'), "cg", 1).ok());
  EXPECT_EQ(*ss().CommittedOffset("g1", "cg"), 3u) << "failed commits change nothing";

  auto check = [&](const char* when) {
    std::vector<GroupOffset> g1 = *ss().GroupOffsets("g1");
    ASSERT_EQ(g1.size(), 2u) << when;
    std::map<std::string, GroupOffset> by_room;
    for (const GroupOffset& g : g1) {
      EXPECT_EQ(g.group, "g1");
      by_room[g.room] = g;
    }
    EXPECT_EQ(by_room["cg"].committed, 3u) << when;
    EXPECT_EQ(by_room["cg"].next_offset, 20u) << when;
    EXPECT_EQ(by_room["cg"].lag, 17u) << when;
    EXPECT_EQ(by_room["cg2"].committed, 5u) << when;
    EXPECT_EQ(by_room["cg2"].lag, 0u) << when;
    std::vector<GroupOffset> g2 = *ss().GroupOffsets("g2");
    ASSERT_EQ(g2.size(), 1u) << when;
    EXPECT_EQ(g2[0].committed, 20u);
    EXPECT_EQ(g2[0].lag, 0u);
    EXPECT_EQ(ss().GroupOffsets("")->size(), 4u) << when;
    EXPECT_TRUE(ss().GroupOffsets("nobody")->empty());
  };
  check("before reopen");
  Reopen();
  EXPECT_EQ(*ss().CommittedOffset("g1", "cg"), 3u);
  EXPECT_EQ(*ss().CommittedOffset("g2", "cg"), 20u);
  check("after reopen");
  // Lag follows appends.
  Put("cg", "more");
  std::vector<GroupOffset> g2 = *ss().GroupOffsets("g2");
  ASSERT_EQ(g2.size(), 1u);
  EXPECT_EQ(g2[0].lag, 1u);
}

// DeleteRoom drops the room's commits; they must not come back at the next open.
TEST_F(StreamTest, DeletedRoomCommitsStayGone) {
  ASSERT_EQ(Fill("doomed", 10, 50, [](uint64_t) { return 0; }), 10u);
  ASSERT_TRUE(ss().CommitOffset("g", "doomed", 7).ok());
  ASSERT_TRUE(ss().DeleteRoom("doomed").ok());
  EXPECT_EQ(ss().CommittedOffset("g", "doomed").status().code(), Status::Code::kNotFound);
  Reopen();
  Result<uint64_t> c = ss().CommittedOffset("g", "doomed");
  EXPECT_EQ(c.status().code(), Status::Code::kNotFound)
      << "a deleted room's commit came back after reopen: offset " << (c.ok() ? std::to_string(*c) : "");
  EXPECT_TRUE(ss().GroupOffsets("g")->empty());
}

// CommitOffsetAsync: done once durable, in the order issued (the last one
// issued wins); DeleteCommit(Async) forgets a commit, also across a reopen.
TEST_F(StreamTest, AsyncCommitsAndDeletedCommits) {
  ASSERT_EQ(Fill("ac", 10, 50, [](uint64_t) { return 0; }), 10u);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  auto cb = [&](Status st) {
    std::lock_guard lk(mu);
    done++;
    failed += st.ok() ? 0 : 1;
    cv.notify_all();
  };
  auto wait = [&](int n) {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return done >= n; })) << done << " of " << n;
  };
  // Refused before logging: no callback.
  EXPECT_EQ(ss().CommitOffsetAsync("g", "ac", 11, cb).code(), Status::Code::kOutOfRange);
  EXPECT_EQ(ss().CommitOffsetAsync("g", "nope", 0, cb).code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().CommitOffsetAsync("", "ac", 0, cb).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ss().DeleteCommit("g", "ac").code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().DeleteCommitAsync("g", "ac", cb).code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().DeleteCommit("g", "../x").code(), Status::Code::kInvalidArgument);
  const uint64_t offsets[] = {3, 9, 10, 7};
  for (uint64_t o : offsets) ASSERT_TRUE(ss().CommitOffsetAsync("g", "ac", o, cb).ok());
  wait(4);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(done, 4) << "refused calls never call back";
  EXPECT_EQ(*ss().CommittedOffset("g", "ac"), 7u) << "the last commit issued wins";

  ASSERT_TRUE(ss().CommitOffset("gone", "ac", 5).ok());
  ASSERT_TRUE(ss().DeleteCommit("gone", "ac").ok());
  EXPECT_EQ(ss().CommittedOffset("gone", "ac").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().DeleteCommit("gone", "ac").code(), Status::Code::kNotFound);
  ASSERT_TRUE(ss().CommitOffset("gone2", "ac", 6).ok());
  ASSERT_TRUE(ss().DeleteCommitAsync("gone2", "ac", cb).ok());
  wait(5);
  EXPECT_EQ(ss().CommittedOffset("gone2", "ac").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().GroupOffsets("")->size(), 1u) << "only g's commit is listed";
  Reopen();
  EXPECT_EQ(*ss().CommittedOffset("g", "ac"), 7u);
  EXPECT_EQ(ss().CommittedOffset("gone", "ac").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().CommittedOffset("gone2", "ac").status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(ss().CommitOffset("gone", "ac", 2).ok()) << "a deleted group starts afresh";
  EXPECT_EQ(*ss().CommittedOffset("gone", "ac"), 2u);
}

// ---------------------------------------------------------------------------
// 10. Topics.
TEST_F(StreamTest, TopicsPartitionByKey) {
  ASSERT_TRUE(ss().CreateTopic("orders", 4, "").ok());
  EXPECT_EQ(ss().CreateTopic("orders", 4, "").code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(ss().CreateTopic("orders", 2, "").code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(ss().CreateTopic("zero", 0, "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ss().CreateTopic("../t", 2, "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*ss().TopicPartitions("orders"), 4u);
  EXPECT_EQ(ss().TopicPartitions("nope").status().code(), Status::Code::kNotFound);
  EventIn none;
  none.payload = "x";
  EXPECT_EQ(ss().Produce("nope", none).status().code(), Status::Code::kNotFound);
  std::vector<std::string> rooms = ss().ListRooms();
  for (int p = 0; p < 4; p++) {
    std::string r = "orders-" + std::to_string(p);
    EXPECT_EQ(StreamStore::PartitionRoom("orders", p), r);
    EXPECT_TRUE(std::count(rooms.begin(), rooms.end(), r)) << r;
    EXPECT_TRUE(fs::is_directory(RoomDir(r))) << r;
  }
  EXPECT_FALSE(fs::exists(RoomDir("orders-4")));
  ASSERT_TRUE(ss().CreateTopic("audit", 2, "retention_bytes=1000000;cleanup=compact,delete").ok());
  for (uint32_t p = 0; p < 2; p++) {
    RoomInfo info = InfoOf(StreamStore::PartitionRoom("audit", p));
    EXPECT_EQ(info.settings.retention_bytes, 1000000u) << "a topic's settings apply to its partitions";
    EXPECT_EQ(info.settings.cleanup, Cleanup::kCompactDelete);
  }
  EXPECT_EQ(ss().CreateTopic("bad", 2, "segment_bytes=1000").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ss().TopicPartitions("bad").status().code(), Status::Code::kNotFound) << "a refused topic is not logged";
  EXPECT_FALSE(fs::exists(RoomDir("bad-0")));

  std::map<std::string, uint32_t> part_of;
  std::map<uint32_t, uint64_t> count;
  std::set<uint32_t> used;
  for (int round = 0; round < 5; round++) {
    for (int k = 0; k < 40; k++) {
      std::string key = "customer-" + std::to_string(k), payload = key + "/" + std::to_string(round);
      EventIn e;
      e.key = key;
      e.payload = payload;
      Result<std::pair<uint32_t, uint64_t>> r = ss().Produce("orders", e);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_LT(r->first, 4u);
      if (round == 0) part_of[key] = r->first;
      EXPECT_EQ(r->first, part_of[key]) << "the same key lands in the same partition";
      EXPECT_EQ(r->second, count[r->first]++) << "offsets are per partition";
      used.insert(r->first);
      EventBatch b;
      ASSERT_TRUE(ss().Read(StreamStore::PartitionRoom("orders", r->first), r->second, 1, 1 << 20, 0, &b).ok());
      std::vector<Ev> got = Events(b);
      ASSERT_EQ(got.size(), 1u);
      EXPECT_EQ(got[0].key, key);
      EXPECT_EQ(got[0].payload, payload);
    }
  }
  EXPECT_GE(used.size(), 2u) << "40 keys all hashed to one partition";
  std::map<uint32_t, int> keyless;
  for (int i = 0; i < 40; i++) {
    EventIn e;
    e.payload = "nokey";
    Result<std::pair<uint32_t, uint64_t>> r = ss().Produce("orders", e);
    ASSERT_TRUE(r.ok());
    keyless[r->first]++;
    EXPECT_EQ(r->second, count[r->first]++);
  }
  ASSERT_EQ(keyless.size(), 4u) << "keyless events spread over every partition";
  for (const auto& [p, c] : keyless) EXPECT_EQ(c, 10) << "round robin, partition " << p;
  for (uint32_t p = 0; p < 4; p++) EXPECT_EQ(InfoOf(StreamStore::PartitionRoom("orders", p)).next_offset, count[p]);

  Reopen();
  Result<uint32_t> parts = ss().TopicPartitions("orders");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(*parts, 4u);
  auto topics = ss().ListTopics();
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0], (std::pair<std::string, uint32_t>{"audit", 2}));
  EXPECT_EQ(topics[1], (std::pair<std::string, uint32_t>{"orders", 4}));
  EXPECT_EQ(ss().TopicPartitions("bad").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().CreateTopic("orders", 4, "").code(), Status::Code::kAlreadyExists);
  for (uint32_t p = 0; p < 4; p++) EXPECT_EQ(InfoOf(StreamStore::PartitionRoom("orders", p)).next_offset, count[p]);
  EventIn e;
  e.key = "customer-7";
  e.payload = "after reopen";
  Result<std::pair<uint32_t, uint64_t>> r = ss().Produce("orders", e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, part_of["customer-7"]);
  EXPECT_EQ(r->second, count[r->first]);
}

// ---------------------------------------------------------------------------
// 11. Room names become directory names: bad ones are refused everywhere.
TEST_F(StreamTest, BadRoomNamesAreRefused) {
  auto listing = [](const std::string& d) {
    std::set<std::string> out;
    for (const auto& de : fs::directory_iterator(d)) out.insert(de.path().filename().string());
    return out;
  };
  std::set<std::string> data_before = listing(dir_);
  std::set<std::string> parent_before = listing(fs::path(dir_).parent_path().string());
  std::vector<std::string> bad = {"",    "../x",         "a/b",    "..",          ".hidden",
                                  "__meta", std::string("a\nb"), std::string(201, 'r'), "a..b", "with space",
                                  std::string("nul\0x", 5), "/abs", "x/../../y", "\xc3\xa9t\xc3\xa9", "__x", "."};
  EventIn e;
  e.payload = "p";
  EventBatch b;
  for (const std::string& name : bad) {
    std::string shown = ::testing::PrintToString(name);
    EXPECT_EQ(ss().CreateRoom(name, "").code(), Status::Code::kInvalidArgument) << shown;
    EXPECT_EQ(ss().Append(name, std::span<const EventIn>(&e, 1)).status().code(), Status::Code::kInvalidArgument)
        << shown;
    EXPECT_EQ(ss().Read(name, 0, 10, 1 << 20, 0, &b).code(), Status::Code::kInvalidArgument) << shown;
  }
  EXPECT_EQ(listing(dir_), data_before) << "something was created in the data directory";
  EXPECT_EQ(listing(StreamsDir()), (std::set<std::string>{"__meta"})) << "something was created under streams/";
  std::set<std::string> parent_after = listing(fs::path(dir_).parent_path().string());
  for (const char* n : {"x", "y", "b"}) EXPECT_FALSE(parent_after.count(n) && !parent_before.count(n)) << n;

  // The limits themselves are fine.
  for (const std::string& good : {std::string(200, 'r'), std::string("A-b_c.1:2"), std::string("x.y")}) {
    EXPECT_TRUE(ss().CreateRoom(good, "").ok()) << good;
    EXPECT_TRUE(fs::is_directory(RoomDir(good))) << good;
  }
}

// Bad settings create nothing; good ones are kept in the room and survive reopen.
TEST_F(StreamTest, RoomSettingsValidatedAndKept) {
  for (const char* s : {"segment_bytes=1000", "nonsense=1", "cleanup=bogus", "retention_ms=-1", "fsync=sometimes",
                        "segment_bytes"}) {
    EXPECT_EQ(ss().CreateRoom("cfg", s).code(), Status::Code::kInvalidArgument) << s;
    EXPECT_FALSE(fs::exists(RoomDir("cfg"))) << s;
  }
  ASSERT_TRUE(ss().CreateRoom("cfg", "retention_bytes=500000;retention_ms=60000 cleanup=compact,delete").ok());
  RoomInfo info = InfoOf("cfg");
  EXPECT_EQ(info.settings.retention_bytes, 500000u);
  EXPECT_EQ(info.settings.retention_ms, 60000u);
  EXPECT_EQ(info.settings.cleanup, Cleanup::kCompactDelete);
  EXPECT_EQ(info.settings.segment_bytes, 131072u) << "the store's default";
  Reopen();
  info = InfoOf("cfg");
  EXPECT_EQ(info.settings.retention_bytes, 500000u);
  EXPECT_EQ(info.settings.retention_ms, 60000u);
  EXPECT_EQ(info.settings.cleanup, Cleanup::kCompactDelete);
}

// A room refused for its settings leaves nothing behind that would stop the
// next open.
TEST_F(StreamTest, RefusedRoomLeavesNothingBehind) {
  Status st = ss().CreateRoom("tiny", "segment_bytes=1000");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  std::vector<std::string> rooms = ss().ListRooms();
  EXPECT_EQ(std::count(rooms.begin(), rooms.end(), "tiny"), 0);
  EXPECT_FALSE(fs::exists(RoomDir("tiny"))) << "a refused room left its directory";
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  Result<std::unique_ptr<db::Database>> r = db::Database::Open(dir_, opts_);
  ASSERT_TRUE(r.ok()) << "the database no longer opens: " << r.status().ToString();
  db_ = std::move(*r);
}

// A room whose segments are smaller than max_append_bytes + 8 KiB takes
// smaller appends (a batch must fit in one segment) and works otherwise.
TEST_F(StreamTest, SmallSegmentRoomCapsAppendSize) {
  ASSERT_TRUE(ss().CreateRoom("narrow", "segment_bytes=65536").ok());
  std::string part(15000, 'p');
  std::vector<EventIn> four(4), three(3);
  for (EventIn& e : four) e.payload = part;
  for (EventIn& e : three) e.payload = part;
  EXPECT_EQ(ss().Append("narrow", four).status().code(), Status::Code::kTooLarge) << "60 KB cannot fit a 64 KiB segment";
  uint64_t next = 0;
  for (int i = 0; i < 12; i++) {
    Result<uint64_t> r = ss().Append("narrow", three);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, next);
    next += 3;
  }
  EXPECT_GE(InfoOf("narrow").segments, 6u);
  Reopen();
  EXPECT_EQ(InfoOf("narrow").next_offset, next);
  std::vector<Ev> all = ReadAll("narrow");
  ASSERT_EQ(all.size(), next);
  for (const Ev& e : all) EXPECT_EQ(e.payload, part);
}

// An append refused for its events does not create the room it names.
TEST_F(StreamTest, RefusedAppendCreatesNoRoom) {
  EXPECT_EQ(ss().Append("fresh", std::span<const EventIn>()).status().code(), Status::Code::kInvalidArgument);
  std::string big(20000, 'b');
  EventIn e;
  e.payload = big;
  EXPECT_EQ(ss().Append("fresh", std::span<const EventIn>(&e, 1)).status().code(), Status::Code::kTooLarge);
  std::vector<std::string> rooms = ss().ListRooms();
  EXPECT_EQ(std::count(rooms.begin(), rooms.end(), "fresh"), 0);
  EXPECT_FALSE(fs::exists(RoomDir("fresh")));
  EXPECT_EQ(Put("fresh", "ok"), 0u);
}

// A power cut between a room's directory and its ROOM file (CreateLocked's
// order) leaves a directory with no ROOM and no segment: the next open
// removes it, so a retried create gets the settings it asks for. A room
// that holds segments but lost its ROOM file is kept, with the defaults.
TEST_F(StreamTest, RoomDirectoryWithoutRoomFileOrSegmentsIsACutShortCreate) {
  CloseDb();
  fs::create_directories(RoomDir("half"));
  { std::ofstream(RoomDir("half") + "/ROOM.tmp") << "retention_bytes=1"; }
  Open();
  EXPECT_FALSE(fs::exists(RoomDir("half")));
  std::vector<std::string> rooms = ss().ListRooms();
  EXPECT_EQ(std::count(rooms.begin(), rooms.end(), "half"), 0);
  ASSERT_TRUE(ss().CreateRoom("half", "retention_bytes=123456").ok());
  ASSERT_EQ(Put("kept", "x"), 0u);
  CloseDb();
  fs::remove(RoomDir("kept") + "/ROOM");
  Open();
  std::vector<Ev> all = ReadAll("kept");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].payload, "x");
  EXPECT_TRUE(fs::exists(RoomDir("half") + "/ROOM"));
}

// ---------------------------------------------------------------------------
// 13. Create and delete.
TEST_F(StreamTest, CreateAndDeleteRooms) {
  ASSERT_TRUE(ss().CreateRoom("r1", "").ok());
  EXPECT_EQ(ss().CreateRoom("r1", "").code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(ss().CreateRoom("r1", "retention_bytes=1").code(), Status::Code::kAlreadyExists);
  ASSERT_EQ(Fill("r1", 600, 500, [](uint64_t) { return 0; }, 10), 600u);
  ASSERT_TRUE(ss().CreateRoom("r2", "").ok());
  EXPECT_TRUE(fs::exists(RoomDir("r1") + "/ROOM"));
  EXPECT_EQ(ss().ListRooms(), (std::vector<std::string>{"r1", "r2"}));

  ASSERT_TRUE(ss().DeleteRoom("r1").ok());
  EXPECT_EQ(ss().ListRooms(), (std::vector<std::string>{"r2"}));
  EXPECT_FALSE(fs::exists(RoomDir("r1")));
  for (const auto& de : fs::directory_iterator(StreamsDir()))
    EXPECT_NE(de.path().filename().string().rfind(".deleted", 0), 0u) << de.path();
  EventBatch b;
  EXPECT_EQ(ss().Read("r1", 0, 10, 1 << 20, 0, &b).code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().Info("r1").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().DeleteRoom("r1").code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().DeleteRoom("never").code(), Status::Code::kNotFound);
  EXPECT_EQ(ss().DeleteRoom("../x").code(), Status::Code::kInvalidArgument);

  // The name is free again, from offset 0.
  EXPECT_EQ(Put("r1", "reborn"), 0u);
  std::vector<Ev> all = ReadAll("r1");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].payload, "reborn");
  ASSERT_TRUE(ss().DeleteRoom("r2").ok());
  Reopen();
  EXPECT_EQ(ss().ListRooms(), (std::vector<std::string>{"r1"}));
  EXPECT_EQ(InfoOf("r1").next_offset, 1u);
}

// auto_create off: appending to a missing room is NotFound and creates nothing.
TEST_F(StreamTest, AutoCreateOff) {
  CloseDb();
  opts_.stream.auto_create = false;
  Open();
  EventIn e;
  e.payload = "p";
  EXPECT_EQ(ss().Append("ghost", std::span<const EventIn>(&e, 1)).status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(fs::exists(RoomDir("ghost")));
  ASSERT_TRUE(ss().CreateRoom("ghost", "").ok());
  EXPECT_EQ(Put("ghost", "p"), 0u);
}

// ---------------------------------------------------------------------------
// 14. Concurrent appends from 8 threads to 16 rooms, fsync=always.
TEST_F(StreamTest, ConcurrentAppendsManyRooms) {
  const int kRooms = 16, kThreads = 8, kPerRoom = 12;
  auto room = [](int r) { return "room-" + std::to_string(r); };
  for (int r = 0; r < kRooms; r++) ASSERT_TRUE(ss().CreateRoom(room(r), "fsync=always").ok());
  struct Done {
    int room;
    uint64_t first;
    std::vector<std::string> payloads;
  };
  std::vector<std::vector<Done>> done(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kPerRoom; j++) {
        for (int i = 0; i < kRooms; i++) {
          int r = (i + t * 3) % kRooms;
          int count = 1 + (j + t) % 3;
          Done d{r, 0, {}};
          for (int c = 0; c < count; c++)
            d.payloads.push_back("t" + std::to_string(t) + "-j" + std::to_string(j) + "-c" + std::to_string(c) +
                                 std::string(100 + 37 * c, 'x'));
          std::vector<EventIn> batch(count);
          for (int c = 0; c < count; c++) batch[c].payload = d.payloads[c];
          Result<uint64_t> res = ss().Append(room(r), batch);
          if (!res.ok()) {
            ADD_FAILURE() << res.status().ToString();
            return;
          }
          d.first = *res;
          done[t].push_back(std::move(d));
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  auto verify = [&](const char* when) {
    std::vector<std::map<uint64_t, std::string>> expect(kRooms);
    for (const auto& v : done)
      for (const Done& d : v)
        for (size_t c = 0; c < d.payloads.size(); c++)
          EXPECT_TRUE(expect[d.room].emplace(d.first + c, d.payloads[c]).second)
              << when << ": offset " << d.first + c << " of " << room(d.room) << " handed out twice";
    for (int r = 0; r < kRooms; r++) {
      uint64_t total = expect[r].size();
      ASSERT_FALSE(expect[r].empty());
      EXPECT_EQ(expect[r].begin()->first, 0u);
      EXPECT_EQ(expect[r].rbegin()->first, total - 1) << when << ": offsets of " << room(r) << " are not contiguous";
      EXPECT_EQ(InfoOf(room(r)).next_offset, total) << when;
      std::vector<Ev> all = ReadAll(room(r));
      ASSERT_EQ(all.size(), total) << when;
      for (const Ev& e : all) ASSERT_EQ(e.payload, expect[r][e.offset]) << when << ": " << room(r) << "@" << e.offset;
    }
  };
  verify("after the appends");
  Reopen();
  verify("after reopen");
}

// ---------------------------------------------------------------------------
// Appends to many rooms share the engine's group committer: one submission
// carries requests for several rooms' files.
class FileCountingBackend final : public testing::ForwardingBackend {
 public:
  explicit FileCountingBackend(io::IoBackend* to) : ForwardingBackend(to) {}
  void prepare(const io::WriteRequest& r) override {
    files_.insert(r.file);
    ForwardingBackend::prepare(r);
  }
  Status submit_and_wait(unsigned n, int64_t timeout_us, std::vector<io::Completion>* out) override {
    max_files = std::max(max_files.load(), files_.size());
    files_.clear();
    return ForwardingBackend::submit_and_wait(n, timeout_us, out);
  }
  std::atomic<size_t> max_files{0};

 private:
  std::set<io::FileHandle> files_;  // submitter thread only
};

TEST_F(StreamTest, OneSubmissionCarriesManyRooms) {
  std::string reason;
  auto real = io::OpenBackend(io::BackendKind::kAuto, 64, &reason);
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  FileCountingBackend* counting = nullptr;
  opts_.make_backend = [&] {
    auto b = std::make_unique<FileCountingBackend>(real->get());
    counting = b.get();
    return b;
  };
  Reopen();
  ASSERT_NE(counting, nullptr);
  std::vector<std::thread> producers;
  for (int t = 0; t < 8; t++)
    producers.emplace_back([&, t] {
      std::string room = "fan-" + std::to_string(t);
      for (int i = 0; i < 300; i++) ASSERT_TRUE(ss().Append(room, std::vector<EventIn>(1, EventIn{{}, {}, "e", 0})).ok());
    });
  for (auto& p : producers) p.join();
  EXPECT_GE(counting->max_files.load(), 2u) << "no submission carried requests for more than one room's file";
  CloseDb();  // before the real backend goes
}

// OnReadable: at once when readable, else on the append's acknowledgement,
// and false when the room goes away first.
TEST_F(StreamTest, OnReadableFiresOnAppendAndOnDelete) {
  ASSERT_EQ(Put("nr", "a"), 0u);
  std::atomic<int> now{-1}, later{-1}, gone{-1};
  ASSERT_TRUE(ss().OnReadable("nr", 0, [&](bool r) { now = r; }).ok());
  EXPECT_EQ(now.load(), 1);
  ASSERT_TRUE(ss().OnReadable("nr", 1, [&](bool r) { later = r; }).ok());
  ASSERT_TRUE(ss().OnReadable("nr", 5, [&](bool r) { gone = r; }).ok());
  EXPECT_EQ(later.load(), -1);
  EXPECT_EQ(ss().Info("nr")->readable_waiters, 2u);
  ASSERT_EQ(Put("nr", "b"), 1u);
  for (int i = 0; i < 500 && later.load() == -1; i++) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(later.load(), 1);
  EXPECT_EQ(gone.load(), -1);
  EXPECT_EQ(ss().Info("nr")->readable_waiters, 1u);
  ASSERT_TRUE(ss().DeleteRoom("nr").ok());
  EXPECT_EQ(gone.load(), 0);
  EXPECT_EQ(ss().OnReadable("../x", 0, [](bool) {}).status().code(), Status::Code::kInvalidArgument);
}

// CancelReadable: true means the callback never runs; false that it ran (or
// never existed). Handles are unique across rooms.
TEST_F(StreamTest, CancelReadableStopsTheCallback) {
  ASSERT_EQ(Put("cr", "a"), 0u);
  ASSERT_EQ(Put("cr2", "a"), 0u);
  std::atomic<int> calls{0};
  Result<uint64_t> h1 = ss().OnReadable("cr", 1, [&](bool) { calls++; });
  Result<uint64_t> h2 = ss().OnReadable("cr2", 1, [&](bool) { calls++; });
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_NE(*h1, *h2);
  EXPECT_TRUE(ss().CancelReadable(*h1));
  EXPECT_FALSE(ss().CancelReadable(*h1)) << "a second cancel finds nothing";
  EXPECT_EQ(ss().Info("cr")->readable_waiters, 0u);
  ASSERT_EQ(Put("cr", "b"), 1u);
  ASSERT_EQ(Put("cr2", "b"), 1u);
  for (int i = 0; i < 500 && calls.load() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(calls.load(), 1) << "only the one not cancelled ran";
  EXPECT_FALSE(ss().CancelReadable(*h2)) << "it ran";
  Result<uint64_t> at_once = ss().OnReadable("cr", 0, [&](bool) { calls++; });
  ASSERT_TRUE(at_once.ok());
  EXPECT_FALSE(ss().CancelReadable(*at_once)) << "it ran at once";
  EXPECT_FALSE(ss().CancelReadable(987654321));
  EXPECT_EQ(calls.load(), 2);
}

// A room that does not exist yet is waited for: its creation (an append or
// CreateRoom) moves the registration to it, and an event at `from` wakes it.
TEST_F(StreamTest, OnReadableWaitsForAMissingRoom) {
  std::atomic<int> by_append{-1}, by_create{-1}, cancelled{-1}, at_close{-1};
  ASSERT_TRUE(ss().OnReadable("later", 0, [&](bool r) { by_append = r; }).ok());
  ASSERT_TRUE(ss().OnReadable("made", 0, [&](bool r) { by_create = r; }).ok());
  Result<uint64_t> c = ss().OnReadable("made", 0, [&](bool r) { cancelled = r; });
  ASSERT_TRUE(ss().OnReadable("never", 0, [&](bool r) { at_close = r; }).ok());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(ss().CancelReadable(*c)) << "an awaiting registration cancels";
  EXPECT_EQ(ss().Info("later").status().code(), Status::Code::kNotFound) << "waiting creates nothing";

  ASSERT_EQ(Put("later", "x"), 0u);
  for (int i = 0; i < 500 && by_append.load() == -1; i++) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(by_append.load(), 1);

  ASSERT_TRUE(ss().CreateRoom("made", "").ok());
  EXPECT_EQ(by_create.load(), -1) << "an empty new room has no event at 0 yet";
  EXPECT_EQ(ss().Info("made")->readable_waiters, 1u) << "the registration moved to the room";
  ASSERT_EQ(Put("made", "y"), 0u);
  for (int i = 0; i < 500 && by_create.load() == -1; i++) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(by_create.load(), 1);
  EXPECT_EQ(cancelled.load(), -1);

  // Deleted while waited on: false, and a new registration waits for the next room of that name.
  std::atomic<int> deleted{-1}, successor{-1};
  ASSERT_TRUE(ss().OnReadable("made", 5, [&](bool r) { deleted = r; }).ok());
  ASSERT_TRUE(ss().DeleteRoom("made").ok());
  EXPECT_EQ(deleted.load(), 0);
  ASSERT_TRUE(ss().OnReadable("made", 0, [&](bool r) { successor = r; }).ok());
  ASSERT_EQ(Put("made", "z"), 0u);
  for (int i = 0; i < 500 && successor.load() == -1; i++) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(successor.load(), 1);

  EXPECT_EQ(at_close.load(), -1);
  CloseDb();
  EXPECT_EQ(at_close.load(), 0) << "the close answers what still waits for a room";
}

// Room::kMaxReadableWaiters registrations on one room, then Busy (the
// callback not called); a cancel makes room for one more.
TEST_F(StreamTest, ReadableWaitersAreLimitedPerRoom) {
  ASSERT_EQ(Put("lim", "a"), 0u);
  std::atomic<int> calls{0};
  uint64_t first = 0;
  for (size_t i = 0; i < Room::kMaxReadableWaiters; i++) {
    Result<uint64_t> h = ss().OnReadable("lim", 1, [&](bool) { calls++; });
    ASSERT_TRUE(h.ok()) << i << ": " << h.status().ToString();
    if (i == 0) first = *h;
  }
  EXPECT_EQ(ss().Info("lim")->readable_waiters, Room::kMaxReadableWaiters);
  Result<uint64_t> over = ss().OnReadable("lim", 1, [&](bool) { calls += 1000; });
  EXPECT_EQ(over.status().code(), Status::Code::kBusy);
  EXPECT_NE(over.status().message().find(std::to_string(Room::kMaxReadableWaiters)), std::string::npos)
      << over.status().message();
  EXPECT_TRUE(ss().OnReadable("other", 1, [](bool) {}).ok()) << "other rooms have their own limit";
  ASSERT_TRUE(ss().CancelReadable(first));
  EXPECT_TRUE(ss().OnReadable("lim", 1, [&](bool) { calls++; }).ok());
  ASSERT_EQ(Put("lim", "b"), 1u);
  for (int i = 0; i < 1000 && calls.load() < static_cast<int>(Room::kMaxReadableWaiters); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(calls.load(), static_cast<int>(Room::kMaxReadableWaiters)) << "each ran once; the refused one never";
  EXPECT_EQ(ss().Info("lim")->readable_waiters, 0u);
}

// StreamStore::kMaxAwaitingWaiters registrations on rooms that do not exist
// yet, all names together, then Busy.
TEST_F(StreamTest, AwaitingWaitersAreLimited) {
  std::vector<uint64_t> handles;
  for (size_t i = 0; i < StreamStore::kMaxAwaitingWaiters; i++) {
    Result<uint64_t> h = ss().OnReadable("missing-" + std::to_string(i % 7), 0, [](bool) {});
    ASSERT_TRUE(h.ok()) << i << ": " << h.status().ToString();
    handles.push_back(*h);
  }
  EXPECT_EQ(ss().OnReadable("missing-x", 0, [](bool) {}).status().code(), Status::Code::kBusy);
  ASSERT_TRUE(ss().CancelReadable(handles.back()));
  EXPECT_TRUE(ss().OnReadable("missing-x", 0, [](bool) {}).ok());
  for (size_t i = 0; i + 1 < handles.size(); i++) ASSERT_TRUE(ss().CancelReadable(handles[i]));
}

}  // namespace
}  // namespace synap::stream
