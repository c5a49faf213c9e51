// `synap-cli kv get|set|del|scan|incr`: the key/value store, offline on a
// data directory (--dir) or online against a server (GET, SET, DEL, SCAN,
// MGET, INCRBY). KvTarget is the one interface both sides implement.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/data_target.h"

namespace synap::cli {
namespace {

struct SetOptions {
  int64_t ex_seconds = 0;  // 0: no expiry (SET removes any, as Redis's SET does)
  int64_t px_ms = 0;
  bool nx = false;
  bool xx = false;
};

// Keys per GetMany call a scan with --values makes (bounds one MGET).
constexpr size_t kValuesBatch = 1000;
// The COUNT hint of each SCAN step.
constexpr uint64_t kScanStep = 1000;

class KvTarget {
 public:
  virtual ~KvTarget() = default;
  virtual std::optional<std::string> Get(const std::string& key) = 0;
  // Values of `keys` in order; nullopt for an absent key.
  virtual std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) = 0;
  // false: NX or XX held the write back.
  virtual bool Set(const std::string& key, const std::string& value, const SetOptions& o) = 0;
  // How many of the keys existed.
  virtual uint64_t Del(const std::vector<std::string>& keys) = 0;
  virtual int64_t IncrBy(const std::string& key, int64_t delta) = 0;
  // Every key matching the glob (Redis's syntax), in no particular order;
  // a key may come twice (a cursor scan's guarantee is "at least once").
  virtual std::vector<std::string> Scan(const std::string& glob) = 0;
};

// ---- offline: libsynap ----

class EmbeddedKv : public KvTarget {
 public:
  EmbeddedKv(const std::string& dir, bool create) : store_(dir, create) {}

  std::optional<std::string> Get(const std::string& key) override {
    void* val = nullptr;
    size_t len = 0;
    if (CheckRc(synap_get(store_.db(), key.data(), key.size(), &val, &len), "get") == SYNAP_NOTFOUND)
      return std::nullopt;
    std::string out(static_cast<const char*>(val), len);
    synap_free(val);
    return out;
  }

  std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) override {
    std::vector<const void*> kp;
    std::vector<size_t> kl;
    for (const std::string& k : keys) kp.push_back(k.data()), kl.push_back(k.size());
    std::vector<void*> vals(keys.size());
    std::vector<size_t> lens(keys.size());
    CheckRc(synap_mget(store_.db(), keys.size(), kp.data(), kl.data(), vals.data(), lens.data()), "mget");
    std::vector<std::optional<std::string>> out;
    for (size_t i = 0; i < keys.size(); i++) {
      if (vals[i] == nullptr) {
        out.emplace_back();
        continue;
      }
      out.emplace_back(std::string(static_cast<const char*>(vals[i]), lens[i]));
      synap_free(vals[i]);
    }
    return out;
  }

  bool Set(const std::string& key, const std::string& value, const SetOptions& o) override {
    unsigned flags = (o.nx ? SYNAP_SET_NX : 0u) | (o.xx ? SYNAP_SET_XX : 0u);
    int64_t expire = 0;
    if (o.ex_seconds > 0) flags |= SYNAP_SET_EX, expire = o.ex_seconds;
    if (o.px_ms > 0) flags |= SYNAP_SET_PX, expire = o.px_ms;
    int rc = synap_set_ex(store_.db(), key.data(), key.size(), value.data(), value.size(), flags, expire, nullptr,
                          nullptr);
    return CheckRc(rc, "set") == SYNAP_OK;
  }

  uint64_t Del(const std::vector<std::string>& keys) override {
    std::vector<const void*> kp;
    std::vector<size_t> kl;
    for (const std::string& k : keys) kp.push_back(k.data()), kl.push_back(k.size());
    uint64_t deleted = 0;
    CheckRc(synap_del(store_.db(), keys.size(), kp.data(), kl.data(), &deleted), "del");
    return deleted;
  }

  int64_t IncrBy(const std::string& key, int64_t delta) override {
    int64_t result = 0;
    CheckRc(synap_incrby(store_.db(), key.data(), key.size(), delta, &result), "incr");
    return result;
  }

  std::vector<std::string> Scan(const std::string& glob) override {
    std::vector<std::string> keys;
    uint64_t cursor = 0;
    do {
      CheckRc(synap_scan(
                  store_.db(), cursor, glob.data(), glob.size(), kScanStep,
                  [](void* user, const void* k, size_t n) {
                    static_cast<std::vector<std::string>*>(user)->emplace_back(static_cast<const char*>(k), n);
                  },
                  &keys, &cursor),
              "scan");
    } while (cursor != 0);
    return keys;
  }

 private:
  Store store_;
};

// ---- online: RESP ----

class RespKv : public KvTarget {
 public:
  RespKv() : client_(ConnectToServer()) {}

  std::optional<std::string> Get(const std::string& key) override {
    RespReply r = CallOrFail(*client_, {"GET", key});
    if (r.is_null()) return std::nullopt;
    return r.str;
  }

  std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) override {
    std::vector<std::string> args = {"MGET"};
    args.insert(args.end(), keys.begin(), keys.end());
    RespReply r = CallOrFail(*client_, args);
    std::vector<std::optional<std::string>> out;
    for (const RespReply& v : r.elems) out.push_back(v.is_null() ? std::nullopt : std::optional(v.str));
    if (out.size() != keys.size()) Fail(kExitFailed, "the server answered MGET with the wrong number of values");
    return out;
  }

  bool Set(const std::string& key, const std::string& value, const SetOptions& o) override {
    std::vector<std::string> args = {"SET", key, value};
    if (o.ex_seconds > 0) args.insert(args.end(), {"EX", std::to_string(o.ex_seconds)});
    if (o.px_ms > 0) args.insert(args.end(), {"PX", std::to_string(o.px_ms)});
    if (o.nx) args.push_back("NX");
    if (o.xx) args.push_back("XX");
    return !CallOrFail(*client_, args).is_null();  // NX/XX held back: a null reply
  }

  uint64_t Del(const std::vector<std::string>& keys) override {
    std::vector<std::string> args = {"DEL"};
    args.insert(args.end(), keys.begin(), keys.end());
    return static_cast<uint64_t>(CallOrFail(*client_, args).integer);
  }

  int64_t IncrBy(const std::string& key, int64_t delta) override {
    return CallOrFail(*client_, {"INCRBY", key, std::to_string(delta)}).integer;
  }

  std::vector<std::string> Scan(const std::string& glob) override {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      RespReply r = CallOrFail(*client_, {"SCAN", cursor, "MATCH", glob, "COUNT", std::to_string(kScanStep)});
      if (r.elems.size() != 2 || !r.elems[1].is_list()) Fail(kExitFailed, "the server's SCAN reply is malformed");
      cursor = r.elems[0].str;
      for (const RespReply& k : r.elems[1].elems) keys.push_back(k.str);
    } while (cursor != "0");
    return keys;
  }

 private:
  std::unique_ptr<RespClient> client_;
};

// create: an offline command that writes may make the directory.
std::unique_ptr<KvTarget> OpenKv(const DataOptions& d, bool create) {
  if (d.offline()) return std::make_unique<EmbeddedKv>(d.dir, create);
  return std::make_unique<RespKv>();
}

// A prefix as a glob that matches exactly the keys starting with it.
std::string PrefixGlob(const std::string& prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out + "*";
}

// ---- commands ----

RunFn SetupGet(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string key;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("key", a->key, "The key")->required();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    std::optional<std::string> v = OpenKv(a->data, false)->Get(a->key);
    if (a->data.json) {
      PrintJson(Json::Object().Set("key", Json::Bytes(a->key)).Set("value", v ? Json::Bytes(*v) : Json()));
    } else if (v) {
      std::fwrite(v->data(), 1, v->size(), stdout);  // the bytes as stored, for pipes and $(...)
      std::fputc('\n', stdout);
    }
    if (!v) Fail(kExitFailed, "no such key: " + Printable(a->key));
    return kExitOk;
  });
}

RunFn SetupSet(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string key, value;
    SetOptions set;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("key", a->key, "The key")->required();
  cmd->add_option("value", a->value, "The value")->required();
  auto* ex = cmd->add_option("--ex", a->set.ex_seconds, "Expire in this many seconds")->check(CLI::PositiveNumber);
  cmd->add_option("--px", a->set.px_ms, "Expire in this many milliseconds")->check(CLI::PositiveNumber)->excludes(ex);
  auto* nx = cmd->add_flag("--nx", a->set.nx, "Only if the key does not exist");
  cmd->add_flag("--xx", a->set.xx, "Only if the key exists")->excludes(nx);
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    bool written = OpenKv(a->data, true)->Set(a->key, a->value, a->set);
    if (a->data.json) PrintJson(Json::Object().Set("key", Json::Bytes(a->key)).Set("set", written));
    else if (written) std::puts("OK");
    if (!written)
      Fail(kExitFailed, "not set: the key " + std::string(a->set.nx ? "exists (--nx)" : "does not exist (--xx)"));
    return kExitOk;
  });
}

RunFn SetupDel(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::vector<std::string> keys;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("keys", a->keys, "The keys to delete")->required();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    uint64_t n = OpenKv(a->data, false)->Del(a->keys);
    if (a->data.json) PrintJson(Json::Object().Set("deleted", n));
    else std::printf("deleted %llu of %zu\n", static_cast<unsigned long long>(n), a->keys.size());
    return kExitOk;
  });
}

RunFn SetupIncr(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string key;
    int64_t by = 1;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("key", a->key, "The key (absent counts as 0)")->required();
  cmd->add_option("--by", a->by, "Add this (negative to subtract)")->capture_default_str();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    int64_t v = OpenKv(a->data, true)->IncrBy(a->key, a->by);
    if (a->data.json) PrintJson(Json::Object().Set("key", Json::Bytes(a->key)).Set("value", v));
    else std::printf("%lld\n", static_cast<long long>(v));
    return kExitOk;
  });
}

RunFn SetupScan(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string prefix, match;
    bool values = false;
    uint64_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  auto* prefix = cmd->add_option("--prefix", a->prefix, "Only keys starting with this");
  cmd->add_option("--match", a->match, "Only keys matching this glob (*, ?, [a-z], \\x as in Redis)")
      ->excludes(prefix);
  cmd->add_flag("--values", a->values, "Print each key's value too");
  cmd->add_option("--limit", a->limit, "Print at most this many keys (0: all)")->capture_default_str();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    auto kv = OpenKv(a->data, false);
    std::string glob = !a->match.empty() ? a->match : a->prefix.empty() ? "*" : PrefixGlob(a->prefix);
    std::vector<std::string> keys = kv->Scan(glob);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (a->limit > 0 && keys.size() > a->limit) keys.resize(a->limit);
    Json doc = Json::Array();
    for (size_t from = 0; from < keys.size(); from += kValuesBatch) {
      std::vector<std::string> batch(keys.begin() + from, keys.begin() + std::min(keys.size(), from + kValuesBatch));
      std::vector<std::optional<std::string>> vals;
      if (a->values) vals = kv->GetMany(batch);
      for (size_t i = 0; i < batch.size(); i++) {
        if (a->values && !vals[i]) continue;  // deleted or expired since the scan saw it
        if (a->data.json) {
          Json row = Json::Object().Set("key", Json::Bytes(batch[i]));
          if (a->values) row.Set("value", Json::Bytes(*vals[i]));
          doc.Push(std::move(row));
        } else if (a->values) {
          std::printf("%s\t%s\n", Printable(batch[i]).c_str(), Printable(*vals[i]).c_str());
        } else {
          std::printf("%s\n", Printable(batch[i]).c_str());
        }
      }
    }
    if (a->data.json) PrintJson(doc);
    return kExitOk;
  });
}

}  // namespace

SYNAP_CLI_GROUP("kv", "Read and write keys (offline with --dir, else online)");
SYNAP_CLI_COMMAND("kv get", "Print a key's value (exit 1 if there is none)", SetupGet);
SYNAP_CLI_COMMAND("kv set", "Set a key's value, with an optional expiry", SetupSet);
SYNAP_CLI_COMMAND("kv del", "Delete keys; print how many existed", SetupDel);
SYNAP_CLI_COMMAND("kv incr", "Add to a key's integer value; print the result", SetupIncr);
SYNAP_CLI_COMMAND("kv scan", "List keys (by prefix or glob) in byte order", SetupScan);

}  // namespace synap::cli
