// Stream engine maintenance and recovery: index files (trusted, missing,
// damaged, stale), retention by size and age, key compaction, torn tails,
// and regressions found in review. The fixture is tests/support/stream_fixture.h.
#include <gtest/gtest.h>

#include "tests/support/stream_fixture.h"

namespace synap::stream {
namespace {

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

}  // namespace
}  // namespace synap::stream
