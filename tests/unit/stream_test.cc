// Stream engine (engine/stream): rooms and their segments, the offset and
// time indexes, recovery, retention, compaction, consumer groups, topics and
// room names — all through db::Database (db->streams()).
//
// Sizes are small so that segments roll often: segment_bytes = 128 KiB,
// max_append_bytes = 64 KiB, max_event_bytes = 16 KiB. The engine's
// background maintenance is pushed an hour away; tests call Maintain() and
// Compact() themselves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/db_fixture.h"
#include "tests/support/forwarding_backend.h"

namespace synap::stream {
namespace {

namespace fs = std::filesystem;
using testing::DbTest;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One event read back, copied out of its EventBatch.
struct Ev {
  uint64_t offset = 0;
  int64_t ts = 0;
  std::string key, payload;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::vector<Ev> Events(const EventBatch& b) {
  std::vector<Ev> out;
  for (const ReadEvent& e : b.events) {
    Ev v;
    v.offset = e.offset;
    v.ts = e.timestamp_ms;
    v.key.assign(b.bytes.data() + e.key_pos, e.key_len);
    v.payload.assign(b.bytes.data() + e.payload_pos, e.payload_len);
    for (uint32_t i = 0; i < e.header_count; i++) {
      const ReadHeader& h = b.headers[e.first_header + i];
      v.headers.emplace_back(std::string(b.bytes.data() + h.name_pos, h.name_len),
                             std::string(b.bytes.data() + h.value_pos, h.value_len));
    }
    out.push_back(std::move(v));
  }
  return out;
}

// A payload that names its offset and whose filler depends on it.
std::string PayloadFor(uint64_t i, size_t size) {
  std::string s = "event-" + std::to_string(i) + ":";
  while (s.size() < size) s.push_back(static_cast<char>('a' + (i * 7 + s.size()) % 26));
  return s;
}

// Half PayloadFor's pattern, half pseudo-random letters: compressible, but
// not to nothing.
std::string MixedPayload(uint64_t i, size_t size) {
  std::string s = PayloadFor(i, size / 2);
  std::mt19937 rng(static_cast<uint32_t>(i * 2654435761u));
  while (s.size() < size) s.push_back(static_cast<char>('a' + rng() % 26));
  return s;
}

class StreamTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    opts_.stream.max_event_bytes = 16384;
    opts_.stream.max_append_bytes = 65536;
    opts_.stream.max_key_bytes = 1024;  // the default (64 KiB) may not exceed max_event_bytes
    opts_.stream.defaults.segment_bytes = 131072;
    opts_.stream.defaults.fsync = wal::FsyncMode::kNever;
    opts_.stream.maintenance_ms = 3600000;  // the background pass never races the test
    Open();
  }

  StreamStore& ss() { return db_->streams(); }
  std::string StreamsDir() const { return dir_ + "/streams"; }
  std::string RoomDir(const std::string& room) const { return StreamsDir() + "/" + room; }

  void CloseDb() {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
  }

  uint64_t Put(const std::string& room, std::string_view payload, std::string_view key = {}, int64_t ts = 0) {
    EventIn e;
    e.key = key;
    e.payload = payload;
    e.timestamp_ms = ts;
    Result<uint64_t> r = ss().Append(room, std::span<const EventIn>(&e, 1));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : UINT64_MAX;
  }

  // Appends events with payloads PayloadFor(offset, size) and timestamps
  // ts_of(offset), in batches of 1..max_batch events. Returns the next offset.
  uint64_t Fill(const std::string& room, uint64_t count, size_t size, const std::function<int64_t(uint64_t)>& ts_of,
                uint32_t max_batch = 1, uint32_t seed = 1,
                std::string (*payload_for)(uint64_t, size_t) = PayloadFor) {
    std::mt19937 rng(seed);
    uint64_t next = ss().Info(room).ok() ? (*ss().Info(room)).next_offset : 0;
    uint64_t end = next + count;
    while (next < end) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(1 + rng() % max_batch, end - next));
      std::vector<std::string> payloads;
      std::vector<EventIn> batch(n);
      for (uint32_t i = 0; i < n; i++) payloads.push_back(payload_for(next + i, size));
      for (uint32_t i = 0; i < n; i++) {
        batch[i].payload = payloads[i];
        batch[i].timestamp_ms = ts_of(next + i);
      }
      Result<uint64_t> r = ss().Append(room, batch);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return next;
      EXPECT_EQ(*r, next) << "a batch append returns its first offset";
      next += n;
    }
    return next;
  }

  // Every event from `from` to the room's end, read in chunks.
  std::vector<Ev> ReadAll(const std::string& room, uint64_t from = 0, uint32_t chunk = 100000,
                          uint64_t max_bytes = 64u << 20) {
    std::vector<Ev> out;
    EventBatch b;
    for (;;) {
      Status st = ss().Read(room, from, chunk, max_bytes, 0, &b);
      if (!st.ok()) {
        ADD_FAILURE() << "Read(" << room << ", " << from << "): " << st.ToString();
        break;
      }
      for (Ev& e : Events(b)) out.push_back(std::move(e));
      if (b.next_offset >= b.high_watermark) break;
      if (b.next_offset <= from) {
        ADD_FAILURE() << "Read(" << room << ", " << from << ") made no progress below the high watermark "
                      << b.high_watermark;
        break;
      }
      from = b.next_offset;
    }
    return out;
  }

  RoomInfo InfoOf(const std::string& room) {
    Result<RoomInfo> r = ss().Info(room);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RoomInfo{};
  }

  // Base offsets of the room's segment files on disk, ascending.
  std::vector<uint64_t> SegmentBases(const std::string& room) {
    std::vector<uint64_t> out;
    for (const auto& de : fs::directory_iterator(RoomDir(room))) {
      std::string n = de.path().filename().string();
      if (n.size() == 24 && n.substr(20) == ".log" && n.find_first_not_of("0123456789") == 20)
        out.push_back(std::stoull(n.substr(0, 20)));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Just past the last non-zero byte of a file: the end of the last batch's
  // bytes, whether or not the segment was preallocated with zeros.
  static uint64_t DataEnd(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) end--;
    return end;
  }
  static void WriteAt(const std::string& path, uint64_t at, const std::string& bytes) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekp(static_cast<std::streamoff>(at));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good()) << path;
  }
  std::string SegPath(const std::string& room, uint64_t base, const char* ext) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "/%020llu.%s", static_cast<unsigned long long>(base), ext);
    return RoomDir(room) + buf;
  }
};

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
// 3. Offsets and data survive a reopen; sealed segments come back from their
// index files without being read.
TEST_F(StreamTest, SurvivesReopenUsingIndexFiles) {
  const uint64_t n = 2000;
  auto ts_of = [](uint64_t i) { return 5'000'000 + 10 * static_cast<int64_t>(i); };
  ASSERT_EQ(Fill("durable", n, 500, ts_of, 8), n);
  ASSERT_EQ(Put("small", "only"), 0u);  // a room with one segment
  RoomInfo before = InfoOf("durable");
  ASSERT_GT(before.segments, 3u);

  Reopen();
  RoomInfo after = InfoOf("durable");
  EXPECT_EQ(after.next_offset, n);
  EXPECT_EQ(after.earliest_offset, 0u);
  EXPECT_EQ(after.segments, before.segments);
  EXPECT_GT(after.recovery.trusted, 0u) << after.recovery.ToString();
  EXPECT_EQ(after.recovery.trusted, before.segments - 1) << "every sealed segment should be trusted after a clean close: "
                                                          << after.recovery.ToString();
  for (uint64_t b : SegmentBases("durable")) {
    if (b == SegmentBases("durable").back()) continue;
    EXPECT_TRUE(fs::exists(SegPath("durable", b, "index"))) << b;
    EXPECT_TRUE(fs::exists(SegPath("durable", b, "timeindex"))) << b;
  }
  std::vector<Ev> all = ReadAll("durable");
  ASSERT_EQ(all.size(), n);
  for (uint64_t i = 0; i < n; i++) {
    ASSERT_EQ(all[i].offset, i);
    ASSERT_EQ(all[i].payload, PayloadFor(i, 500));
    ASSERT_EQ(all[i].ts, ts_of(i));
  }
  for (uint64_t i = 0; i < n; i += 37) {
    Result<uint64_t> o = ss().OffsetForTime("durable", ts_of(i));
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(*o, i);
  }
  std::vector<Ev> small = ReadAll("small");
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0].payload, "only");

  // Appends continue the offsets, and survive another reopen.
  EXPECT_EQ(Put("durable", "after-reopen", "", ts_of(n)), n);
  EXPECT_EQ(Put("small", "second"), 1u);
  Reopen();
  EXPECT_EQ(InfoOf("durable").next_offset, n + 1);
  all = ReadAll("durable", n - 1);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].payload, "after-reopen");
  EXPECT_EQ(ReadAll("small").size(), 2u);
}

// ---------------------------------------------------------------------------
// 4. Missing or damaged index files are rebuilt from the log.
TEST_F(StreamTest, RebuildsMissingAndDamagedIndexes) {
  const uint64_t n = 2500;
  auto ts_of = [](uint64_t i) { return 7'000'000 + 10 * static_cast<int64_t>(i); };
  ASSERT_EQ(Fill("idx", n, 500, ts_of, 1), n);
  CloseDb();
  std::vector<uint64_t> bases = SegmentBases("idx");
  ASSERT_GE(bases.size(), 8u);
  uint64_t no_index = bases[2], bad_time = bases[5];
  ASSERT_TRUE(fs::remove(SegPath("idx", no_index, "index")));
  {
    std::string p = SegPath("idx", bad_time, "timeindex");
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(0, std::ios::end);
    std::streamoff size = f.tellg();
    ASSERT_GT(size, 60);
    for (std::streamoff at : {std::streamoff(20), size / 2, size - 3}) {
      f.seekg(at);
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x5a);
      f.seekp(at);
      f.write(&c, 1);
    }
  }
  Open();

  RoomInfo info = InfoOf("idx");
  EXPECT_EQ(info.next_offset, n);
  EXPECT_EQ(info.segments, bases.size());
  EXPECT_EQ(info.recovery.trusted, bases.size() - 3) << "all sealed segments but the two damaged ones: "
                                                     << info.recovery.ToString();
  std::vector<Ev> all = ReadAll("idx");
  ASSERT_EQ(all.size(), n);
  for (uint64_t i = 0; i < n; i++) {
    ASSERT_EQ(all[i].offset, i);
    ASSERT_EQ(all[i].payload, PayloadFor(i, 500));
  }
  // Seek by time everywhere, and at both ends of every segment (the first and
  // last events of the rebuilt segments are where a wrong bound shows).
  auto check_times = [&](const char* when) {
    std::set<uint64_t> probe;
    for (uint64_t i = 0; i < n; i += 97) probe.insert(i);
    for (size_t s = 0; s < bases.size(); s++) {
      for (int64_t d = -3; d <= 2; d++) {
        int64_t o = static_cast<int64_t>(bases[s]) + d;
        if (o >= 0 && o < static_cast<int64_t>(n)) probe.insert(static_cast<uint64_t>(o));
      }
    }
    for (uint64_t i : probe) {
      Result<uint64_t> exact = ss().OffsetForTime("idx", ts_of(i));
      Result<uint64_t> between = ss().OffsetForTime("idx", ts_of(i) - 5);
      ASSERT_TRUE(exact.ok() && between.ok());
      EXPECT_EQ(*exact, i) << when << ": OffsetForTime(ts of offset " << i << ")";
      EXPECT_EQ(*between, i) << when << ": OffsetForTime(ts of offset " << i << " - 5)";
    }
  };
  check_times("after rebuild");

  // Maintain writes the missing files again (valid ones: the next open
  // trusts every sealed segment).
  ss().Maintain(WallMs());
  for (size_t s = 0; s + 1 < bases.size(); s++) {
    EXPECT_TRUE(fs::exists(SegPath("idx", bases[s], "index"))) << bases[s];
    EXPECT_TRUE(fs::exists(SegPath("idx", bases[s], "timeindex"))) << bases[s];
  }
  EXPECT_EQ(ss().maintenance_stats().errors, 0u) << ss().maintenance_stats().last_error;
  Reopen();
  info = InfoOf("idx");
  EXPECT_EQ(info.recovery.trusted, bases.size() - 1) << info.recovery.ToString();
  EXPECT_EQ(ReadAll("idx").size(), n);
  check_times("after reopen with rebuilt index files");
}

// The same files come back from Close alone (PersistIndexes at close).
TEST_F(StreamTest, CloseRewritesMissingIndexFiles) {
  const uint64_t n = 1200;
  ASSERT_EQ(Fill("idx2", n, 500, [](uint64_t i) { return 1 + static_cast<int64_t>(i); }, 4), n);
  CloseDb();
  std::vector<uint64_t> bases = SegmentBases("idx2");
  ASSERT_GE(bases.size(), 3u);
  for (size_t s = 0; s + 1 < bases.size(); s++) ASSERT_TRUE(fs::remove(SegPath("idx2", bases[s], "index")));
  Open();
  EXPECT_EQ(InfoOf("idx2").recovery.trusted, 0u);
  Reopen();  // Close persists what the scan rebuilt
  for (size_t s = 0; s + 1 < bases.size(); s++) EXPECT_TRUE(fs::exists(SegPath("idx2", bases[s], "index")));
  EXPECT_EQ(InfoOf("idx2").recovery.trusted, bases.size() - 1);
  EXPECT_EQ(ReadAll("idx2").size(), n);
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
// 7. Retention.
TEST_F(StreamTest, RetentionBySize) {
  ASSERT_TRUE(ss().CreateRoom("ret", "retention_bytes=300000").ok());
  EXPECT_EQ(InfoOf("ret").settings.retention_bytes, 300000u);
  const uint64_t n = 4000;  // about 2 MB
  ASSERT_EQ(Fill("ret", n, 500, [](uint64_t) { return 0; }, 40), n);
  std::vector<uint64_t> bases = SegmentBases("ret");
  ASSERT_GT(bases.size(), 10u);
  std::map<uint64_t, uint64_t> sizes;
  for (uint64_t b : bases) sizes[b] = fs::file_size(SegPath("ret", b, "log"));
  // An idle pass writes index files for every sealed segment.
  ss().Maintain(WallMs() - 1);

  ss().Maintain(WallMs());
  RoomInfo info = InfoOf("ret");
  uint64_t earliest = info.earliest_offset;
  EXPECT_GT(earliest, 0u);
  EXPECT_EQ(info.next_offset, n);
  EXPECT_LE(info.bytes, 300000u);
  ASSERT_TRUE(sizes.count(earliest)) << "earliest_offset is a segment base";
  auto prev = std::prev(sizes.find(earliest));
  EXPECT_GT(info.bytes + prev->second, 300000u) << "retention deleted more than needed";

  std::vector<uint64_t> left = SegmentBases("ret");
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.front(), earliest);
  EXPECT_EQ(left.size(), info.segments);
  uint64_t gone = 0;
  for (uint64_t b : bases) {
    if (b >= earliest) continue;
    gone++;
    EXPECT_FALSE(fs::exists(SegPath("ret", b, "log"))) << b;
    EXPECT_FALSE(fs::exists(SegPath("ret", b, "index"))) << b;
    EXPECT_FALSE(fs::exists(SegPath("ret", b, "timeindex"))) << b;
  }
  EXPECT_EQ(ss().maintenance_stats().segments_deleted, gone);

  EventBatch b;
  for (uint64_t below : {uint64_t{0}, earliest - 1}) {
    Status st = ss().Read("ret", below, 10, 1 << 20, 0, &b);
    EXPECT_EQ(st.code(), Status::Code::kOutOfRange) << st.ToString();
    EXPECT_NE(st.message().find(std::to_string(earliest)), std::string::npos) << st.message();
  }
  ASSERT_TRUE(ss().Read("ret", earliest, 10, 1 << 20, 0, &b).ok());
  std::vector<Ev> got = Events(b);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0].offset, earliest);
  EXPECT_EQ(got[0].payload, PayloadFor(earliest, 500));
  std::vector<Ev> rest = ReadAll("ret", earliest);
  EXPECT_EQ(rest.size(), n - earliest);
  // Seeking to a time before everything kept lands on the earliest offset.
  EXPECT_EQ(*ss().OffsetForTime("ret", 0), earliest);
  EXPECT_EQ(Put("ret", "more"), n);
}

// A room whose first segments retention removed opens again.
TEST_F(StreamTest, RetentionSurvivesReopen) {
  ASSERT_TRUE(ss().CreateRoom("ret2", "retention_bytes=300000").ok());
  const uint64_t n = 3000;
  ASSERT_EQ(Fill("ret2", n, 500, [](uint64_t) { return 0; }, 40), n);
  ss().Maintain(WallMs());
  uint64_t earliest = InfoOf("ret2").earliest_offset;
  ASSERT_GT(earliest, 0u);
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  Result<std::unique_ptr<db::Database>> r = db::Database::Open(dir_, opts_);
  ASSERT_TRUE(r.ok()) << "reopening after retention: " << r.status().ToString();
  db_ = std::move(*r);
  RoomInfo info = InfoOf("ret2");
  EXPECT_EQ(info.earliest_offset, earliest);
  EXPECT_EQ(info.next_offset, n);
  std::vector<Ev> rest = ReadAll("ret2", earliest);
  ASSERT_EQ(rest.size(), n - earliest);
  EXPECT_EQ(rest.front().payload, PayloadFor(earliest, 500));
  EXPECT_EQ(Put("ret2", "more"), n);
}

TEST_F(StreamTest, RetentionByAge) {
  ASSERT_TRUE(ss().CreateRoom("age", "retention_ms=1000").ok());
  const int64_t old_ts = WallMs() - 3'600'000;
  const uint64_t n_old = 1500, n_new = 600;
  ASSERT_EQ(Fill("age", n_old, 500, [&](uint64_t) { return old_ts; }, 10), n_old);
  ASSERT_EQ(Fill("age", n_new, 500, [](uint64_t) { return 0; }, 10, 2), n_old + n_new);
  std::vector<uint64_t> bases = SegmentBases("age");
  ASSERT_GT(bases.size(), 6u);
  // The segment holding the first new event, and everything after it, stay.
  uint64_t keep_from = 0;
  for (uint64_t b : bases)
    if (b <= n_old) keep_from = b;
  ASSERT_GT(keep_from, 0u);

  // Age is measured against now_ms: an hour ago nothing was older than a second.
  ss().Maintain(old_ts + 900);
  EXPECT_EQ(InfoOf("age").earliest_offset, 0u);
  EXPECT_EQ(SegmentBases("age").size(), bases.size());

  ss().Maintain(WallMs());
  RoomInfo info = InfoOf("age");
  EXPECT_EQ(info.earliest_offset, keep_from);
  EXPECT_EQ(info.next_offset, n_old + n_new);
  std::vector<uint64_t> left = SegmentBases("age");
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.front(), keep_from);
  for (uint64_t b : bases) {
    if (b < keep_from) {
      EXPECT_FALSE(fs::exists(SegPath("age", b, "log"))) << b;
    }
  }
  EventBatch b;
  Status below = ss().Read("age", keep_from - 1, 10, 1 << 20, 0, &b);
  EXPECT_EQ(below.code(), Status::Code::kOutOfRange);
  std::vector<Ev> rest = ReadAll("age", keep_from);
  ASSERT_EQ(rest.size(), n_old + n_new - keep_from);
  for (size_t i = 0; i < rest.size(); i++) ASSERT_EQ(rest[i].offset, keep_from + i);
  // Another pass finds nothing more to delete: every segment left holds new events.
  ss().Maintain(WallMs());
  EXPECT_EQ(InfoOf("age").earliest_offset, keep_from);
}

// ---------------------------------------------------------------------------
// 8. Compaction.
TEST_F(StreamTest, CompactionKeepsLatestPerKey) {
  ASSERT_TRUE(ss().CreateRoom("compact", "cleanup=compact").ok());
  const int kKeys = 50, kRounds = 30;
  const int64_t t0 = 2'000'000;
  std::map<uint64_t, std::pair<std::string, std::string>> written;  // offset -> (key, payload)
  std::map<std::string, uint64_t> latest;
  std::vector<uint64_t> keyless;
  uint64_t next = 0;
  auto put = [&](const std::string& key, const std::string& payload) {
    uint64_t o = Put("compact", payload, key, t0 + 10 * static_cast<int64_t>(next));
    ASSERT_EQ(o, next);
    written[o] = {key, payload};
    if (key.empty()) {
      keyless.push_back(o);
    } else {
      latest[key] = o;
    }
    next++;
  };
  for (int r = 0; r < kRounds; r++) {
    for (int k = 0; k < kKeys; k++) {
      if (k % 10 == 0) put("", "keyless-" + std::to_string(next) + std::string(300, 'n'));
      put("k" + std::to_string(k), "r" + std::to_string(r) + "-k" + std::to_string(k) + "-" + std::string(400, 'v'));
    }
  }
  // Keyless filler rolls the segment holding the last keyed event.
  for (int i = 0; i < 300; i++) put("", "fill-" + std::to_string(next) + std::string(500, 'f'));
  const uint64_t n = next;
  std::vector<uint64_t> bases = SegmentBases("compact");
  ASSERT_GE(bases.size(), 5u);
  ASSERT_GT(bases.back(), latest.rbegin()->second);  // (any key's latest is below the active segment)
  for (const auto& [k, o] : latest) ASSERT_LT(o, bases.back());
  std::map<uint64_t, uint64_t> size_before;
  for (uint64_t b : bases) size_before[b] = fs::file_size(SegPath("compact", b, "log"));

  Result<uint64_t> dropped = ss().Compact("compact");
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(*dropped, static_cast<uint64_t>(kKeys) * (kRounds - 1));
  EXPECT_EQ(SegmentBases("compact"), bases) << "compaction keeps every segment (and its base offset)";
  EXPECT_LT(fs::file_size(SegPath("compact", bases[0], "log")), size_before[bases[0]]);

  std::set<uint64_t> kept(keyless.begin(), keyless.end());
  for (const auto& [k, o] : latest) kept.insert(o);
  auto check = [&](const char* when) {
    RoomInfo info = InfoOf("compact");
    EXPECT_EQ(info.next_offset, n) << when;
    EXPECT_EQ(info.earliest_offset, 0u) << when;
    std::vector<Ev> all = ReadAll("compact");
    ASSERT_EQ(all.size(), kept.size()) << when;
    std::map<std::string, int> per_key;
    auto it = kept.begin();
    for (const Ev& e : all) {
      ASSERT_EQ(e.offset, *it++) << when << ": offsets of kept events do not change";
      ASSERT_EQ(e.key, written[e.offset].first) << when;
      ASSERT_EQ(e.payload, written[e.offset].second) << when;
      ASSERT_EQ(e.ts, t0 + 10 * static_cast<int64_t>(e.offset)) << when;
      if (!e.key.empty()) per_key[e.key]++;
    }
    EXPECT_EQ(per_key.size(), static_cast<size_t>(kKeys)) << when;
    for (const auto& [k, c] : per_key) EXPECT_EQ(c, 1) << when << ": key " << k;
    // Reads starting in a gap begin at the next kept offset; so do seeks by time.
    EventBatch b;
    for (uint64_t from = 0; from < n; from += 29) {
      uint64_t want = *kept.lower_bound(from);
      ASSERT_TRUE(ss().Read("compact", from, 1, 1 << 20, 0, &b).ok()) << when;
      ASSERT_EQ(b.events.size(), 1u) << when << ": from " << from;
      EXPECT_EQ(b.events[0].offset, want) << when << ": from " << from;
      Result<uint64_t> o = ss().OffsetForTime("compact", t0 + 10 * static_cast<int64_t>(from));
      ASSERT_TRUE(o.ok());
      EXPECT_EQ(*o, want) << when << ": OffsetForTime for offset " << from;
    }
  };
  check("after compaction");
  Result<uint64_t> again = ss().Compact("compact");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u) << "nothing left to compact";

  Reopen();
  EXPECT_EQ(InfoOf("compact").recovery.trusted, bases.size() - 1) << InfoOf("compact").recovery.ToString();
  check("after reopen");

  CloseDb();
  for (uint64_t b : bases) fs::remove(SegPath("compact", b, "index"));
  Open();
  RoomInfo info = InfoOf("compact");
  EXPECT_EQ(info.recovery.trusted, 0u);
  EXPECT_TRUE(info.recovery.cuts.empty()) << info.recovery.ToString();
  check("after reopen with every index file deleted");
  EXPECT_EQ(Put("compact", "after", "k0"), n);
  EXPECT_EQ(ReadAll("compact").size(), kept.size() + 1);
}

// The maintenance pass compacts rooms with cleanup=compact (and only those);
// a key whose latest event is in the active segment loses its sealed copies.
TEST_F(StreamTest, MaintainCompactsOnlyCompactRooms) {
  ASSERT_TRUE(ss().CreateRoom("cmp", "cleanup=compact").ok());
  ASSERT_TRUE(ss().CreateRoom("del", "").ok());
  std::map<std::string, std::map<std::string, uint64_t>> latest;  // room -> key -> offset
  std::map<std::string, uint64_t> count;
  auto put = [&](const std::string& room, const std::string& key) {
    uint64_t o = Put(room, key + "@" + std::to_string(count[room]) + std::string(500, 'v'), key);
    ASSERT_EQ(o, count[room]++);
    latest[room][key] = o;
  };
  for (int r = 0; r < 12; r++)
    for (int k = 0; k < 40; k++)
      for (const char* room : {"cmp", "del"}) put(room, "k" + std::to_string(k));
  ASSERT_GT(InfoOf("cmp").segments, 2u);
  ss().Maintain(WallMs());
  MaintenanceStats ms = ss().maintenance_stats();
  EXPECT_EQ(ms.compactions, 1u) << "only the compact room (the meta room has no sealed segment)";
  EXPECT_GT(ms.events_compacted, 0u);
  EXPECT_EQ(ReadAll("del").size(), count["del"]) << "a delete room is never compacted";
  std::vector<Ev> after = ReadAll("cmp");
  EXPECT_EQ(after.size(), count["cmp"] - ms.events_compacted);
  // Nothing newly sealed: the next pass does not compact again.
  ss().Maintain(WallMs());
  EXPECT_EQ(ss().maintenance_stats().compactions, 1u);

  // Overwrite k0..k9 until the segment rolls: their latest copies sit in the
  // active segment, and every sealed copy goes.
  uint64_t active_base = SegmentBases("cmp").back();
  while (SegmentBases("cmp").back() == active_base)
    for (int k = 0; k < 10; k++) put("cmp", "k" + std::to_string(k));
  for (int k = 0; k < 10; k++) put("cmp", "k" + std::to_string(k));
  uint64_t newest = SegmentBases("cmp").back();
  for (int k = 0; k < 10; k++) ASSERT_GE(latest["cmp"]["k" + std::to_string(k)], newest);
  Result<uint64_t> dropped = ss().Compact("cmp");
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  std::vector<Ev> all = ReadAll("cmp");
  std::map<std::string, std::vector<uint64_t>> offsets;
  for (const Ev& e : all) {
    offsets[e.key].push_back(e.offset);
    std::string want = e.key + "@" + std::to_string(e.offset);
    EXPECT_EQ(e.payload.substr(0, want.size()), want) << "offset " << e.offset << " carries another event";
  }
  ASSERT_EQ(offsets.size(), 40u);
  for (const auto& [key, offs] : offsets) {
    EXPECT_EQ(offs.back(), latest["cmp"][key]) << key << ": the latest event is kept";
    for (uint64_t o : offs) EXPECT_TRUE(o == offs.back() || o >= newest) << key << " keeps a superseded sealed copy at " << o;
  }
}

// Compaction may leave a sealed segment with no event at all. Offset 0 must
// stay readable (from the first kept event on) however the room is reopened:
// with its index files or by scanning its segments.
TEST_F(StreamTest, CompactionEmptiedSegmentsStayReadable) {
  ASSERT_TRUE(ss().CreateRoom("hollow", "cleanup=compact").ok());
  std::map<uint64_t, std::string> payload_of;
  std::map<std::string, uint64_t> latest;
  uint64_t next = 0;
  auto put = [&](const std::string& key) {
    std::string p = key + "@" + std::to_string(next) + std::string(500, 'h');
    ASSERT_EQ(Put("hollow", p, key, 1000 + static_cast<int64_t>(next)), next);
    payload_of[next] = p;
    if (!key.empty()) latest[key] = next;
    next++;
  };
  for (int r = 0; r < 40; r++)
    for (int k = 0; k < 20; k++) put("k" + std::to_string(k));
  while (SegmentBases("hollow").back() <= latest.rbegin()->second || next % 50 != 0) put("");
  std::vector<uint64_t> bases = SegmentBases("hollow");
  ASSERT_GE(bases.size(), 4u);
  uint64_t first_latest = next;
  for (const auto& [k, o] : latest) first_latest = std::min(first_latest, o);
  ASSERT_GT(first_latest, bases[2]) << "segments 0 and 1 hold only superseded events";

  std::set<uint64_t> kept;
  for (const auto& [k, o] : latest) kept.insert(o);
  for (uint64_t o = 0; o < next; o++)
    if (payload_of[o][0] == '@') kept.insert(o);
  ASSERT_TRUE(ss().Compact("hollow").ok());
  const uint64_t earliest = InfoOf("hollow").earliest_offset;
  auto check = [&](const char* when) {
    EXPECT_EQ(InfoOf("hollow").earliest_offset, earliest) << when;
    EventBatch b;
    Status st = ss().Read("hollow", 0, 5, 1 << 20, 0, &b);
    ASSERT_TRUE(st.ok()) << when << ": Read(0): " << st.ToString();
    ASSERT_FALSE(b.events.empty()) << when;
    EXPECT_EQ(b.events[0].offset, *kept.begin()) << when;
    std::vector<Ev> all = ReadAll("hollow");
    ASSERT_EQ(all.size(), kept.size()) << when;
    auto it = kept.begin();
    for (const Ev& e : all) {
      ASSERT_EQ(e.offset, *it++) << when;
      ASSERT_EQ(e.payload, payload_of[e.offset]) << when;
    }
    Result<uint64_t> t = ss().OffsetForTime("hollow", 0);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, *kept.begin()) << when;
  };
  check("after compaction");
  Reopen();
  check("after reopen");
  CloseDb();
  for (uint64_t b : bases) fs::remove(SegPath("hollow", b, "index"));
  Open();
  check("after reopen without index files");
  EXPECT_EQ(Put("hollow", "more", "k1"), next);
}

// Readers running during a compaction see every kept event with its own
// payload, and never an event at a wrong offset.
TEST_F(StreamTest, ReadsDuringCompactionStayConsistent) {
  ASSERT_TRUE(ss().CreateRoom("live", "cleanup=compact").ok());
  std::map<uint64_t, std::string> payload_of;
  std::map<std::string, uint64_t> latest;
  std::set<uint64_t> keyless;
  for (uint64_t o = 0; o < 3000; o++) {
    std::string key = o % 7 == 0 ? "" : "k" + std::to_string(o % 60);
    std::string p = (key.empty() ? "none" : key) + "@" + std::to_string(o) + std::string(300, 'c');
    ASSERT_EQ(Put("live", p, key), o);
    payload_of[o] = p;
    if (key.empty()) {
      keyless.insert(o);
    } else {
      latest[key] = o;
    }
  }
  const uint64_t n = 3000;
  std::atomic<bool> stop{false};
  std::atomic<int> passes{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; t++) {
    readers.emplace_back([&, t] {
      EventBatch b;
      while (!stop.load() || passes.load() < 4) {
        uint64_t from = 0, last = 0;
        std::set<uint64_t> seen;
        bool first = true;
        while (from < n) {
          Status st = ss().Read("live", from, 50 + 31 * t, 1 << 20, 0, &b);
          if (!st.ok()) {
            ADD_FAILURE() << st.ToString();
            return;
          }
          for (const Ev& e : Events(b)) {
            if (!first && e.offset <= last) {
              ADD_FAILURE() << "offset " << e.offset << " after " << last;
              return;
            }
            if (e.payload != payload_of.at(e.offset)) {
              ADD_FAILURE() << "offset " << e.offset << " has another event's payload";
              return;
            }
            first = false;
            last = e.offset;
            seen.insert(e.offset);
          }
          if (b.next_offset <= from) {
            ADD_FAILURE() << "no progress at " << from;
            return;
          }
          from = b.next_offset;
        }
        for (uint64_t o : keyless)
          if (!seen.count(o)) {
            ADD_FAILURE() << "keyless offset " << o << " missing from a read pass";
            return;
          }
        for (const auto& [k, o] : latest)
          if (!seen.count(o)) {
            ADD_FAILURE() << "latest event of " << k << " missing from a read pass";
            return;
          }
        passes++;
      }
    });
  }
  Result<uint64_t> dropped = ss().Compact("live");
  stop = true;
  for (std::thread& th : readers) th.join();
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_GT(*dropped, 0u);
}

// Batches compressed with lz4 or zstd read back, seek, compact and reopen.
TEST_F(StreamTest, CompressedRooms) {
  for (const char* codec : {"lz4", "zstd"}) {
    std::string room = std::string("codec-") + codec;
    ASSERT_TRUE(ss().CreateRoom(room, std::string("codec=") + codec + ";cleanup=compact").ok());
    EXPECT_EQ(log::CodecName(InfoOf(room).settings.codec), std::string(codec));
    const uint64_t n = 4000;
    ASSERT_EQ(Fill(room, n, 500, [](uint64_t i) { return 100 + static_cast<int64_t>(i); }, 30, 3, MixedPayload), n);
    RoomInfo info = InfoOf(room);
    EXPECT_GT(info.segments, 2u);
    EXPECT_LT(info.bytes, n * 500 * 8 / 10) << codec << ": the batches were not compressed";
    std::vector<Ev> all = ReadAll(room, 0, 333);
    ASSERT_EQ(all.size(), n) << codec;
    for (uint64_t i = 0; i < n; i++) ASSERT_EQ(all[i].payload, MixedPayload(i, 500)) << codec << " @" << i;
    for (uint64_t i = 0; i < n; i += 191) EXPECT_EQ(*ss().OffsetForTime(room, 100 + static_cast<int64_t>(i)), i);
    // Keyed events to compact, then reads again.
    for (int r = 0; r < 3; r++) {
      std::vector<std::string> ps;
      std::vector<std::string> ks;
      for (int k = 0; k < 20; k++) {
        ks.push_back("key" + std::to_string(k));
        ps.push_back(MixedPayload(n + r * 20 + k, 2000));
      }
      std::vector<EventIn> batch(20);
      for (int k = 0; k < 20; k++) {
        batch[k].key = ks[k];
        batch[k].payload = ps[k];
      }
      ASSERT_EQ(*ss().Append(room, batch), n + r * 20);
    }
    ASSERT_EQ(Fill(room, 600, 500, [](uint64_t) { return 0; }, 30, 4, MixedPayload), n + 60 + 600);
    ASSERT_GT(SegmentBases(room).back(), n + 60) << codec << ": the keyed events' segment is sealed";
    Result<uint64_t> dropped = ss().Compact(room);
    ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
    EXPECT_EQ(*dropped, 40u) << codec;
  }
  Reopen();
  for (const char* codec : {"lz4", "zstd"}) {
    std::string room = std::string("codec-") + codec;
    std::vector<Ev> all = ReadAll(room);
    ASSERT_EQ(all.size(), 4000u + 20 + 600) << codec;
    for (uint64_t i = 0; i < 4000; i++) ASSERT_EQ(all[i].payload, MixedPayload(i, 500)) << codec << " @" << i;
    for (int k = 0; k < 20; k++) {
      EXPECT_EQ(all[4000 + k].offset, 4000u + 40 + k) << codec;
      EXPECT_EQ(all[4000 + k].payload, MixedPayload(4000 + 40 + k, 2000)) << codec;
    }
  }
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

// ---------------------------------------------------------------------------
// 12. A torn tail after the last acknowledged batch is cut at open.
TEST_F(StreamTest, TornTailIsCut) {
  ASSERT_TRUE(ss().CreateRoom("torn", "fsync=always").ok());
  const uint64_t n = 400;
  ASSERT_EQ(Fill("torn", n, 500, [](uint64_t i) { return 10 + static_cast<int64_t>(i); }, 3), n);
  CloseDb();
  std::vector<uint64_t> bases = SegmentBases("torn");
  ASSERT_GE(bases.size(), 2u);
  std::string newest = SegPath("torn", bases.back(), "log");
  // Batches are 8-byte aligned and each payload ends in a non-zero byte:
  // the last batch ends at the data's end rounded up to 8. Junk goes right
  // there (at the end of the file, or over preallocated zeros).
  uint64_t end = (DataEnd(newest) + 7) / 8 * 8;
  ASSERT_GT(end, 4096u);
  {
    std::mt19937 rng(42);
    std::string junk;
    for (int i = 0; i < 100; i++) junk.push_back(static_cast<char>(1 + rng() % 255));
    WriteAt(newest, end, junk);
  }
  ASSERT_EQ(DataEnd(newest), end + 100);
  Open();
  RoomInfo info = InfoOf("torn");
  EXPECT_EQ(info.next_offset, n);
  EXPECT_EQ(info.recovery.cuts.size(), 1u) << info.recovery.ToString();
  std::vector<Ev> all = ReadAll("torn");
  ASSERT_EQ(all.size(), n);
  for (uint64_t i = 0; i < n; i++) {
    ASSERT_EQ(all[i].offset, i);
    ASSERT_EQ(all[i].payload, PayloadFor(i, 500));
  }
  EXPECT_EQ(Put("torn", "next", "", 10 + static_cast<int64_t>(n)), n);
  Reopen();
  info = InfoOf("torn");
  EXPECT_EQ(info.next_offset, n + 1);
  EXPECT_TRUE(info.recovery.cuts.empty()) << info.recovery.ToString();
  all = ReadAll("torn", n - 2);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].payload, "next");
  EXPECT_EQ(*ss().OffsetForTime("torn", 10 + static_cast<int64_t>(n)), n);
}

// A half-written last batch is dropped: its events were never acknowledged.
TEST_F(StreamTest, TornLastBatchIsDropped) {
  ASSERT_TRUE(ss().CreateRoom("half", "fsync=always").ok());
  const uint64_t n = 100;
  ASSERT_EQ(Fill("half", n, 300, [](uint64_t) { return 0; }), n);  // one event per batch
  CloseDb();
  std::string newest = SegPath("half", SegmentBases("half").back(), "log");
  uint64_t end = DataEnd(newest);
  ASSERT_GT(end, 4096u);
  WriteAt(newest, end - 40, std::string(40, '\0'));  // the last batch's last 40 bytes never reached the disk
  Open();
  EXPECT_EQ(InfoOf("half").next_offset, n - 1);
  std::vector<Ev> all = ReadAll("half");
  ASSERT_EQ(all.size(), n - 1);
  EXPECT_EQ(all.back().payload, PayloadFor(n - 2, 300));
  EXPECT_EQ(Put("half", "replacement"), n - 1);
  Reopen();
  all = ReadAll("half");
  ASSERT_EQ(all.size(), n);
  EXPECT_EQ(all.back().payload, "replacement");
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
// Regressions from review.

std::string Slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
void Spit(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(s.data(), static_cast<std::streamsize>(s.size()));
}

// A segment compacted twice, then a crash between the second rename and its
// index write, with the first compaction's index files back in place (what
// a power cut could leave): the stale index must not be trusted.
TEST_F(StreamTest, StaleIndexOfAnEarlierCompactionIsNotTrusted) {
  ASSERT_TRUE(ss().CreateRoom("c", "cleanup=compact").ok());
  uint64_t next = 0;
  auto put = [&](const std::string& k, size_t n) {
    Put("c", std::string(n, 'v') + std::to_string(next), k);
    next++;
  };
  for (int k = 0; k < 100; k++) put("A" + std::to_string(k), 400);
  for (int k = 0; k < 100; k++) put("B" + std::to_string(k), 400);
  for (int k = 0; k < 200; k++) put("", 400);
  for (int k = 0; k < 100; k++) put("A" + std::to_string(k), 400);
  for (int i = 0; i < 400; i++) put("", 500);  // rolls
  ASSERT_TRUE(ss().Compact("c").ok());
  std::vector<uint64_t> bases = SegmentBases("c");
  ASSERT_GE(bases.size(), 3u);
  std::string idx0 = Slurp(SegPath("c", bases[0], "index")), tidx0 = Slurp(SegPath("c", bases[0], "timeindex"));
  ASSERT_FALSE(idx0.empty());
  for (int k = 0; k < 100; k++) put("B" + std::to_string(k), 400);
  for (int i = 0; i < 400; i++) put("", 500);
  Result<uint64_t> d = ss().Compact("c");
  ASSERT_TRUE(d.ok());
  ASSERT_GT(*d, 0u);
  ASSERT_NE(Slurp(SegPath("c", bases[0], "index")), idx0) << "the second compaction rewrote segment 0";
  std::vector<Ev> expect = ReadAll("c");
  CloseDb();
  Spit(SegPath("c", bases[0], "index"), idx0);
  Spit(SegPath("c", bases[0], "timeindex"), tidx0);
  Open();
  std::vector<Ev> all = ReadAll("c");
  ASSERT_EQ(all.size(), expect.size());
  for (size_t i = 0; i < all.size(); i++) {
    EXPECT_EQ(all[i].offset, expect[i].offset);
    EXPECT_EQ(all[i].payload, expect[i].payload);
  }
}

// A delete waiting behind a long compaction while a producer keeps
// appending (auto-create): the name stays reserved until the delete ends,
// so nothing acknowledged after it can be removed by it.
TEST_F(StreamTest, DeleteRacingAutoCreateLosesNoAcknowledgedAppend) {
  ASSERT_TRUE(ss().CreateRoom("big", "cleanup=compact").ok());
  for (int i = 0; i < 30000; i++) Put("big", std::string(200, 'b'), "k" + std::to_string(i % 5000));
  for (int i = 0; i < 500; i++) Put("victim", std::string(300, 'x'));
  std::thread comp([&] { (void)ss().Compact("big"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::atomic<bool> deleted{false};
  std::vector<std::string> after;
  std::thread prod([&] {
    for (uint64_t n = 0; after.size() < 5; n++) {
      bool d = deleted.load();
      std::string p = "p" + std::to_string(n);
      EventIn e;
      e.payload = p;
      Result<uint64_t> r = ss().Append("victim", std::span<const EventIn>(&e, 1));
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), Status::Code::kBusy) << r.status().ToString();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (d) after.push_back(p);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(ss().DeleteRoom("victim").ok());
  deleted = true;
  prod.join();
  comp.join();
  Reopen();
  std::set<std::string> have;
  for (const Ev& e : ReadAll("victim")) have.insert(e.payload);
  for (const auto& p : after) EXPECT_EQ(have.count(p), 1u) << p << " was acknowledged after the delete and is gone";
}

TEST_F(StreamTest, RetentionMsBeyondRangeIsRefused) {
  EXPECT_EQ(ss().CreateRoom("forever", "retention_ms=18446744073709551615").code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(ss().CreateRoom("forever", "retention_ms=4611686018427387904").ok());  // 2^62: the largest
  Fill("forever", 2000, 300, [](uint64_t) { return int64_t{0}; });
  size_t before = SegmentBases("forever").size();
  ASSERT_GT(before, 1u);
  ss().Maintain(WallMs());
  EXPECT_EQ(SegmentBases("forever").size(), before);
}

// Reading a room opens a descriptor per sealed segment; maintenance gives
// back those no read has used for a while, so they do not pile up.
TEST_F(StreamTest, ReadsDoNotHoldADescriptorPerSegmentForGood) {
  auto open_fds = [] {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) n++;
    return n;
  };
  Fill("many", 20000, 300, [](uint64_t) { return int64_t{0}; }, 50);
  Reopen();
  size_t segments = SegmentBases("many").size();
  ASSERT_GT(segments, 20u);
  size_t before = open_fds();
  ReadAll("many");
  size_t during = open_fds();
  EXPECT_GE(during, before + segments - 2) << "each sealed segment read keeps its file open for a while";
  ss().Maintain(WallMs());  // files read less than 30 s ago stay open
  EXPECT_GE(open_fds(), before + segments - 2);
  ss().CloseIdleFiles(0);
  EXPECT_LE(open_fds(), before + 1) << "idle sealed segments gave their descriptors back";
  EXPECT_EQ(ReadAll("many").size(), 20000u);  // and reopen them on demand
}

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

}  // namespace
}  // namespace synap::stream
