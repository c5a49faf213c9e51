// libsynap: the queue functions of the C ABI (synap.h, "Queues").
#include <charconv>

#include "capi/capi_common.h"
#include "engine/base/json_writer.h"

namespace {

using namespace synap::capi;
using synap::queue::Delivery;
using synap::queue::QueueSettings;

synap::queue::QueueStore* Qs(synap_db* db) { return &db->db->queues(); }

int CheckName(const char* name, const char* what) {
  if (name == nullptr) return Fail(SYNAP_EINVAL, std::string(what) + " is NULL");
  size_t n = std::strlen(name);
  if (n == 0 || n > synap::queue::kMaxQueueNameBytes)
    return Fail(SYNAP_EINVAL, std::string(what) + " must be 1..256 bytes");
  return SYNAP_OK;
}

// "max_depth=100, ack_deadline_ms=5000": spaces or commas between pairs.
int ParseSettings(const char* text, QueueSettings* s) {
  if (text == nullptr) return SYNAP_OK;
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t skip = rest.find_first_not_of(" ,\t");
    if (skip == std::string_view::npos) break;
    rest.remove_prefix(skip);
    size_t end = rest.find_first_of(" ,\t");
    std::string_view pair = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    uint64_t v = 0;
    std::string_view num = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size())
      return Fail(SYNAP_EINVAL, "queue settings: '" + std::string(pair) + "' is not name=number");
    if (key == "max_depth") s->max_depth = v;
    else if (key == "ack_deadline_ms" && v <= UINT32_MAX) s->ack_deadline_ms = static_cast<uint32_t>(v);
    else if (key == "max_retries" && v <= UINT32_MAX) s->max_retries = static_cast<uint32_t>(v);
    else if (key == "dead_letter_max") s->dead_letter_max = v;
    else if (key == "default_priority" && v <= 9) s->default_priority = static_cast<uint8_t>(v);
    else if (key == "message_ttl_ms") s->message_ttl_ms = v;
    else return Fail(SYNAP_EINVAL, "queue settings: unknown name or value out of range in '" + std::string(pair) + "'");
  }
  return SYNAP_OK;
}

// One malloc'd block: the synap_message array, then the headers, then the
// bytes they all point to.
int Pack(const std::vector<Delivery>& ds, synap_message** out, size_t* n) {
  *out = nullptr;
  *n = 0;
  if (ds.empty()) return Ok();
  size_t headers = 0, bytes = 0;
  for (const Delivery& d : ds) {
    headers += d.headers.size();
    bytes += d.payload.size() + d.reason.size() + 1;
    for (const auto& h : d.headers) bytes += h.key.size() + h.value.size();
  }
  size_t total = ds.size() * sizeof(synap_message) + headers * sizeof(synap_header) + bytes;
  char* block = static_cast<char*>(std::malloc(total));
  if (block == nullptr) throw std::bad_alloc();
  auto* msgs = reinterpret_cast<synap_message*>(block);
  auto* hdrs = reinterpret_cast<synap_header*>(block + ds.size() * sizeof(synap_message));
  char* data = block + ds.size() * sizeof(synap_message) + headers * sizeof(synap_header);
  auto copy = [&](std::string_view s) {
    char* at = data;
    if (!s.empty()) std::memcpy(data, s.data(), s.size());
    data += s.size();
    return at;
  };
  for (size_t i = 0; i < ds.size(); i++) {
    const Delivery& d = ds[i];
    synap_message& m = msgs[i];
    m.id = d.id;
    m.payload = copy(d.payload);
    m.payload_len = d.payload.size();
    m.priority = d.priority;
    m.delivery_count = d.delivery_count;
    m.redelivered = d.redelivered ? 1 : 0;
    m.headers = hdrs;
    m.header_count = d.headers.size();
    for (const auto& h : d.headers) {
      hdrs->key = copy(h.key);
      hdrs->key_len = h.key.size();
      hdrs->value = copy(h.value);
      hdrs->value_len = h.value.size();
      hdrs++;
    }
    m.reason = copy(d.reason);
    *data++ = '\0';
  }
  *out = msgs;
  *n = ds.size();
  return Ok();
}

// Publish, ack and nack, waited for (ticket == NULL) or not.
int PublishOne(synap_db* db, const char* queue, const void* payload, size_t len, int priority, uint64_t delay_ms,
               int64_t max_retries, const synap_header* headers, size_t header_count, uint64_t* id,
               synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
  REQUIRE(Valid(payload, len), "payload is NULL with a non-zero length");
  REQUIRE(headers != nullptr || header_count == 0, "headers is NULL with a non-zero count");
  REQUIRE(priority >= -1 && priority <= 9, "priority must be 0..9, or -1 for the queue's default");
  REQUIRE(max_retries >= -1 && max_retries <= UINT32_MAX, "max_retries must be 0..4294967295, or -1 for the queue's");
  synap::queue::PublishArgs a;
  a.payload = View(payload, len);
  a.priority = priority;
  a.delay_ms = delay_ms;
  a.max_retries = max_retries;
  for (size_t i = 0; i < header_count; i++) {
    REQUIRE(Valid(headers[i].key, headers[i].key_len) && Valid(headers[i].value, headers[i].value_len),
            "a header pointer is NULL with a non-zero length");
    a.headers.push_back({std::string(View(headers[i].key, headers[i].key_len)),
                         std::string(View(headers[i].value, headers[i].value_len))});
  }
  auto r = Qs(db)->Publish(queue, std::span(&a, 1), ticket);
  if (!r.ok()) return From(r.status());
  if (id != nullptr) *id = r->front();
  return Ok();
}

int AckSome(synap_db* db, const char* queue, const uint64_t* ids, size_t n, synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr && ids != nullptr && n > 0, "db and ids must not be NULL, n > 0");
  if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
  return From(Qs(db)->Ack(queue, std::span(ids, n), ticket));
}

int NackOne(synap_db* db, const char* queue, uint64_t id, int requeue, synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
  return From(Qs(db)->Nack(queue, id, requeue != 0, ticket));
}

}  // namespace

extern "C" {

int synap_queue_declare(synap_db* db, const char* queue, const char* settings) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    QueueSettings s;
    if (int rc = ParseSettings(settings, &s); rc != SYNAP_OK) return rc;
    return From(Qs(db)->Declare(queue, s));
  });
}

int synap_queue_delete(synap_db* db, const char* queue) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    Status st = Qs(db)->Delete(queue);
    return From(st);
  });
}

int synap_queue_purge(synap_db* db, const char* queue, uint64_t* purged) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    auto r = Qs(db)->Purge(queue);
    if (!r.ok()) return From(r.status());
    if (purged != nullptr) *purged = *r;
    return Ok();
  });
}

int synap_queue_list(synap_db* db, synap_key_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr, "db and fn must not be NULL");
    for (const std::string& name : Qs(db)->List()) fn(user, name.data(), name.size());
    return Ok();
  });
}

int synap_queue_stats_json(synap_db* db, const char* queue, char** json, size_t* len) {
  return Guard([&] {
    REQUIRE(db != nullptr && json != nullptr, "db and json must not be NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    auto st = Qs(db)->Stats(queue);
    auto set = Qs(db)->Settings(queue);
    if (!st.ok()) return From(st.status());
    synap::JsonWriter j;
    j.Str("queue", queue)
        .U64("ready", st->ready)
        .U64("in_flight", st->in_flight)
        .U64("delayed", st->delayed)
        .U64("dead_lettered", st->dead_lettered)
        .U64("published", st->published)
        .U64("delivered", st->delivered)
        .U64("acked", st->acked)
        .U64("nacked", st->nacked)
        .U64("redelivered", st->redelivered)
        .U64("expired", st->expired)
        .U64("consumers", st->consumers);
    if (set.ok()) {
      j.BeginObject("settings")
          .U64("max_depth", set->max_depth)
          .U64("ack_deadline_ms", set->ack_deadline_ms)
          .U64("max_retries", set->max_retries)
          .U64("dead_letter_max", set->dead_letter_max)
          .U64("default_priority", set->default_priority)
          .U64("message_ttl_ms", set->message_ttl_ms)
          .EndObject();
    }
    std::string s = j.Finish();
    *json = static_cast<char*>(Dup(std::string_view(s.c_str(), s.size() + 1)));
    if (len != nullptr) *len = s.size();
    return Ok();
  });
}

int synap_queue_publish(synap_db* db, const char* queue, const void* payload, size_t len, int priority,
                        uint64_t delay_ms, int64_t max_retries, const synap_header* headers, size_t header_count,
                        uint64_t* id) {
  return Guard([&] {
    return PublishOne(db, queue, payload, len, priority, delay_ms, max_retries, headers, header_count, id, nullptr);
  });
}

int synap_queue_publish_async(synap_db* db, const char* queue, const void* payload, size_t len, int priority,
                              uint64_t delay_ms, int64_t max_retries, const synap_header* headers,
                              size_t header_count, uint64_t* id, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return PublishOne(db, queue, payload, len, priority, delay_ms, max_retries, headers, header_count, id, ticket);
  });
}

int synap_queue_publish_batch(synap_db* db, const char* queue, size_t n, const void* const* payloads,
                              const size_t* lens, uint64_t* ids) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    REQUIRE(n > 0 && payloads != nullptr && lens != nullptr, "a batch needs n > 0 payloads and lengths");
    std::vector<synap::queue::PublishArgs> msgs(n);
    for (size_t i = 0; i < n; i++) {
      REQUIRE(Valid(payloads[i], lens[i]), "a payload is NULL with a non-zero length");
      msgs[i].payload = View(payloads[i], lens[i]);
    }
    auto r = Qs(db)->Publish(queue, msgs);
    if (!r.ok()) return From(r.status());
    if (ids != nullptr) std::copy(r->begin(), r->end(), ids);
    return Ok();
  });
}

int synap_queue_consume(synap_db* db, const char* queue, const char* consumer, uint32_t max, uint32_t wait_ms,
                        uint32_t prefetch, synap_message** msgs, size_t* n) {
  return Guard([&] {
    REQUIRE(db != nullptr && msgs != nullptr && n != nullptr, "db, msgs and n must not be NULL");
    *msgs = nullptr;
    *n = 0;
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    if (int rc = CheckName(consumer, "consumer"); rc != SYNAP_OK) return rc;
    auto r = Qs(db)->Consume(queue, consumer, max, wait_ms, prefetch);
    if (!r.ok()) return From(r.status());
    return Pack(*r, msgs, n);
  });
}

int synap_queue_ack(synap_db* db, const char* queue, const uint64_t* ids, size_t n) {
  return Guard([&] { return AckSome(db, queue, ids, n, nullptr); });
}

int synap_queue_ack_async(synap_db* db, const char* queue, const uint64_t* ids, size_t n, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return AckSome(db, queue, ids, n, ticket);
  });
}

int synap_queue_nack(synap_db* db, const char* queue, uint64_t id, int requeue) {
  return Guard([&] { return NackOne(db, queue, id, requeue, nullptr); });
}

int synap_queue_nack_async(synap_db* db, const char* queue, uint64_t id, int requeue, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return NackOne(db, queue, id, requeue, ticket);
  });
}

int synap_queue_notify_ready(synap_db* db, const char* queue, synap_queue_ready_fn fn, void* user,
                             uint64_t* handle) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr && handle != nullptr, "db, fn and handle must not be NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    auto r = Qs(db)->NotifyReady(queue, [fn, user](const Status& st) { fn(user, st.ok() ? SYNAP_OK : Code(st.code())); });
    if (!r.ok()) return From(r.status());
    *handle = *r;
    return Ok();
  });
}

int synap_queue_notify_cancel(synap_db* db, uint64_t handle) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    return Ok(Qs(db)->CancelNotifyReady(handle) ? SYNAP_OK : SYNAP_NOTFOUND);
  });
}

int synap_queue_dead_letters(synap_db* db, const char* queue, uint64_t offset, uint32_t limit, synap_message** msgs,
                             size_t* n) {
  return Guard([&] {
    REQUIRE(db != nullptr && msgs != nullptr && n != nullptr, "db, msgs and n must not be NULL");
    *msgs = nullptr;
    *n = 0;
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    auto r = Qs(db)->DeadLetters(queue, offset, limit);
    if (!r.ok()) return From(r.status());
    return Pack(*r, msgs, n);
  });
}

int synap_queue_requeue_dead(synap_db* db, const char* queue, uint64_t id, uint64_t* moved) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    auto r = Qs(db)->RequeueDeadLetters(queue, id);
    if (!r.ok()) return From(r.status());
    if (moved != nullptr) *moved = *r;
    return Ok();
  });
}

int synap_queue_purge_dead(synap_db* db, const char* queue, uint64_t* purged) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (int rc = CheckName(queue, "queue"); rc != SYNAP_OK) return rc;
    auto r = Qs(db)->PurgeDeadLetters(queue);
    if (!r.ok()) return From(r.status());
    if (purged != nullptr) *purged = *r;
    return Ok();
  });
}

}  // extern "C"
