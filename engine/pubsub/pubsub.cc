#include "engine/pubsub/pubsub.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace synap::pubsub {
namespace {

std::vector<std::string_view> Levels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

Status CheckShape(std::string_view s, const char* what) {
  if (s.empty() || s.size() > kMaxTopicBytes)
    return Status::InvalidArgument(std::string(what) + " must be 1..1024 bytes");
  std::vector<std::string_view> levels = Levels(s);
  if (levels.size() > kMaxLevels) return Status::InvalidArgument(std::string(what) + " has more than 64 levels");
  for (std::string_view l : levels)
    if (l.empty()) return Status::InvalidArgument(std::string(what) + " '" + std::string(s) + "' has an empty level");
  return Status::Ok();
}

// `*` inside a level matches any run of bytes within it; nothing else is
// special. Iterative, with the usual single backtrack point.
bool LevelGlob(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      pi++, si++;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

bool LevelMatches(std::string_view p, std::string_view s) {
  if (p == "*") return true;
  return p.find('*') == std::string_view::npos ? p == s : LevelGlob(p, s);
}

bool MatchFrom(const std::vector<std::string_view>& p, size_t pi, const std::vector<std::string_view>& t, size_t ti) {
  if (pi == p.size()) return ti == t.size();
  if (p[pi] == "#") return true;  // validated: the last level
  if (ti == t.size()) return false;
  return LevelMatches(p[pi], t[ti]) && MatchFrom(p, pi + 1, t, ti + 1);
}

}  // namespace

Status ValidateTopic(std::string_view topic) {
  SYNAP_RETURN_IF_ERROR(CheckShape(topic, "topic"));
  if (topic.find_first_of("*#") != std::string_view::npos)
    return Status::InvalidArgument("topic '" + std::string(topic) + "' contains a wildcard (* or #)");
  return Status::Ok();
}

Status ValidatePattern(std::string_view pattern) {
  SYNAP_RETURN_IF_ERROR(CheckShape(pattern, "pattern"));
  std::vector<std::string_view> levels = Levels(pattern);
  for (size_t i = 0; i < levels.size(); i++) {
    bool has_hash = levels[i].find('#') != std::string_view::npos;
    if (has_hash && (levels[i] != "#" || i + 1 != levels.size()))
      return Status::InvalidArgument("pattern '" + std::string(pattern) + "': # must be a whole, last level");
  }
  return Status::Ok();
}

bool TopicMatches(std::string_view pattern, std::string_view topic) {
  return MatchFrom(Levels(pattern), 0, Levels(topic), 0);
}

// ---- Subscription ----

bool Subscription::Offer(std::string_view topic, std::string_view payload) {
  std::lock_guard<std::mutex> lk(mu_);
  if (closed_) return false;
  if (buffer_.size() >= opts_.capacity) {
    if (opts_.overflow == Overflow::kClose) {
      closed_ = true;
      close_reason_ = "buffer overflow: more than " + std::to_string(opts_.capacity) + " messages waiting";
      cv_.notify_all();
      NotifyLocked();
      return false;
    }
    buffer_.pop_front();
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  buffer_.push_back(Message{std::string(topic), std::string(payload)});
  cv_.notify_one();
  NotifyLocked();
  return true;
}

void Subscription::SetNotifyFd(int fd) {
  std::lock_guard<std::mutex> lk(mu_);
  notify_fd_ = fd;
  if (fd >= 0 && (!buffer_.empty() || closed_)) NotifyLocked();  // what is there already
}

void Subscription::NotifyLocked() {
  if (notify_fd_ < 0) return;
  uint64_t one = 1;
  (void)!::write(notify_fd_, &one, sizeof one);  // an eventfd full (2^64-2) is still readable: nothing lost
}

void Subscription::Close(std::string reason) {
  std::lock_guard<std::mutex> lk(mu_);
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
  cv_.notify_all();
  NotifyLocked();
}

Result<std::optional<Message>> Subscription::Next(uint32_t wait_ms) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(wait_ms), [&] { return !buffer_.empty() || closed_; });
  if (!buffer_.empty()) {
    Message m = std::move(buffer_.front());
    buffer_.pop_front();
    delivered_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<Message>(std::move(m));
  }
  if (closed_) return Status::Closed("subscription '" + pattern_ + "' closed: " + close_reason_);
  return std::optional<Message>();
}

size_t Subscription::buffered() const {
  std::lock_guard<std::mutex> lk(mu_);
  return buffer_.size();
}

// ---- the trie ----

struct PubSub::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> exact;  // literal levels
  std::map<std::string, std::unique_ptr<Node>, std::less<>> globs;  // "*" and levels with a * inside
  std::vector<std::shared_ptr<Subscription>> here;  // patterns that end at this node
  std::vector<std::shared_ptr<Subscription>> rest;  // patterns "<this node>.#": zero or more levels more
};

PubSub::PubSub() : root_(std::make_unique<Node>()) {}

PubSub::~PubSub() {
  std::vector<std::shared_ptr<Subscription>> all;
  std::vector<Node*> stack{root_.get()};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    all.insert(all.end(), n->here.begin(), n->here.end());
    all.insert(all.end(), n->rest.begin(), n->rest.end());
    for (auto& [k, c] : n->exact) stack.push_back(c.get());
    for (auto& [k, c] : n->globs) stack.push_back(c.get());
  }
  for (auto& s : all) s->Close("shut down");
}

Result<std::shared_ptr<Subscription>> PubSub::Subscribe(std::string_view pattern, const SubscriptionOptions& opts) {
  SYNAP_RETURN_IF_ERROR(ValidatePattern(pattern));
  if (opts.capacity == 0 || opts.capacity > kMaxBufferMessages)
    return Status::InvalidArgument("subscription capacity must be 1..1048576 messages");
  std::shared_ptr<Subscription> sub(new Subscription(std::string(pattern), opts));
  std::unique_lock lk(mu_);
  Node* n = root_.get();
  std::vector<std::string_view> levels = Levels(pattern);
  for (std::string_view l : levels) {
    if (l == "#") {
      n->rest.push_back(sub);
      count_++;
      return sub;
    }
    auto& children = l.find('*') == std::string_view::npos ? n->exact : n->globs;
    auto it = children.find(l);
    if (it == children.end()) it = children.emplace(std::string(l), std::make_unique<Node>()).first;
    n = it->second.get();
  }
  n->here.push_back(sub);
  count_++;
  return sub;
}

Status PubSub::Unsubscribe(const std::shared_ptr<Subscription>& sub) {
  if (sub == nullptr) return Status::InvalidArgument("subscription is null");
  std::unique_lock lk(mu_);
  Node* n = root_.get();
  std::vector<std::string_view> levels = Levels(sub->pattern());
  std::vector<std::shared_ptr<Subscription>>* list = nullptr;
  for (std::string_view l : levels) {
    if (l == "#") {
      list = &n->rest;
      break;
    }
    auto& children = l.find('*') == std::string_view::npos ? n->exact : n->globs;
    auto it = children.find(l);
    if (it == children.end()) return Status::NotFound("not subscribed");
    n = it->second.get();
  }
  if (list == nullptr) list = &n->here;
  auto it = std::find(list->begin(), list->end(), sub);
  if (it == list->end()) return Status::NotFound("not subscribed");
  list->erase(it);
  count_--;
  lk.unlock();
  sub->Close("unsubscribed");
  return Status::Ok();
}

void PubSub::Match(const Node& n, const std::vector<std::string_view>& levels, size_t i,
                   std::vector<Subscription*>* out) const {
  for (const auto& s : n.rest) out->push_back(s.get());
  if (i == levels.size()) {
    for (const auto& s : n.here) out->push_back(s.get());
    return;
  }
  if (auto it = n.exact.find(levels[i]); it != n.exact.end()) Match(*it->second, levels, i + 1, out);
  for (const auto& [glob, child] : n.globs)
    if (LevelMatches(glob, levels[i])) Match(*child, levels, i + 1, out);
}

Result<uint64_t> PubSub::Publish(std::string_view topic, std::string_view payload) {
  SYNAP_RETURN_IF_ERROR(ValidateTopic(topic));
  std::vector<std::string_view> levels = Levels(topic);
  std::vector<Subscription*> subs;
  std::shared_lock lk(mu_);
  Match(*root_, levels, 0, &subs);
  uint64_t delivered = 0;
  for (Subscription* s : subs) delivered += s->Offer(topic, payload) ? 1 : 0;
  return delivered;
}

uint64_t PubSub::subscriptions() const {
  std::shared_lock lk(mu_);
  return count_;
}

}  // namespace synap::pubsub
