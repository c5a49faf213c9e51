// Fuzz target: random sequences of synap.h calls on one data directory.
//
// The input is a program: each step takes an opcode byte, then the bytes
// its arguments need (keys, values, flags, counts, names, option values),
// until the input runs out (at most kMaxSteps steps). The handle starts
// closed; the first call that needs it opens it. Steps include close and
// reopen (recovery of what the run wrote), options_set between them, and
// the offline tools (verify, inspect) while it is closed. The directory is
// "<ScratchDir>/db" (fuzz_support.h: /dev/shm by default), emptied before
// every input.
//
// Invariants, besides no crash and no sanitizer report:
//  * every call returns a status synap.h documents (SYNAP_OK, NOTFOUND,
//    NOTSET, or an E* code), never SYNAP_EINTERNAL (a bug by definition)
//    nor SYNAP_ECORRUPT (the directory only ever held what libsynap wrote);
//  * an error comes with a message (synap_last_error), a success without.
//
// Kept out: options that would make a run slow or huge rather than wrong
// (wal.linger_us waits, preallocation of up to 1 GiB segments); blocking
// waits (every wait_ms is 0).
#include <synap/synap.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fz = synap::fuzz;

constexpr size_t kMaxSteps = 64;

// Reads the program. Past the end, every read gives zeros.
class Program {
 public:
  Program(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  bool done() const { return at_ >= n_; }
  uint8_t u8() { return at_ < n_ ? p_[at_++] : 0; }
  uint32_t u32() { return static_cast<uint32_t>(u8()) | static_cast<uint32_t>(u8()) << 8 |
                          static_cast<uint32_t>(u8()) << 16 | static_cast<uint32_t>(u8()) << 24; }
  uint64_t u64() { return static_cast<uint64_t>(u32()) | static_cast<uint64_t>(u32()) << 32; }
  // Up to `max` bytes, the length from one byte.
  std::string bytes(size_t max) {
    size_t len = std::min<size_t>(u8(), max);
    len = std::min(len, n_ - std::min(at_, n_));
    std::string s(reinterpret_cast<const char*>(p_ + at_), len);
    at_ += len;
    return s;
  }
  // A key from a small set (so calls meet each other's keys), or any bytes.
  std::string key() {
    uint8_t k = u8();
    return k < 200 ? "k" + std::to_string(k % 8) : bytes(64);
  }
  // A queue, room, group or topic name: mostly a few good ones, sometimes
  // anything (NUL-terminated, so it ends at the first NUL byte).
  std::string name(const char* prefix) {
    uint8_t k = u8();
    return k < 220 ? prefix + std::to_string(k % 3) : bytes(40);
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t at_ = 0;
};

bool Documented(int rc) { return rc >= SYNAP_EEXIST && rc <= SYNAP_NOTSET; }

// Checks one call's status; returns it.
int Check(int rc, const char* call) {
  FUZZ_CHECK(Documented(rc), "%s returned %d, which synap.h does not document", call, rc);
  FUZZ_CHECK(rc != SYNAP_EINTERNAL, "%s: SYNAP_EINTERNAL: %s", call, synap_last_error());
  FUZZ_CHECK(rc != SYNAP_ECORRUPT, "%s: SYNAP_ECORRUPT on a directory only libsynap wrote: %s", call,
             synap_last_error());
  if (rc < 0) FUZZ_CHECK(synap_last_error()[0] != '\0', "%s failed (%d) without a message", call, rc);
  else FUZZ_CHECK(synap_last_error()[0] == '\0', "%s succeeded (%d) but left the message '%s'", call, rc,
                  synap_last_error());
  return rc;
}
#define CALL(expr) Check((expr), #expr)

// Options a step may set: the name, and values worth trying (the step may
// also pass bytes of its own).
struct OptionChoice {
  const char* name;
  std::vector<const char*> values;
};
const OptionChoice kOptions[] = {
    {"wal.fsync_mode", {"always", "periodic", "never"}},
    {"wal.codec", {"none", "lz4", "zstd"}},
    {"wal.compress_min_bytes", {"0", "16", "4096"}},
    {"wal.recovery", {"tolerate_torn_tail", "point_in_time", "skip"}},
    {"wal.segment_bytes", {"1M", "4M", "64K"}},
    {"wal.max_record_bytes", {"16K", "1M", "8M"}},
    {"wal.max_batch_bytes", {"4K", "1M"}},
    {"wal.max_batch_records", {"1", "16", "16384"}},
    {"wal.max_in_flight", {"1", "2"}},
    {"io.backend", {"auto", "sync", "uring"}},
    {"kv.shards", {"1", "4", "64", "3"}},
    {"kv.max_key_bytes", {"1", "16", "65536"}},
    {"kv.max_value_bytes", {"1", "64", "4M"}},
    {"kv.maxmemory", {"0", "4K", "64K"}},
    {"kv.maxmemory_policy", {"noeviction", "allkeys-lru", "allkeys-lfu", "volatile-ttl", "allkeys-random"}},
    {"kv.allow_flushall", {"true", "false"}},
    {"kv.active_expire_ms", {"0", "1", "100"}},
    {"queue.auto_create", {"true", "false"}},
    {"queue.max_payload_bytes", {"1", "64", "4M"}},
    {"stream.auto_create", {"true", "false"}},
    {"stream.segment_bytes", {"64K", "1M"}},
    {"stream.codec", {"none", "lz4", "zstd"}},
    {"stream.fsync", {"always", "periodic", "never"}},
    {"stream.cleanup", {"delete", "compact", "compact,delete"}},
    {"stream.retention_bytes", {"0", "4096"}},
    {"stream.max_rooms", {"1", "3", "10000"}},
    {"stream.max_event_bytes", {"16", "1M"}},
    {"stream.max_read_records", {"1", "100000"}},
    {"stream.index_interval_bytes", {"1", "4096"}},
    {"snapshot.keep", {"1", "5"}},
    {"snapshot.zstd_level", {"1", "19"}},
};

class Run {
 public:
  explicit Run(std::string dir) : dir_(std::move(dir)) {
    CALL(synap_options_create(&opts_));
    Defaults();
  }
  ~Run() {
    Close();
    synap_options_destroy(opts_);
  }
  void Step(Program& p);

 private:
  // Fixed for every run: small files, nothing preallocated, no automatic
  // snapshots (a step takes them).
  void Defaults() {
    CALL(synap_options_set(opts_, "wal.preallocate", "none"));
    CALL(synap_options_set(opts_, "stream.preallocate", "none"));
    CALL(synap_options_set(opts_, "wal.fsync_mode", "never"));
    CALL(synap_options_set(opts_, "snapshot.interval_secs", "0"));
    CALL(synap_options_set(opts_, "snapshot.operation_threshold", "0"));
    CALL(synap_options_set(opts_, "stream.segment_bytes", "64K"));
  }
  bool Open() {
    if (db_ == nullptr) CALL(synap_open(dir_.c_str(), opts_, &db_));
    return db_ != nullptr;
  }
  void Close() {
    for (synap_subscription* s : subs_) CALL(synap_unsubscribe(s));
    subs_.clear();
    if (db_ != nullptr) CALL(synap_close(db_));
    db_ = nullptr;
  }
  void SetOption(Program& p);
  void Kv(uint8_t op, Program& p);
  void Queue(uint8_t op, Program& p);
  void Stream(uint8_t op, Program& p);
  void PubSub(uint8_t op, Program& p);
  void Offline(Program& p);

  std::string dir_;
  synap_options* opts_ = nullptr;
  synap_db* db_ = nullptr;
  std::vector<synap_subscription*> subs_;
  std::vector<uint64_t> ids_;  // queue message ids seen
};

void Run::SetOption(Program& p) {
  const OptionChoice& o = kOptions[p.u8() % (sizeof kOptions / sizeof kOptions[0])];
  uint8_t v = p.u8();
  std::string value = v < 200 ? o.values[v % o.values.size()] : p.bytes(24);
  CALL(synap_options_set(opts_, o.name, value.c_str()));
  if (v == 255) {  // an unknown name
    std::string name = p.bytes(24);
    CALL(synap_options_set(opts_, name.c_str(), "1"));
  }
  char buf[64];
  size_t len = 0;
  const size_t cap = p.u8() % sizeof buf;
  CALL(synap_options_get(opts_, o.name, buf, cap, &len));
}

void Run::Kv(uint8_t op, Program& p) {
  std::string k = p.key();
  switch (op) {
    case 0: {
      std::string v = p.bytes(255);
      CALL(synap_set(db_, k.data(), k.size(), v.data(), v.size()));
      break;
    }
    case 1: {
      std::string v = p.bytes(64);
      unsigned flags = p.u8();
      int64_t expire = static_cast<int64_t>(p.u64());
      void* old = nullptr;
      size_t old_len = 0;
      CALL(synap_set_ex(db_, k.data(), k.size(), v.data(), v.size(), flags, expire, &old, &old_len));
      synap_free(old);
      break;
    }
    case 2: {
      void* val = nullptr;
      size_t len = 0;
      CALL(synap_get(db_, k.data(), k.size(), &val, &len));
      synap_free(val);
      char buf[8];
      CALL(synap_get_into(db_, k.data(), k.size(), buf, sizeof buf, &len));
      uint64_t slen = 0;
      int64_t ms = 0;
      CALL(synap_strlen(db_, k.data(), k.size(), &slen));
      CALL(synap_pttl(db_, k.data(), k.size(), &ms));
      break;
    }
    case 3: {
      std::string k2 = p.key();
      const void* keys[] = {k.data(), k2.data()};
      size_t lens[] = {k.size(), k2.size()};
      uint64_t n = 0;
      CALL(synap_del(db_, 1 + p.u8() % 2, keys, lens, &n));
      CALL(synap_exists(db_, 2, keys, lens, &n));
      void* vals[2];
      size_t vlens[2];
      if (CALL(synap_mget(db_, 2, keys, lens, vals, vlens)) == SYNAP_OK) {
        synap_free(vals[0]);
        synap_free(vals[1]);
      }
      break;
    }
    case 4: {
      int64_t r = 0;
      CALL(synap_incrby(db_, k.data(), k.size(), static_cast<int64_t>(p.u64()), &r));
      break;
    }
    case 5: {
      const int64_t value = static_cast<int64_t>(p.u64());
      const unsigned flags = p.u8();
      CALL(synap_expire(db_, k.data(), k.size(), value, flags));
      CALL(synap_persist(db_, k.data(), k.size()));
      break;
    }
    case 6: {
      std::string v = p.bytes(128);
      uint64_t n = 0;
      CALL(synap_append(db_, k.data(), k.size(), v.data(), v.size(), &n));
      break;
    }
    case 7: {
      void* val = nullptr;
      size_t len = 0;
      CALL(synap_getdel(db_, k.data(), k.size(), &val, &len));
      synap_free(val);
      break;
    }
    case 8: {
      std::string k2 = p.key(), v1 = p.bytes(32), v2 = p.bytes(32);
      const void* keys[] = {k.data(), k2.data()};
      size_t klens[] = {k.size(), k2.size()};
      const void* vals[] = {v1.data(), v2.data()};
      size_t vlens[] = {v1.size(), v2.size()};
      const size_t n = p.u8() % 3;
      const unsigned flags = p.u8() & SYNAP_SET_NX;
      CALL(synap_mset(db_, n, keys, klens, vals, vlens, flags));
      break;
    }
    case 9: {
      std::string pat = p.bytes(16);
      uint64_t next = 0, count = 0;
      auto fn = [](void* user, const void*, size_t) { ++*static_cast<uint64_t*>(user); };
      const uint64_t cursor = p.u64() % 4;
      const uint64_t step = p.u8();
      CALL(synap_scan(db_, cursor, pat.data(), pat.size(), step, fn, &count, &next));
      CALL(synap_keys(db_, pat.data(), pat.size(), fn, &count));
      CALL(synap_dbsize(db_, &count));
      break;
    }
    case 10: {
      std::string v = p.bytes(64);
      synap_ticket t = 0;
      const unsigned flags = p.u8() & 0x7f;
      const int64_t expire = p.u8();
      if (CALL(synap_set_async(db_, k.data(), k.size(), v.data(), v.size(), flags, expire, &t)) == SYNAP_OK &&
          t != 0)
        CALL(synap_wait(db_, t));
      synap_ticket acked = 0;
      CALL(synap_acked(db_, &acked));
      break;
    }
    default:
      CALL(synap_flushall(db_));
      break;
  }
}

void Run::Queue(uint8_t op, Program& p) {
  std::string q = p.name("q");
  switch (op) {
    case 0: {
      std::string settings = p.bytes(48);
      CALL(synap_queue_declare(db_, q.c_str(), p.u8() < 128 ? nullptr : settings.c_str()));
      break;
    }
    case 1: {
      std::string payload = p.bytes(128);
      synap_header h = {"h", 1, "v", 1};
      uint64_t id = 0;
      const int prio = static_cast<int>(p.u8() % 12) - 1;
      const uint64_t delay_ms = p.u8() % 3;
      const int64_t max_retries = static_cast<int8_t>(p.u8());
      const size_t headers = p.u8() % 2;
      if (CALL(synap_queue_publish(db_, q.c_str(), payload.data(), payload.size(), prio, delay_ms, max_retries, &h,
                                   headers, &id)) == SYNAP_OK)
        ids_.push_back(id);
      break;
    }
    case 2: {
      synap_message* msgs = nullptr;
      size_t n = 0;
      std::string consumer = p.name("c");
      const uint32_t max = p.u8() % 5;
      const uint32_t prefetch = p.u8() % 3;
      if (CALL(synap_queue_consume(db_, q.c_str(), consumer.c_str(), max, 0, prefetch, &msgs, &n)) == SYNAP_OK)
        for (size_t i = 0; i < n; ++i) ids_.push_back(msgs[i].id);
      synap_free(msgs);
      break;
    }
    case 3: {
      uint64_t id = ids_.empty() || p.u8() > 240 ? p.u64() : ids_[p.u8() % ids_.size()];
      if (p.u8() % 2 == 0) CALL(synap_queue_ack(db_, q.c_str(), &id, 1));
      else CALL(synap_queue_nack(db_, q.c_str(), id, p.u8() % 2));
      break;
    }
    case 4: {
      synap_message* msgs = nullptr;
      size_t n = 0;
      uint64_t moved = 0;
      const uint64_t offset = p.u8();
      const uint32_t limit = p.u8() % 4;
      CALL(synap_queue_dead_letters(db_, q.c_str(), offset, limit, &msgs, &n));
      synap_free(msgs);
      CALL(synap_queue_requeue_dead(db_, q.c_str(), p.u8() % 4, &moved));
      break;
    }
    default: {
      uint64_t n = 0;
      char* json = nullptr;
      CALL(synap_queue_stats_json(db_, q.c_str(), &json, nullptr));
      synap_free(json);
      uint8_t w = p.u8() % 4;
      if (w == 0) CALL(synap_queue_purge(db_, q.c_str(), &n));
      if (w == 1) CALL(synap_queue_purge_dead(db_, q.c_str(), &n));
      if (w == 2) CALL(synap_queue_delete(db_, q.c_str()));
      break;
    }
  }
}

void Run::Stream(uint8_t op, Program& p) {
  std::string room = p.name("r");
  switch (op) {
    case 0: {
      std::string settings = p.bytes(48);
      CALL(synap_stream_create(db_, room.c_str(), p.u8() < 128 ? nullptr : settings.c_str()));
      break;
    }
    case 1: {
      std::string key = p.bytes(8), payload = p.bytes(200);
      synap_header h = {"h", 1, payload.data(), payload.size() / 2};
      synap_event_in ev[2] = {
          {key.data(), key.size(), payload.data(), payload.size(), &h, static_cast<size_t>(p.u8() % 2),
           static_cast<int8_t>(p.u8())},  // a braced list is read left to right
          {nullptr, 0, "x", 1, nullptr, 0, 0}};
      uint64_t first = 0;
      CALL(synap_stream_append(db_, room.c_str(), ev, p.u8() % 3, &first));
      break;
    }
    case 2: {
      synap_events* out = nullptr;
      const uint64_t from = p.u8() % 8;
      const uint32_t max_records = p.u8() % 4;
      const uint64_t max_bytes = p.u8();
      CALL(synap_stream_read(db_, room.c_str(), from, max_records, max_bytes, 0, &out));
      synap_free(out);
      uint64_t earliest = 0, next = 0, at = 0;
      CALL(synap_stream_bounds(db_, room.c_str(), &earliest, &next));
      CALL(synap_stream_offset_for_time(db_, room.c_str(), static_cast<int64_t>(p.u64()), &at));
      break;
    }
    case 3: {
      std::string group = p.name("g");
      uint64_t offset = p.u8() % 6;
      uint8_t w = p.u8() % 3;
      if (w == 0) CALL(synap_group_commit(db_, group.c_str(), room.c_str(), offset));
      if (w == 1) CALL(synap_group_delete(db_, group.c_str(), room.c_str()));
      CALL(synap_group_committed(db_, group.c_str(), room.c_str(), &offset));
      char* json = nullptr;
      CALL(synap_group_lag_json(db_, p.u8() % 2 ? nullptr : group.c_str(), &json, nullptr));
      synap_free(json);
      break;
    }
    case 4: {
      uint64_t n = 0, earliest = 0;
      uint8_t w = p.u8() % 3;
      if (w == 0) CALL(synap_stream_trim(db_, room.c_str(), p.u8(), &n, &earliest));
      if (w == 1) CALL(synap_stream_compact(db_, room.c_str(), &n));
      if (w == 2) CALL(synap_stream_delete(db_, room.c_str()));
      break;
    }
    default: {
      std::string topic = p.name("t"), key = p.bytes(8);
      if (p.u8() % 2 == 0) CALL(synap_topic_create(db_, topic.c_str(), p.u8() % 5, nullptr));
      synap_event_in ev = {key.data(), key.size(), "p", 1, nullptr, 0, 0};
      uint32_t partition = 0, partitions = 0;
      uint64_t offset = 0;
      CALL(synap_topic_produce(db_, topic.c_str(), &ev, &partition, &offset));
      CALL(synap_topic_partitions(db_, topic.c_str(), &partitions));
      char* json = nullptr;
      CALL(synap_stream_info_json(db_, room.c_str(), &json, nullptr));
      synap_free(json);
      break;
    }
  }
}

void Run::PubSub(uint8_t op, Program& p) {
  std::string topic = p.bytes(24);
  if (op == 0 && subs_.size() < 4) {
    synap_subscription* s = nullptr;
    const uint32_t capacity = 1 + p.u8() % 3;
    const int overflow = p.u8() % 3;
    if (CALL(synap_subscribe(db_, topic.c_str(), capacity, overflow, &s)) == SYNAP_OK) subs_.push_back(s);
  } else if (op == 1) {
    std::string payload = p.bytes(32);
    uint64_t delivered = 0;
    CALL(synap_publish(db_, topic.c_str(), payload.data(), payload.size(), &delivered));
  } else if (!subs_.empty()) {
    synap_subscription* s = subs_[p.u8() % subs_.size()];
    synap_message* m = nullptr;
    uint64_t dropped = 0;
    CALL(synap_subscription_next(s, 0, &m));
    synap_free(m);
    CALL(synap_subscription_dropped(s, &dropped));
  }
}

void Run::Offline(Program& p) {
  Close();
  char* json = nullptr;
  size_t len = 0;
  if (p.u8() % 2 == 0) CALL(synap_verify(dir_.c_str(), nullptr, nullptr, &json, &len));
  else CALL(synap_inspect_json(dir_.c_str(), &json, &len));
  synap_free(json);
}

void Run::Step(Program& p) {
  uint8_t op = p.u8();
  uint8_t group = op % 10, sub = op / 10;
  if (group == 8) {  // the lifecycle
    switch (sub % 6) {
      case 0: Close(); break;  // then the next step reopens (recovery)
      case 1: Close(); SetOption(p); break;
      case 2: SetOption(p); break;
      case 3: Offline(p); break;
      case 4: if (Open()) CALL(synap_snapshot(db_)); break;
      default: if (Open()) CALL(synap_sync(db_)); break;
    }
    return;
  }
  if (!Open()) return;  // refused options: a later step may fix them
  switch (group) {
    case 0: case 1: case 2: Kv(sub % 12, p); break;
    case 3: case 4: Queue(sub % 6, p); break;
    case 5: case 6: Stream(sub % 6, p); break;
    case 7: PubSub(sub % 3, p); break;
    default: {
      char* json = nullptr;
      CALL(synap_stats_json(db_, &json, nullptr));
      synap_free(json);
      break;
    }
  }
}

std::string scratch;  // this process's directory, removed at exit
void RemoveScratch() { fz::RemoveTree(scratch); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (scratch.empty()) {
    scratch = fz::ScratchDir("capi");
    std::atexit(RemoveScratch);
  }
  const std::string dir = scratch + "/db";
  fz::RemoveTree(dir);
  Program p(data, size);
  {
    Run run(dir);
    for (size_t i = 0; i < kMaxSteps && !p.done(); ++i) run.Step(p);
  }
  fz::RemoveTree(dir);
  return 0;
}
