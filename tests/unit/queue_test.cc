// Queue semantics rule by rule, and what survives a reopen (log replay and
// snapshot + replay).
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engine/queue/queue_record.h"
#include "engine/queue/queue_state.h"
#include "tests/support/db_fixture.h"

namespace synap::queue {
namespace {

using testing::DbTest;

class QueueTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    opts_.queue.clock = [this] { return now_.load(); };
    Open();
  }
  QueueStore& qs() { return db_->queues(); }
  uint64_t Pub(std::string_view q, std::string_view payload, int priority = -1, uint64_t delay_ms = 0) {
    PublishArgs a;
    a.payload = payload;
    a.priority = priority;
    a.delay_ms = delay_ms;
    auto r = qs().Publish(q, std::span(&a, 1));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->front() : 0;
  }
  std::vector<Delivery> Take(std::string_view q, uint32_t n, uint32_t prefetch = 0) {
    auto r = qs().Consume(q, "c1", n, 0, prefetch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Delivery>{};
  }
  static std::vector<std::string> Payloads(const std::vector<Delivery>& ds) {
    std::vector<std::string> out;
    for (const Delivery& d : ds) out.push_back(d.payload);
    return out;
  }
  Status Ack(std::string_view q, uint64_t id) { return qs().Ack(q, std::span(&id, 1)); }
};

// Message ids stop at kMaxMessageId (INT64_MAX): a publish record claiming
// 0 or more is corruption, so the next id cannot wrap to 0 (found by review).
TEST(QueueRecordTest, MessageIdsOutsideOneToTheLargestAreCorrupt) {
  auto publish = [](uint64_t id) {
    std::string r = queue::Begin(queue::QueueOp::kPublish, "q");
    PutVarint(1, &r);  // one message
    PutVarint(id, &r);
    r.push_back(0);  // priority
    PutVarint(0, &r);  // max_retries
    PutFixed64(0, &r);  // due_ms
    PutFixed64(0, &r);  // published_ms
    PutVarint(0, &r);  // headers
    PutVarint(1, &r);  // payload
    r.push_back('x');
    queue::QueueRecord out;
    return queue::DecodeRecord(std::span(reinterpret_cast<const uint8_t*>(r.data()), r.size()), &out);
  };
  EXPECT_TRUE(publish(1).ok());
  EXPECT_TRUE(publish(queue::kMaxMessageId).ok());
  for (uint64_t bad : {uint64_t{0}, queue::kMaxMessageId + 1, ~uint64_t{0}})
    EXPECT_TRUE(publish(bad).IsCorruption()) << bad;
}

TEST_F(QueueTest, HighestPriorityFirstFifoWithin) {
  Pub("jobs", "a", 0);
  Pub("jobs", "b", 0);
  Pub("jobs", "c", 9);
  Pub("jobs", "d", 5);
  Pub("jobs", "e", 9);
  EXPECT_EQ(Payloads(Take("jobs", 10)), (std::vector<std::string>{"c", "e", "d", "a", "b"}));
  EXPECT_TRUE(Take("jobs", 10).empty());
}

TEST_F(QueueTest, AckRemovesForGoodAndTwiceIsAnError) {
  uint64_t id = Pub("jobs", "a");
  auto d = Take("jobs", 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, id);
  EXPECT_EQ(d[0].delivery_count, 1u);
  EXPECT_FALSE(d[0].redelivered);
  EXPECT_TRUE(Ack("jobs", id).ok());
  EXPECT_EQ(Ack("jobs", id).code(), Status::Code::kNotFound);
  EXPECT_EQ(Ack("jobs", 999999).code(), Status::Code::kNotFound);
  Reopen();
  EXPECT_TRUE(Take("jobs", 10).empty());
  EXPECT_GT(Pub("jobs", "b"), id);  // ids keep growing across restarts
}

TEST_F(QueueTest, NackRequeueGoesToTheHeadOfItsPriority) {
  Pub("jobs", "a");
  Pub("jobs", "b");
  Pub("jobs", "c");
  auto first = Take("jobs", 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(qs().Nack("jobs", first[0].id, true).ok());
  auto all = Take("jobs", 10);
  EXPECT_EQ(Payloads(all), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(all[0].redelivered);
  EXPECT_EQ(all[0].delivery_count, 2u);
  EXPECT_FALSE(all[1].redelivered);
}

TEST_F(QueueTest, NackWithoutRequeueDeadLettersAndTheDlqCanBeRequeuedAndPurged) {
  uint64_t a = Pub("jobs", "a");
  Pub("jobs", "b");
  auto d = Take("jobs", 2);
  ASSERT_TRUE(qs().Nack("jobs", a, false).ok());
  ASSERT_TRUE(qs().Nack("jobs", d[1].id, false).ok());
  auto dead = qs().DeadLetters("jobs", 0, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[0].reason, "rejected");
  EXPECT_EQ(qs().DeadLetters("jobs", 1, 10)->size(), 1u);  // paging
  EXPECT_EQ(*qs().RequeueDeadLetters("jobs", a), 1u);
  EXPECT_EQ(Payloads(Take("jobs", 10)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(*qs().PurgeDeadLetters("jobs"), 1u);
  EXPECT_TRUE(qs().DeadLetters("jobs", 0, 10)->empty());
  EXPECT_EQ(qs().RequeueDeadLetters("jobs", 424242).status().code(), Status::Code::kNotFound);
}

TEST_F(QueueTest, ExpiredDeadlinesRequeueThenRetriesSpentDeadLetter) {
  QueueSettings s;
  s.ack_deadline_ms = 1000;
  s.max_retries = 1;
  ASSERT_TRUE(qs().Declare("jobs", s).ok());
  uint64_t id = Pub("jobs", "a");
  ASSERT_EQ(Take("jobs", 1).size(), 1u);
  now_ += 1001;
  ASSERT_TRUE(qs().Tick().ok());
  auto again = Take("jobs", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, id);
  EXPECT_TRUE(again[0].redelivered);
  EXPECT_EQ(again[0].delivery_count, 2u);
  now_ += 1001;
  ASSERT_TRUE(qs().Tick().ok());
  EXPECT_TRUE(Take("jobs", 1).empty());
  auto dead = qs().DeadLetters("jobs", 0, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].reason, "max_retries");
  EXPECT_EQ(qs().Stats("jobs")->nacked, 1u);
}

TEST_F(QueueTest, APerMessageRetryLimitOverridesTheQueues) {
  PublishArgs a;
  a.payload = "fragile";
  a.max_retries = 0;  // no second delivery
  uint64_t id = qs().Publish("jobs", std::span(&a, 1))->front();
  Pub("jobs", "sturdy");  // the queue's default: 5
  auto d = Take("jobs", 2);
  ASSERT_EQ(d.size(), 2u);
  ASSERT_TRUE(qs().Nack("jobs", id, true).ok());
  ASSERT_TRUE(qs().Nack("jobs", d[1].id, true).ok());
  EXPECT_EQ(Payloads(Take("jobs", 10)), (std::vector<std::string>{"sturdy"}));
  auto dead = qs().DeadLetters("jobs", 0, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].id, id);
  EXPECT_EQ((*dead)[0].reason, "max_retries");
}

TEST_F(QueueTest, DelayedMessagesWaitForTheirTime) {
  Pub("jobs", "later", -1, 5000);
  Pub("jobs", "now");
  EXPECT_EQ(Payloads(Take("jobs", 10)), (std::vector<std::string>{"now"}));
  EXPECT_EQ(qs().Stats("jobs")->delayed, 1u);
  now_ += 5000;
  EXPECT_EQ(Payloads(Take("jobs", 10)), (std::vector<std::string>{"later"}));
}

TEST_F(QueueTest, MaxDepthIsBackpressure) {
  QueueSettings s;
  s.max_depth = 3;
  ASSERT_TRUE(qs().Declare("small", s).ok());
  for (int i = 0; i < 3; i++) Pub("small", "x");
  PublishArgs a;
  a.payload = "y";
  auto r = qs().Publish("small", std::span(&a, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kBusy);
  EXPECT_NE(r.status().message().find("queue full"), std::string::npos);
  auto d = Take("small", 1);
  ASSERT_TRUE(Ack("small", d[0].id).ok());
  EXPECT_TRUE(qs().Publish("small", std::span(&a, 1)).ok());  // room again
}

TEST_F(QueueTest, PurgeRemovesReadyAndDelayedNotInFlight) {
  Pub("jobs", "a");
  Pub("jobs", "b");
  Pub("jobs", "c", -1, 10000);
  auto d = Take("jobs", 1);
  EXPECT_EQ(*qs().Purge("jobs"), 2u);
  auto st = *qs().Stats("jobs");
  EXPECT_EQ(st.ready + st.delayed, 0u);
  EXPECT_EQ(st.in_flight, 1u);
  EXPECT_TRUE(Ack("jobs", d[0].id).ok());
}

TEST_F(QueueTest, MessageTtlDeadLettersOldMessages) {
  QueueSettings s;
  s.message_ttl_ms = 1000;
  ASSERT_TRUE(qs().Declare("ttl", s).ok());
  Pub("ttl", "old");
  now_ += 1001;
  Pub("ttl", "new");
  EXPECT_EQ(Payloads(Take("ttl", 10)), (std::vector<std::string>{"new"}));
  auto dead = qs().DeadLetters("ttl", 0, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].reason, "expired");
}

TEST_F(QueueTest, PrefetchCapsUnackedDeliveriesPerConsumer) {
  for (int i = 0; i < 5; i++) Pub("jobs", "m" + std::to_string(i));
  auto d = Take("jobs", 5, 2);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(Take("jobs", 5, 2).empty());
  ASSERT_TRUE(Ack("jobs", d[0].id).ok());
  EXPECT_EQ(Take("jobs", 5, 2).size(), 1u);
  EXPECT_EQ(qs().Stats("jobs")->consumers, 1u);
}

TEST_F(QueueTest, ConsumeWaitsForAPublish) {
  std::vector<Delivery> got;
  // Declared first: a consumer that ran before the declare would get
  // NotFound (a flaky failure seen once in about 500 runs).
  ASSERT_TRUE(qs().Declare("jobs2", QueueSettings{}).ok());
  std::thread consumer([&] {
    auto r = qs().Consume("jobs2", "c", 1, 10000);
    if (r.ok()) got = *r;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Pub("jobs2", "wake");
  consumer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "wake");
}

TEST_F(QueueTest, HeadersAndIdentitySurviveReopen) {
  QueueSettings s;
  s.max_retries = 7;
  s.default_priority = 3;
  ASSERT_TRUE(qs().Declare("keep", s).ok());
  PublishArgs a;
  a.payload = "with headers";
  a.headers = {{"trace", "abc"}, {"kind", "x"}};
  uint64_t h = qs().Publish("keep", std::span(&a, 1))->front();
  uint64_t fly = Pub("keep", "in flight", 8);
  Pub("keep", "later", -1, 60000);
  uint64_t dead = Pub("keep", "dead", 9);
  auto d = Take("keep", 2);  // "dead" (9) and "in flight" (8)
  ASSERT_EQ(d.size(), 2u);
  ASSERT_TRUE(qs().Nack("keep", dead, false).ok());
  Reopen();
  EXPECT_EQ(qs().Settings("keep")->max_retries, 7u);
  auto st = *qs().Stats("keep");
  EXPECT_EQ(st.ready, 2u);  // the in-flight one came back, with "with headers"
  EXPECT_EQ(st.delayed, 1u);
  EXPECT_EQ(st.dead_lettered, 1u);
  auto all = Take("keep", 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, fly);
  EXPECT_TRUE(all[0].redelivered);
  EXPECT_EQ(all[0].priority, 8u);
  EXPECT_EQ(all[1].id, h);
  EXPECT_EQ(all[1].priority, 3u);  // the queue's default
  ASSERT_EQ(all[1].headers.size(), 2u);
  EXPECT_EQ(all[1].headers[0].key, "trace");
  EXPECT_EQ(all[1].headers[0].value, "abc");
}

TEST_F(QueueTest, SnapshotWhileProducersAndConsumersRun) {
  opts_.wal.fsync = wal::FsyncMode::kPeriodic;
  Reopen();
  std::atomic<bool> stop{false};
  std::set<uint64_t> acked;
  std::mutex mu;
  std::thread producer([&] {
    for (int i = 0; !stop.load(); i++) Pub("work", "m" + std::to_string(i), i % 10);
  });
  std::thread consumer([&] {
    while (!stop.load()) {
      auto r = qs().Consume("work", "c", 8, 5);
      if (!r.ok()) continue;
      for (const Delivery& d : *r) {
        if (d.id % 3 == 0) {
          (void)qs().Nack("work", d.id, true);
        } else if (Ack("work", d.id).ok()) {
          std::lock_guard<std::mutex> lk(mu);
          acked.insert(d.id);
        }
      }
    }
  });
  for (int i = 0; i < 5; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(db_->Snapshot().ok());
  }
  stop = true;
  producer.join();
  consumer.join();
  auto before = *qs().Stats("work");
  ASSERT_GT(acked.size(), 10u);
  Reopen();
  EXPECT_FALSE(db_->report().snapshot.empty());
  auto after = *qs().Stats("work");
  EXPECT_EQ(after.ready + after.in_flight, before.ready + before.in_flight);
  // No acknowledged message is ever delivered again.
  while (true) {
    auto d = Take("work", 1000);
    if (d.empty()) break;
    for (const Delivery& m : d) {
      EXPECT_EQ(acked.count(m.id), 0u) << "acked message " << m.id << " came back";
      ASSERT_TRUE(Ack("work", m.id).ok());
    }
  }
}

// Regression: a snapshot loaded in-flight messages as ready, so a purge
// replayed after it deleted them.
TEST_F(QueueTest, InFlightAtASnapshotSurvivesAPurgeReplayedAfterIt) {
  uint64_t id = Pub("jobs", "M");
  ASSERT_EQ(Take("jobs", 1).size(), 1u);
  ASSERT_TRUE(db_->Snapshot().ok());
  EXPECT_EQ(*qs().Purge("jobs"), 0u);
  Reopen();
  auto back = Take("jobs", 10);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].id, id);
  EXPECT_TRUE(back[0].redelivered);
}

// Regression: the id counter lived in the queues' snapshot records, so it
// was lost with the last queue.
TEST_F(QueueTest, IdsAreNotReusedAfterEveryQueueIsDeleted) {
  uint64_t first = Pub("q", "a");
  ASSERT_TRUE(qs().Delete("q").ok());
  ASSERT_TRUE(db_->Snapshot().ok());
  Reopen();
  EXPECT_GT(Pub("q", "b"), first);
}

TEST_F(QueueTest, BadInputGetsClearErrors) {
  opts_.queue.auto_create = false;
  opts_.queue.max_payload_bytes = 100;
  Reopen();
  PublishArgs a;
  a.payload = "x";
  EXPECT_EQ(qs().Publish("nope", std::span(&a, 1)).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(qs().Declare("q", QueueSettings{}).ok());
  a.priority = 10;
  EXPECT_EQ(qs().Publish("q", std::span(&a, 1)).status().code(), Status::Code::kInvalidArgument);
  a.priority = 0;
  std::string big(101, 'x');
  a.payload = big;
  EXPECT_EQ(qs().Publish("q", std::span(&a, 1)).status().code(), Status::Code::kTooLarge);
  QueueSettings other;
  other.max_depth = 5;
  EXPECT_EQ(qs().Declare("q", other).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(qs().Declare("", QueueSettings{}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(qs().Consume("q", "c", 0, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(qs().Consume("nope", "c", 1, 0).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(qs().Nack("q", 12345, true).code(), Status::Code::kNotFound);
  EXPECT_EQ(qs().Delete("nope").code(), Status::Code::kNotFound);
  EXPECT_EQ(qs().DeadLetters("q", 0, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(qs().Delete("q").ok());
  EXPECT_TRUE(qs().List().empty());
}

}  // namespace
}  // namespace synap::queue
