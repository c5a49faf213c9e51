// Power loss under the streams: appends (batches of 1..10 events, with and
// without keys, headers and producer timestamps) to three fsync=always rooms
// (one of them cleanup=compact), consumer-group commits, explicit
// compactions and maintenance passes run on the simulated disk until it
// crashes at a random operation (unsynced writes dropped or torn); then the
// Database is reopened and every room read back whole.
//
// After every reopen: each room's offsets are contiguous from 0 to its next
// offset, each acknowledged append's events are at exactly their offsets
// with their key, headers, payload and timestamp, and nothing that was never
// appended appears. In the compacted room offsets may be missing, but only
// superseded keyed events: every keyless event and the latest event of every
// key stay. Every acknowledged commit is kept. The one call in flight at the
// crash may go either way (an append all or none).
//
// SYNAP_SIM_SEEDS=N runs N seeds (default 100, tests/support/sim_seeds.h);
// SYNAP_SIM_SEED=S runs seed S;
// SYNAP_SIM_VERBOSE=1 prints each cycle.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/db/database.h"
#include "engine/io/sim_backend.h"
#include "tests/support/sim_db.h"
#include "tests/support/sim_seeds.h"

namespace synap::stream {
namespace {

constexpr int kRoomCount = 3;
constexpr int kCompactRoom = 2;
const std::array<std::string, kRoomCount> kRooms = {"plain", "keyed", "compacted"};
const std::array<std::string, kRoomCount> kSettings = {"fsync=always", "fsync=always",
                                                       "fsync=always;cleanup=compact"};
constexpr int kCycles = 6;  // five crashes, then a last verification
constexpr int kGroupCount = 2;
const std::array<std::string, kGroupCount> kGroups = {"g0", "g1"};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An appended event, as the model keeps it.
struct Ev {
  std::string key, payload;
  std::string header;      // the value of header "h", when has_header
  bool has_header = false;
  int64_t ts = 0;          // what was given (0: the append time)
  int64_t ts_lo = 0, ts_hi = 0;  // the range the stored timestamp must fall in
};

// Deterministic from the counter (and the seed's generator for the shape).
Ev MakeEvent(uint64_t c, std::mt19937_64& rng) {
  Ev e;
  size_t len = (c * 2654435761u) % 1400;
  if (c % 23 == 0) len = 0;
  e.payload = "e" + std::to_string(c) + "/";
  while (e.payload.size() < len) e.payload.push_back(static_cast<char>('a' + (c * 7 + e.payload.size()) % 26));
  uint64_t k = rng() % 10;
  if (k < 6) {
    e.key = "k" + std::to_string(k);
  } else if (k == 6) {
    e.key = std::string(200, 'L') + std::to_string(rng() % 2);  // long keys, within max_key_bytes
  }  // else keyless
  if (rng() % 4 == 0) {
    e.has_header = true;
    e.header = std::to_string(c);
  }
  if (rng() % 3 == 0) e.ts = 1'600'000'000'000 + static_cast<int64_t>(rng() % 1'000'000'000);
  return e;
}

struct RoomModel {
  std::map<uint64_t, Ev> events;  // every acknowledged event, by offset
  uint64_t next = 0;              // one past the last acknowledged offset
};

struct InFlightAppend {
  int room = 0;
  uint64_t first = 0;  // the offset it would have taken
  std::vector<Ev> events;
};

struct InFlightCommit {
  int group = 0, room = 0;
  uint64_t offset = 0;
};

struct Got {
  uint64_t offset = 0;
  int64_t ts = 0;
  std::string key, payload;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::string Describe(const Ev& e) {
  std::string s = "{key=" + (e.key.size() > 20 ? e.key.substr(0, 8) + "...(" + std::to_string(e.key.size()) + ")" : e.key);
  s += " payload=" + e.payload.substr(0, 16) + "(" + std::to_string(e.payload.size()) + ")";
  s += " ts=" + std::to_string(e.ts) + " [" + std::to_string(e.ts_lo) + "," + std::to_string(e.ts_hi) + "]";
  if (e.has_header) s += " h=" + e.header;
  return s + "}";
}
std::string Describe(const Got& g) {
  std::string s = "{key=" + (g.key.size() > 20 ? g.key.substr(0, 8) + "...(" + std::to_string(g.key.size()) + ")" : g.key);
  s += " payload=" + g.payload.substr(0, 16) + "(" + std::to_string(g.payload.size()) + ")";
  s += " ts=" + std::to_string(g.ts);
  for (const auto& [n, v] : g.headers) s += " " + n + "=" + v;
  return s + "}";
}

// "" when the event read back is the one appended.
std::string Mismatch(const Got& g, const Ev& e) {
  bool same = g.key == e.key && g.payload == e.payload && g.ts >= e.ts_lo && g.ts <= e.ts_hi &&
              g.headers.size() == (e.has_header ? 1u : 0u) &&
              (!e.has_header || (g.headers[0].first == "h" && g.headers[0].second == e.header));
  if (same) return "";
  return "offset " + std::to_string(g.offset) + " holds " + Describe(g) + ", appended " + Describe(e);
}

// Every event of the room, read in chunks from 0 to its high watermark.
std::string ReadAll(StreamStore& ss, const std::string& room, uint64_t hw, std::vector<Got>* out) {
  EventBatch b;
  uint64_t from = 0;
  int round = 0;
  while (from < hw) {
    uint32_t chunk = round++ % 2 ? 7 : 1000;  // small reads too: starts inside segments
    Status st = ss.Read(room, from, chunk, 1 << 20, 0, &b);
    if (!st.ok()) return "Read(" + room + ", " + std::to_string(from) + "): " + st.ToString();
    for (const ReadEvent& e : b.events) {
      Got g;
      g.offset = e.offset;
      g.ts = e.timestamp_ms;
      g.key.assign(b.bytes.data() + e.key_pos, e.key_len);
      g.payload.assign(b.bytes.data() + e.payload_pos, e.payload_len);
      for (uint32_t i = 0; i < e.header_count; i++) {
        const ReadHeader& h = b.headers[e.first_header + i];
        g.headers.emplace_back(std::string(b.bytes.data() + h.name_pos, h.name_len),
                               std::string(b.bytes.data() + h.value_pos, h.value_len));
      }
      out->push_back(std::move(g));
    }
    if (b.next_offset <= from)
      return "Read(" + room + ", " + std::to_string(from) + ") made no progress below the high watermark " +
             std::to_string(hw) + " (next_offset " + std::to_string(b.next_offset) + ")";
    from = b.next_offset;
  }
  return "";
}

// Checks one room against its model; "" when it holds. With `in_flight` (an
// append to this room that was in flight at the crash), the room may hold it
// whole at its offsets, or not at all; when it does, it joins the model.
std::string VerifyRoom(StreamStore& ss, int r, RoomModel& m, const InFlightAppend* in_flight, uint64_t* present) {
  const std::string& room = kRooms[r];
  const bool compact = r == kCompactRoom;
  Result<RoomInfo> info = ss.Info(room);
  if (!info.ok()) return "Info(" + room + "): " + info.status().ToString();
  if (info->settings.fsync != wal::FsyncMode::kAlways) return room + ": fsync setting lost";
  if ((info->settings.cleanup == Cleanup::kCompact) != compact) return room + ": cleanup setting lost";
  uint64_t hw = info->next_offset;
  if (in_flight != nullptr && in_flight->first != m.next)
    return room + ": test bug: in-flight append at " + std::to_string(in_flight->first) + ", model next " +
           std::to_string(m.next);
  bool with_in_flight = false;
  if (hw != m.next) {
    if (in_flight == nullptr || hw != m.next + in_flight->events.size())
      return room + ": next_offset " + std::to_string(hw) + ", expected " + std::to_string(m.next) +
             (in_flight ? " or " + std::to_string(m.next + in_flight->events.size()) + " (with the in-flight append)"
                        : std::string(" (no append to it was in flight)"));
    with_in_flight = true;
  }
  RoomModel want = m;  // what the room must hold now
  if (with_in_flight) {
    for (size_t i = 0; i < in_flight->events.size(); i++) want.events[in_flight->first + i] = in_flight->events[i];
    want.next = hw;
  }
  if (info->earliest_offset != 0 && !compact)
    return room + ": earliest_offset " + std::to_string(info->earliest_offset) + " (no retention is configured)";

  std::vector<Got> got;
  std::string err = ReadAll(ss, room, hw, &got);
  if (!err.empty()) return err;
  *present = got.size();
  std::set<uint64_t> seen;
  uint64_t prev = 0;
  for (size_t i = 0; i < got.size(); i++) {
    const Got& g = got[i];
    if (i > 0 && g.offset <= prev)
      return room + ": offsets out of order: " + std::to_string(g.offset) + " after " + std::to_string(prev);
    prev = g.offset;
    if (g.offset >= hw) return room + ": read offset " + std::to_string(g.offset) + " at or past next_offset " + std::to_string(hw);
    if (!compact && g.offset != i)
      return room + ": offset " + std::to_string(i) + " missing (read " + std::to_string(g.offset) + " in its place)";
    auto it = want.events.find(g.offset);
    if (it == want.events.end())
      return room + ": offset " + std::to_string(g.offset) + " holds " + Describe(g) + ", never appended";
    std::string mm = Mismatch(g, it->second);
    if (!mm.empty()) return room + ": " + mm;
    seen.insert(g.offset);
  }
  if (!compact) {
    if (got.size() != hw) return room + ": read " + std::to_string(got.size()) + " events below next_offset " + std::to_string(hw);
  } else {
    std::map<std::string, uint64_t> latest;
    for (const auto& [off, e] : want.events) {
      if (e.key.empty()) {
        if (!seen.count(off)) return room + ": keyless event at " + std::to_string(off) + " " + Describe(e) + " lost";
      } else {
        latest[e.key] = off;
      }
    }
    for (const auto& [key, off] : latest)
      if (!seen.count(off))
        return room + ": the latest event of key " + key.substr(0, 12) + " (offset " + std::to_string(off) + ") lost";
  }
  m = std::move(want);
  return "";
}

using Commits = std::map<std::pair<int, int>, uint64_t>;  // (group, room) -> committed

std::string VerifyCommits(StreamStore& ss, Commits& acked, const std::optional<InFlightCommit>& in_flight) {
  for (int g = 0; g < kGroupCount; g++)
    for (int r = 0; r < kRoomCount; r++) {
      Result<uint64_t> c = ss.CommittedOffset(kGroups[g], kRooms[r]);
      auto it = acked.find({g, r});
      bool maybe = in_flight && in_flight->group == g && in_flight->room == r;
      std::string what = "group " + kGroups[g] + " room " + kRooms[r] + ": ";
      if (!c.ok()) {
        if (!c.status().IsNotFound()) return what + c.status().ToString();
        if (it != acked.end()) return what + "acknowledged commit of " + std::to_string(it->second) + " lost";
        continue;
      }
      if (it == acked.end() && !maybe) return what + "committed " + std::to_string(*c) + " but nothing was committed";
      bool ok = (it != acked.end() && *c == it->second) || (maybe && *c == in_flight->offset);
      if (!ok)
        return what + "committed " + std::to_string(*c) + ", expected " +
               (it != acked.end() ? std::to_string(it->second) : std::string("none")) +
               (maybe ? " or " + std::to_string(in_flight->offset) + " (in flight)" : std::string());
      acked[{g, r}] = *c;
    }
  return "";
}

struct Totals {
  uint64_t appends = 0, events = 0, commits = 0, compactions = 0, maintains = 0, dropped = 0, live_checks = 0;
  uint64_t crash_in_append = 0, crash_in_commit = 0, crash_in_compact = 0, crash_in_maintain = 0, crash_idle = 0;
  uint64_t in_flight_kept = 0, in_flight_lost = 0;
};
Totals g_totals;

void RunSeed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (SYNAP_SIM_SEED=" + std::to_string(seed) + " to replay)");
  const bool verbose = std::getenv("SYNAP_SIM_VERBOSE") != nullptr;
  std::mt19937_64 rng(seed);
  io::SimBackend sim(seed);
  db::DbOptions opts = testing::SimDbOptions(&sim, seed);
  opts.stream.max_event_bytes = 4096;
  opts.stream.max_append_bytes = 16384;
  opts.stream.max_key_bytes = 256;
  opts.stream.defaults.segment_bytes = 65536;
  opts.stream.maintenance_ms = 3600000;  // the background pass never runs by itself
  opts.stream.preallocate = log::Preallocate::kNone;

  std::array<RoomModel, kRoomCount> rooms;
  Commits commits;
  std::optional<InFlightAppend> in_append;
  std::optional<InFlightCommit> in_commit;
  uint64_t counter = 0;
  for (int cycle = 0; cycle < kCycles; cycle++) {  // the last one only verifies
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    auto db = db::Database::Open("/s", opts);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    StreamStore& ss = (*db)->streams();
    if (cycle == 0) {
      for (int r = 0; r < kRoomCount; r++) ASSERT_TRUE(ss.CreateRoom(kRooms[r], kSettings[r]).ok()) << kRooms[r];
    }
    std::array<uint64_t, kRoomCount> present{};
    for (int r = 0; r < kRoomCount; r++) {
      const InFlightAppend* fl = in_append && in_append->room == r ? &*in_append : nullptr;
      uint64_t before = rooms[r].next;
      std::string err = VerifyRoom(ss, r, rooms[r], fl, &present[r]);
      ASSERT_TRUE(err.empty()) << "after reopen: " << err;
      if (fl != nullptr) (rooms[r].next != before ? g_totals.in_flight_kept : g_totals.in_flight_lost)++;
    }
    {
      std::string err = VerifyCommits(ss, commits, in_commit);
      ASSERT_TRUE(err.empty()) << "after reopen: " << err;
    }
    if (verbose)
      std::fprintf(stderr, "seed %llu cycle %d: next %llu/%llu/%llu, compacted room holds %llu, %zu commits\n",
                   static_cast<unsigned long long>(seed), cycle, static_cast<unsigned long long>(rooms[0].next),
                   static_cast<unsigned long long>(rooms[1].next), static_cast<unsigned long long>(rooms[2].next),
                   static_cast<unsigned long long>(present[kCompactRoom]), commits.size());
    in_append.reset();
    in_commit.reset();
    if (cycle == kCycles - 1) break;

    sim.crash_after(rng() % 600);
    bool failed = false;
    for (int i = 0; i < 200 && !sim.crashed(); i++) {
      uint64_t dice = rng() % 40;
      if (dice < 22) {  // append
        int r = static_cast<int>(rng() % kRoomCount);
        size_t n = 1 + rng() % 10;
        std::vector<Ev> evs;
        for (size_t j = 0; j < n; j++) evs.push_back(MakeEvent(counter++, rng));
        std::vector<HeaderView> hv(n);
        std::vector<EventIn> in(n);
        for (size_t j = 0; j < n; j++) {
          in[j].key = evs[j].key;
          in[j].payload = evs[j].payload;
          in[j].timestamp_ms = evs[j].ts;
          if (evs[j].has_header) {
            hv[j] = {"h", evs[j].header};
            in[j].headers = std::span<const HeaderView>(&hv[j], 1);
          }
        }
        int64_t t0 = WallMs();
        Result<uint64_t> got = ss.Append(kRooms[r], in);
        int64_t t1 = WallMs();
        for (Ev& e : evs) {
          e.ts_lo = e.ts != 0 ? e.ts : t0;
          e.ts_hi = e.ts != 0 ? e.ts : t1;
        }
        if (!got.ok()) {
          if (!sim.crashed()) {
            ADD_FAILURE() << "Append to " << kRooms[r] << " failed with no crash: " << got.status().ToString();
            failed = true;
          }
          in_append = InFlightAppend{r, rooms[r].next, std::move(evs)};
          g_totals.crash_in_append++;
          break;
        }
        if (*got != rooms[r].next) {
          ADD_FAILURE() << "Append to " << kRooms[r] << " returned offset " << *got << ", expected " << rooms[r].next;
          failed = true;
          break;
        }
        for (size_t j = 0; j < n; j++) rooms[r].events[*got + j] = evs[j];
        rooms[r].next += n;
        g_totals.appends++;
        g_totals.events += n;
      } else if (dice < 31) {  // commit
        int g = static_cast<int>(rng() % kGroupCount), r = static_cast<int>(rng() % kRoomCount);
        auto it = commits.find({g, r});
        uint64_t lo = it == commits.end() ? 0 : it->second;
        uint64_t off = lo + rng() % (rooms[r].next - lo + 1);  // forward, never beyond the acknowledged end
        Status st = ss.CommitOffset(kGroups[g], kRooms[r], off);
        if (!st.ok()) {
          if (!sim.crashed()) {
            ADD_FAILURE() << "CommitOffset(" << kGroups[g] << ", " << kRooms[r] << ", " << off
                          << ") failed with no crash: " << st.ToString();
            failed = true;
          }
          in_commit = InFlightCommit{g, r, off};
          g_totals.crash_in_commit++;
          break;
        }
        commits[{g, r}] = off;
        g_totals.commits++;
      } else if (dice < 35) {  // compaction of the compacted room
        Result<uint64_t> dropped = ss.Compact(kRooms[kCompactRoom]);
        if (!dropped.ok()) {
          if (!sim.crashed()) {
            ADD_FAILURE() << "Compact failed with no crash: " << dropped.status().ToString();
            failed = true;
          }
          g_totals.crash_in_compact++;
          break;
        }
        g_totals.compactions++;
        g_totals.dropped += *dropped;
        if (sim.crashed()) {  // met the crash but reported success (a best-effort step failed)
          g_totals.crash_in_compact++;
          break;
        }
      } else if (dice < 38) {  // a maintenance pass
        uint64_t errors = ss.maintenance_stats().errors;
        ss.Maintain(WallMs());
        MaintenanceStats ms = ss.maintenance_stats();
        g_totals.maintains++;
        if (sim.crashed()) {
          g_totals.crash_in_maintain++;
          break;
        }
        if (ms.errors != errors) {
          ADD_FAILURE() << "Maintain failed with no crash: " << ms.last_error;
          failed = true;
          break;
        }
      } else {  // a live check: what is acknowledged is readable now
        if (sim.crashed()) break;
        for (int r = 0; r < kRoomCount; r++) {
          uint64_t unused;
          std::string err = VerifyRoom(ss, r, rooms[r], nullptr, &unused);
          if (!err.empty()) {
            ADD_FAILURE() << "live check before the crash: " << err;
            failed = true;
          }
        }
        g_totals.live_checks++;
        if (failed) break;
      }
    }
    if (!sim.crashed()) {
      g_totals.crash_idle++;
      sim.crash();  // power loss right now
    }
    (void)(*db)->Close();
    db->reset();
    sim.restart();
    if (failed) return;
  }
}

TEST(StreamSimCrash, AcknowledgedEventsAndCommitsSurvivePowerLoss) {
  g_totals = {};
  if (std::optional<uint64_t> one = testing::SimOnlySeed()) {
    RunSeed(*one);
  } else {
    uint64_t seeds = testing::SimSeedCount(100);
    for (uint64_t s = 1; s <= seeds && !HasFailure(); s++) RunSeed(s);
  }
  if (std::getenv("SYNAP_SIM_VERBOSE") != nullptr) {
    const Totals& t = g_totals;
    std::fprintf(stderr,
                 "appends %llu (events %llu), commits %llu, compactions %llu (dropped %llu), maintains %llu, "
                 "live checks %llu; crash in append %llu (kept %llu, lost %llu), commit %llu, compact %llu, "
                 "maintain %llu, idle %llu\n",
                 (unsigned long long)t.appends, (unsigned long long)t.events, (unsigned long long)t.commits,
                 (unsigned long long)t.compactions, (unsigned long long)t.dropped, (unsigned long long)t.maintains,
                 (unsigned long long)t.live_checks, (unsigned long long)t.crash_in_append,
                 (unsigned long long)t.in_flight_kept, (unsigned long long)t.in_flight_lost,
                 (unsigned long long)t.crash_in_commit, (unsigned long long)t.crash_in_compact,
                 (unsigned long long)t.crash_in_maintain, (unsigned long long)t.crash_idle);
  }
}

}  // namespace
}  // namespace synap::stream
