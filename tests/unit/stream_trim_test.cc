// Trimming a room on demand (Room::TrimBefore, StreamStore::TrimBefore):
// whole sealed segments below an offset go, offsets stay, the newest segment
// stays, the trim is durable, and reads and appends racing it stay correct.
// The fixture is tests/support/stream_fixture.h (128 KiB segments).
#include <gtest/gtest.h>

#include "tests/support/stream_fixture.h"

namespace synap::stream {
namespace {

auto NoTs = [](uint64_t) { return int64_t{0}; };

class TrimTest : public StreamTest {
 protected:
  // n events of 500 bytes, in batches of up to 20: many segments. Their bases.
  std::vector<uint64_t> Filled(const std::string& room, uint64_t n) {
    EXPECT_EQ(Fill(room, n, 500, NoTs, 20), n);
    std::vector<uint64_t> bases = SegmentBases(room);
    EXPECT_GE(bases.size(), 6u) << "the test wants several segments";
    return bases;
  }
  Trimmed Trim(const std::string& room, uint64_t before) {
    Result<Trimmed> t = ss().TrimBefore(room, before);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : Trimmed{};
  }
  // Every event from `from` on has its own offset and payload.
  void ExpectIntact(const std::string& room, uint64_t from, uint64_t end) {
    std::vector<Ev> got = ReadAll(room, from);
    ASSERT_EQ(got.size(), end - from);
    for (size_t i = 0; i < got.size(); i++) {
      ASSERT_EQ(got[i].offset, from + i);
      ASSERT_EQ(got[i].payload, PayloadFor(from + i, 500));
    }
  }
};

TEST_F(TrimTest, RemovesExactlyTheWholeSegmentsBelow) {
  const uint64_t n = 3000;
  std::vector<uint64_t> bases = Filled("t", n);
  ss().Maintain(WallMs());  // index files for the sealed segments: the trim must remove those too
  ASSERT_TRUE(fs::exists(SegPath("t", bases[1], "index")));

  // An offset inside segment 3: segments 0..2 go, segment 3 stays whole.
  Trimmed t = Trim("t", bases[3] + 5);
  EXPECT_EQ(t.segments, 3u);
  EXPECT_EQ(t.events, bases[3]);
  EXPECT_EQ(t.earliest_offset, bases[3]);
  RoomInfo info = InfoOf("t");
  EXPECT_EQ(info.earliest_offset, bases[3]);
  EXPECT_EQ(info.next_offset, n);
  EXPECT_EQ(info.segments, bases.size() - 3);
  EXPECT_EQ(SegmentBases("t"), std::vector<uint64_t>(bases.begin() + 3, bases.end()));
  for (size_t i = 0; i < 3; i++) {
    EXPECT_FALSE(fs::exists(SegPath("t", bases[i], "index"))) << bases[i];
    EXPECT_FALSE(fs::exists(SegPath("t", bases[i], "timeindex"))) << bases[i];
  }
  EXPECT_TRUE(fs::exists(SegPath("t", bases[3], "index")));

  // Offsets do not change; below the earliest is OutOfRange naming it.
  ExpectIntact("t", bases[3], n);
  EventBatch b;
  Status below = ss().Read("t", bases[3] - 1, 10, 1 << 20, 0, &b);
  EXPECT_EQ(below.code(), Status::Code::kOutOfRange) << below.ToString();
  EXPECT_NE(below.message().find(std::to_string(bases[3])), std::string::npos) << below.message();

  // Exactly at a segment base: the segments before it go. One below: not the segment holding it.
  t = Trim("t", bases[5] - 1);
  EXPECT_EQ(t.segments, 1u);
  EXPECT_EQ(t.events, bases[4] - bases[3]);
  EXPECT_EQ(t.earliest_offset, bases[4]);
  t = Trim("t", bases[5]);
  EXPECT_EQ(t.segments, 1u);
  EXPECT_EQ(t.earliest_offset, bases[5]);
  ExpectIntact("t", bases[5], n);
  EXPECT_EQ(Put("t", "more"), n);  // appends go on at the same offsets
}

TEST_F(TrimTest, AtZeroOrBelowTheEarliestRemovesNothing) {
  const uint64_t n = 2000;
  std::vector<uint64_t> bases = Filled("z", n);
  Trimmed t = Trim("z", 0);
  EXPECT_EQ(t.events, 0u);
  EXPECT_EQ(t.segments, 0u);
  EXPECT_EQ(t.earliest_offset, 0u);
  // Inside the first segment: nothing is wholly below it.
  t = Trim("z", bases[1] - 1);
  EXPECT_EQ(t.events, 0u);
  EXPECT_EQ(t.earliest_offset, 0u);
  EXPECT_EQ(SegmentBases("z"), bases);
  ExpectIntact("z", 0, n);

  ASSERT_EQ(Trim("z", bases[2]).earliest_offset, bases[2]);
  t = Trim("z", bases[1]);  // below the earliest now: nothing to do
  EXPECT_EQ(t.events, 0u);
  EXPECT_EQ(t.earliest_offset, bases[2]);
}

// Past the end (and at the high watermark) every sealed segment goes; the
// newest, the one appends go to, always stays.
TEST_F(TrimTest, PastTheEndKeepsTheNewestSegment) {
  const uint64_t n = 2500;
  std::vector<uint64_t> bases = Filled("end", n);
  Trimmed t = Trim("end", UINT64_MAX);
  EXPECT_EQ(t.segments, bases.size() - 1);
  EXPECT_EQ(t.events, bases.back());
  EXPECT_EQ(t.earliest_offset, bases.back());
  EXPECT_EQ(SegmentBases("end"), std::vector<uint64_t>{bases.back()});
  ExpectIntact("end", bases.back(), n);
  EXPECT_EQ(Trim("end", n).events, 0u);
  EXPECT_EQ(InfoOf("end").next_offset, n);
  EXPECT_EQ(Fill("end", 10, 500, NoTs), n + 10);
  ExpectIntact("end", bases.back(), n + 10);

  // A room of one segment: nothing can go.
  ASSERT_EQ(Put("one", "a"), 0u);
  ASSERT_EQ(Put("one", "b"), 1u);
  t = Trim("one", UINT64_MAX);
  EXPECT_EQ(t.events, 0u);
  EXPECT_EQ(t.earliest_offset, 0u);
  EXPECT_EQ(ReadAll("one").size(), 2u);
}

TEST_F(TrimTest, SurvivesReopen) {
  const uint64_t n = 3000;
  std::vector<uint64_t> bases = Filled("re", n);
  ASSERT_EQ(Trim("re", bases[4] + 1).earliest_offset, bases[4]);
  CloseDb();
  Open();
  RoomInfo info = InfoOf("re");
  EXPECT_EQ(info.earliest_offset, bases[4]);
  EXPECT_EQ(info.next_offset, n);
  ExpectIntact("re", bases[4], n);
  EXPECT_EQ(Put("re", "after"), n);
  // And trimming goes on from there after the reopen.
  EXPECT_EQ(Trim("re", bases[6]).earliest_offset, bases[6]);
}

// Trimming is the user's call, whatever the cleanup policy (retention skips
// cleanup=compact rooms); the store's own room is not the user's.
TEST_F(TrimTest, AnyPolicyButNotTheMetaRoom) {
  ASSERT_TRUE(ss().CreateRoom("kept", "cleanup=compact").ok());
  std::vector<uint64_t> bases = Filled("kept", 2000);
  EXPECT_EQ(Trim("kept", bases[2]).earliest_offset, bases[2]);

  Result<Trimmed> meta = ss().TrimBefore("__meta", UINT64_MAX);
  EXPECT_EQ(meta.status().code(), Status::Code::kInvalidArgument) << meta.status().ToString();
  Result<Trimmed> missing = ss().TrimBefore("missing", 5);
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound) << missing.status().ToString();
  Result<Trimmed> bad = ss().TrimBefore("../etc", 5);
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

// A trim racing appends and readers: every read returns events at their
// own offsets with their own payloads, or OutOfRange for an offset the trim
// removed; no acknowledged event at or past the earliest offset is lost.
TEST_F(TrimTest, RacesAppendsAndReads) {
  const uint64_t n = 4000;
  ASSERT_EQ(Fill("race", 200, 500, NoTs), 200u);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> bad{0};
  std::thread writer([&] {
    Fill("race", n - 200, 500, NoTs, 10);
    done = true;
  });
  std::thread reader([&] {
    EventBatch b;
    while (!done.load()) {
      uint64_t from = InfoOf("race").earliest_offset;
      Status st = ss().Read("race", from, 500, 1 << 20, 0, &b);
      if (st.code() == Status::Code::kOutOfRange) continue;  // trimmed between the two calls
      if (!st.ok()) {
        bad++;
        continue;
      }
      for (const Ev& e : Events(b))
        if (e.payload != PayloadFor(e.offset, 500)) bad++;
    }
  });
  uint64_t trims = 0, last_earliest = 0;
  while (!done.load()) {
    uint64_t next = InfoOf("race").next_offset;
    Trimmed t = Trim("race", next > 300 ? next - 300 : 0);
    EXPECT_GE(t.earliest_offset, last_earliest);
    last_earliest = t.earliest_offset;
    trims++;
  }
  writer.join();
  reader.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(trims, 0u);
  RoomInfo info = InfoOf("race");
  EXPECT_EQ(info.next_offset, n);
  ExpectIntact("race", info.earliest_offset, n);
  std::vector<uint64_t> bases = SegmentBases("race");
  ASSERT_FALSE(bases.empty());
  EXPECT_EQ(bases.front(), info.earliest_offset);
}

}  // namespace
}  // namespace synap::stream
