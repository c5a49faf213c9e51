// libsynap: the pub/sub functions of the C ABI (synap.h, "Pub/sub").
#include "capi/capi_common.h"

#include <thread>

struct synap_subscription {
  synap::pubsub::PubSub* hub;
  std::shared_ptr<synap::pubsub::Subscription> sub;
  uint64_t seq = 0;
  std::thread delivery;  // runs the callback, when one is set
};

namespace {

using namespace synap::capi;

}  // namespace

extern "C" {

int synap_subscribe(synap_db* db, const char* pattern, uint32_t capacity, int overflow, synap_subscription** out) {
  return Guard([&] {
    REQUIRE(db != nullptr && pattern != nullptr && out != nullptr, "db, pattern and out must not be NULL");
    *out = nullptr;
    REQUIRE(overflow == SYNAP_OVERFLOW_DROP_OLDEST || overflow == SYNAP_OVERFLOW_CLOSE,
            "overflow must be SYNAP_OVERFLOW_DROP_OLDEST or SYNAP_OVERFLOW_CLOSE");
    synap::pubsub::SubscriptionOptions o;
    o.capacity = capacity;
    o.overflow = overflow == SYNAP_OVERFLOW_CLOSE ? synap::pubsub::Overflow::kClose
                                                  : synap::pubsub::Overflow::kDropOldest;
    auto r = db->db->pubsub().Subscribe(pattern, o);
    if (!r.ok()) return From(r.status());
    *out = new synap_subscription{&db->db->pubsub(), std::move(*r), 0, {}};
    return Ok();
  });
}

int synap_unsubscribe(synap_subscription* sub) {
  return Guard([&] {
    if (sub == nullptr) return Ok();
    (void)sub->hub->Unsubscribe(sub->sub);  // NotFound when an overflow closed it: still freed
    if (sub->delivery.joinable()) {
      REQUIRE(sub->delivery.get_id() != std::this_thread::get_id(),
              "synap_unsubscribe called from the subscription's own callback");
      sub->delivery.join();  // the closed subscription drains, then the thread ends
    }
    delete sub;
    return Ok();
  });
}

int synap_publish(synap_db* db, const char* topic, const void* payload, size_t len, uint64_t* delivered) {
  return Guard([&] {
    REQUIRE(db != nullptr && topic != nullptr, "db and topic must not be NULL");
    REQUIRE(Valid(payload, len), "payload is NULL with a non-zero length");
    auto r = db->db->pubsub().Publish(topic, View(payload, len));
    if (!r.ok()) return From(r.status());
    if (delivered != nullptr) *delivered = *r;
    return Ok();
  });
}

int synap_subscription_set_callback(synap_subscription* sub, synap_message_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(sub != nullptr && fn != nullptr, "sub and fn must not be NULL");
    REQUIRE(!sub->delivery.joinable(), "the subscription already has a callback");
    std::shared_ptr<synap::pubsub::Subscription> s = sub->sub;
    sub->delivery = std::thread([s, fn, user] {
      for (;;) {
        auto r = s->Next(1000);
        if (!r.ok()) {  // closed and drained: say why, once
          const std::string& why = r.status().message();
          fn(user, nullptr, 0, why.data(), why.size());
          return;
        }
        if (r->has_value()) fn(user, (*r)->topic.data(), (*r)->topic.size(), (*r)->payload.data(), (*r)->payload.size());
      }
    });
    return Ok();
  });
}

int synap_subscription_notify_fd(synap_subscription* sub, int fd) {
  return Guard([&] {
    REQUIRE(sub != nullptr, "sub is NULL");
    REQUIRE(fd >= -1, "fd must be a file descriptor or -1");
    REQUIRE(!sub->delivery.joinable(), "the subscription delivers to a callback");
    sub->sub->SetNotifyFd(fd);
    return Ok();
  });
}

int synap_subscription_next(synap_subscription* sub, uint32_t wait_ms, synap_message** msg) {
  return Guard([&] {
    REQUIRE(sub != nullptr && msg != nullptr, "sub and msg must not be NULL");
    REQUIRE(!sub->delivery.joinable(), "the subscription delivers to a callback");
    *msg = nullptr;
    auto r = sub->sub->Next(wait_ms);
    if (!r.ok()) return From(r.status());
    if (!r->has_value()) return Ok(SYNAP_NOTFOUND);
    const synap::pubsub::Message& m = **r;
    // One block: the struct, the payload, the NUL-terminated topic.
    size_t total = sizeof(synap_message) + m.payload.size() + m.topic.size() + 1;
    char* block = static_cast<char*>(std::malloc(total));
    if (block == nullptr) throw std::bad_alloc();
    auto* out = reinterpret_cast<synap_message*>(block);
    char* data = block + sizeof(synap_message);
    if (!m.payload.empty()) std::memcpy(data, m.payload.data(), m.payload.size());
    char* topic = data + m.payload.size();
    std::memcpy(topic, m.topic.data(), m.topic.size());
    topic[m.topic.size()] = '\0';
    *out = synap_message{++sub->seq, data, m.payload.size(), 0, 1, 0, nullptr, 0, topic};
    *msg = out;
    return Ok();
  });
}

int synap_subscription_dropped(synap_subscription* sub, uint64_t* dropped) {
  return Guard([&] {
    REQUIRE(sub != nullptr && dropped != nullptr, "sub and dropped must not be NULL");
    *dropped = sub->sub->dropped();
    return Ok();
  });
}

}  // extern "C"
