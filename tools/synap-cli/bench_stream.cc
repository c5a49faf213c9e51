// `synap-cli bench stream`: threads drive libsynap's stream rooms (Kafka-
// style event logs) and report throughput (events per second) and latency.
//
//   --op append  each call appends --batch events to the writer's room
//                (synap_stream_append) and waits for their acknowledgement.
//                With --readers N, N more threads tail the rooms meanwhile
//                (reader j follows bench-(j mod --rooms) from offset 0 with
//                blocking reads), and the report adds the delivery latency:
//                append call to the read that returned the event.
//   --op read    --records events are appended first (not timed); then each
//                reader reads its room from offset 0 in reads of up to
//                --batch events, starting over at the end, until --records
//                events are read or --duration has passed. --readers 0
//                means one reader per room.
//
// Rooms are bench-0 .. bench-<--rooms - 1>; writer i appends to bench-(i mod
// --rooms). Payloads are --value-size pseudo-random bytes whose first 8 hold
// the append's time (for the delivery latency). Events have no key and no
// headers. After the run the directory is closed, reopened (recovery) and
// the rooms' events counted.
#include <synap/synap.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tools/synap-cli/bench_engine.h"
#include "tools/synap-cli/command.h"

namespace synap::cli {
namespace {

constexpr uint32_t kMaxRooms = 10000;
constexpr uint32_t kMaxBatch = 100000;  // stream.max_read_records' default
constexpr uint32_t kMaxReaders = 4096;
constexpr size_t kPreloadChunkBytes = 1u << 20;  // one append of the preload, about
constexpr size_t kStampBytes = 8;                // the append time at the start of each payload
// A tail reader's blocking read waits this long for an append; the readers
// re-check whether the writers are done between waits.
constexpr uint32_t kTailWaitMs = 100;
// Events a tail reader takes per read.
constexpr uint32_t kTailReadRecords = 1000;

enum Part : size_t { kPartDelivery = 0 };
enum class StreamOp { kAppend, kRead };

struct StreamFlags {
  EngineFlags common;
  std::string op = "append";
  uint32_t rooms = 1;
  uint32_t batch = 1;
  uint32_t readers = 0;
};

std::string RoomName(uint32_t i) { return "bench-" + std::to_string(i); }

// The time an event was appended, as nanoseconds of BenchClock (0 when the
// payload is too short to carry it).
void StampNow(std::vector<uint8_t>* payload) {
  if (payload->size() < kStampBytes) return;
  uint64_t now = NanosOf(BenchClock::now().time_since_epoch());
  std::memcpy(payload->data(), &now, kStampBytes);
}

uint64_t StampOf(const synap_event& e) {
  uint64_t t = 0;
  if (e.payload_len >= kStampBytes) std::memcpy(&t, e.payload, kStampBytes);
  return t;
}

// A writer: one payload (stamped per call) that every event of a call shares.
struct RoomWriter {
  synap_db* db;
  std::string room;
  std::vector<uint8_t> payload;
  std::vector<synap_event_in> events;

  RoomWriter(synap_db* d, uint32_t id, uint32_t room_index, uint32_t value_size)
      : db(d), room(RoomName(room_index)), payload(MakeBenchFill(id, value_size)) {}

  int Append(uint64_t n) {
    StampNow(&payload);
    synap_event_in e{};
    e.payload = payload.data();
    e.payload_len = payload.size();
    events.assign(n, e);
    return synap_stream_append(db, room.c_str(), events.data(), n, nullptr);
  }
};

// ---- preload (--op read) ----

// Appends the preload's records [first, first + n) to their rooms: each
// room holds an even, contiguous share.
void PreloadThread(synap_db* db, const StreamFlags& f, OpBudget* budget, uint32_t id, ThreadTally* t) {
  const uint64_t chunk = std::clamp<uint64_t>(kPreloadChunkBytes / (f.common.value_size + 32ull), 1, 10000);
  uint64_t first;
  while (uint64_t n = budget->Claim(chunk, &first)) {
    ForEachShare(first, n, f.common.PreloadCount(), f.rooms, [&](uint32_t room, uint64_t count) {
      if (t->error != SYNAP_OK) return;
      RoomWriter w(db, id, room, f.common.value_size);
      BenchClock::time_point t0 = BenchClock::now();
      if (int rc = w.Append(count); rc != SYNAP_OK) {
        t->Fail(rc, "preload: append " + std::to_string(count) + " events to " + w.room);
        budget->Stop();
        return;
      }
      t->Count(t0, BenchClock::now(), count);
    });
  }
}

// ---- the timed threads ----

struct StreamRun {
  const StreamFlags* f;
  synap_db* db;
  OpBudget* budget;
  std::atomic<uint32_t>* writers_left;  // --op append: writers still appending
};

void AppendThread(const StreamRun& k, uint32_t id, ThreadTally* t) {
  RoomWriter w(k.db, id, id % k.f->rooms, k.f->common.value_size);
  while (uint64_t n = k.budget->Claim(k.f->batch)) {
    BenchClock::time_point t0 = BenchClock::now();
    if (int rc = w.Append(n); rc != SYNAP_OK) {
      t->Fail(rc, "append to " + w.room);
      k.budget->Stop();
      break;
    }
    t->Count(t0, BenchClock::now(), n);
  }
  k.writers_left->fetch_sub(1);
}

// A tail reader: follows its room until the writers are done and it has
// read everything they appended. Counts events in `done`, their delivery
// latency in parts[kPartDelivery]; its calls' own latency includes waiting,
// so it is not kept.
void TailThread(const StreamRun& k, uint32_t reader, ThreadTally* t) {
  const std::string room = RoomName(reader % k.f->rooms);
  uint64_t offset = 0;
  for (;;) {
    const bool writers_done = k.writers_left->load() == 0;
    synap_events* ev = nullptr;
    int rc = synap_stream_read(k.db, room.c_str(), offset, kTailReadRecords, 0, writers_done ? 0 : kTailWaitMs, &ev);
    if (rc != SYNAP_OK) {
      t->Fail(rc, "tail read of " + room + " at offset " + std::to_string(offset));
      return;
    }
    const uint64_t now = NanosOf(BenchClock::now().time_since_epoch());
    for (size_t i = 0; i < ev->count; ++i)
      if (uint64_t stamp = StampOf(ev->events[i]); stamp != 0 && stamp <= now)
        t->parts[kPartDelivery].Record(now - stamp);
    ++t->calls;
    t->done.store(t->done.load(std::memory_order_relaxed) + ev->count, std::memory_order_relaxed);
    offset = ev->next_offset;
    const bool empty = ev->count == 0;
    synap_free(ev);
    // Appends return once acknowledged, and acknowledged events are
    // readable: once the writers were done before an empty read, it is the end.
    if (empty && writers_done) return;
  }
}

// A reader of preloaded events: reads up to --batch at a time from its room,
// starting over at the end, until the budget is spent.
void ReadThread(const StreamRun& k, uint32_t reader, ThreadTally* t) {
  const std::string room = RoomName(reader % k.f->rooms);
  uint64_t offset = 0;
  while (uint64_t want = k.budget->Claim(k.f->batch)) {
    while (want > 0) {
      synap_events* ev = nullptr;
      BenchClock::time_point t0 = BenchClock::now();
      int rc = synap_stream_read(k.db, room.c_str(), offset, static_cast<uint32_t>(want), 0, 0, &ev);
      if (rc != SYNAP_OK) {
        t->Fail(rc, "read of " + room + " at offset " + std::to_string(offset));
        k.budget->Stop();
        return;
      }
      BenchClock::time_point t1 = BenchClock::now();
      const uint64_t got = ev->count;
      offset = got == 0 || ev->next_offset >= ev->high_watermark ? 0 : ev->next_offset;
      synap_free(ev);
      if (got == 0) {
        if (t->calls == 0) {  // an empty room (fewer events loaded than rooms)
          k.budget->GiveBack(want);
          return;
        }
        continue;  // the end: start over
      }
      t->Count(t0, t1, got);
      want -= std::min(want, got);
    }
  }
}

// ---- run ----

int CreateRooms(const StreamFlags& f, synap_db* db) {
  for (uint32_t i = 0; i < f.rooms; ++i) {
    int rc = synap_stream_create(db, RoomName(i).c_str(), nullptr);
    if (rc != SYNAP_OK) {
      PrintEngineError(f.common, "create room " + RoomName(i), rc);
      return ExitCodeFor(rc);
    }
  }
  return 0;
}

uint64_t EventsKept(const StreamFlags& f, synap_db* db) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < f.rooms; ++i) {
    uint64_t earliest = 0, next = 0;
    if (synap_stream_bounds(db, RoomName(i).c_str(), &earliest, &next) == SYNAP_OK) n += next - earliest;
  }
  return n;
}

int RunBenchStream(const StreamFlags& f) {
  const EngineFlags& c = f.common;
  const StreamOp op = f.op == "append" ? StreamOp::kAppend : StreamOp::kRead;
  const uint32_t readers = op == StreamOp::kRead && f.readers == 0 ? f.rooms : f.readers;
  // Every room needs a thread of the timed phase, or its share sits idle.
  const uint32_t clients = op == StreamOp::kAppend ? c.writers : readers;
  if (f.rooms > clients) {
    std::fprintf(stderr, "synap-cli bench stream: --rooms %u exceeds %s %u: rooms bench-%u.. would have no %s\n",
                 f.rooms, op == StreamOp::kAppend ? "--writers" : "--readers", clients, clients,
                 op == StreamOp::kAppend ? "writer" : "reader");
    return kBenchExitConfig;
  }
  BenchEngine engine;
  if (int rc = engine.Open(c); rc != 0) return rc;
  if (int rc = CreateRooms(f, engine.db()); rc != 0) return rc;
  EngineReport r;
  r.flags = &c;
  r.engine = &engine;
  r.op = f.op;
  r.unit = "events";
  r.check_what = "events";
  r.preload_what = "events";
  r.threads = op == StreamOp::kRead ? std::to_string(readers) + " readers" : std::to_string(c.writers) + " writers";
  std::string message;

  if (op == StreamOp::kRead) {
    OpBudget preload(c.PreloadCount(), 0);
    ProgressSpec spec{"bench stream preload", "events", c.PreloadCount(), 0};
    const uint32_t threads = std::min<uint32_t>(c.writers, 8);
    ThreadRun run = RunThreads(
        threads, threads, &preload,
        [&](uint32_t id, ThreadTally* t) { PreloadThread(engine.db(), f, &preload, id, t); },
        ProgressWanted(c.no_progress) ? &spec : nullptr);
    if (int rc = run.FirstError(&message); rc != SYNAP_OK) {
      std::fprintf(stderr, "synap-cli bench stream: %s\n", message.c_str());
      return ExitCodeFor(rc);
    }
    r.preloaded = run.Done(threads);
    r.preload_sec = run.ElapsedSec(threads);
  }

  // --op append: writers [0, writers), tail readers after them; --op read:
  // readers only.
  const uint32_t timed = op == StreamOp::kAppend ? c.writers : readers;
  const uint32_t threads = op == StreamOp::kAppend ? c.writers + readers : readers;
  std::atomic<uint32_t> writers_left{op == StreamOp::kAppend ? c.writers : 0};
  OpBudget budget(c.RecordLimit(), c.duration_sec);
  StreamRun k{&f, engine.db(), &budget, &writers_left};
  r.stats_before = engine.Stats();
  ProgressSpec spec{"bench stream", "events", c.RecordLimit() == UINT64_MAX ? 0 : c.RecordLimit(), c.duration_sec};
  ThreadRun run = RunThreads(
      threads, timed, &budget,
      [&](uint32_t id, ThreadTally* t) {
        if (op == StreamOp::kRead) return ReadThread(k, id, t);
        if (id < c.writers) return AppendThread(k, id, t);
        TailThread(k, id - c.writers, t);
      },
      ProgressWanted(c.no_progress) ? &spec : nullptr);
  r.stats_after = engine.Stats();
  int failed = run.FirstError(&message);
  LatencyHistogram hist = run.Hist(timed);
  LatencyHistogram delivery;
  uint64_t tail_events = 0;
  for (uint32_t i = timed; op == StreamOp::kAppend && i < threads; ++i) {
    delivery.Merge(run.tallies[i]->parts[kPartDelivery]);
    tail_events += run.tallies[i]->done.load();
  }
  r.figures = {run.Done(timed), c.value_size, run.ElapsedSec(timed), &hist};
  r.calls = run.Calls(timed);
  r.timed_out = budget.timed_out();
  if (op == StreamOp::kAppend && readers > 0) r.parts.push_back({"delivery", &delivery});
  r.latency_what = op == StreamOp::kAppend ? "append->ack" : "read call";
  const uint64_t appended = op == StreamOp::kAppend ? r.figures.records : 0;

  int closed = engine.Close(&r.close_ms);
  if (failed != SYNAP_OK || closed != SYNAP_OK) {
    std::fprintf(stderr, "synap-cli bench stream: failed after %llu events: %s\n",
                 static_cast<unsigned long long>(r.figures.records),
                 failed != SYNAP_OK ? message.c_str() : synap_last_error());
    if (failed == SYNAP_ETOOLARGE) PrintLimitHint();
    return failed != SYNAP_OK ? ExitCodeFor(failed) : kBenchExitFailed;
  }
  if (int rc = engine.Reopen(c, &r.open_ms); rc != 0) return rc;
  r.recovery_stats = engine.Stats();
  r.expected = r.preloaded + appended;
  r.found = EventsKept(f, engine.db());
  r.verified = r.found == r.expected;
  double unused_ms;
  engine.Close(&unused_ms);

  std::vector<std::string> lines;
  lines.push_back("rooms        " + std::to_string(f.rooms) + " (bench-0 ..), batch " + std::to_string(f.batch) +
                  ", readers " + std::to_string(readers));
  if (op == StreamOp::kAppend && readers > 0)
    lines.push_back("tail reads   " + std::to_string(tail_events) + " events read by " + std::to_string(readers) +
                    " readers while appending (each reads one room)");
  PrintEngineReport(
      r,
      [&](JsonOut& j) {
        j.U64("rooms", f.rooms).U64("batch", f.batch).U64("readers", readers).U64("appended", appended);
        if (op == StreamOp::kAppend) j.U64("tail_events", tail_events);
      },
      lines);
  std::fflush(stdout);
  if (!r.verified) {
    std::fprintf(stderr, "synap-cli bench stream: after the reopen the rooms hold %llu events, expected %llu\n",
                 static_cast<unsigned long long>(r.found), static_cast<unsigned long long>(r.expected));
    return kBenchExitFailed;
  }
  return 0;
}

RunFn SetupBenchStream(CLI::App* cmd) {
  auto f = std::make_shared<StreamFlags>();
  cmd->add_option("--op", f->op, "append, or read (of --records events appended first, not timed)")
      ->check(CLI::IsMember({"append", "read"}))
      ->capture_default_str();
  cmd->add_option("--rooms", f->rooms, "Rooms bench-0 ..; writer i appends to bench-(i mod --rooms)")
      ->check(CLI::Range(uint32_t{1}, kMaxRooms))
      ->capture_default_str();
  cmd->add_option("--batch", f->batch, "Events per append call (--op read: the most events per read call)")
      ->check(CLI::Range(uint32_t{1}, kMaxBatch))
      ->capture_default_str();
  cmd->add_option("--readers", f->readers,
                  "Reader threads; reader j reads bench-(j mod --rooms). --op append: they tail the rooms while "
                  "the writers append (0: none); --op read: they do the reading (0: one per room)")
      ->check(CLI::Range(uint32_t{0}, kMaxReaders))
      ->capture_default_str();
  AddEngineFlags(cmd, &f->common, EngineModel::kStream, "stream", "./data/stream-bench",
                 {"Writer threads, each with one append outstanding (--op read: threads that append the events "
                  "first)",
                  "Total events (appended, or read); with --op read also how many are appended first",
                  "Bytes per event payload (k/M suffixes: 1024-based; stream.max_event_bytes applies)"});
  cmd->footer(
      "The rooms' settings come from the stream.* options: --fsync, --segment-bytes, --codec, --preallocate and "
      "--fsync-interval-ms set them (rooms have no --mechanism, --linger-us, --max-in-flight or --max-batch-bytes "
      "of their own). Payloads are --value-size pseudo-random bytes. After the run the directory is closed, "
      "reopened and the rooms' events counted.\n"
      "Exit status: 0 ok; 1 engine failure, a directory in use, or the reopened data does not match; 2 "
      "configuration refused (a bad flag or option, an event over an engine limit, data in --dir without "
      "--fresh).");
  return [f]() -> int { return RunBenchStream(*f); };
}

}  // namespace

SYNAP_CLI_GROUP("bench", "Measure the engine");
SYNAP_CLI_COMMAND("bench stream", "Append/read throughput and latency of the stream rooms, through libsynap",
                  SetupBenchStream);

}  // namespace synap::cli
