#include "engine/db/db_options.h"

#include <charconv>
#include <climits>

#include "engine/log/codec.h"
#include "engine/log/recovery.h"
#include "engine/log/segment.h"
#include "engine/stream/stream_options.h"

namespace synap::db {
namespace {

// A number with an optional K/M/G suffix (powers of 1024).
bool ParseSize(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return false;
  std::string_view rest(p, s.data() + s.size() - p);
  unsigned shift = 0;
  if (rest == "K" || rest == "k" || rest == "KiB") shift = 10;
  else if (rest == "M" || rest == "m" || rest == "MiB") shift = 20;
  else if (rest == "G" || rest == "g" || rest == "GiB") shift = 30;
  else if (!rest.empty()) return false;
  if (shift != 0 && v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

bool ParseBool(const std::string& s, bool* out) {
  if (s == "true" || s == "yes" || s == "1" || s == "on") *out = true;
  else if (s == "false" || s == "no" || s == "0" || s == "off") *out = false;
  else return false;
  return true;
}

Status Bad(const std::string& name, const std::string& value, const std::string& expected) {
  return Status::InvalidArgument("option " + name + ": invalid value '" + value + "' (expected " + expected + ")");
}

// A numeric field with its range: range checks happen here, at Set, so a
// caller learns at once; Validate() repeats the cross-field ones.
template <typename T>
Status SetNumber(const std::string& name, const std::string& value, uint64_t lo, uint64_t hi, T* field) {
  uint64_t v;
  if (!ParseSize(value, &v) || v < lo || v > hi)
    return Bad(name, value, "a number in " + std::to_string(lo) + ".." + std::to_string(hi));
  *field = static_cast<T>(v);
  return Status::Ok();
}

const char* BackendName(io::BackendKind k) {
  switch (k) {
    case io::BackendKind::kAuto: return "auto";
    case io::BackendKind::kUring: return "uring";
    case io::BackendKind::kSync: return "sync";
  }
  return "auto";
}

struct OptionDef {
  const char* name;
  std::function<Status(DbOptions*, const std::string& name, const std::string& value)> set;
  std::function<std::string(const DbOptions&)> get;
};

#define NUMBER(NAME, FIELD, LO, HI)                                                                   \
  OptionDef {                                                                                         \
    NAME, [](DbOptions* o, const std::string& n, const std::string& v) { return SetNumber(n, v, LO, HI, &o->FIELD); }, \
        [](const DbOptions& o) { return std::to_string(o.FIELD); }                                    \
  }

const std::vector<OptionDef>& Table() {
  static const std::vector<OptionDef> table = {
      {"wal.fsync_mode",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = wal::ParseFsyncMode(v);
         if (!r.ok()) return Bad(n, v, "always, periodic or never");
         o->wal.fsync = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(wal::FsyncModeName(o.wal.fsync)); }},
      NUMBER("wal.fsync_interval_ms", wal.fsync_interval_ms, 1, 60000),
      {"wal.mechanism",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = wal::ParseMechanism(v);
         if (!r.ok()) return Bad(n, v, "buffered or direct");
         o->wal.mechanism = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(wal::MechanismName(o.wal.mechanism)); }},
      NUMBER("wal.segment_bytes", wal.segment_bytes, wal::kMinSegmentBytes, wal::kMaxSegmentBytes),
      {"wal.preallocate",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = log::ParsePreallocate(v);
         if (!r.ok()) return Bad(n, v, "auto, none, fallocate or zero");
         o->wal.preallocate = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(log::PreallocateName(o.wal.preallocate)); }},
      NUMBER("wal.max_record_bytes", wal.max_record_bytes, 1, wal::kMaxRecordBytesLimit),
      NUMBER("wal.max_batch_bytes", wal.max_batch_bytes, 4096, wal::kMaxBatchBytesLimit),
      NUMBER("wal.max_batch_records", wal.max_batch_records, 1, 1u << 20),
      NUMBER("wal.linger_us", wal.linger_us, 0, 100000),
      NUMBER("wal.max_in_flight", wal.max_in_flight, 1, 2),
      NUMBER("wal.max_pending_bytes", wal.max_pending_bytes, 1u << 16, 1ull << 34),
      {"wal.codec",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = log::ParseCodec(v);
         if (!r.ok()) return Bad(n, v, "none, lz4 or zstd");
         o->wal.codec = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(log::CodecName(o.wal.codec)); }},
      NUMBER("wal.compress_min_bytes", wal.compress_min_bytes, 0, wal::kMaxBatchBytesLimit),
      NUMBER("wal.zstd_level", wal.zstd_level, 1, 19),
      {"wal.recovery",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = log::ParseRecoveryMode(v);
         if (!r.ok()) return Bad(n, v, "tolerate_torn_tail, point_in_time or skip");
         o->wal.recovery = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(log::RecoveryModeName(o.wal.recovery)); }},
      {"io.backend",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         if (v == "auto") o->backend = io::BackendKind::kAuto;
         else if (v == "uring") o->backend = io::BackendKind::kUring;
         else if (v == "sync") o->backend = io::BackendKind::kSync;
         else return Bad(n, v, "auto, uring or sync");
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(BackendName(o.backend)); }},
      NUMBER("kv.shards", kv.shards, 1, kv::kMaxShards),
      NUMBER("kv.max_key_bytes", kv.max_key_bytes, 1, kv::kMaxKeyBytesLimit),
      NUMBER("kv.max_value_bytes", kv.max_value_bytes, 1, wal::kMaxRecordBytesLimit),
      NUMBER("kv.maxmemory", kv.maxmemory, 0, UINT64_MAX),
      {"kv.maxmemory_policy",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = kv::ParseEvictionPolicy(v);
         if (!r.ok()) return Bad(n, v, "noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, "
                                       "volatile-lfu, volatile-random or volatile-ttl");
         o->kv.policy = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(kv::EvictionPolicyName(o.kv.policy)); }},
      NUMBER("kv.maxmemory_samples", kv.maxmemory_samples, 1, 64),
      NUMBER("kv.active_expire_ms", kv.active_expire_ms, 0, 60000),
      {"kv.allow_flushall",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         if (!ParseBool(v, &o->kv.allow_flushall)) return Bad(n, v, "true or false");
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(o.kv.allow_flushall ? "true" : "false"); }},
      {"queue.auto_create",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         if (!ParseBool(v, &o->queue.auto_create)) return Bad(n, v, "true or false");
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(o.queue.auto_create ? "true" : "false"); }},
      NUMBER("queue.max_payload_bytes", queue.max_payload_bytes, 1, wal::kMaxRecordBytesLimit),
      {"stream.auto_create",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         if (!ParseBool(v, &o->stream.auto_create)) return Bad(n, v, "true or false");
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(o.stream.auto_create ? "true" : "false"); }},
      NUMBER("stream.segment_bytes", stream.defaults.segment_bytes, wal::kMinSegmentBytes, wal::kMaxSegmentBytes),
      NUMBER("stream.retention_bytes", stream.defaults.retention_bytes, 0, UINT64_MAX),
      NUMBER("stream.retention_ms", stream.defaults.retention_ms, 0, uint64_t{1} << 62),
      {"stream.codec",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = log::ParseCodec(v);
         if (!r.ok()) return Bad(n, v, "none, lz4 or zstd");
         o->stream.defaults.codec = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(log::CodecName(o.stream.defaults.codec)); }},
      {"stream.fsync",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = wal::ParseFsyncMode(v);
         if (!r.ok()) return Bad(n, v, "always, periodic or never");
         o->stream.defaults.fsync = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(wal::FsyncModeName(o.stream.defaults.fsync)); }},
      {"stream.cleanup",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = stream::ParseCleanup(v);
         if (!r.ok()) return Bad(n, v, "delete, compact or compact,delete");
         o->stream.defaults.cleanup = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(stream::CleanupName(o.stream.defaults.cleanup)); }},
      NUMBER("stream.fsync_interval_ms", stream.fsync_interval_ms, 1, 60000),
      {"stream.preallocate",
       [](DbOptions* o, const std::string& n, const std::string& v) {
         auto r = log::ParsePreallocate(v);
         if (!r.ok()) return Bad(n, v, "auto, none, fallocate or zero");
         o->stream.preallocate = *r;
         return Status::Ok();
       },
       [](const DbOptions& o) { return std::string(log::PreallocateName(o.stream.preallocate)); }},
      NUMBER("stream.max_rooms", stream.max_rooms, 1, 1000000),
      NUMBER("stream.max_event_bytes", stream.max_event_bytes, 64, 64u << 20),
      NUMBER("stream.max_append_bytes", stream.max_append_bytes, 128, 64u << 20),
      NUMBER("stream.max_key_bytes", stream.max_key_bytes, 1, 64u << 20),
      NUMBER("stream.max_headers", stream.max_headers, 0, 65536),
      NUMBER("stream.max_read_records", stream.max_read_records, 1, 10000000),
      NUMBER("stream.max_read_bytes", stream.max_read_bytes, 64, 1ull << 30),
      NUMBER("stream.max_wait_ms", stream.max_wait_ms, 0, 86400000),
      NUMBER("stream.max_partitions", stream.max_partitions, 1, 100000),
      NUMBER("stream.index_interval_bytes", stream.index_interval_bytes, 64, 1u << 24),
      NUMBER("stream.compact_max_keys", stream.compact_max_keys, 1, 1ull << 32),
      NUMBER("stream.maintenance_ms", stream.maintenance_ms, 10, 3600000),
      NUMBER("snapshot.interval_secs", snapshot.interval_secs, 0, 86400 * 365),
      NUMBER("snapshot.operation_threshold", snapshot.operation_threshold, 0, UINT64_MAX),
      NUMBER("snapshot.keep", snapshot.keep, 1, 100),
      NUMBER("snapshot.zstd_level", snapshot.zstd_level, 1, 19),
  };
  return table;
}

}  // namespace

Status DbOptions::Set(const std::string& name, const std::string& value) {
  for (const OptionDef& d : Table()) {
    if (name != d.name) continue;
    DbOptions copy = *this;  // unchanged on error
    SYNAP_RETURN_IF_ERROR(d.set(&copy, name, value));
    *this = std::move(copy);
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown option '" + name + "'");
}

Result<std::string> DbOptions::Get(const std::string& name) const {
  for (const OptionDef& d : Table())
    if (name == d.name) return d.get(*this);
  return Status::InvalidArgument("unknown option '" + name + "'");
}

std::vector<std::string> DbOptions::Names() {
  std::vector<std::string> names;
  for (const OptionDef& d : Table()) names.push_back(d.name);
  return names;
}

Status DbOptions::Validate() const {
  wal::WalOptions w = wal;
  w.dir = "wal";  // Open sets the real one, inside the data directory
  SYNAP_RETURN_IF_ERROR(w.Validate());
  SYNAP_RETURN_IF_ERROR(kv.Validate(wal.max_record_bytes));
  SYNAP_RETURN_IF_ERROR(stream.Validate());
  if (snapshot.keep == 0 || snapshot.keep > 100)
    return Status::InvalidArgument("snapshot.keep must be in 1..100");
  if (snapshot.zstd_level < 1 || snapshot.zstd_level > 19)
    return Status::InvalidArgument("snapshot.zstd_level must be in 1..19");
  return Status::Ok();
}

}  // namespace synap::db
