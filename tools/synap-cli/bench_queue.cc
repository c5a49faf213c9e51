// `synap-cli bench queue`: client threads drive libsynap's durable queues
// and report throughput (messages per second) and the latency of each call.
//
//   --op publish    each call publishes --batch messages (synap_queue_publish,
//                   or synap_queue_publish_batch for more than one) and waits
//                   for their acknowledgement.
//   --op consume    --records messages are published first (not timed); then
//                   each call consumes up to --batch (synap_queue_consume,
//                   no wait) and acks them (synap_queue_ack), until the
//                   queues are empty or the run ends.
//   --op roundtrip  each round publishes --batch messages, consumes up to as
//                   many from the same queue and acks them.
//
// Queues are bench-0 .. bench-<--queues - 1>; thread i uses bench-(i mod
// --queues). Payloads are --value-size pseudo-random bytes. After the run the
// directory is closed, reopened (recovery) and the messages left are counted:
// those loaded and published, less those acked.
#include <synap/synap.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/synap-cli/bench_engine.h"
#include "tools/synap-cli/command.h"

namespace synap::cli {
namespace {

constexpr uint32_t kMaxQueues = 10000;
constexpr uint32_t kMaxBatch = 10000;            // synap_queue_consume's limit per call
constexpr size_t kPreloadChunkBytes = 1u << 20;  // one publish_batch record of the preload, about
// Each queue is declared this deep, so that no run stops at the default
// max_depth (1000000): the bench measures throughput, not that limit.
constexpr uint64_t kBenchQueueDepth = uint64_t{1} << 42;
// How long a roundtrip's consume waits for a message. Its own publish was
// acknowledged before, so one is ready unless another thread took it, and
// then that thread left one of its own: the wait is a safety net.
constexpr uint32_t kRoundtripWaitMs = 1000;

enum Part : size_t { kPartPublish = 0, kPartConsume = 1, kPartAck = 2 };
enum class QueueOp { kPublish, kConsume, kRoundtrip };

struct QueueFlags {
  EngineFlags common;
  std::string op = "publish";
  uint32_t queues = 1;
  uint32_t batch = 1;
};

std::string QueueName(uint32_t i) { return "bench-" + std::to_string(i); }

// A thread's view: its queue, its payload, and the arrays publish_batch takes.
struct QueueClient {
  synap_db* db;
  std::string queue;
  std::string consumer;
  std::vector<uint8_t> payload;
  std::vector<const void*> payloads;
  std::vector<size_t> lens;
  std::vector<uint64_t> ids;

  QueueClient(synap_db* d, uint32_t id, uint32_t queue_index, uint32_t value_size)
      : db(d),
        queue(QueueName(queue_index)),
        consumer("bench-" + std::to_string(id)),
        payload(MakeBenchFill(id, value_size)) {}

  int Publish(uint64_t n) {
    if (n == 1) {
      return synap_queue_publish(db, queue.c_str(), payload.data(), payload.size(), -1, 0, -1, nullptr, 0, nullptr);
    }
    payloads.assign(n, payload.data());
    lens.assign(n, payload.size());
    return synap_queue_publish_batch(db, queue.c_str(), n, payloads.data(), lens.data(), nullptr);
  }

  // Consumes up to n; *got gets how many came (their ids in `ids`).
  int Consume(uint64_t n, uint32_t wait_ms, size_t* got) {
    synap_message* msgs = nullptr;
    *got = 0;
    int rc = synap_queue_consume(db, queue.c_str(), consumer.c_str(), static_cast<uint32_t>(n), wait_ms, 0, &msgs, got);
    ids.clear();
    for (size_t i = 0; rc == SYNAP_OK && i < *got; ++i) ids.push_back(msgs[i].id);
    synap_free(msgs);
    return rc;
  }

  int Ack() { return ids.empty() ? SYNAP_OK : synap_queue_ack(db, queue.c_str(), ids.data(), ids.size()); }
};

// ---- preload (--op consume) ----

// Publishes the preload's records [first, first + n) to their queues: each
// queue holds an even, contiguous share.
void PreloadThread(synap_db* db, const QueueFlags& f, OpBudget* budget, uint32_t id, ThreadTally* t) {
  const uint64_t chunk = std::clamp<uint64_t>(kPreloadChunkBytes / (f.common.value_size + 32ull), 1, kMaxBatch);
  uint64_t first;
  while (uint64_t n = budget->Claim(chunk, &first)) {
    ForEachShare(first, n, f.common.PreloadCount(), f.queues, [&](uint32_t queue, uint64_t count) {
      if (t->error != SYNAP_OK) return;
      QueueClient q(db, id, queue, f.common.value_size);
      BenchClock::time_point t0 = BenchClock::now();
      if (int rc = q.Publish(count); rc != SYNAP_OK) {
        t->Fail(rc, "preload: publish " + std::to_string(count) + " messages to " + q.queue);
        budget->Stop();
        return;
      }
      t->Count(t0, BenchClock::now(), count);
    });
  }
}

// ---- the timed threads ----

struct QueueRun {
  const QueueFlags* f;
  synap_db* db;
  OpBudget* budget;
  QueueOp op;
};

void QueueThread(const QueueRun& k, uint32_t id, ThreadTally* t) {
  const QueueFlags& f = *k.f;
  QueueClient q(k.db, id, id % f.queues, f.common.value_size);
  auto fail = [&](int rc, const std::string& what, bool from_libsynap = true) {
    t->Fail(rc, what + " (" + q.queue + ")", from_libsynap);
    k.budget->Stop();
  };
  while (uint64_t n = k.budget->Claim(f.batch)) {
    BenchClock::time_point t0 = BenchClock::now(), t_published = t0;
    if (k.op != QueueOp::kConsume) {
      if (int rc = q.Publish(n); rc != SYNAP_OK) return fail(rc, "publish");
      t_published = BenchClock::now();
      if (k.op == QueueOp::kPublish) {
        t->Count(t0, t_published, n);
        continue;
      }
      t->aux += n;
      t->parts[kPartPublish].Record(NanosOf(t_published - t0));
    }
    size_t got = 0;
    int rc = q.Consume(n, k.op == QueueOp::kRoundtrip ? kRoundtripWaitMs : 0, &got);
    if (rc != SYNAP_OK) return fail(rc, "consume");
    // What was claimed and not consumed goes back to the budget, for the
    // threads of other queues (--op consume) or a later round (roundtrip).
    k.budget->GiveBack(n - got);
    if (got == 0) {
      if (k.op == QueueOp::kConsume) return;  // this queue is empty: the thread is done
      return fail(SYNAP_NOTFOUND,
                  "roundtrip: no message to consume " + std::to_string(kRoundtripWaitMs) + " ms after a publish",
                  /*from_libsynap=*/false);
    }
    BenchClock::time_point t_consumed = BenchClock::now();
    if (int rc2 = q.Ack(); rc2 != SYNAP_OK) return fail(rc2, "ack");
    BenchClock::time_point t1 = BenchClock::now();
    t->parts[kPartConsume].Record(NanosOf(t_consumed - t_published));
    t->parts[kPartAck].Record(NanosOf(t1 - t_consumed));
    t->Count(t0, t1, got);
  }
}

// ---- run ----

// Declares the queues; 0 or the exit code.
int DeclareQueues(const QueueFlags& f, synap_db* db) {
  const std::string settings = "max_depth=" + std::to_string(kBenchQueueDepth);
  for (uint32_t i = 0; i < f.queues; ++i) {
    int rc = synap_queue_declare(db, QueueName(i).c_str(), settings.c_str());
    if (rc != SYNAP_OK) {
      PrintEngineError(f.common, "declare queue " + QueueName(i), rc);
      return ExitCodeFor(rc);
    }
  }
  return 0;
}

// Messages still held by the queues (ready, in flight, delayed).
uint64_t MessagesLeft(const QueueFlags& f, synap_db* db) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < f.queues; ++i) {
    char* json = nullptr;
    if (synap_queue_stats_json(db, QueueName(i).c_str(), &json, nullptr) != SYNAP_OK) continue;
    for (const char* k : {"ready", "in_flight", "delayed"}) n += static_cast<uint64_t>(StatsNumber(json, "", k));
    synap_free(json);
  }
  return n;
}

int RunBenchQueue(const QueueFlags& f) {
  const EngineFlags& c = f.common;
  if (f.queues > c.writers) {
    std::fprintf(stderr,
                 "synap-cli bench queue: --queues %u exceeds --writers %u: queues bench-%u.. would have no client\n",
                 f.queues, c.writers, c.writers);
    return kBenchExitConfig;
  }
  const QueueOp op = f.op == "publish"   ? QueueOp::kPublish
                     : f.op == "consume" ? QueueOp::kConsume
                                         : QueueOp::kRoundtrip;
  BenchEngine engine;
  if (int rc = engine.Open(c); rc != 0) return rc;
  if (int rc = DeclareQueues(f, engine.db()); rc != 0) return rc;
  EngineReport r;
  r.flags = &c;
  r.engine = &engine;
  r.op = f.op;
  r.unit = "messages";
  r.check_what = "messages left";
  r.preload_what = "messages";
  std::string message;

  if (op == QueueOp::kConsume) {
    OpBudget preload(c.PreloadCount(), 0);
    ProgressSpec spec{"bench queue preload", "messages", c.PreloadCount(), 0};
    const uint32_t threads = std::min<uint32_t>(c.writers, 8);
    ThreadRun run = RunThreads(
        threads, threads, &preload,
        [&](uint32_t id, ThreadTally* t) { PreloadThread(engine.db(), f, &preload, id, t); },
        ProgressWanted(c.no_progress) ? &spec : nullptr);
    if (int rc = run.FirstError(&message); rc != SYNAP_OK) {
      std::fprintf(stderr, "synap-cli bench queue: %s\n", message.c_str());
      return ExitCodeFor(rc);
    }
    r.preloaded = run.Done(threads);
    r.preload_sec = run.ElapsedSec(threads);
  }

  // A consume run ends when the queues are empty at the latest.
  OpBudget budget(op == QueueOp::kConsume ? std::min(c.RecordLimit(), r.preloaded) : c.RecordLimit(), c.duration_sec);
  const uint64_t limit = op == QueueOp::kConsume ? r.preloaded : c.RecordLimit();
  QueueRun k{&f, engine.db(), &budget, op};
  r.stats_before = engine.Stats();
  ProgressSpec spec{"bench queue", "messages", limit == UINT64_MAX ? 0 : limit, c.duration_sec};
  ThreadRun run = RunThreads(
      c.writers, c.writers, &budget, [&](uint32_t id, ThreadTally* t) { QueueThread(k, id, t); },
      ProgressWanted(c.no_progress) ? &spec : nullptr);
  r.stats_after = engine.Stats();
  int failed = run.FirstError(&message);
  LatencyHistogram hist = run.Hist(c.writers);
  LatencyHistogram publish = run.Part(c.writers, kPartPublish), consume = run.Part(c.writers, kPartConsume),
                   ack = run.Part(c.writers, kPartAck);
  r.figures = {run.Done(c.writers), c.value_size, run.ElapsedSec(c.writers), &hist};
  r.calls = run.Calls(c.writers);
  r.timed_out = budget.timed_out();
  const uint64_t published = op == QueueOp::kPublish ? r.figures.records : run.Aux(c.writers);
  const uint64_t acked = op == QueueOp::kPublish ? 0 : r.figures.records;
  if (op == QueueOp::kRoundtrip) r.parts.push_back({"publish", &publish});
  if (op != QueueOp::kPublish) r.parts.insert(r.parts.end(), {{"consume", &consume}, {"ack", &ack}});
  r.latency_what = op == QueueOp::kPublish   ? (f.batch > 1 ? "publish_batch->ack" : "publish->ack")
                   : op == QueueOp::kConsume ? "consume+ack"
                                             : "publish+consume+ack";

  int closed = engine.Close(&r.close_ms);
  if (failed != SYNAP_OK || closed != SYNAP_OK) {
    std::fprintf(stderr, "synap-cli bench queue: failed after %llu messages: %s\n",
                 static_cast<unsigned long long>(r.figures.records),
                 failed != SYNAP_OK ? message.c_str() : synap_last_error());
    if (failed == SYNAP_ETOOLARGE) PrintLimitHint();
    return failed != SYNAP_OK ? ExitCodeFor(failed) : kBenchExitFailed;
  }
  if (int rc = engine.Reopen(c, &r.open_ms); rc != 0) return rc;
  r.recovery_stats = engine.Stats();
  r.expected = r.preloaded + published - acked;
  r.found = MessagesLeft(f, engine.db());
  r.verified = r.found == r.expected;
  double unused_ms;
  engine.Close(&unused_ms);

  std::vector<std::string> lines;
  lines.push_back("queues       " + std::to_string(f.queues) + " (bench-0 ..), batch " + std::to_string(f.batch) +
                  "; " + std::to_string(published) + " published, " + std::to_string(acked) + " acked");
  PrintEngineReport(
      r,
      [&](JsonOut& j) {
        j.U64("queues", f.queues).U64("batch", f.batch).U64("published", published).U64("acked", acked);
      },
      lines);
  std::fflush(stdout);
  if (!r.verified) {
    std::fprintf(stderr, "synap-cli bench queue: after the reopen the queues hold %llu messages, expected %llu\n",
                 static_cast<unsigned long long>(r.found), static_cast<unsigned long long>(r.expected));
    return kBenchExitFailed;
  }
  return 0;
}

RunFn SetupBenchQueue(CLI::App* cmd) {
  auto f = std::make_shared<QueueFlags>();
  cmd->add_option("--op", f->op,
                  "publish; consume (of --records messages published first, not timed: consume + ack); or "
                  "roundtrip (publish, then consume + ack)")
      ->check(CLI::IsMember({"publish", "consume", "roundtrip"}))
      ->capture_default_str();
  cmd->add_option("--queues", f->queues, "Queues bench-0 ..; writer i uses bench-(i mod --queues)")
      ->check(CLI::Range(uint32_t{1}, kMaxQueues))
      ->capture_default_str();
  cmd->add_option("--batch", f->batch,
                  "Messages per call: publish_batch of this many (1: synap_queue_publish), consume of up to this "
                  "many and one ack for them")
      ->check(CLI::Range(uint32_t{1}, kMaxBatch))
      ->capture_default_str();
  AddEngineFlags(cmd, &f->common, EngineModel::kQueue, "queue", "./data/queue-bench",
                 {"Client threads, each with one call outstanding",
                  "Total messages (published, or consumed and acked); with --op consume also how many are "
                  "published first",
                  "Bytes per message payload (k/M suffixes: 1024-based; queue.max_payload_bytes applies)"});
  cmd->footer(
      "Payloads are --value-size pseudo-random bytes. After the run the directory is closed, reopened and the "
      "messages left in the queues counted.\n"
      "Exit status: 0 ok; 1 engine failure, a directory in use, or the reopened data does not match; 2 "
      "configuration refused (a bad flag or option, a payload over an engine limit, data in --dir without "
      "--fresh).");
  return [f]() -> int { return RunBenchQueue(*f); };
}

}  // namespace

SYNAP_CLI_GROUP("bench", "Measure the engine");
SYNAP_CLI_COMMAND("bench queue", "Publish/consume throughput and latency of the durable queues, through libsynap",
                  SetupBenchQueue);

}  // namespace synap::cli
