// Pub/sub: the wildcard rules as a table, the trie against the rule for
// every pattern x topic pair, overflow policies, many subscribers.
#include <gtest/gtest.h>

#include <thread>

#include "engine/pubsub/pubsub.h"

namespace synap::pubsub {
namespace {

TEST(PubSubMatch, WildcardTable) {
  struct Case {
    const char* pattern;
    const char* topic;
    bool match;
  } cases[] = {
      {"orders.eu.created", "orders.eu.created", true},
      {"orders.eu.created", "orders.eu", false},
      {"orders.*.created", "orders.eu.created", true},
      {"orders.*.created", "orders.eu.west.created", false},  // * is exactly one level
      {"orders.*", "orders", false},
      {"orders.#", "orders", true},                            // # is zero or more
      {"orders.#", "orders.eu.west.created", true},
      {"#", "anything.at.all", true},
      {"orders.e*", "orders.eu", true},                       // a glob within one level
      {"orders.e*", "orders.us", false},
      {"orders.*u", "orders.eu", true},
      {"orders.e*.x", "orders.eu.west.x", false},
      {"a.b*c*d", "a.bxxcyyd", true},
      {"a.b*c*d", "a.bxxcyy", false},
      {"a.?", "a.b", false},                                  // only * is special
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(ValidatePattern(c.pattern).ok()) << c.pattern;
    EXPECT_EQ(TopicMatches(c.pattern, c.topic), c.match) << c.pattern << " vs " << c.topic;
  }
}

TEST(PubSubMatch, TheTrieAgreesWithTheRuleForEveryPair) {
  const char* patterns[] = {"a", "a.b", "a.*", "*.b", "a.#", "#", "a.b.#", "*.*", "a.b*", "*.*.c", "a.*.#", "x*.#"};
  const char* topics[] = {"a", "b", "a.b", "a.c", "b.b", "a.b.c", "a.bb", "a.x.c", "xy.z", "x", "a.b.c.d"};
  PubSub ps;
  std::vector<std::shared_ptr<Subscription>> subs;
  for (const char* p : patterns) subs.push_back(*ps.Subscribe(p, {}));
  for (const char* t : topics) {
    uint64_t expect = 0;
    for (const char* p : patterns) expect += TopicMatches(p, t) ? 1 : 0;
    EXPECT_EQ(*ps.Publish(t, "x"), expect) << t;
  }
  for (size_t i = 0; i < subs.size(); i++) {
    uint64_t expect = 0;
    for (const char* t : topics) expect += TopicMatches(patterns[i], t) ? 1 : 0;
    EXPECT_EQ(subs[i]->buffered(), expect) << patterns[i];
  }
}

TEST(PubSub, BadTopicsAndPatternsAreRefused) {
  PubSub ps;
  for (const char* bad : {"", "a..b", ".a", "a.", "a.#.b", "a.b#", "#.a"})
    EXPECT_EQ(ps.Subscribe(bad, {}).status().code(), Status::Code::kInvalidArgument) << bad;
  for (const char* bad : {"", "a..b", "a.*", "a.#", "a.b*"})
    EXPECT_EQ(ps.Publish(bad, "x").status().code(), Status::Code::kInvalidArgument) << bad;
  EXPECT_EQ(ps.Publish(std::string(1025, 'a'), "x").status().code(), Status::Code::kInvalidArgument);
  SubscriptionOptions zero;
  zero.capacity = 0;
  EXPECT_EQ(ps.Subscribe("a", zero).status().code(), Status::Code::kInvalidArgument);
}

TEST(PubSub, DropOldestKeepsTheNewestAndCounts) {
  PubSub ps;
  SubscriptionOptions o;
  o.capacity = 3;
  auto sub = *ps.Subscribe("t", o);
  for (int i = 0; i < 5; i++) EXPECT_EQ(*ps.Publish("t", std::to_string(i)), 1u);
  EXPECT_EQ(sub->dropped(), 2u);
  for (const char* want : {"2", "3", "4"}) EXPECT_EQ((*sub->Next(0))->payload, want);
  EXPECT_FALSE(sub->Next(0)->has_value());
}

TEST(PubSub, CloseOnOverflowSaysWhy) {
  PubSub ps;
  SubscriptionOptions o;
  o.capacity = 2;
  o.overflow = Overflow::kClose;
  auto sub = *ps.Subscribe("t", o);
  EXPECT_EQ(*ps.Publish("t", "1"), 1u);
  EXPECT_EQ(*ps.Publish("t", "2"), 1u);
  EXPECT_EQ(*ps.Publish("t", "3"), 0u);  // closed: nobody took it
  EXPECT_EQ((*sub->Next(0))->payload, "1");  // what was buffered is still read
  EXPECT_EQ((*sub->Next(0))->payload, "2");
  auto end = sub->Next(0);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), Status::Code::kClosed);
  EXPECT_NE(end.status().message().find("overflow"), std::string::npos);
}

TEST(PubSub, UnsubscribeClosesAndStopsDelivery) {
  PubSub ps;
  auto sub = *ps.Subscribe("a.#", {});
  EXPECT_TRUE(ps.Unsubscribe(sub).ok());
  EXPECT_EQ(ps.Unsubscribe(sub).code(), Status::Code::kNotFound);
  EXPECT_EQ(*ps.Publish("a.b", "x"), 0u);
  EXPECT_EQ(sub->Next(0).status().code(), Status::Code::kClosed);
  EXPECT_EQ(ps.subscriptions(), 0u);
}

TEST(PubSub, NextWaitsForAPublish) {
  PubSub ps;
  auto sub = *ps.Subscribe("news.*", {});
  std::thread pub([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)ps.Publish("news.today", "hello");
  });
  auto got = sub->Next(10000);
  pub.join();
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->topic, "news.today");
  EXPECT_EQ((*got)->payload, "hello");
}

TEST(PubSub, ManySubscribersEachGetEveryMessage) {
  PubSub ps;
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < 1000; i++) subs.push_back(*ps.Subscribe(i % 2 ? "m.*" : "m.#", {}));
  for (int m = 0; m < 100; m++) EXPECT_EQ(*ps.Publish("m.x", std::to_string(m)), 1000u);
  for (auto& s : subs) {
    EXPECT_EQ(s->buffered(), 100u);
    EXPECT_EQ(s->dropped(), 0u);
  }
}

}  // namespace
}  // namespace synap::pubsub
