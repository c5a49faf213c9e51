// libsynap: the C ABI over the engine. No C++ exception may cross this
// boundary (synap.h's conventions): every entry point that can throw runs
// inside Guard(), which turns an exception into SYNAP_ENOMEM or
// SYNAP_EINTERNAL. Every entry point checks its pointers before use.
#include <synap/synap.h>

#include "capi/capi_common.h"
#include "engine/base/version.h"

static_assert(std::string_view(SYNAP_VERSION_STRING) == synap::kVersion, "synap.h and engine/base/version.h disagree");

namespace synap::capi {
thread_local std::string last_error;
}  // namespace synap::capi

namespace {

using namespace synap::capi;

synap::kv::KvStore* Kv(synap_db* db) { return &db->db->kv(); }

int SetCommon(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, unsigned flags,
              int64_t expire, void** old, size_t* old_len, synap::log::Lsn* ticket) {
  using synap::kv::ExpiryUnit;
  REQUIRE(db != nullptr, "db is NULL");
  REQUIRE(Valid(key, klen) && Valid(val, vlen), "key or value is NULL with a non-zero length");
  const unsigned known = SYNAP_SET_EX | SYNAP_SET_PX | SYNAP_SET_EXAT | SYNAP_SET_PXAT | SYNAP_SET_NX |
                         SYNAP_SET_XX | SYNAP_SET_KEEPTTL | SYNAP_SET_GET;
  REQUIRE((flags & ~known) == 0, "unknown SET flag");
  unsigned units = flags & (SYNAP_SET_EX | SYNAP_SET_PX | SYNAP_SET_EXAT | SYNAP_SET_PXAT);
  REQUIRE((units & (units - 1)) == 0, "at most one of SYNAP_SET_EX, PX, EXAT, PXAT");
  REQUIRE(!(flags & SYNAP_SET_GET) || (old != nullptr && old_len != nullptr), "SYNAP_SET_GET needs old and old_len");
  synap::kv::SetArgs a;
  a.unit = units == SYNAP_SET_EX     ? ExpiryUnit::kSeconds
           : units == SYNAP_SET_PX   ? ExpiryUnit::kMillis
           : units == SYNAP_SET_EXAT ? ExpiryUnit::kAtSeconds
           : units == SYNAP_SET_PXAT ? ExpiryUnit::kAtMillis
                                     : ExpiryUnit::kNone;
  a.expire = expire;
  a.nx = flags & SYNAP_SET_NX;
  a.xx = flags & SYNAP_SET_XX;
  a.keep_ttl = flags & SYNAP_SET_KEEPTTL;
  a.get = flags & SYNAP_SET_GET;
  if (a.get) *old = nullptr, *old_len = 0;
  std::optional<std::string> prev;
  auto r = Kv(db)->Set(View(key, klen), View(val, vlen), a, &prev, ticket);
  if (!r.ok()) return From(r.status());
  if (a.get && prev.has_value()) {
    *old = Dup(*prev);
    *old_len = prev->size();
  }
  return Ok(*r == synap::kv::Outcome::kDone ? SYNAP_OK : SYNAP_NOTSET);
}

int MsetCommon(synap_db* db, size_t n, const void* const* keys, const size_t* klens, const void* const* vals,
               const size_t* vlens, unsigned flags, synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  REQUIRE((flags & ~SYNAP_SET_NX) == 0, "MSET accepts only SYNAP_SET_NX");
  REQUIRE(n > 0, "MSET needs at least one key");
  std::vector<std::string_view> ks, vs;
  if (int rc = KeyList(n, keys, klens, &ks); rc != SYNAP_OK) return rc;
  REQUIRE(vals != nullptr && vlens != nullptr, "values and value lengths must not be NULL");
  for (size_t i = 0; i < n; i++) {
    REQUIRE(Valid(vals[i], vlens[i]), "a value pointer is NULL with a non-zero length");
    vs.push_back(View(vals[i], vlens[i]));
  }
  auto r = Kv(db)->MSet(ks, vs, flags & SYNAP_SET_NX, ticket);
  if (!r.ok()) return From(r.status());
  return Ok(*r == synap::kv::Outcome::kDone ? SYNAP_OK : SYNAP_NOTSET);
}

int DelCommon(synap_db* db, size_t n, const void* const* keys, const size_t* klens, uint64_t* deleted,
              synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  std::vector<std::string_view> ks;
  if (int rc = KeyList(n, keys, klens, &ks); rc != SYNAP_OK) return rc;
  auto r = Kv(db)->Del(ks, ticket);
  if (!r.ok()) return From(r.status());
  if (deleted != nullptr) *deleted = *r;
  return Ok();
}

int IncrCommon(synap_db* db, const void* key, size_t klen, int64_t delta, int64_t* result, synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
  auto r = Kv(db)->IncrBy(View(key, klen), delta, ticket);
  if (!r.ok()) return From(r.status());
  if (result != nullptr) *result = *r;
  return Ok();
}

int OutcomeCode(synap::kv::Outcome o) {
  switch (o) {
    case synap::kv::Outcome::kDone: return Ok(SYNAP_OK);
    case synap::kv::Outcome::kNotSet: return Ok(SYNAP_NOTSET);
    case synap::kv::Outcome::kNotFound: return Ok(SYNAP_NOTFOUND);
  }
  return Fail(SYNAP_EINTERNAL, "unknown outcome");
}

int GetDelCommon(synap_db* db, const void* key, size_t klen, void** val, size_t* len, synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr && val != nullptr && len != nullptr, "db, val and len must not be NULL");
  REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
  *val = nullptr;
  *len = 0;
  std::string v;
  auto r = Kv(db)->GetDel(View(key, klen), &v, ticket);
  if (!r.ok()) return From(r.status());
  if (!*r) return Ok(SYNAP_NOTFOUND);
  *val = Dup(v);
  *len = v.size();
  return Ok();
}

int AppendCommon(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, uint64_t* new_len,
                 synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  REQUIRE(Valid(key, klen) && Valid(val, vlen), "key or value is NULL with a non-zero length");
  auto r = Kv(db)->Append(View(key, klen), View(val, vlen), ticket);
  if (!r.ok()) return From(r.status());
  if (new_len != nullptr) *new_len = *r;
  return Ok();
}

int ExpireCommon(synap_db* db, const void* key, size_t klen, int64_t value, unsigned flags, synap::log::Lsn* ticket) {
  using synap::kv::ExpireCond;
  using synap::kv::ExpiryUnit;
  REQUIRE(db != nullptr, "db is NULL");
  REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
  unsigned unit = flags & 0x0fu, cond = flags & 0xf0u;
  REQUIRE((flags & ~0xffu) == 0, "unknown EXPIRE flag");
  REQUIRE(unit != 0 && (unit & (unit - 1)) == 0, "exactly one of SYNAP_EXPIRE_SECONDS, MILLIS, AT_SECONDS, AT_MILLIS");
  REQUIRE((cond & (cond - 1)) == 0, "NX and XX and GT and LT options at the same time are not compatible");
  ExpiryUnit u = unit == SYNAP_EXPIRE_SECONDS      ? ExpiryUnit::kSeconds
                 : unit == SYNAP_EXPIRE_MILLIS    ? ExpiryUnit::kMillis
                 : unit == SYNAP_EXPIRE_AT_SECONDS ? ExpiryUnit::kAtSeconds
                                                   : ExpiryUnit::kAtMillis;
  ExpireCond c = cond == SYNAP_EXPIRE_NX   ? ExpireCond::kNx
                 : cond == SYNAP_EXPIRE_XX ? ExpireCond::kXx
                 : cond == SYNAP_EXPIRE_GT ? ExpireCond::kGt
                 : cond == SYNAP_EXPIRE_LT ? ExpireCond::kLt
                                           : ExpireCond::kAlways;
  auto r = Kv(db)->Expire(View(key, klen), u, value, c, ticket);
  if (!r.ok()) return From(r.status());
  return OutcomeCode(*r);
}

int PersistCommon(synap_db* db, const void* key, size_t klen, synap::log::Lsn* ticket) {
  REQUIRE(db != nullptr, "db is NULL");
  REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
  auto r = Kv(db)->Persist(View(key, klen), ticket);
  if (!r.ok()) return From(r.status());
  return OutcomeCode(*r);
}

}  // namespace

extern "C" {

int synap_version_number(void) { return SYNAP_VERSION_NUMBER; }

const char* synap_version_string(void) { return SYNAP_VERSION_STRING; }

const char* synap_strerror(int code) {
  switch (code) {
    case SYNAP_OK: return "ok";
    case SYNAP_NOTFOUND: return "not found";
    case SYNAP_NOTSET: return "not set: a condition held the write back";
    case SYNAP_EINVAL: return "invalid argument";
    case SYNAP_ETOOLARGE: return "a limit was exceeded";
    case SYNAP_ECORRUPT: return "stored data is corrupt";
    case SYNAP_EIO: return "I/O error";
    case SYNAP_ENOSPC: return "no space left on device";
    case SYNAP_EREADONLY: return "read-only after a failed write or fsync";
    case SYNAP_ELOCKED: return "the data directory is locked by another process";
    case SYNAP_ECLOSED: return "the handle is closed";
    case SYNAP_EBUSY: return "busy: a bounded resource is full";
    case SYNAP_EUNSUPPORTED: return "unsupported";
    case SYNAP_ENOMEM: return "out of memory";
    case SYNAP_EINTERNAL: return "internal error";
    case SYNAP_ERANGE: return "number out of range";
    case SYNAP_EPERM: return "not permitted by the configuration";
    case SYNAP_EEXIST: return "already exists";
    default: return "unknown result code";
  }
}

const char* synap_last_error(void) { return last_error.c_str(); }

void synap_free(void* ptr) { std::free(ptr); }

// ---- options ----

int synap_options_create(synap_options** out) {
  return Guard([&] {
    REQUIRE(out != nullptr, "out is NULL");
    *out = new synap_options();
    return Ok();
  });
}

void synap_options_destroy(synap_options* opts) { delete opts; }

int synap_options_set(synap_options* opts, const char* name, const char* value) {
  return Guard([&] {
    REQUIRE(opts != nullptr && name != nullptr && value != nullptr, "opts, name and value must not be NULL");
    return From(opts->opts.Set(name, value));
  });
}

int synap_options_get(const synap_options* opts, const char* name, char* buf, size_t cap, size_t* len) {
  return Guard([&] {
    REQUIRE(opts != nullptr && name != nullptr && len != nullptr, "opts, name and len must not be NULL");
    REQUIRE(buf != nullptr || cap == 0, "buf is NULL with a non-zero cap");
    auto v = opts->opts.Get(name);
    if (!v.ok()) return From(v.status());
    *len = v->size();
    if (cap > 0) {
      size_t n = std::min(cap - 1, v->size());
      std::memcpy(buf, v->data(), n);
      buf[n] = '\0';
    }
    return Ok();
  });
}

int synap_options_set_fsync_mode(synap_options* opts, int mode) {
  const char* names[] = {"always", "periodic", "never"};
  if (mode < SYNAP_FSYNC_ALWAYS || mode > SYNAP_FSYNC_NEVER)
    return Fail(SYNAP_EINVAL, "fsync mode must be SYNAP_FSYNC_ALWAYS, PERIODIC or NEVER");
  return synap_options_set(opts, "wal.fsync_mode", names[mode]);
}

int synap_options_set_maxmemory(synap_options* opts, uint64_t bytes) {
  return synap_options_set(opts, "kv.maxmemory", std::to_string(bytes).c_str());
}

int synap_options_set_snapshot_interval(synap_options* opts, uint32_t secs) {
  return synap_options_set(opts, "snapshot.interval_secs", std::to_string(secs).c_str());
}

int synap_options_set_progress(synap_options* opts, synap_progress_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(opts != nullptr, "opts is NULL");
    if (fn == nullptr) {
      opts->opts.progress = nullptr;
    } else {
      opts->opts.progress = [fn, user](const char* phase, uint64_t done, uint64_t total) {
        fn(user, phase, done, total);
      };
    }
    return Ok();
  });
}

// ---- lifecycle ----

int synap_open(const char* path, const synap_options* opts, synap_db** out) {
  return Guard([&] {
    REQUIRE(path != nullptr && out != nullptr, "path and out must not be NULL");
    *out = nullptr;
    synap::db::DbOptions defaults;
    auto r = synap::db::Database::Open(path, opts != nullptr ? opts->opts : defaults);
    if (!r.ok()) return From(r.status());
    *out = new synap_db{std::move(*r)};
    return Ok();
  });
}

int synap_close(synap_db* db) {
  return Guard([&] {
    if (db == nullptr) return Ok();
    Status st = db->db->Close();
    delete db;
    return From(st);
  });
}

int synap_sync(synap_db* db) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    return From(db->db->Sync());
  });
}

int synap_snapshot(synap_db* db) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    return From(db->db->Snapshot());
  });
}

int synap_stats_json(synap_db* db, char** json, size_t* len) {
  return Guard([&] {
    REQUIRE(db != nullptr && json != nullptr, "db and json must not be NULL");
    std::string s = db->db->StatsJson();
    char* p = static_cast<char*>(Dup(std::string_view(s.c_str(), s.size() + 1)));
    *json = p;
    if (len != nullptr) *len = s.size();
    return Ok();
  });
}

// ---- reads ----

int synap_get(synap_db* db, const void* key, size_t klen, void** val, size_t* len) {
  return Guard([&] {
    REQUIRE(db != nullptr && val != nullptr && len != nullptr, "db, val and len must not be NULL");
    REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
    *val = nullptr;
    *len = 0;
    std::string v;
    auto r = Kv(db)->Get(View(key, klen), &v);
    if (!r.ok()) return From(r.status());
    if (!*r) return Ok(SYNAP_NOTFOUND);
    *val = Dup(v);
    *len = v.size();
    return Ok();
  });
}

int synap_get_into(synap_db* db, const void* key, size_t klen, void* buf, size_t cap, size_t* len) {
  return Guard([&] {
    REQUIRE(db != nullptr && len != nullptr, "db and len must not be NULL");
    REQUIRE(buf != nullptr || cap == 0, "buf is NULL with a non-zero cap");
    REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
    *len = 0;
    std::string_view k = View(key, klen);
    if (Status st = Kv(db)->CheckKey(k); !st.ok()) return From(st);
    bool found = Kv(db)->Read(k, [&](std::string_view v) {
      *len = v.size();
      if (cap > 0) std::memcpy(buf, v.data(), std::min(cap, v.size()));
    });
    return Ok(found ? SYNAP_OK : SYNAP_NOTFOUND);
  });
}

int synap_mget(synap_db* db, size_t n, const void* const* keys, const size_t* klens, void** vals, size_t* lens) {
  return Guard([&] {
    REQUIRE(db != nullptr && (n == 0 || (vals != nullptr && lens != nullptr)), "db, vals and lens must not be NULL");
    std::vector<std::string_view> ks;
    for (size_t i = 0; i < n; i++) vals[i] = nullptr, lens[i] = 0;
    if (int rc = KeyList(n, keys, klens, &ks); rc != SYNAP_OK) return rc;
    std::vector<std::string> got(n);
    std::vector<bool> found(n);
    for (size_t i = 0; i < n; i++) {
      auto r = Kv(db)->Get(ks[i], &got[i]);
      if (!r.ok()) return From(r.status());
      found[i] = *r;
    }
    try {
      for (size_t i = 0; i < n; i++)
        if (found[i]) vals[i] = Dup(got[i]), lens[i] = got[i].size();
    } catch (...) {
      for (size_t i = 0; i < n; i++) std::free(vals[i]), vals[i] = nullptr, lens[i] = 0;
      throw;
    }
    return Ok();
  });
}

int synap_exists(synap_db* db, size_t n, const void* const* keys, const size_t* klens, uint64_t* count) {
  return Guard([&] {
    REQUIRE(db != nullptr && count != nullptr, "db and count must not be NULL");
    std::vector<std::string_view> ks;
    if (int rc = KeyList(n, keys, klens, &ks); rc != SYNAP_OK) return rc;
    auto r = Kv(db)->Exists(ks);
    if (!r.ok()) return From(r.status());
    *count = *r;
    return Ok();
  });
}

int synap_strlen(synap_db* db, const void* key, size_t klen, uint64_t* len) {
  return Guard([&] {
    REQUIRE(len != nullptr, "len is NULL");
    size_t n = 0;
    int rc = synap_get_into(db, key, klen, nullptr, 0, &n);
    *len = n;
    return rc;
  });
}

int synap_pttl(synap_db* db, const void* key, size_t klen, int64_t* ms) {
  return Guard([&] {
    REQUIRE(db != nullptr && ms != nullptr, "db and ms must not be NULL");
    REQUIRE(Valid(key, klen), "key is NULL with a non-zero length");
    auto r = Kv(db)->PTtl(View(key, klen));
    *ms = r.ok() ? *r : -2;
    return r.ok() ? Ok() : From(r.status());
  });
}

int synap_dbsize(synap_db* db, uint64_t* count) {
  return Guard([&] {
    REQUIRE(db != nullptr && count != nullptr, "db and count must not be NULL");
    *count = Kv(db)->DbSize();
    return Ok();
  });
}

int synap_scan(synap_db* db, uint64_t cursor, const char* pattern, size_t plen, uint64_t count, synap_key_fn fn,
               void* user, uint64_t* next) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr && next != nullptr, "db, fn and next must not be NULL");
    REQUIRE(Valid(pattern, plen), "pattern is NULL with a non-zero length");
    std::vector<std::string> keys;
    auto r = Kv(db)->Scan(cursor, View(pattern, plen), count, &keys);
    if (!r.ok()) return From(r.status());
    *next = *r;
    for (const std::string& k : keys) fn(user, k.data(), k.size());  // no lock held
    return Ok();
  });
}

int synap_keys(synap_db* db, const char* pattern, size_t plen, synap_key_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr, "db and fn must not be NULL");
    REQUIRE(Valid(pattern, plen), "pattern is NULL with a non-zero length");
    uint64_t cursor = 0;
    do {
      std::vector<std::string> keys;
      auto r = Kv(db)->Scan(cursor, View(pattern, plen), 1024, &keys);
      if (!r.ok()) return From(r.status());
      cursor = *r;
      for (const std::string& k : keys) fn(user, k.data(), k.size());
    } while (cursor != 0);
    return Ok();
  });
}

// ---- writes ----

int synap_set(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen) {
  return Guard([&] { return SetCommon(db, key, klen, val, vlen, 0, 0, nullptr, nullptr, nullptr); });
}

int synap_set_ex(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, unsigned flags,
                 int64_t expire, void** old, size_t* old_len) {
  return Guard([&] { return SetCommon(db, key, klen, val, vlen, flags, expire, old, old_len, nullptr); });
}

int synap_getdel(synap_db* db, const void* key, size_t klen, void** val, size_t* len) {
  return Guard([&] { return GetDelCommon(db, key, klen, val, len, nullptr); });
}

int synap_del(synap_db* db, size_t n, const void* const* keys, const size_t* klens, uint64_t* deleted) {
  return Guard([&] { return DelCommon(db, n, keys, klens, deleted, nullptr); });
}

int synap_incrby(synap_db* db, const void* key, size_t klen, int64_t delta, int64_t* result) {
  return Guard([&] { return IncrCommon(db, key, klen, delta, result, nullptr); });
}

int synap_append(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, uint64_t* new_len) {
  return Guard([&] { return AppendCommon(db, key, klen, val, vlen, new_len, nullptr); });
}

int synap_mset(synap_db* db, size_t n, const void* const* keys, const size_t* klens, const void* const* vals,
               const size_t* vlens, unsigned flags) {
  return Guard([&] { return MsetCommon(db, n, keys, klens, vals, vlens, flags, nullptr); });
}

int synap_expire(synap_db* db, const void* key, size_t klen, int64_t value, unsigned flags) {
  return Guard([&] { return ExpireCommon(db, key, klen, value, flags, nullptr); });
}

int synap_persist(synap_db* db, const void* key, size_t klen) {
  return Guard([&] { return PersistCommon(db, key, klen, nullptr); });
}

int synap_flushall(synap_db* db) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    return From(Kv(db)->FlushAll());
  });
}

// ---- non-blocking writes ----

int synap_set_async(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, unsigned flags,
                    int64_t expire, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    REQUIRE(!(flags & SYNAP_SET_GET), "SYNAP_SET_GET is not available without waiting");
    return SetCommon(db, key, klen, val, vlen, flags, expire, nullptr, nullptr, ticket);
  });
}

int synap_del_async(synap_db* db, size_t n, const void* const* keys, const size_t* klens, uint64_t* deleted,
                    synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return DelCommon(db, n, keys, klens, deleted, ticket);
  });
}

int synap_incrby_async(synap_db* db, const void* key, size_t klen, int64_t delta, int64_t* result,
                       synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return IncrCommon(db, key, klen, delta, result, ticket);
  });
}

int synap_mset_async(synap_db* db, size_t n, const void* const* keys, const size_t* klens, const void* const* vals,
                     const size_t* vlens, unsigned flags, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return MsetCommon(db, n, keys, klens, vals, vlens, flags, ticket);
  });
}

int synap_set_ex_async(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, unsigned flags,
                       int64_t expire, void** old, size_t* old_len, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return SetCommon(db, key, klen, val, vlen, flags, expire, old, old_len, ticket);
  });
}

int synap_getdel_async(synap_db* db, const void* key, size_t klen, void** val, size_t* len, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return GetDelCommon(db, key, klen, val, len, ticket);
  });
}

int synap_append_async(synap_db* db, const void* key, size_t klen, const void* val, size_t vlen, uint64_t* new_len,
                       synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return AppendCommon(db, key, klen, val, vlen, new_len, ticket);
  });
}

int synap_expire_async(synap_db* db, const void* key, size_t klen, int64_t value, unsigned flags,
                       synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return ExpireCommon(db, key, klen, value, flags, ticket);
  });
}

int synap_persist_async(synap_db* db, const void* key, size_t klen, synap_ticket* ticket) {
  return Guard([&] {
    REQUIRE(ticket != nullptr, "ticket is NULL");
    return PersistCommon(db, key, klen, ticket);
  });
}

int synap_acked(synap_db* db, synap_ticket* acked) {
  return Guard([&] {
    REQUIRE(db != nullptr && acked != nullptr, "db and acked must not be NULL");
    *acked = db->db->wal().acked_lsn();
    return From(db->db->wal().status());
  });
}

int synap_wait(synap_db* db, synap_ticket ticket) {
  return Guard([&] {
    REQUIRE(db != nullptr, "db is NULL");
    if (ticket == 0) return Ok();
    REQUIRE(ticket <= db->db->wal().last_lsn(), "no such ticket (never handed out)");
    Status st = db->db->wal().WaitFor(ticket);
    if (st.ok()) db->db->kv().DrainAll();
    return From(st);
  });
}

int synap_event_fd(synap_db* db, int* fd) {
  return Guard([&] {
    REQUIRE(db != nullptr && fd != nullptr, "db and fd must not be NULL");
    auto r = db->db->wal().event_fd();
    if (!r.ok()) return From(r.status());
    *fd = *r;
    return Ok();
  });
}

int synap_on_acked(synap_db* db, synap_ticket ticket, synap_acked_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(db != nullptr && fn != nullptr, "db and fn must not be NULL");
    REQUIRE(ticket <= db->db->wal().last_lsn(), "no such ticket (never handed out)");
    if (ticket == 0) {
      fn(user, 0, SYNAP_OK);
      return Ok();
    }
    db->db->wal().OnAcked(ticket, [fn, user, ticket](const Status& st) {
      fn(user, ticket, st.ok() ? SYNAP_OK : Code(st.code()));
    });
    return Ok();
  });
}

}  // extern "C"
