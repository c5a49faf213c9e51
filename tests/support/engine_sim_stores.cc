// EngineSim (engine_sim.h): opening and verifying, the queue and the
// stream steps.
#include <algorithm>
#include <cerrno>

#include "tests/support/engine_sim.h"

namespace synap::testing::sim {
namespace {

const char* const kQueue = "jobs";
const std::array<std::string, EngineSim::kRooms> kRoomNames = {"r0", "r1"};
const std::array<std::string, EngineSim::kGroups> kGroupNames = {"g0", "g1"};

std::string DiffQueue(const QueueState& got, const QueueState& want) {
  auto show = [](const QueueState& s, uint64_t id) -> std::string {
    auto it = s.find(id);
    if (it == s.end()) return "absent";
    return it->second.payload.substr(0, 16) + " prio " + std::to_string(it->second.priority) +
           (it->second.dead ? " dead (" + it->second.reason + ")" : " live");
  };
  std::set<uint64_t> ids;
  for (const auto& [id, m] : got) ids.insert(id);
  for (const auto& [id, m] : want) ids.insert(id);
  for (uint64_t id : ids)
    if (show(got, id) != show(want, id))
      return "message " + std::to_string(id) + ": engine " + show(got, id) + ", model " + show(want, id);
  return "no difference";
}

std::string DiffEvents(const std::vector<SEvent>& got, const std::vector<SEvent>& want) {
  for (size_t i = 0; i < std::min(got.size(), want.size()); i++)
    if (!(got[i] == want[i]))
      return "offset " + std::to_string(i) + ": engine " + got[i].payload.substr(0, 16) + " key '" + got[i].key +
             "' ts " + std::to_string(got[i].ts) + ", model " + want[i].payload.substr(0, 16) + " key '" +
             want[i].key + "' ts " + std::to_string(want[i].ts);
  return std::to_string(got.size()) + " events, model " + std::to_string(want.size());
}

const char* KindName(QueueOp::Kind k) {
  switch (k) {
    case QueueOp::kPublish: return "publish";
    case QueueOp::kAck: return "ack";
    case QueueOp::kNack: return "nack";
    case QueueOp::kRequeueDead: return "requeue dead letter";
  }
  return "?";
}

}  // namespace

// ------------------------------------------------------- open and verify ----

// Recovery writes too (it zeroes a torn tail, syncs the segment it resumes,
// removes what a snapshot covers), so one reopen in five first runs it
// under a fault: a crash after a few disk operations, or one EIO/ENOSPC.
// Whatever that attempt did, power is then cut and recovery runs again
// without faults; the state it finds is checked as usual.
void EngineSim::InterruptedRecovery() {
  using Op = io::SimBackend::Op;
  if (rng_() % 5 != 0) return;
  if (rng_() % 2) {
    disk_.crash_after(rng_() % 40);
  } else {
    Op op = static_cast<Op>(rng_() % io::SimBackend::kOpCount);
    disk_.inject_error(op, rng_() % 2 ? EIO : ENOSPC, rng_() % 30);
  }
  Result<std::unique_ptr<db::Database>> db = db::Database::Open("/e", opts_);
  digest_.Add("faulted open");
  digest_.Add(static_cast<uint64_t>(db.status().code()));
  fig_.faulted_recoveries++;
  if (db.ok()) {
    (void)(*db)->Close();
    db->reset();
  } else {
    fig_.failed_recoveries++;
  }
  disk_.restart();
}

bool EngineSim::OpenAndVerify(bool first) {
  if (!first) InterruptedRecovery();
  Result<std::unique_ptr<db::Database>> db = db::Database::Open("/e", opts_);
  if (!db.ok()) return Fail("open after the power cut: " + db.status().ToString());
  db_ = std::move(*db);
  fig_.cycles++;
  digest_.Add("open");
  digest_.Add(disk_.ops_executed());
  if (digest_.echo) std::fprintf(stderr, "\n  recovery of the main log: %s", db_->report().log.ToString().c_str());
  if (first) {  // before any fault is armed: these must succeed
    queue::QueueSettings qs;
    qs.max_retries = 1'000'000;  // delivery counts are best effort (see the report): no retry dead-lettering
    qs.ack_deadline_ms = 1u << 30;
    Status st = db_->queues().Declare(kQueue, qs);
    if (!st.ok()) return Fail("declare: " + st.ToString());
    for (const std::string& r : kRoomNames) {
      st = db_->streams().CreateRoom(r, "fsync=always");
      if (!st.ok()) return Fail("create room " + r + ": " + st.ToString());
    }
    streams_.rooms.resize(kRooms);
    return true;
  }
  bool ok = VerifyKv() && VerifyQueue() && VerifyStreams();
  unknown_ = {};
  return ok;
}

Status EngineSim::WaitForMainLog() {
  wal::Wal& w = db_->wal();
  return w.WaitFor(w.last_lsn());
}

// Drains the queue (every live message is delivered to "verify", and stays
// held by the harness: acks and nacks in this run work on them) and reads
// the dead letters.
bool EngineSim::VerifyQueue() {
  queue::QueueStore& qs = db_->queues();
  QueueState got;
  int prev_priority = queue::kMaxPriority;
  while (true) {
    Result<std::vector<queue::Delivery>> r = qs.Consume(kQueue, "verify", 10000, 0);
    if (!r.ok()) return Fail("draining the queue after recovery: " + r.status().ToString());
    if (r->empty()) break;
    for (const queue::Delivery& d : *r) {
      if (got.count(d.id)) return Fail("message " + std::to_string(d.id) + " delivered twice by one drain");
      if (d.priority > prev_priority)
        return Fail("drain: priority " + std::to_string(d.priority) + " after " + std::to_string(prev_priority));
      prev_priority = d.priority;
      got[d.id] = QMsg{d.payload, d.priority, false, ""};
      held_.insert(d.id);
    }
    Status st = WaitForMainLog();
    if (!st.ok()) return Fail("delivery record after recovery: " + st.ToString());
  }
  Result<std::vector<queue::Delivery>> dead = qs.DeadLetters(kQueue, 0, 10000);
  if (!dead.ok()) return Fail("dead letters after recovery: " + dead.status().ToString());
  for (const queue::Delivery& d : *dead) {
    if (got.count(d.id)) return Fail("message " + std::to_string(d.id) + " is both live and dead");
    got[d.id] = QMsg{d.payload, d.priority, true, d.reason};
  }
  digest_.Add(got.size());
  const std::optional<QueueOp>& unknown = unknown_[kMain].queue;
  if (got == queue_) {
    if (unknown) fig_.unknown_lost++;
    return true;
  }
  if (unknown) {
    std::optional<QueueState> after = QueueAfter(*unknown, queue_, got);
    if (after && *after == got) {
      fig_.unknown_kept++;
      queue_ = std::move(got);
      return true;
    }
  }
  return Fail("queue after recovery: " + DiffQueue(got, queue_) +
              (unknown ? std::string(" (neither with nor without the unknown ") + KindName(unknown->kind) + ")"
                       : std::string(" (no write had an unknown outcome)")));
}

bool EngineSim::ReadRoom(int room, uint64_t hw, std::vector<SEvent>* out, bool* io_failed) {
  stream::EventBatch b;
  uint64_t from = 0;
  while (from < hw) {
    Status st = db_->streams().Read(kRoomNames[room], from, 1000, 1 << 20, 0, &b);
    if (io_failed != nullptr && (st.code() == Status::Code::kIoError || st.code() == Status::Code::kNoSpace)) {
      *io_failed = true;  // a crashed disk, or an injected error: reads may fail, never lie
      return true;
    }
    if (!st.ok()) return Fail("read " + kRoomNames[room] + " from " + std::to_string(from) + ": " + st.ToString());
    for (const stream::ReadEvent& e : b.events) {
      if (e.offset != out->size())
        return Fail(kRoomNames[room] + ": read offset " + std::to_string(e.offset) + " where " +
                    std::to_string(out->size()) + " was due");
      out->push_back(SEvent{b.bytes.substr(e.key_pos, e.key_len), b.bytes.substr(e.payload_pos, e.payload_len),
                            e.timestamp_ms});
    }
    if (b.next_offset <= from) return Fail(kRoomNames[room] + ": a read made no progress at " + std::to_string(from));
    from = b.next_offset;
  }
  return true;
}

bool EngineSim::VerifyStreams() {
  stream::StreamStore& ss = db_->streams();
  for (int r = 0; r < kRooms; r++) {
    Result<stream::RoomInfo> info = ss.Info(kRoomNames[r]);
    if (!info.ok()) return Fail("room " + kRoomNames[r] + " after recovery: " + info.status().ToString());
    if (info->earliest_offset != 0) return Fail(kRoomNames[r] + ": events lost from the start");
    std::vector<SEvent> got;
    if (!ReadRoom(r, info->next_offset, &got, nullptr)) return false;
    digest_.Add(got.size());
    std::vector<SEvent>& want = streams_.rooms[r];
    const std::optional<StreamOp>& unknown = unknown_[1 + r].stream;
    if (got == want) {
      if (unknown) fig_.unknown_lost++;
      continue;
    }
    if (unknown) {
      StreamState after = streams_;
      ApplyStream(*unknown, &after);
      if (after.rooms[r] == got) {
        fig_.unknown_kept++;
        want = std::move(got);
        continue;
      }
    }
    return Fail("room " + kRoomNames[r] + " after recovery: " + DiffEvents(got, want) +
                (unknown ? " (neither with nor without the unknown append)" : " (no append had an unknown outcome)"));
  }
  std::map<std::pair<int, int>, uint64_t> got;
  for (int g = 0; g < kGroups; g++)
    for (int r = 0; r < kRooms; r++) {
      Result<uint64_t> c = ss.CommittedOffset(kGroupNames[g], kRoomNames[r]);
      if (c.ok()) {
        got[{g, r}] = *c;
      } else if (!c.status().IsNotFound()) {
        return Fail("committed offset after recovery: " + c.status().ToString());
      }
    }
  const std::optional<StreamOp>& unknown = unknown_[kMeta].stream;
  if (got == streams_.commits) {
    if (unknown) fig_.unknown_lost++;
    return true;
  }
  if (unknown) {
    StreamState after = streams_;
    ApplyStream(*unknown, &after);
    if (after.commits == got) {
      fig_.unknown_kept++;
      streams_.commits = std::move(got);
      return true;
    }
  }
  std::string diff;
  for (int g = 0; g < kGroups; g++)
    for (int r = 0; r < kRooms; r++) {
      auto a = got.find({g, r});
      auto b = streams_.commits.find({g, r});
      auto show = [](auto it, auto end) { return it == end ? std::string("none") : std::to_string(it->second); };
      if (show(a, got.end()) != show(b, streams_.commits.end()))
        diff = kGroupNames[g] + "/" + kRoomNames[r] + ": engine " + show(a, got.end()) + ", model " +
               show(b, streams_.commits.end());
    }
  return Fail("commits after recovery: " + diff);
}

// ---------------------------------------------------------------- queue ----

bool EngineSim::Publish() {
  QueueOp op;
  op.kind = QueueOp::kPublish;
  size_t n = 1 + rng_() % 3;
  for (size_t i = 0; i < n; i++) op.publish.emplace_back("q" + Filler(800), static_cast<uint8_t>(rng_() % 10));
  std::vector<queue::PublishArgs> args(n);
  for (size_t i = 0; i < n; i++) args[i].payload = op.publish[i].first, args[i].priority = op.publish[i].second;
  const bool crashed_before = disk_.crashed();
  Result<std::vector<uint64_t>> r = db_->queues().Publish(kQueue, args);
  digest_.Add("publish");
  digest_.Add(static_cast<uint64_t>(r.status().code()));
  if (QueueViewAhead(r.status())) return true;
  Verdict v = Verdict::kNotApplied;
  std::string err = Judge(kMain, r.status(), true, false, Status::Code::kOk, crashed_before, &v);
  if (!err.empty()) return Fail("publish: " + err);
  if (v == Verdict::kUnknown) unknown_[kMain].queue = op;
  if (v != Verdict::kApplied) return true;
  if (r->size() != n) return Fail("publish of " + std::to_string(n) + " returned " + std::to_string(r->size()) + " ids");
  for (size_t i = 0; i < n; i++) {
    uint64_t id = (*r)[i];
    digest_.Add(id);
    if (queue_.count(id)) return Fail("publish returned id " + std::to_string(id) + ", already in use");
    queue_[id] = QMsg{op.publish[i].first, op.publish[i].second, false, ""};
  }
  return true;
}

bool EngineSim::Consume() {
  uint32_t max = 1 + static_cast<uint32_t>(rng_() % 4);
  Result<std::vector<queue::Delivery>> r = db_->queues().Consume(kQueue, "c", max, 0);
  digest_.Add("consume");
  digest_.Add(static_cast<uint64_t>(r.status().code()));
  if (!r.ok()) {
    if (r.status().IsNotFound() || r.status().code() == Status::Code::kInvalidArgument)
      return Fail("consume: " + r.status().ToString());
    poisoned_[kMain] = true;  // its delivery record could not be logged
    return true;
  }
  if (queue_view_ahead_) {  // the model no longer knows what memory holds
    if (!WaitForMainLog().ok()) poisoned_[kMain] = true;
    return true;
  }
  std::map<uint64_t, const QMsg*> ready;
  for (const auto& [id, m] : queue_)
    if (!m.dead && !held_.count(id)) ready[id] = &m;
  if (r->empty() && !ready.empty())
    return Fail("consume found nothing while " + std::to_string(ready.size()) + " messages are ready");
  if (r->size() > max) return Fail("consume of " + std::to_string(max) + " returned " + std::to_string(r->size()));
  for (const queue::Delivery& d : *r) {
    digest_.Add(d.id);
    auto it = ready.find(d.id);
    if (it == ready.end()) return Fail("consume delivered message " + std::to_string(d.id) + ", which is not ready");
    if (d.payload != it->second->payload || d.priority != it->second->priority)
      return Fail("consume delivered message " + std::to_string(d.id) + " with another payload or priority");
    for (const auto& [id, m] : ready)
      if (m->priority > d.priority)
        return Fail("consume delivered priority " + std::to_string(d.priority) + " while message " +
                    std::to_string(id) + " of priority " + std::to_string(m->priority) + " is ready");
    ready.erase(it);
    held_.insert(d.id);
  }
  // Not waited for by the engine; waited for here so that the next write
  // never shares its batch by chance of timing (determinism).
  if (!WaitForMainLog().ok()) poisoned_[kMain] = true;
  return true;
}

bool EngineSim::AckOrNack(bool ack) {
  if (held_.empty()) return true;
  QueueOp op;
  op.kind = ack ? QueueOp::kAck : QueueOp::kNack;
  size_t n = ack ? 1 + rng_() % 2 : 1;
  for (size_t i = 0; i < n && i < held_.size(); i++) {
    auto it = held_.begin();
    std::advance(it, rng_() % held_.size());
    if (std::find(op.ids.begin(), op.ids.end(), *it) == op.ids.end()) op.ids.push_back(*it);
  }
  op.requeue = rng_() % 2 == 0;
  const bool crashed_before = disk_.crashed();
  Status st = ack ? db_->queues().Ack(kQueue, op.ids) : db_->queues().Nack(kQueue, op.ids[0], op.requeue);
  digest_.Add(ack ? "ack" : op.requeue ? "nack requeue" : "nack dead");
  for (uint64_t id : op.ids) digest_.Add(id);
  digest_.Add(static_cast<uint64_t>(st.code()));
  if (QueueViewAhead(st)) return true;
  Verdict v = Verdict::kNotApplied;
  std::string err = Judge(kMain, st, true, false, Status::Code::kOk, crashed_before, &v);
  if (!err.empty()) return Fail(std::string(KindName(op.kind)) + " " + std::to_string(op.ids[0]) + ": " + err);
  if (v == Verdict::kUnknown) unknown_[kMain].queue = op;
  if (v != Verdict::kApplied) return true;
  for (uint64_t id : op.ids) {
    held_.erase(id);
    if (ack) {
      queue_.erase(id);
    } else if (!op.requeue) {
      queue_[id].dead = true;
      queue_[id].reason = "rejected";
    }
  }
  return true;
}

bool EngineSim::RequeueDead() {
  std::vector<uint64_t> dead;
  for (const auto& [id, m] : queue_)
    if (m.dead) dead.push_back(id);
  if (dead.empty()) return true;
  QueueOp op;
  op.kind = QueueOp::kRequeueDead;
  op.ids = {dead[rng_() % dead.size()]};
  const bool crashed_before = disk_.crashed();
  Result<uint64_t> r = db_->queues().RequeueDeadLetters(kQueue, op.ids[0]);
  digest_.Add("requeue dead");
  digest_.Add(static_cast<uint64_t>(r.status().code()));
  if (QueueViewAhead(r.status())) return true;
  Verdict v = Verdict::kNotApplied;
  std::string err = Judge(kMain, r.status(), true, false, Status::Code::kOk, crashed_before, &v);
  if (!err.empty()) return Fail("requeue dead letter " + std::to_string(op.ids[0]) + ": " + err);
  if (v == Verdict::kUnknown) unknown_[kMain].queue = op;
  if (v != Verdict::kApplied) return true;
  if (*r != 1) return Fail("requeue of one dead letter moved " + std::to_string(*r));
  queue_[op.ids[0]].dead = false;
  queue_[op.ids[0]].reason.clear();
  return true;
}

// A queue applies a record to memory when it is logged, before it is
// acknowledged (queue_store.h), so after a queue write that was logged and
// then failed (an I/O error, or the crash), memory holds it whatever the
// disk will, and the model cannot predict what reads show until the next
// recovery settles it. From then on: live queue checks are off, and a
// queue write that fails (the main log is poisoned, or the request no
// longer fits what memory holds) counts as not applied. A success is still
// judged: a poisoned log must not acknowledge. True: `st` is settled so.
bool EngineSim::QueueViewAhead(const Status& st) {
  if (st.ok()) return false;
  bool was = queue_view_ahead_;
  if (!IsRefusal(st.code()) && st.code() != Status::Code::kReadOnly) queue_view_ahead_ = true;  // it was logged
  if (!was) return false;
  fig_.refused_after_poison++;
  return true;
}

bool EngineSim::CheckDeadLetters() {
  if (queue_view_ahead_) return true;
  queue::QueueStore& qs = db_->queues();
  Result<std::vector<queue::Delivery>> dead = qs.DeadLetters(kQueue, 0, 10000);
  if (!dead.ok()) return Fail("dead letters: " + dead.status().ToString());
  QueueState got, want;
  for (const queue::Delivery& d : *dead) got[d.id] = QMsg{d.payload, d.priority, true, d.reason};
  uint64_t live = 0;
  for (const auto& [id, m] : queue_) {
    if (m.dead) want[id] = m;
    live += m.dead ? 0 : 1;
  }
  digest_.Add("dead letters");
  digest_.Add(got.size());
  if (got != want) return Fail("dead letters differ from the model: " + DiffQueue(got, want));
  Result<queue::QueueStats> stats = qs.Stats(kQueue);
  if (!stats.ok()) return Fail("queue stats: " + stats.status().ToString());
  if (stats->in_flight != held_.size() || stats->ready + stats->in_flight + stats->delayed != live ||
      stats->dead_lettered != want.size())
    return Fail("queue stats: ready " + std::to_string(stats->ready) + " in flight " +
                std::to_string(stats->in_flight) + " dead " + std::to_string(stats->dead_lettered) + "; the model: " +
                std::to_string(live) + " live of which " + std::to_string(held_.size()) + " held, " +
                std::to_string(want.size()) + " dead");
  return true;
}

// -------------------------------------------------------------- streams ----

bool EngineSim::Append() {
  StreamOp op;
  op.kind = StreamOp::kAppend;
  op.room = static_cast<int>(rng_() % kRooms);
  size_t n = 1 + rng_() % 5;
  for (size_t i = 0; i < n; i++) {
    SEvent e;
    if (rng_() % 2) e.key = "k" + std::to_string(rng_() % 5);
    e.payload = "e" + Filler(1200);
    e.ts = 1'600'000'000'000 + static_cast<int64_t>(counter_);
    op.events.push_back(std::move(e));
  }
  std::vector<stream::EventIn> in(n);
  for (size_t i = 0; i < n; i++)
    in[i].key = op.events[i].key, in[i].payload = op.events[i].payload, in[i].timestamp_ms = op.events[i].ts;
  const bool crashed_before = disk_.crashed();
  Result<uint64_t> r = db_->streams().Append(kRoomNames[op.room], in);
  digest_.Add("append " + kRoomNames[op.room]);
  digest_.Add(static_cast<uint64_t>(r.status().code()));
  Verdict v = Verdict::kNotApplied;
  std::string err = Judge(1 + op.room, r.status(), true, false, Status::Code::kOk, crashed_before, &v);
  if (!err.empty()) return Fail("append to " + kRoomNames[op.room] + ": " + err);
  if (v == Verdict::kUnknown) unknown_[1 + op.room].stream = op;
  if (v != Verdict::kApplied) return true;
  std::vector<SEvent>& room = streams_.rooms[op.room];
  if (*r != room.size())
    return Fail("append to " + kRoomNames[op.room] + " returned offset " + std::to_string(*r) + ", the model " +
                std::to_string(room.size()));
  ApplyStream(op, &streams_);
  return true;
}

bool EngineSim::Commit() {
  StreamOp op;
  op.kind = StreamOp::kCommit;
  op.group = static_cast<int>(rng_() % kGroups);
  op.room = static_cast<int>(rng_() % kRooms);
  auto cur = streams_.commits.find({op.group, op.room});
  uint64_t lo = cur == streams_.commits.end() ? 0 : cur->second;
  uint64_t size = streams_.rooms[op.room].size();
  op.offset = lo + rng_() % (size - lo + 1);  // forward, never past the acknowledged end
  bool changes = cur == streams_.commits.end() || cur->second != op.offset;
  const bool crashed_before = disk_.crashed();
  Status st = db_->streams().CommitOffset(kGroupNames[op.group], kRoomNames[op.room], op.offset);
  digest_.Add("commit");
  digest_.Add(op.offset);
  digest_.Add(static_cast<uint64_t>(st.code()));
  Verdict v = Verdict::kNotApplied;
  std::string err = Judge(kMeta, st, changes, false, Status::Code::kOk, crashed_before, &v);
  if (!err.empty())
    return Fail("commit " + kGroupNames[op.group] + "/" + kRoomNames[op.room] + " " + std::to_string(op.offset) +
                ": " + err);
  if (v == Verdict::kUnknown) unknown_[kMeta].stream = op;
  if (v == Verdict::kApplied) ApplyStream(op, &streams_);
  return true;
}

bool EngineSim::CheckRoom(int room) {
  Result<stream::RoomInfo> info = db_->streams().Info(kRoomNames[room]);
  if (!info.ok()) return Fail("room info: " + info.status().ToString());
  const std::vector<SEvent>& want = streams_.rooms[room];
  if (info->next_offset != want.size())
    return Fail(kRoomNames[room] + ": next_offset " + std::to_string(info->next_offset) + ", acknowledged " +
                std::to_string(want.size()));
  std::vector<SEvent> got;
  bool io_failed = false;
  if (!ReadRoom(room, info->next_offset, &got, &io_failed)) return false;
  digest_.Add("room check");
  digest_.Add(io_failed);
  if (io_failed) return true;
  digest_.Add(got.size());
  if (got != want) return Fail("live read of " + kRoomNames[room] + ": " + DiffEvents(got, want));
  return true;
}

}  // namespace synap::testing::sim
