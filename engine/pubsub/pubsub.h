// PubSub: an in-memory topic router with Synap's wildcards. Nothing here is
// durable: a message reaches the subscriptions that exist when it is
// published, or nobody.
//
// Topics are `.`-separated levels ("orders.eu.created"). A pattern level is
// a literal, `*` (exactly one level), a glob within one level ("eu*", with
// Redis glob syntax), or — last only — `#` (zero or more levels). Patterns
// live in a trie, so a publish walks the topic's levels, not every pattern.
//
// Each subscription has a bounded buffer. When it is full, the policy says
// what happens: drop the oldest message (and count it) or close the
// subscription with a reason. Publish never blocks on a slow subscriber.
//
// Thread-safety: every method of PubSub and Subscription may be called from
// any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace synap::pubsub {

inline constexpr size_t kMaxTopicBytes = 1024;
inline constexpr size_t kMaxLevels = 64;
inline constexpr size_t kMaxBufferMessages = 1u << 20;

enum class Overflow : uint8_t {
  kDropOldest,  // make room by dropping the oldest buffered message (counted)
  kClose,       // close the subscription; Next() then reports why
};

struct SubscriptionOptions {
  uint32_t capacity = 1024;  // buffered messages, 1..kMaxBufferMessages
  Overflow overflow = Overflow::kDropOldest;
};

struct Message {
  std::string topic;
  std::string payload;
};

// Checks a topic (for publish) or a pattern (for subscribe); the message
// says what is wrong.
Status ValidateTopic(std::string_view topic);
Status ValidatePattern(std::string_view pattern);
// True when `topic` matches `pattern` (both valid): the rule the trie
// implements, spelled out once for tests and single checks.
bool TopicMatches(std::string_view pattern, std::string_view topic);

class PubSub;

class Subscription {
 public:
  // The next message, waiting up to wait_ms for one: nullopt when the wait
  // ends with none. Closed once the subscription is closed and drained
  // (the status says why: unsubscribed, overflow, shut down).
  Result<std::optional<Message>> Next(uint32_t wait_ms);
  const std::string& pattern() const { return pattern_; }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  size_t buffered() const;
  // From now on, each buffered message and the close write an 8-byte 1 to
  // `fd` (an eventfd), on the publishing thread; -1 stops it. The owner of
  // fd keeps it open until it sets -1 or drops the subscription.
  void SetNotifyFd(int fd);

 private:
  friend class PubSub;
  Subscription(std::string pattern, const SubscriptionOptions& opts) : pattern_(std::move(pattern)), opts_(opts) {}
  bool Offer(std::string_view topic, std::string_view payload);  // false if closed
  void Close(std::string reason);

  const std::string pattern_;
  const SubscriptionOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> buffer_;
  bool closed_ = false;
  std::string close_reason_;
  int notify_fd_ = -1;  // under mu_
  void NotifyLocked();
  std::atomic<uint64_t> dropped_{0}, delivered_{0};
};

class PubSub {
 public:
  PubSub();
  ~PubSub();  // closes every subscription ("shut down")

  Result<std::shared_ptr<Subscription>> Subscribe(std::string_view pattern, const SubscriptionOptions& opts);
  // Removes and closes it ("unsubscribed"). NotFound if it is not subscribed.
  Status Unsubscribe(const std::shared_ptr<Subscription>& sub);
  // Hands the message to every matching open subscription; returns how many took it.
  Result<uint64_t> Publish(std::string_view topic, std::string_view payload);
  uint64_t subscriptions() const;

 private:
  struct Node;
  void Match(const Node& n, const std::vector<std::string_view>& levels, size_t i,
             std::vector<Subscription*>* out) const;

  mutable std::shared_mutex mu_;
  std::unique_ptr<Node> root_;
  uint64_t count_ = 0;
};

}  // namespace synap::pubsub
