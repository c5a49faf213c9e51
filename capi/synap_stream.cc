// libsynap: the stream functions of the C ABI (synap.h, "Streams").
#include <algorithm>

#include "capi/capi_common.h"
#include "engine/base/json_writer.h"
#include "engine/log/codec.h"

namespace {

using namespace synap::capi;
namespace stream = synap::stream;

int CheckRoom(const char* name, const char* what) {
  REQUIRE(name != nullptr, std::string(what) + " name is NULL");
  return SYNAP_OK;
}

// Copies the C events' views; `headers` keeps their header views alive.
int ToEvents(const synap_event_in* in, size_t n, std::vector<stream::EventIn>* out,
             std::vector<std::vector<stream::HeaderView>>* headers) {
  REQUIRE(in != nullptr && n > 0, "events must not be NULL and n must be at least 1");
  headers->resize(n);
  for (size_t i = 0; i < n; i++) {
    const synap_event_in& e = in[i];
    REQUIRE(Valid(e.key, e.key_len) && Valid(e.payload, e.payload_len),
            "an event's key or payload is NULL with a non-zero length");
    REQUIRE(e.headers != nullptr || e.header_count == 0, "an event's headers are NULL with header_count > 0");
    for (size_t h = 0; h < e.header_count; h++) {
      REQUIRE(Valid(e.headers[h].key, e.headers[h].key_len) && Valid(e.headers[h].value, e.headers[h].value_len),
              "a header's name or value is NULL with a non-zero length");
      (*headers)[i].push_back({View(e.headers[h].key, e.headers[h].key_len), View(e.headers[h].value, e.headers[h].value_len)});
    }
    stream::EventIn ev;
    ev.key = View(e.key, e.key_len);
    ev.payload = View(e.payload, e.payload_len);
    ev.headers = (*headers)[i];
    ev.timestamp_ms = e.timestamp_ms;
    out->push_back(ev);
  }
  return SYNAP_OK;
}

// One malloc'd block: synap_events, the synap_event array, the headers, then
// the event bytes they point into.
synap_events* Pack(const stream::EventBatch& b) {
  size_t n = b.events.size(), h = b.headers.size();
  size_t total = sizeof(synap_events) + n * sizeof(synap_event) + h * sizeof(synap_header) + b.bytes.size();
  char* block = static_cast<char*>(std::malloc(std::max<size_t>(total, 1)));
  if (block == nullptr) throw std::bad_alloc();
  auto* out = reinterpret_cast<synap_events*>(block);
  auto* evs = reinterpret_cast<synap_event*>(block + sizeof(synap_events));
  auto* hdrs = reinterpret_cast<synap_header*>(block + sizeof(synap_events) + n * sizeof(synap_event));
  char* data = block + sizeof(synap_events) + n * sizeof(synap_event) + h * sizeof(synap_header);
  if (!b.bytes.empty()) std::memcpy(data, b.bytes.data(), b.bytes.size());
  for (size_t i = 0; i < h; i++) {
    const stream::ReadHeader& r = b.headers[i];
    hdrs[i] = synap_header{data + r.name_pos, r.name_len, data + r.value_pos, r.value_len};
  }
  for (size_t i = 0; i < n; i++) {
    const stream::ReadEvent& e = b.events[i];
    evs[i] = synap_event{e.offset, e.timestamp_ms, data + e.key_pos, e.key_len, data + e.payload_pos,
                         e.payload_len, hdrs + e.first_header, e.header_count};
  }
  *out = synap_events{evs, n, b.next_offset, b.high_watermark};
  return out;
}

int ReturnJson(const std::string& s, char** json, size_t* len) {
  *json = static_cast<char*>(std::malloc(s.size() + 1));
  if (*json == nullptr) throw std::bad_alloc();
  std::memcpy(*json, s.c_str(), s.size() + 1);
  if (len != nullptr) *len = s.size();
  return Ok();
}

}  // namespace

extern "C" {

int synap_stream_create(synap_db* db, const char* room, const char* settings) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().CreateRoom(room, settings != nullptr ? settings : ""));
  });
}

int synap_stream_delete(synap_db* db, const char* room) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().DeleteRoom(room));
  });
}

int synap_stream_list(synap_db* db, synap_key_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr, "db and fn must not be NULL");
    for (const std::string& n : db->db->streams().ListRooms()) fn(user, n.data(), n.size());
    return Ok();
  });
}

int synap_stream_bounds(synap_db* db, const char* room, uint64_t* earliest, uint64_t* next) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().Info(room);
    if (!r.ok()) return From(r.status());
    if (earliest != nullptr) *earliest = r->earliest_offset;
    if (next != nullptr) *next = r->next_offset;
    return Ok();
  });
}

int synap_stream_info_json(synap_db* db, const char* room, char** json, size_t* len) {
  return Guard([&] {
    REQUIRE(db != nullptr && json != nullptr, "db and json must not be NULL");
    *json = nullptr;
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().Info(room);
    if (!r.ok()) return From(r.status());
    const stream::RoomInfo& i = *r;
    synap::JsonWriter j;
    j.Str("room", i.name)
        .U64("earliest_offset", i.earliest_offset)
        .U64("next_offset", i.next_offset)
        .U64("segments", i.segments)
        .U64("bytes", i.bytes)
        .U64("readable_waiters", i.readable_waiters);
    j.BeginObject("settings")
        .U64("segment_bytes", i.settings.segment_bytes)
        .U64("retention_bytes", i.settings.retention_bytes)
        .U64("retention_ms", i.settings.retention_ms)
        .Str("codec", synap::log::CodecName(i.settings.codec))
        .Str("fsync", synap::wal::FsyncModeName(i.settings.fsync))
        .Str("cleanup", stream::CleanupName(i.settings.cleanup))
        .EndObject();
    j.BeginObject("recovery")
        .U64("segments", i.recovery.segments)
        .U64("trusted_segments", i.recovery.trusted)
        .U64("batches_scanned", i.recovery.batches)
        .U64("cuts", i.recovery.cuts.size())
        .Num("ms", i.recovery.elapsed_ms)
        .EndObject();
    return ReturnJson(j.Finish(), json, len);
  });
}

int synap_stream_append(synap_db* db, const char* room, const synap_event_in* events, size_t n,
                        uint64_t* first_offset) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    std::vector<stream::EventIn> evs;
    std::vector<std::vector<stream::HeaderView>> headers;
    if (int rc = ToEvents(events, n, &evs, &headers); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().Append(room, evs);
    if (!r.ok()) return From(r.status());
    if (first_offset != nullptr) *first_offset = *r;
    return Ok();
  });
}

int synap_stream_append_async(synap_db* db, const char* room, const synap_event_in* events, size_t n,
                              synap_appended_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr, "db and fn must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    std::vector<stream::EventIn> evs;
    std::vector<std::vector<stream::HeaderView>> headers;
    if (int rc = ToEvents(events, n, &evs, &headers); rc != SYNAP_OK) return rc;
    Status st = db->db->streams().AppendAsync(room, evs, [fn, user](Status s, uint64_t first) {
      fn(user, s.ok() ? SYNAP_OK : Code(s.code()), first);
    });
    return From(st);
  });
}

int synap_stream_read(synap_db* db, const char* room, uint64_t from, uint32_t max_records, uint64_t max_bytes,
                      uint32_t wait_ms, synap_events** out) {
  return Guard([&] {
    REQUIRE(db != nullptr && out != nullptr, "db and out must not be NULL");
    *out = nullptr;
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    stream::EventBatch b;
    Status st = db->db->streams().Read(room, from, max_records != 0 ? max_records : 1000,
                                       max_bytes != 0 ? max_bytes : (1u << 20), wait_ms, &b);
    if (!st.ok()) return From(st);
    *out = Pack(b);
    return Ok();
  });
}

int synap_stream_notify_readable(synap_db* db, const char* room, uint64_t from, synap_readable_fn fn, void* user,
                                 uint64_t* handle) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr && handle != nullptr, "db, fn and handle must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().OnReadable(
        room, from, [fn, user](bool readable) { fn(user, readable ? SYNAP_OK : SYNAP_ECLOSED); });
    if (!r.ok()) return From(r.status());
    *handle = *r;
    return Ok();
  });
}

int synap_stream_notify_cancel(synap_db* db, uint64_t handle) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    return Ok(db->db->streams().CancelReadable(handle) ? SYNAP_OK : SYNAP_NOTFOUND);
  });
}

int synap_stream_offset_for_time(synap_db* db, const char* room, int64_t ts_ms, uint64_t* offset) {
  return Guard([&] {
    REQUIRE(db != nullptr && offset != nullptr, "db and offset must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().OffsetForTime(room, ts_ms);
    if (!r.ok()) return From(r.status());
    *offset = *r;
    return Ok();
  });
}

int synap_stream_compact(synap_db* db, const char* room, uint64_t* dropped) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().Compact(room);
    if (!r.ok()) return From(r.status());
    if (dropped != nullptr) *dropped = *r;
    return Ok();
  });
}

int synap_stream_trim(synap_db* db, const char* room, uint64_t before, uint64_t* removed, uint64_t* earliest) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().TrimBefore(room, before);
    if (!r.ok()) return From(r.status());
    if (removed != nullptr) *removed = r->events;
    if (earliest != nullptr) *earliest = r->earliest_offset;
    return Ok();
  });
}

int synap_group_commit(synap_db* db, const char* group, const char* room, uint64_t offset) {
  return Guard([&] {
    REQUIRE(db != nullptr && group != nullptr, "db and group must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().CommitOffset(group, room, offset));
  });
}

int synap_group_committed(synap_db* db, const char* group, const char* room, uint64_t* offset) {
  return Guard([&] {
    REQUIRE(db != nullptr && group != nullptr && offset != nullptr, "db, group and offset must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().CommittedOffset(group, room);
    if (!r.ok()) return From(r.status());
    *offset = *r;
    return Ok();
  });
}

int synap_group_commit_async(synap_db* db, const char* group, const char* room, uint64_t offset,
                             synap_appended_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && group != nullptr && fn != nullptr, "db, group and fn must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().CommitOffsetAsync(group, room, offset, [fn, user, offset](Status s) {
      fn(user, s.ok() ? SYNAP_OK : Code(s.code()), offset);
    }));
  });
}

int synap_group_delete(synap_db* db, const char* group, const char* room) {
  return Guard([&] {
    REQUIRE(db != nullptr && group != nullptr, "db and group must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().DeleteCommit(group, room));
  });
}

int synap_group_delete_async(synap_db* db, const char* group, const char* room, synap_appended_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && group != nullptr && fn != nullptr, "db, group and fn must not be NULL");
    if (int rc = CheckRoom(room, "room"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().DeleteCommitAsync(group, room, [fn, user](Status s) {
      fn(user, s.ok() ? SYNAP_OK : Code(s.code()), 0);
    }));
  });
}

int synap_group_lag_json(synap_db* db, const char* group, char** json, size_t* len) {
  return Guard([&] {
    REQUIRE(db != nullptr && json != nullptr, "db and json must not be NULL");
    *json = nullptr;
    REQUIRE(group == nullptr || group[0] != '\0', "group name is empty (NULL lists every group)");
    auto commits = db->db->streams().GroupOffsets(group != nullptr ? group : "");
    if (!commits.ok()) return From(commits.status());
    synap::JsonWriter j;
    j.BeginArray("commits");
    for (const stream::GroupOffset& g : *commits) {
      j.BeginObject()
          .Str("group", g.group)
          .Str("room", g.room)
          .U64("committed", g.committed)
          .U64("next_offset", g.next_offset)
          .U64("lag", g.lag)
          .EndObject();
    }
    j.EndArray();
    return ReturnJson(j.Finish(), json, len);
  });
}

int synap_topic_create(synap_db* db, const char* topic, uint32_t partitions, const char* settings) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(topic, "topic"); rc != SYNAP_OK) return rc;
    return From(db->db->streams().CreateTopic(topic, partitions, settings != nullptr ? settings : ""));
  });
}

int synap_topic_partitions(synap_db* db, const char* topic, uint32_t* partitions) {
  return Guard([&] {
    REQUIRE(db != nullptr && partitions != nullptr, "db and partitions must not be NULL");
    if (int rc = CheckRoom(topic, "topic"); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().TopicPartitions(topic);
    if (!r.ok()) return From(r.status());
    *partitions = *r;
    return Ok();
  });
}

int synap_topic_produce(synap_db* db, const char* topic, const synap_event_in* event, uint32_t* partition,
                        uint64_t* offset) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckRoom(topic, "topic"); rc != SYNAP_OK) return rc;
    std::vector<stream::EventIn> evs;
    std::vector<std::vector<stream::HeaderView>> headers;
    if (int rc = ToEvents(event, 1, &evs, &headers); rc != SYNAP_OK) return rc;
    auto r = db->db->streams().Produce(topic, evs[0]);
    if (!r.ok()) return From(r.status());
    if (partition != nullptr) *partition = r->first;
    if (offset != nullptr) *offset = r->second;
    return Ok();
  });
}

}  // extern "C"
