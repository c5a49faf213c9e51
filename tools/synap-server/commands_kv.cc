// The KV commands, with Redis's names, argument forms and replies. Every
// write goes through a non-blocking twin in the C ABI (synap_*_async) and
// hands its ticket back: the loop holds the reply until the ticket is
// acknowledged and serves other clients meanwhile. FLUSHALL alone waits (it
// is rare, and its twin would buy nothing).
#include <cstdlib>

#include "tools/synap-server/commands.h"

namespace synap::server {
namespace {

const char* kNotInt = "ERR value is not an integer or out of range";
const char* kSyntax = "ERR syntax error";

struct Buf {  // a value libsynap returned, freed on scope exit
  void* p = nullptr;
  size_t n = 0;
  ~Buf() { synap_free(p); }
  std::string_view view() const { return {static_cast<const char*>(p), n}; }
};

void Get(Context& c) {
  Buf v;
  int rc = synap_get(c.db, c.args[1].data(), c.args[1].size(), &v.p, &v.n);
  if (rc == SYNAP_NOTFOUND) return c.reply.Null();
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Bulk(v.view());
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
void Set(Context& c) {
  unsigned flags = 0;
  int64_t expire = 0;
  for (size_t i = 3; i < c.args.size(); i++) {
    std::string o = Upper(c.args[i]);
    unsigned unit = o == "EX" ? SYNAP_SET_EX : o == "PX" ? SYNAP_SET_PX : o == "EXAT" ? SYNAP_SET_EXAT
                    : o == "PXAT" ? SYNAP_SET_PXAT : 0;
    if (unit != 0) {
      if (i + 1 >= c.args.size() || (flags & 0x4Fu)) return c.reply.Error(kSyntax);
      if (!ParseInt(c.args[++i], &expire)) return c.reply.Error(kNotInt);
      if (expire <= 0) return c.reply.Error("ERR invalid expire time in 'set' command");
      flags |= unit;
    } else if (o == "NX" && !(flags & SYNAP_SET_XX)) {
      flags |= SYNAP_SET_NX;
    } else if (o == "XX" && !(flags & SYNAP_SET_NX)) {
      flags |= SYNAP_SET_XX;
    } else if (o == "KEEPTTL" && !(flags & 0x0Fu)) {
      flags |= SYNAP_SET_KEEPTTL;
    } else if (o == "GET") {
      flags |= SYNAP_SET_GET;
    } else {
      return c.reply.Error(kSyntax);
    }
  }
  const std::string_view k = c.args[1], v = c.args[2];
  if (flags & SYNAP_SET_GET) {  // the old value comes back at once; the write holds at the ticket
    Buf old;
    int rc = synap_set_ex_async(c.db, k.data(), k.size(), v.data(), v.size(), flags, expire, &old.p, &old.n,
                                &c.ticket);
    if (rc != SYNAP_OK && rc != SYNAP_NOTSET) return ReplyError(c.reply, rc);
    return old.p == nullptr ? c.reply.Null() : c.reply.Bulk(old.view());
  }
  int rc = synap_set_async(c.db, k.data(), k.size(), v.data(), v.size(), flags, expire, &c.ticket);
  if (rc == SYNAP_NOTSET) return c.reply.Null();
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Simple("OK");
}

void SetNx(Context& c) {
  int rc = synap_set_async(c.db, c.args[1].data(), c.args[1].size(), c.args[2].data(), c.args[2].size(), SYNAP_SET_NX,
                           0, &c.ticket);
  if (rc != SYNAP_OK && rc != SYNAP_NOTSET) return ReplyError(c.reply, rc);
  c.reply.Integer(rc == SYNAP_OK ? 1 : 0);
}

// SETEX key seconds value / PSETEX key ms value
void SetEx(Context& c) {
  int64_t t;
  if (!ParseInt(c.args[2], &t)) return c.reply.Error(kNotInt);
  if (t <= 0) return c.reply.Error("ERR invalid expire time in '" + Upper(c.args[0]) + "' command");
  unsigned unit = Upper(c.args[0]) == "PSETEX" ? SYNAP_SET_PX : SYNAP_SET_EX;
  int rc = synap_set_async(c.db, c.args[1].data(), c.args[1].size(), c.args[3].data(), c.args[3].size(), unit, t,
                           &c.ticket);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Simple("OK");
}

void GetSet(Context& c) {
  Buf old;
  int rc = synap_set_ex_async(c.db, c.args[1].data(), c.args[1].size(), c.args[2].data(), c.args[2].size(),
                              SYNAP_SET_GET, 0, &old.p, &old.n, &c.ticket);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  old.p == nullptr ? c.reply.Null() : c.reply.Bulk(old.view());
}

void GetDel(Context& c) {
  Buf v;
  int rc = synap_getdel_async(c.db, c.args[1].data(), c.args[1].size(), &v.p, &v.n, &c.ticket);
  if (rc == SYNAP_NOTFOUND) return c.reply.Null();
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Bulk(v.view());
}

void KeyLists(const Context& c, size_t from, std::vector<const void*>* ks, std::vector<size_t>* ls) {
  for (size_t i = from; i < c.args.size(); i++) {
    ks->push_back(c.args[i].data());
    ls->push_back(c.args[i].size());
  }
}

void Del(Context& c) {
  std::vector<const void*> ks;
  std::vector<size_t> ls;
  KeyLists(c, 1, &ks, &ls);
  uint64_t n = 0;
  int rc = synap_del_async(c.db, ks.size(), ks.data(), ls.data(), &n, &c.ticket);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(n));
}

void Exists(Context& c) {
  std::vector<const void*> ks;
  std::vector<size_t> ls;
  KeyLists(c, 1, &ks, &ls);
  uint64_t n = 0;
  int rc = synap_exists(c.db, ks.size(), ks.data(), ls.data(), &n);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(n));
}

void MGet(Context& c) {
  std::vector<const void*> ks;
  std::vector<size_t> ls;
  KeyLists(c, 1, &ks, &ls);
  std::vector<void*> vals(ks.size(), nullptr);
  std::vector<size_t> lens(ks.size(), 0);
  int rc = synap_mget(c.db, ks.size(), ks.data(), ls.data(), vals.data(), lens.data());
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Array(ks.size());
  for (size_t i = 0; i < ks.size(); i++) {
    if (vals[i] == nullptr) {
      c.reply.Null();
    } else {
      c.reply.Bulk({static_cast<const char*>(vals[i]), lens[i]});
      synap_free(vals[i]);
    }
  }
}

void MSet(Context& c) {
  if (c.args.size() % 2 != 1) return c.reply.Error("ERR wrong number of arguments for '" + Upper(c.args[0]) + "' command");
  std::vector<const void*> ks, vs;
  std::vector<size_t> kl, vl;
  for (size_t i = 1; i + 1 < c.args.size(); i += 2) {
    ks.push_back(c.args[i].data()), kl.push_back(c.args[i].size());
    vs.push_back(c.args[i + 1].data()), vl.push_back(c.args[i + 1].size());
  }
  bool nx = Upper(c.args[0]) == "MSETNX";
  int rc = synap_mset_async(c.db, ks.size(), ks.data(), kl.data(), vs.data(), vl.data(), nx ? SYNAP_SET_NX : 0,
                            &c.ticket);
  if (rc != SYNAP_OK && rc != SYNAP_NOTSET) return ReplyError(c.reply, rc);
  if (nx) return c.reply.Integer(rc == SYNAP_OK ? 1 : 0);
  c.reply.Simple("OK");
}

void IncrBy(Context& c) {
  std::string name = Upper(c.args[0]);
  int64_t delta = 1;
  if (name == "INCRBY" || name == "DECRBY") {
    if (!ParseInt(c.args[2], &delta)) return c.reply.Error(kNotInt);
  }
  if (name == "DECR" || name == "DECRBY") {
    if (delta == INT64_MIN) return c.reply.Error("ERR decrement would overflow");
    delta = -delta;
  }
  int64_t result = 0;
  int rc = synap_incrby_async(c.db, c.args[1].data(), c.args[1].size(), delta, &result, &c.ticket);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(result);
}

void Append(Context& c) {
  uint64_t n = 0;
  int rc = synap_append_async(c.db, c.args[1].data(), c.args[1].size(), c.args[2].data(), c.args[2].size(), &n,
                              &c.ticket);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(n));
}

void Strlen(Context& c) {
  uint64_t n = 0;
  int rc = synap_strlen(c.db, c.args[1].data(), c.args[1].size(), &n);
  if (rc != SYNAP_OK && rc != SYNAP_NOTFOUND) return ReplyError(c.reply, rc);
  c.reply.Integer(static_cast<int64_t>(n));
}

// EXPIRE key n [NX|XX|GT|LT], and PEXPIRE, EXPIREAT, PEXPIREAT.
void Expire(Context& c) {
  std::string name = Upper(c.args[0]);
  unsigned flags = name == "EXPIRE" ? SYNAP_EXPIRE_SECONDS : name == "PEXPIRE" ? SYNAP_EXPIRE_MILLIS
                   : name == "EXPIREAT" ? SYNAP_EXPIRE_AT_SECONDS : SYNAP_EXPIRE_AT_MILLIS;
  int64_t v;
  if (!ParseInt(c.args[2], &v)) return c.reply.Error(kNotInt);
  for (size_t i = 3; i < c.args.size(); i++) {
    std::string o = Upper(c.args[i]);
    if (o == "NX") flags |= SYNAP_EXPIRE_NX;
    else if (o == "XX") flags |= SYNAP_EXPIRE_XX;
    else if (o == "GT") flags |= SYNAP_EXPIRE_GT;
    else if (o == "LT") flags |= SYNAP_EXPIRE_LT;
    else return c.reply.Error("ERR Unsupported option " + std::string(c.args[i]));
  }
  int rc = synap_expire_async(c.db, c.args[1].data(), c.args[1].size(), v, flags, &c.ticket);
  if (rc == SYNAP_NOTFOUND || rc == SYNAP_NOTSET) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(1);
}

void Ttl(Context& c) {
  int64_t ms = 0;
  int rc = synap_pttl(c.db, c.args[1].data(), c.args[1].size(), &ms);
  if (rc == SYNAP_NOTFOUND) return c.reply.Integer(-2);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  if (ms < 0 || Upper(c.args[0]) == "PTTL") return c.reply.Integer(ms);
  c.reply.Integer((ms + 500) / 1000);
}

void Persist(Context& c) {
  int rc = synap_persist_async(c.db, c.args[1].data(), c.args[1].size(), &c.ticket);
  if (rc == SYNAP_NOTFOUND || rc == SYNAP_NOTSET) return c.reply.Integer(0);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Integer(1);
}

void Type(Context& c) {
  uint64_t n = 0;
  const void* k = c.args[1].data();
  size_t kl = c.args[1].size();
  int rc = synap_exists(c.db, 1, &k, &kl, &n);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Simple(n > 0 ? "string" : "none");
}

void CollectKey(void* user, const void* key, size_t klen) {
  static_cast<std::vector<std::string>*>(user)->emplace_back(static_cast<const char*>(key), klen);
}

void Keys(Context& c) {
  std::vector<std::string> keys;
  int rc = synap_keys(c.db, c.args[1].data(), c.args[1].size(), CollectKey, &keys);
  if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  c.reply.Array(keys.size());
  for (const std::string& k : keys) c.reply.Bulk(k);
}

// SCAN cursor [MATCH pattern] [COUNT n] [TYPE string]
void Scan(Context& c) {
  int64_t cursor;
  if (!ParseInt(c.args[1], &cursor) || cursor < 0) return c.reply.Error("ERR invalid cursor");
  std::string_view pattern = "*";
  int64_t count = 10;
  for (size_t i = 2; i < c.args.size(); i += 2) {
    if (i + 1 >= c.args.size()) return c.reply.Error(kSyntax);
    std::string o = Upper(c.args[i]);
    if (o == "MATCH") pattern = c.args[i + 1];
    else if (o == "COUNT") {
      if (!ParseInt(c.args[i + 1], &count)) return c.reply.Error(kNotInt);
      if (count < 1) return c.reply.Error(kSyntax);
    } else if (o == "TYPE") {
      if (Upper(c.args[i + 1]) != "STRING") count = 0;  // only strings live in the KV store
    } else {
      return c.reply.Error(kSyntax);
    }
  }
  std::vector<std::string> keys;
  uint64_t next = 0;
  if (count > 0) {
    int rc = synap_scan(c.db, static_cast<uint64_t>(cursor), pattern.data(), pattern.size(),
                        static_cast<uint64_t>(count), CollectKey, &keys, &next);
    if (rc != SYNAP_OK) return ReplyError(c.reply, rc);
  }
  c.reply.Array(2);
  c.reply.Bulk(std::to_string(next));
  c.reply.Array(keys.size());
  for (const std::string& k : keys) c.reply.Bulk(k);
}

}  // namespace

void AddKvCommands(std::vector<CommandSpec>* t) {
  t->insert(t->end(), {
                          {"GET", 2, Get},           {"SET", -3, Set, false, true},         {"SETNX", 3, SetNx, false, true},
                          {"SETEX", 4, SetEx, false, true},       {"PSETEX", 4, SetEx, false, true},     {"GETSET", 3, GetSet, false, true},
                          {"GETDEL", 2, GetDel, false, true},     {"DEL", -2, Del, false, true},         {"UNLINK", -2, Del, false, true},
                          {"EXISTS", -2, Exists},    {"MGET", -2, MGet},       {"MSET", -3, MSet, false, true},
                          {"MSETNX", -3, MSet, false, true},      {"INCR", 2, IncrBy, false, true},      {"DECR", 2, IncrBy, false, true},
                          {"INCRBY", 3, IncrBy, false, true},     {"DECRBY", 3, IncrBy, false, true},    {"APPEND", 3, Append, false, true},
                          {"STRLEN", 2, Strlen},     {"EXPIRE", -3, Expire, false, true},   {"PEXPIRE", -3, Expire, false, true},
                          {"EXPIREAT", -3, Expire, false, true},  {"PEXPIREAT", -3, Expire, false, true}, {"TTL", 2, Ttl},
                          {"PTTL", 2, Ttl},          {"PERSIST", 2, Persist, false, true},  {"TYPE", 2, Type},
                          {"KEYS", 2, Keys},         {"SCAN", -2, Scan},
                      });
}

}  // namespace synap::server
