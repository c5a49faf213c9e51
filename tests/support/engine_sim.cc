// EngineSim (engine_sim.h): the workload, the fault plan and the checks.
#include "tests/support/engine_sim.h"

#include <cerrno>
#include <cstdlib>

namespace synap::testing::sim {
namespace {

const char* const kKvNames[] = {"set",     "del",     "incrby", "append", "mset",
                                "pexpireat", "persist", "getdel", "sweep",  "flushall"};

std::string Describe(const KvOp& op) {
  std::string s = std::string(kKvNames[op.kind]) + " " + op.key;
  if (!op.key2.empty()) s += " " + op.key2;
  if (!op.value.empty()) s += " <" + std::to_string(op.value.size()) + " bytes>";
  if (op.n != 0) s += " n=" + std::to_string(op.n);
  if (op.nx) s += " NX";
  if (op.xx) s += " XX";
  return s;
}

std::string Show(const KvState& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end()) return "absent";
  return "<" + std::to_string(it->second.value.size()) + " bytes, " + it->second.value.substr(0, 24) +
         "> expire_at " + std::to_string(it->second.expire_at);
}

std::string DiffKv(const KvState& got, const KvState& want) {
  std::set<std::string> keys;
  for (const auto& [k, e] : got) keys.insert(k);
  for (const auto& [k, e] : want) keys.insert(k);
  for (const std::string& k : keys)
    if (Show(got, k) != Show(want, k)) return "key " + k + ": engine " + Show(got, k) + ", model " + Show(want, k);
  return "no difference";
}

}  // namespace

EngineSim::EngineSim(uint64_t seed, uint64_t ops)
    : seed_(seed), ops_budget_(ops), rng_(seed), disk_(seed),
      now_(std::make_shared<std::atomic<int64_t>>(1'700'000'000'000)) {
  digest_.echo = std::getenv("SYNAP_SIM_TRACE") != nullptr;
  opts_.make_backend = [d = &disk_] { return std::make_unique<ForwardingBackend>(d); };
  opts_.wal.fsync = wal::FsyncMode::kAlways;
  opts_.wal.segment_bytes = 64 << 10;  // small: segments roll often, snapshots remove them
  opts_.wal.max_record_bytes = 16 << 10;
  opts_.wal.max_batch_bytes = 16 << 10;
  opts_.wal.preallocate = log::Preallocate::kNone;
  opts_.kv.max_key_bytes = 64;
  opts_.kv.max_value_bytes = kMaxValue;
  opts_.kv.active_expire_ms = 0;  // the sweep runs only as a workload step
  opts_.kv.allow_flushall = true;
  opts_.kv.clock = [n = now_] { return n->load(); };
  opts_.queue.max_payload_bytes = 4096;
  opts_.queue.clock = [] { return kQueueNow; };
  opts_.snapshot.interval_secs = 0;  // snapshots only as a workload step
  opts_.snapshot.operation_threshold = 0;
  opts_.snapshot.keep = 2;
  opts_.stream.max_event_bytes = 4096;
  opts_.stream.max_append_bytes = 16384;
  opts_.stream.max_key_bytes = 64;
  opts_.stream.defaults.segment_bytes = 65536;
  opts_.stream.maintenance_ms = 3600000;  // no background maintenance pass
  opts_.stream.preallocate = log::Preallocate::kNone;
}

EngineSim::~EngineSim() {
  if (db_) (void)db_->Close();
}

bool EngineSim::Fail(const std::string& what) {
  if (err_.empty()) err_ = "engine run " + std::to_string(cycle_) + ", op " + std::to_string(ops_done_) + ": " + what;
  return false;
}

std::string EngineSim::Run() {
  fig_.seeds = 1;
  digest_.Add(seed_);
  if (!OpenAndVerify(true)) return err_;
  while (ops_done_ < ops_budget_) {
    bool ok = RunCycle();
    EndCycle();
    if (!ok || !err_.empty()) return err_;
    cycle_++;
    if (!OpenAndVerify(false)) return err_;
  }
  Status st = db_->Close();
  db_.reset();
  if (!st.ok()) Fail("final close: " + st.ToString());
  return err_;
}

// ---------------------------------------------------------------- cycle ----

void EngineSim::ArmFaults() {
  using Op = io::SimBackend::Op;
  disk_.set_crash_mode(rng_() % 2 ? io::SimBackend::CrashMode::kTornUnsynced
                                  : io::SimBackend::CrashMode::kDropUnsynced);
  faults_armed_ = rng_() % 100 >= 15;  // 15%: a quiet run
  digest_.Add(faults_armed_);
  if (!faults_armed_) return;
  fig_.faults_armed++;
  std::string plan;  // for the trace
  if (rng_() % 10 < 8) {
    uint64_t n = rng_() % 600;
    disk_.crash_after(n);
    plan += " crash_after(" + std::to_string(n) + ")";
  }
  if (rng_() % 3 == 0) {
    double p = 0.05 + static_cast<double>(rng_() % 30) / 100;
    disk_.set_short_write_probability(p);
    plan += " short_writes(" + std::to_string(p) + ")";
  }
  if (rng_() % 6 == 0) {
    disk_.set_zero_write_probability(0.05);
    plan += " zero_writes(0.05)";
  }
  if (rng_() % 3 == 0) {
    Op op = static_cast<Op>(rng_() % io::SimBackend::kOpCount);
    int err = rng_() % 2 ? EIO : ENOSPC;
    uint64_t after = rng_() % 300;
    disk_.inject_error(op, err, after);
    plan += " inject_error(op " + std::to_string(static_cast<int>(op)) + ", errno " + std::to_string(err) +
            ", after " + std::to_string(after) + ")";
  }
  if (rng_() % 10 == 0) {
    int err = rng_() % 2 ? EIO : ENOSPC;
    disk_.set_error_probability(Op::kAnyAsync, err, 0.005);
    plan += " async_errors(errno " + std::to_string(err) + ", 0.005)";
  }
  digest_.Add("faults:" + plan);
}

bool EngineSim::RunCycle() {
  ArmFaults();
  uint64_t len = 20 + rng_() % 200;
  int after_crash = 0;
  for (uint64_t i = 0; i < len && ops_done_ < ops_budget_; i++) {
    // A few steps after the power cut: nothing may be acknowledged then.
    if (disk_.crashed() && ++after_crash > 4) break;
    if (!Step()) return false;
    ops_done_++;
    fig_.ops++;
    digest_.Add(disk_.ops_executed());
  }
  return true;
}

// A clean close (only when no fault was armed: its promise is then that
// everything is there, with no unknown write) or a power cut.
void EngineSim::EndCycle() {
  bool clean = !faults_armed_ && !disk_.crashed() && rng_() % 2 == 0;
  if (clean) {
    Status st = db_->Close();
    if (!st.ok()) Fail("clean close: " + st.ToString());
    fig_.clean_closes++;
  } else {
    if (!disk_.crashed()) disk_.crash();
    (void)db_->Close();  // fails: the disk is gone
    fig_.crashes++;
  }
  db_.reset();
  disk_.restart();
  held_.clear();
  poisoned_ = {};
  queue_view_ahead_ = false;
  digest_.Add(clean ? "clean" : "cut");
}

bool EngineSim::Step() {
  uint64_t d = rng_() % 100;
  if (d < 34) return KvStep(RandomKvOp());
  if (d < 36) {
    int64_t step = 1 + static_cast<int64_t>(rng_() % 1500);
    *now_ += step;
    digest_.Add("tick");
    return true;
  }
  if (d < 38) return CheckKvLive();
  if (d < 46) return Publish();
  if (d < 51) return Consume();
  if (d < 55) return AckOrNack(true);
  if (d < 58) return AckOrNack(false);
  if (d < 59) return RequeueDead();
  if (d < 60) return CheckDeadLetters();
  if (d < 76) return Append();
  if (d < 83) return Commit();
  if (d < 85) return CheckRoom(static_cast<int>(rng_() % kRooms));
  if (d < 87) {
    Status st = db_->Snapshot();  // changes no state; may fail under faults
    (st.ok() ? fig_.snapshots_ok : fig_.snapshots_failed)++;
    digest_.Add("snapshot");
    digest_.Add(static_cast<uint64_t>(st.code()));
    return true;
  }
  if (d < 88) {
    KvOp op;
    op.kind = rng_() % 8 == 0 ? KvOp::kFlushAll : KvOp::kSweep;
    return KvStep(op);
  }
  return KvStep(RandomKvOp());
}

std::string EngineSim::Judge(int domain, const Status& st, bool changes, bool refusal, Status::Code refusal_code,
                             bool crashed_before, Verdict* v) {
  if (st.ok()) {
    if (refusal) return std::string("succeeded where the model refuses with ") + CodeName(refusal_code);
    if (changes && crashed_before) return "a write was acknowledged after the disk crashed";
    if (changes && poisoned_[domain]) return "a write was acknowledged by a log that had failed (poisoned)";
    *v = Verdict::kApplied;
    return "";
  }
  if (refusal && st.code() == refusal_code) {
    *v = Verdict::kNotApplied;
    return "";
  }
  if (IsRefusal(st.code())) return "refused: " + st.ToString() + (refusal ? "" : " (the model accepts it)");
  fig_.io_failures++;
  bool was_poisoned = poisoned_[domain];
  poisoned_[domain] = true;
  if (crashed_before || was_poisoned) fig_.refused_after_poison++;
  // Not durable: started after the crash image was taken, or refused
  // before logging (a poisoned log answers ReadOnly to an append).
  if (crashed_before || was_poisoned || st.code() == Status::Code::kReadOnly) {
    *v = Verdict::kNotApplied;
    return "";
  }
  if (unknown_[domain].any()) return "a second unknown-outcome write in one log: " + st.ToString();
  *v = Verdict::kUnknown;
  return "";
}

// ------------------------------------------------------------------ KV ----

std::string EngineSim::Filler(uint64_t max) {
  std::string s = std::to_string(counter_++) + ".";
  s.append(rng_() % max, static_cast<char>('a' + rng_() % 26));
  return s;
}

KvOp EngineSim::RandomKvOp() {
  KvOp op;
  auto skey = [&] { return "s" + std::to_string(rng_() % 12); };
  auto nkey = [&] { return "n" + std::to_string(rng_() % 3); };
  auto any = [&] { return rng_() % 4 == 0 ? nkey() : skey(); };
  switch (rng_() % 10) {
    case 0:
    case 1:
      op.kind = KvOp::kSet;
      op.key = skey();
      op.value = Filler(rng_() % 4 == 0 ? 1500 : 300);  // some large: the log rolls segments within a run
      op.n = rng_() % 3 == 0 ? 1 + static_cast<int64_t>(rng_() % 3000) : 0;
      op.nx = rng_() % 8 == 0;
      op.xx = !op.nx && rng_() % 8 == 0;
      break;
    case 2:
      op.kind = KvOp::kDel;
      op.key = any();
      if (rng_() % 2) op.key2 = any();
      if (op.key2 == op.key) op.key2.clear();
      break;
    case 3:
      op.kind = KvOp::kIncr;
      op.key = nkey();
      op.n = static_cast<int64_t>(rng_() % 101) - 50;
      break;
    case 4:
      op.kind = KvOp::kAppend;
      op.key = skey();
      op.value = Filler(200);
      break;
    case 5:
      op.kind = KvOp::kMSet;
      op.key = skey();
      op.key2 = skey();
      if (op.key2 == op.key) op.key2 += "x";
      op.value = Filler(600);
      op.value2 = Filler(600);
      break;
    case 6:
      op.kind = KvOp::kExpire;
      op.key = any();
      op.n = 1 + static_cast<int64_t>(rng_() % 4000);
      break;
    case 7:
      op.kind = KvOp::kPersist;
      op.key = any();
      break;
    default:
      op.kind = rng_() % 2 ? KvOp::kGetDel : KvOp::kSet;
      op.key = skey();
      op.value = Filler(100);
      break;
  }
  return op;
}

bool EngineSim::KvStep(const KvOp& op) {
  const int64_t now = *now_;
  KvState after = kv_;
  KvExpect x = ApplyKv(op, now, kMaxValue, &after);
  const bool crashed_before = disk_.crashed();
  kv::KvStore& kv = db_->kv();
  Status st;
  int64_t number = 0;
  int outcome = 0;
  bool found = true;
  std::string text;
  auto take = [&](auto r, auto get) {
    st = r.status();
    if (r.ok()) get(*r);
  };
  switch (op.kind) {
    case KvOp::kSet: {
      kv::SetArgs a;
      if (op.n != 0) a.unit = kv::ExpiryUnit::kMillis, a.expire = op.n;
      a.nx = op.nx, a.xx = op.xx;
      take(kv.Set(op.key, op.value, a, nullptr), [&](kv::Outcome o) { outcome = static_cast<int>(o); });
      break;
    }
    case KvOp::kDel: {
      std::vector<std::string_view> keys = {op.key};
      if (!op.key2.empty()) keys.push_back(op.key2);
      take(kv.Del(keys), [&](uint64_t n) { number = static_cast<int64_t>(n); });
      break;
    }
    case KvOp::kIncr: take(kv.IncrBy(op.key, op.n), [&](int64_t n) { number = n; }); break;
    case KvOp::kAppend:
      take(kv.Append(op.key, op.value), [&](uint64_t n) { number = static_cast<int64_t>(n); });
      break;
    case KvOp::kMSet: {
      std::vector<std::string_view> keys = {op.key, op.key2}, values = {op.value, op.value2};
      take(kv.MSet(keys, values, false), [&](kv::Outcome o) { outcome = static_cast<int>(o); });
      break;
    }
    case KvOp::kExpire:
      take(kv.Expire(op.key, kv::ExpiryUnit::kAtMillis, now + op.n, kv::ExpireCond::kAlways),
           [&](kv::Outcome o) { outcome = static_cast<int>(o); });
      break;
    case KvOp::kPersist: take(kv.Persist(op.key), [&](kv::Outcome o) { outcome = static_cast<int>(o); }); break;
    case KvOp::kGetDel: take(kv.GetDel(op.key, &text), [&](bool f) { found = f; }); break;
    case KvOp::kFlushAll: st = kv.FlushAll(); break;
    case KvOp::kSweep:
      take(kv.SweepExpired(), [&](uint64_t n) { number = static_cast<int64_t>(n); });
      // Its deletes are not waited for by the engine; here they are, so
      // that the next write never shares their batch by chance of timing.
      if (st.ok() && !WaitForMainLog().ok()) poisoned_[kMain] = true;
      break;
  }
  digest_.Add(Describe(op));
  digest_.Add(static_cast<uint64_t>(st.code()));
  digest_.Add(static_cast<uint64_t>(number)), digest_.Add(static_cast<uint64_t>(outcome)), digest_.Add(text);
  Verdict v = Verdict::kNotApplied;
  std::string err = Judge(kMain, st, x.changes, x.too_large, Status::Code::kTooLarge, crashed_before, &v);
  if (!err.empty()) return Fail(Describe(op) + ": " + err);
  if (v == Verdict::kUnknown) {
    unknown_[kMain].kv = op;
    unknown_[kMain].kv_now = now;
  }
  if (v != Verdict::kApplied) return true;
  bool right = true;
  switch (op.kind) {
    case KvOp::kSet:
    case KvOp::kMSet:
    case KvOp::kExpire:
    case KvOp::kPersist: right = outcome == x.outcome; break;
    case KvOp::kDel:
    case KvOp::kIncr:
    case KvOp::kAppend: right = number == x.number; break;
    case KvOp::kGetDel: right = found == x.done && (!found || text == x.text); break;
    case KvOp::kSweep:
    case KvOp::kFlushAll: break;
  }
  if (!right)
    return Fail(Describe(op) + ": answered outcome " + std::to_string(outcome) + " number " + std::to_string(number) +
                " found " + std::to_string(found) + "; the model: outcome " + std::to_string(x.outcome) + " number " +
                std::to_string(x.number) + " found " + std::to_string(x.done));
  kv_ = std::move(after);
  return true;
}

// What a reader sees now: every key, value and absolute expiry.
static Result<KvState> DumpKv(kv::KvStore& kv, int64_t now) {
  KvState out;
  uint64_t cursor = 0;
  do {
    std::vector<std::string> keys;
    Result<uint64_t> next = kv.Scan(cursor, "", 1000, &keys);
    if (!next.ok()) return next.status();
    cursor = *next;
    for (const std::string& k : keys) {
      std::string v;
      Result<bool> got = kv.Get(k, &v);
      if (!got.ok()) return got.status();
      if (!*got) continue;
      Result<int64_t> ttl = kv.PTtl(k);
      if (!ttl.ok()) return ttl.status();
      out[k] = KvEntry{v, *ttl < 0 ? 0 : now + *ttl};
    }
  } while (cursor != 0);
  return out;
}

bool EngineSim::CheckKvLive() {
  const int64_t now = *now_;
  Result<KvState> got = DumpKv(db_->kv(), now);
  if (!got.ok()) return Fail("reading the KV store: " + got.status().ToString());
  digest_.Add("kv check");
  digest_.Add(got->size());
  KvState want = LiveKv(kv_, now);
  if (*got != want) return Fail("live KV differs from the acknowledged writes: " + DiffKv(*got, want));
  return true;
}

bool EngineSim::VerifyKv() {
  const int64_t now = *now_;
  Result<KvState> got = DumpKv(db_->kv(), now);
  if (!got.ok()) return Fail("reading the KV store after recovery: " + got.status().ToString());
  digest_.Add(got->size());
  KvState want = LiveKv(kv_, now);
  const std::optional<KvOp>& unknown = unknown_[kMain].kv;
  if (*got == want) {
    if (unknown) fig_.unknown_lost++;
    kv_ = std::move(want);
    return true;
  }
  if (unknown) {
    KvState after = kv_;
    ApplyKv(*unknown, unknown_[kMain].kv_now, kMaxValue, &after);
    if (LiveKv(after, now) == *got) {
      fig_.unknown_kept++;
      kv_ = std::move(*got);
      return true;
    }
  }
  return Fail("KV after recovery: " + DiffKv(*got, want) +
              (unknown ? " (neither with nor without the unknown write " + Describe(*unknown) + ")"
                       : std::string(" (no write had an unknown outcome)")));
}

}  // namespace synap::testing::sim
