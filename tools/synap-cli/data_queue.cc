// `synap-cli queue publish|consume|ack|nack|stats|dlq`: Synap's durable
// queues, offline on a data directory (--dir) or online against a server
// (QPUBLISH, QCONSUME, QACK, QNACK, QSTATS, QDLQ). QueueTarget is the one
// interface both sides implement.
//
// Offline, a message consumed and not acked in the same run goes back to
// ready when the run closes the directory (recovery requeues messages in
// flight), so an offline `queue ack` of an id consumed by an earlier run
// finds nothing in flight; `queue consume --ack` takes messages for good.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/synap-cli/command.h"
#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/data_target.h"

namespace synap::cli {
namespace {

constexpr uint32_t kMaxCount = 10000;  // messages one consume or dead-letter read returns (the C ABI's limit)

struct Message {
  uint64_t id = 0;
  std::string payload;
  uint32_t priority = 0;
  uint32_t delivery_count = 0;
  std::string reason;  // dead letters: rejected, max_retries, expired
};

struct PublishOptions {
  int priority = -1;  // -1: the queue's default
  uint64_t delay_ms = 0;
  int64_t max_retries = -1;  // -1: the queue's
};

// A queue's counters and settings, flattened as QSTATS gives them:
// ("ready", 3), ("settings.max_depth", 1000000), ...
using Fields = std::vector<std::pair<std::string, Json>>;

class QueueTarget {
 public:
  virtual ~QueueTarget() = default;
  virtual uint64_t Publish(const std::string& queue, const std::string& payload, const PublishOptions& o) = 0;
  // Up to `count` messages; block_ms < 0: no wait, 0: wait for one forever.
  virtual std::vector<Message> Consume(const std::string& queue, const std::string& consumer, uint32_t count,
                                       int64_t block_ms) = 0;
  // All or none: an id not in flight is a failure and nothing is acked.
  virtual void Ack(const std::string& queue, const std::vector<uint64_t>& ids) = 0;
  virtual void Nack(const std::string& queue, uint64_t id, bool requeue) = 0;
  // One queue's fields, or every queue's (queue = nullopt), by name.
  virtual std::vector<std::pair<std::string, Fields>> Stats(const std::optional<std::string>& queue) = 0;
  virtual std::vector<Message> DeadLetters(const std::string& queue, uint64_t offset, uint32_t count) = 0;
};

// ---- offline: libsynap ----

// Flattens libsynap's stats object ({"ready":3,...,"settings":{...}}).
void Flatten(const Json& j, const std::string& prefix, Fields* out) {
  for (const auto& [k, v] : j.members()) {
    if (v.kind() == Json::Kind::kObject) Flatten(v, prefix + k + ".", out);
    else out->emplace_back(prefix + k, v);
  }
}

class EmbeddedQueue : public QueueTarget {
 public:
  EmbeddedQueue(const std::string& dir, bool create) : store_(dir, create) {}

  uint64_t Publish(const std::string& queue, const std::string& payload, const PublishOptions& o) override {
    uint64_t id = 0;
    Check(synap_queue_publish(store_.db(), queue.c_str(), payload.data(), payload.size(), o.priority, o.delay_ms,
                              o.max_retries, nullptr, 0, &id),
          queue, "publish");
    return id;
  }

  std::vector<Message> Consume(const std::string& queue, const std::string& consumer, uint32_t count,
                               int64_t block_ms) override {
    for (;;) {  // block_ms 0 waits forever: a minute at a time
      uint32_t wait = block_ms < 0    ? 0
                      : block_ms == 0 ? 60000
                                      : static_cast<uint32_t>(std::min<int64_t>(block_ms, UINT32_MAX));
      synap_message* m = nullptr;
      size_t n = 0;
      Check(synap_queue_consume(store_.db(), queue.c_str(), consumer.c_str(), count, wait, 0, &m, &n), queue,
            "consume");
      std::vector<Message> out = Take(m, n);
      if (!out.empty() || block_ms != 0) return out;
    }
  }

  void Ack(const std::string& queue, const std::vector<uint64_t>& ids) override {
    int rc = synap_queue_ack(store_.db(), queue.c_str(), ids.data(), ids.size());
    if (rc == SYNAP_NOTFOUND)
      NotInFlight(queue, ids.size() == 1 ? "message " + std::to_string(ids[0]) + " is" : "a message is");
    Check(rc, queue, "ack");
  }

  void Nack(const std::string& queue, uint64_t id, bool requeue) override {
    int rc = synap_queue_nack(store_.db(), queue.c_str(), id, requeue ? 1 : 0);
    if (rc == SYNAP_NOTFOUND) NotInFlight(queue, "message " + std::to_string(id) + " is");
    Check(rc, queue, "nack");
  }

  std::vector<std::pair<std::string, Fields>> Stats(const std::optional<std::string>& queue) override {
    std::vector<std::string> names;
    if (queue) {
      names.push_back(*queue);
    } else {
      CheckRc(synap_queue_list(
                  store_.db(),
                  [](void* u, const void* k, size_t n) {
                    static_cast<std::vector<std::string>*>(u)->emplace_back(static_cast<const char*>(k), n);
                  },
                  &names),
              "list queues");
    }
    std::vector<std::pair<std::string, Fields>> out;
    for (const std::string& q : names) {
      char* text = nullptr;
      size_t len = 0;
      Check(synap_queue_stats_json(store_.db(), q.c_str(), &text, &len), q, "stats");
      Json doc;
      std::string error;
      bool ok = Json::Parse(std::string_view(text, len), &doc, &error);
      synap_free(text);
      if (!ok) Fail(kExitFailed, "libsynap's stats of queue '" + q + "' do not parse: " + error);
      Fields f;
      Flatten(doc, "", &f);
      out.emplace_back(q, std::move(f));
    }
    return out;
  }

  std::vector<Message> DeadLetters(const std::string& queue, uint64_t offset, uint32_t count) override {
    synap_message* m = nullptr;
    size_t n = 0;
    Check(synap_queue_dead_letters(store_.db(), queue.c_str(), offset, count, &m, &n), queue, "dead letters");
    return Take(m, n);
  }

 private:
  static std::vector<Message> Take(synap_message* m, size_t n) {
    std::vector<Message> out;
    for (size_t i = 0; i < n; i++)
      out.push_back({m[i].id, std::string(static_cast<const char*>(m[i].payload), m[i].payload_len), m[i].priority,
                     m[i].delivery_count, m[i].reason != nullptr ? m[i].reason : ""});
    synap_free(m);
    return out;
  }

  // SYNAP_NOTFOUND carries no message: name the queue.
  static void Check(int rc, const std::string& queue, const char* what) {
    if (rc == SYNAP_NOTFOUND) Fail(kExitFailed, std::string(what) + ": no such queue '" + queue + "'");
    CheckRc(rc, std::string(what) + " (queue '" + queue + "')");
  }

  [[noreturn]] static void NotInFlight(const std::string& queue, const std::string& which) {
    Fail(kExitFailed, which + " not in flight in queue '" + queue +
                          "' (nothing was changed). Offline, a message consumed by an earlier synap-cli run went "
                          "back to ready when that run closed the directory: use `queue consume --ack` to take "
                          "messages for good");
  }

  Store store_;
};

// ---- online: RESP ----

class RespQueue : public QueueTarget {
 public:
  RespQueue() : client_(ConnectToServer()) {}

  uint64_t Publish(const std::string& queue, const std::string& payload, const PublishOptions& o) override {
    std::vector<std::string> args = {"QPUBLISH", queue, payload};
    if (o.priority >= 0) args.insert(args.end(), {"PRIORITY", std::to_string(o.priority)});
    if (o.delay_ms > 0) args.insert(args.end(), {"DELAY", std::to_string(o.delay_ms)});
    if (o.max_retries >= 0) args.insert(args.end(), {"MAXRETRIES", std::to_string(o.max_retries)});
    return static_cast<uint64_t>(CallOrFail(*client_, args).integer);
  }

  std::vector<Message> Consume(const std::string& queue, const std::string& consumer, uint32_t count,
                               int64_t block_ms) override {
    std::vector<std::string> args = {"QCONSUME", queue, consumer, "COUNT", std::to_string(count)};
    if (block_ms >= 0) args.insert(args.end(), {"BLOCK", std::to_string(block_ms)});
    return Messages(CallOrFail(*client_, args), false);
  }

  void Ack(const std::string& queue, const std::vector<uint64_t>& ids) override {
    std::vector<std::string> args = {"QACK", queue};
    for (uint64_t id : ids) args.push_back(std::to_string(id));
    CallOrFail(*client_, args);
  }

  void Nack(const std::string& queue, uint64_t id, bool requeue) override {
    CallOrFail(*client_, {"QNACK", queue, std::to_string(id), "REQUEUE", requeue ? "1" : "0"});
  }

  std::vector<std::pair<std::string, Fields>> Stats(const std::optional<std::string>& queue) override {
    std::vector<std::pair<std::string, Fields>> out;
    if (queue) {
      out.emplace_back(*queue, ToFields(CallOrFail(*client_, {"QSTATS", *queue})));
      return out;
    }
    RespReply all = CallOrFail(*client_, {"QSTATS"});  // name => that queue's map
    for (size_t i = 0; i + 1 < all.elems.size(); i += 2) out.emplace_back(all.elems[i].str, ToFields(all.elems[i + 1]));
    return out;
  }

  std::vector<Message> DeadLetters(const std::string& queue, uint64_t offset, uint32_t count) override {
    return Messages(CallOrFail(*client_, {"QDLQ", queue, "COUNT", std::to_string(count), "OFFSET",
                                          std::to_string(offset)}),
                    true);
  }

 private:
  // [id, payload, priority, delivery_count(, reason)] ...
  static std::vector<Message> Messages(const RespReply& r, bool with_reason) {
    std::vector<Message> out;
    for (const RespReply& m : r.elems) {
      if (m.elems.size() < (with_reason ? 5u : 4u)) Fail(kExitFailed, "the server sent a malformed message");
      out.push_back({static_cast<uint64_t>(m.elems[0].integer), m.elems[1].str,
                     static_cast<uint32_t>(m.elems[2].integer), static_cast<uint32_t>(m.elems[3].integer),
                     with_reason ? m.elems[4].str : ""});
    }
    return out;
  }

  // A QSTATS map (RESP3) or flat name/value array (RESP2).
  static Fields ToFields(const RespReply& r) {
    Fields f;
    for (size_t i = 0; i + 1 < r.elems.size(); i += 2) {
      const RespReply& v = r.elems[i + 1];
      f.emplace_back(r.elems[i].str, v.type == RespReply::Type::kInteger ? Json(v.integer) : Json::Bytes(v.str));
    }
    return f;
  }

  std::unique_ptr<RespClient> client_;
};

std::unique_ptr<QueueTarget> OpenQueue(const DataOptions& d, bool create) {
  if (d.offline()) return std::make_unique<EmbeddedQueue>(d.dir, create);
  return std::make_unique<RespQueue>();
}

// ---- output ----

Json MessageJson(const Message& m, bool with_reason) {
  Json j = Json::Object()
               .Set("id", m.id)
               .Set("payload", Json::Bytes(m.payload))
               .Set("priority", static_cast<uint64_t>(m.priority))
               .Set("delivery_count", static_cast<uint64_t>(m.delivery_count));
  if (with_reason) j.Set("reason", m.reason);
  return j;
}

void PrintMessages(const std::vector<Message>& msgs, bool json, bool with_reason) {
  if (json) {
    Json doc = Json::Array();
    for (const Message& m : msgs) doc.Push(MessageJson(m, with_reason));
    return PrintJson(doc);
  }
  for (const Message& m : msgs) {
    std::printf("%llu  priority=%u deliveries=%u%s%s  %s\n", static_cast<unsigned long long>(m.id), m.priority,
                m.delivery_count, with_reason ? " reason=" : "", with_reason ? m.reason.c_str() : "",
                Printable(m.payload).c_str());
  }
}

// ---- commands ----

RunFn SetupPublish(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string queue, payload;
    PublishOptions o;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("queue", a->queue, "The queue (created if unknown, unless the store forbids it)")->required();
  cmd->add_option("payload", a->payload, "The message")->required();
  cmd->add_option("--priority", a->o.priority, "0..9, 9 first (default: the queue's)")->check(CLI::Range(0, 9));
  cmd->add_option("--delay", a->o.delay_ms, "Deliver only after this many milliseconds");
  cmd->add_option("--max-retries", a->o.max_retries, "This message's delivery limit (default: the queue's)")
      ->check(CLI::Range(int64_t{0}, int64_t{UINT32_MAX}));
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    uint64_t id = OpenQueue(a->data, true)->Publish(a->queue, a->payload, a->o);
    if (a->data.json) PrintJson(Json::Object().Set("queue", a->queue).Set("id", id));
    else std::printf("%llu\n", static_cast<unsigned long long>(id));
    return kExitOk;
  });
}

RunFn SetupConsume(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string queue, consumer = "synap-cli";
    uint32_t count = 1;
    int64_t block_ms = -1;
    bool ack = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("queue", a->queue, "The queue")->required();
  cmd->add_option("--count", a->count, "Take up to this many messages (1..10000)")
      ->check(CLI::Range(1u, kMaxCount))
      ->capture_default_str();
  cmd->add_option("--block", a->block_ms, "Wait up to this many ms for a message when none is ready (0: forever)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--consumer", a->consumer, "The consumer's name")->capture_default_str();
  cmd->add_flag("--ack", a->ack, "Acknowledge the messages at once (take them for good)");
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    auto q = OpenQueue(a->data, false);
    std::vector<Message> msgs = q->Consume(a->queue, a->consumer, a->count, a->block_ms);
    if (a->ack && !msgs.empty()) {
      std::vector<uint64_t> ids;
      for (const Message& m : msgs) ids.push_back(m.id);
      q->Ack(a->queue, ids);
    }
    PrintMessages(msgs, a->data.json, false);
    if (!a->data.json && msgs.empty()) std::fprintf(stderr, "synap-cli: no message in queue '%s'\n", a->queue.c_str());
    return kExitOk;
  });
}

RunFn SetupAck(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string queue;
    std::vector<uint64_t> ids;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("queue", a->queue, "The queue")->required();
  cmd->add_option("ids", a->ids, "Ids of messages in flight (all or none are acked)")->required();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    OpenQueue(a->data, false)->Ack(a->queue, a->ids);
    if (a->data.json)
      PrintJson(Json::Object().Set("queue", a->queue).Set("acked", static_cast<uint64_t>(a->ids.size())));
    else
      std::printf("acked %zu\n", a->ids.size());
    return kExitOk;
  });
}

RunFn SetupNack(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string queue;
    uint64_t id = 0;
    bool dead_letter = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("queue", a->queue, "The queue")->required();
  cmd->add_option("id", a->id, "Id of a message in flight")->required();
  cmd->add_flag("--dead-letter", a->dead_letter, "Dead-letter it instead of requeueing it");
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    OpenQueue(a->data, false)->Nack(a->queue, a->id, !a->dead_letter);
    const unsigned long long id = a->id;
    if (a->data.json)
      PrintJson(Json::Object().Set("queue", a->queue).Set("id", a->id).Set("requeued", !a->dead_letter));
    else
      std::printf("%s %llu\n", a->dead_letter ? "dead-lettered" : "requeued", id);
    return kExitOk;
  });
}

RunFn SetupStats(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string queue;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("queue", a->queue, "The queue (default: every queue)");
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    auto all = OpenQueue(a->data, false)->Stats(a->queue.empty() ? std::nullopt : std::optional(a->queue));
    if (a->data.json) {
      auto object = [](const Fields& f) {  // "settings.x" back under "settings"
        Json j = Json::Object(), settings = Json::Object();
        for (const auto& [k, v] : f) {
          if (k.rfind("settings.", 0) == 0) settings.Set(k.substr(9), v);
          else if (k != "queue") j.Set(k, v);
        }
        return j.Set("settings", std::move(settings));
      };
      Json doc = Json::Object();
      for (const auto& [name, f] : all) doc.Set(name, object(f));
      PrintJson(a->queue.empty() ? doc : object(all.front().second));
      return kExitOk;
    }
    for (const auto& [name, f] : all) {
      std::printf("%s%s\n", all.size() > 1 || a->queue.empty() ? "# " : "queue ", name.c_str());
      for (const auto& [k, v] : f)
        if (k != "queue") std::printf("  %-26s %s\n", k.c_str(), Printable(v.text()).c_str());
    }
    if (all.empty()) std::printf("no queues\n");
    return kExitOk;
  });
}

RunFn SetupDlq(CLI::App* cmd) {
  struct Args {
    DataOptions data;
    std::string queue;
    uint32_t count = 100;
    uint64_t offset = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("queue", a->queue, "The queue")->required();
  cmd->add_option("--count", a->count, "At most this many (1..10000)")
      ->check(CLI::Range(1u, kMaxCount))
      ->capture_default_str();
  cmd->add_option("--offset", a->offset, "Skip this many of the oldest")->capture_default_str();
  AddDataOptions(cmd, &a->data);
  return Guarded([a] {
    std::vector<Message> msgs = OpenQueue(a->data, false)->DeadLetters(a->queue, a->offset, a->count);
    PrintMessages(msgs, a->data.json, true);
    return kExitOk;
  });
}

}  // namespace

SYNAP_CLI_GROUP("queue", "Durable work queues (offline with --dir, else online)");
SYNAP_CLI_COMMAND("queue publish", "Publish a message; print its id", SetupPublish);
SYNAP_CLI_COMMAND("queue consume", "Take ready messages (acked with --ack)", SetupConsume);
SYNAP_CLI_COMMAND("queue ack", "Acknowledge messages in flight", SetupAck);
SYNAP_CLI_COMMAND("queue nack", "Requeue (or dead-letter) a message in flight", SetupNack);
SYNAP_CLI_COMMAND("queue stats", "A queue's counters and settings (every queue's without a name)", SetupStats);
SYNAP_CLI_COMMAND("queue dlq", "List a queue's dead letters, oldest first", SetupDlq);

}  // namespace synap::cli
