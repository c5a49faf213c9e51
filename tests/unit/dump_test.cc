// check::Dump: a data directory's records as JSON lines, read-only — KV
// sets, deletes, expiries; queue declare, publish, deliver, ack; a room's
// events; the __meta room; every filter; the lock; bad filters.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/check/dumper.h"
#include "engine/stream/event.h"
#include "tests/support/db_fixture.h"

namespace synap::check {
namespace {

using testing::DbTest;
using SV = std::string_view;

class DumpTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    opts_.queue.clock = [this] { return now_.load(); };
    opts_.stream.maintenance_ms = 3600000;  // no compaction behind the test's back
  }
  // The lines of a dump with `filter`; the dump must succeed.
  std::vector<std::string> Lines(const std::string& filter) {
    std::vector<std::string> out;
    Result<DumpFilter> f = ParseDumpFilter(filter);
    EXPECT_TRUE(f.ok()) << filter << ": " << f.status().ToString();
    if (!f.ok()) return out;
    Status st = Dump(dir_, *f, [&](const std::string& l) {
      out.push_back(l);
      return true;
    });
    EXPECT_TRUE(st.ok()) << filter << ": " << st.ToString();
    return out;
  }
  Status DumpStatus(const std::string& filter) {
    Result<DumpFilter> f = ParseDumpFilter(filter);
    if (!f.ok()) return f.status();
    return Dump(dir_, *f, [](const std::string&) { return true; });
  }
  void Close() {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
  }
  // The KV history every test starts from (LSNs 1..6).
  void WriteKv() {
    kv::SetArgs plain, px;
    px.unit = kv::ExpiryUnit::kMillis, px.expire = 5000;
    ASSERT_TRUE(kv().Set("user:1", "alice", plain, nullptr).ok());  // 1
    ASSERT_TRUE(kv().Set("user:2", "bob", px, nullptr).ok());       // 2: expires at now + 5 s
    std::vector<SV> del = {"user:1"};
    ASSERT_TRUE(kv().Del(del).ok());  // 3
    std::vector<SV> ks = {"cfg:a", "cfg:b"}, vs = {"1", "2"};
    ASSERT_TRUE(kv().MSet(ks, vs, false).ok());    // 4: one record, two ops
    ASSERT_TRUE(kv().Append("user:2", "!").ok());  // 5
    ASSERT_TRUE(kv().Persist("user:2").ok());      // 6
  }
};

TEST_F(DumpTest, KvRecordsAreOneLinePerOperation) {
  Open();
  WriteKv();
  Close();
  std::vector<std::string> want = {
      R"({"lsn":1,"model":"kv","op":"set","key":"user:1","value":"alice","expire_at_ms":0})",
      R"({"lsn":2,"model":"kv","op":"set","key":"user:2","value":"bob","expire_at_ms":1700000005000})",
      R"({"lsn":3,"model":"kv","op":"del","key":"user:1"})",
      R"({"lsn":4,"model":"kv","op":"set","key":"cfg:a","value":"1","expire_at_ms":0,"op_index":0,"op_count":2})",
      R"({"lsn":4,"model":"kv","op":"set","key":"cfg:b","value":"2","expire_at_ms":0,"op_index":1,"op_count":2})",
      R"({"lsn":5,"model":"kv","op":"append_at","key":"user:2","offset":3,"value":"!"})",
      R"({"lsn":6,"model":"kv","op":"set_expiry","key":"user:2","expire_at_ms":0})",
  };
  EXPECT_EQ(Lines(""), want);
  // Read-only: the directory opens afterwards with everything in it.
  Open();
  EXPECT_EQ(Get("user:2"), "bob!");
  EXPECT_EQ(Get("user:1"), "<absent>");
}

TEST_F(DumpTest, LsnRangeAndPrefixFilters) {
  Open();
  WriteKv();
  Close();
  std::vector<std::string> range = Lines("from_lsn=3 to_lsn=4");
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[0], R"({"lsn":3,"model":"kv","op":"del","key":"user:1"})");
  EXPECT_NE(range[2].find(R"("key":"cfg:b")"), std::string::npos);
  std::vector<std::string> users = Lines("prefix=user%3A");  // percent-encoded ':'
  ASSERT_EQ(users.size(), 5u);
  for (const std::string& l : users) EXPECT_NE(l.find(R"("key":"user:)"), std::string::npos) << l;
  // A prefix filters the ops of a multi-op record one by one.
  std::vector<std::string> cfg_b = Lines("prefix=cfg:b");
  ASSERT_EQ(cfg_b.size(), 1u);
  EXPECT_NE(cfg_b[0].find(R"("op_index":1,"op_count":2)"), std::string::npos);
  EXPECT_TRUE(Lines("from_lsn=7").empty());
  EXPECT_TRUE(Lines("prefix=nope").empty());
}

TEST_F(DumpTest, QueueRecordsAndQueueFilter) {
  Open();
  queue::QueueSettings s;
  s.ack_deadline_ms = 60000;
  ASSERT_TRUE(db_->queues().Declare("jobs", s).ok());  // 1
  std::vector<queue::PublishArgs> two(2);
  two[0].payload = "p1";
  two[0].headers = {{"trace", "t1"}};
  two[1].payload = "p2";
  two[1].priority = 7;
  Result<std::vector<uint64_t>> ids = db_->queues().Publish("jobs", two);  // 2
  ASSERT_TRUE(ids.ok());
  auto got = db_->queues().Consume("jobs", "w1", 1, 0, 0);  // 3: the priority-7 message
  ASSERT_TRUE(got.ok() && got->size() == 1u);
  uint64_t id = (*got)[0].id;
  ASSERT_TRUE(db_->queues().Ack("jobs", std::span<const uint64_t>(&id, 1)).ok());  // 4
  ASSERT_TRUE(kv().Set("k", "v", kv::SetArgs(), nullptr).ok());                    // 5
  ASSERT_TRUE(db_->queues().Declare("other", s).ok());                             // 6
  Close();
  std::string i0 = std::to_string((*ids)[0]), i1 = std::to_string((*ids)[1]), d = std::to_string(id);
  std::vector<std::string> want = {
      R"({"lsn":1,"model":"queue","op":"declare","queue":"jobs","settings":{"max_depth":1000000,)"
      R"("ack_deadline_ms":60000,"max_retries":5,"dead_letter_max":1000000,"default_priority":0,"message_ttl_ms":0}})",
      R"({"lsn":2,"model":"queue","op":"publish","queue":"jobs","id":)" + i0 +
          R"(,"priority":0,"max_retries":5,"due_ms":0,"published_ms":1700000000000,"headers":[["trace","t1"]],)"
          R"("payload":"p1","op_index":0,"op_count":2})",
      R"({"lsn":2,"model":"queue","op":"publish","queue":"jobs","id":)" + i1 +
          R"(,"priority":7,"max_retries":5,"due_ms":0,"published_ms":1700000000000,"headers":[],)"
          R"("payload":"p2","op_index":1,"op_count":2})",
      R"({"lsn":3,"model":"queue","op":"deliver","queue":"jobs","consumer":"w1","deadline_ms":1700000060000,)"
      R"("messages":[{"id":)" + d + R"(,"delivery_count":1}]})",
      R"({"lsn":4,"model":"queue","op":"ack","queue":"jobs","ids":[)" + d + "]}",
  };
  EXPECT_EQ(Lines("queue=jobs"), want);
  EXPECT_EQ(Lines("type=queue").size(), want.size() + 1);  // "other"'s declare too
  std::vector<std::string> kv_only = Lines("type=kv");
  ASSERT_EQ(kv_only.size(), 1u);
  EXPECT_EQ(kv_only[0], R"({"lsn":5,"model":"kv","op":"set","key":"k","value":"v","expire_at_ms":0})");
  EXPECT_EQ(Lines("").size(), want.size() + 2);
  // Both filters: KV ops under the prefix and the queue's records.
  EXPECT_EQ(Lines("prefix=k queue=other").size(), 2u);
}

TEST_F(DumpTest, RoomEventsAndOffsetFilter) {
  Open();
  ASSERT_TRUE(db_->streams().CreateRoom("clicks", "").ok());
  stream::HeaderView h{"src", "web"};
  std::vector<stream::EventIn> evs(3);
  evs[0].payload = "a", evs[0].timestamp_ms = 1000;
  evs[1].key = "u7", evs[1].payload = "b", evs[1].timestamp_ms = 2000, evs[1].headers = std::span(&h, 1);
  evs[2].payload = std::string_view("\xff\x00", 2), evs[2].timestamp_ms = 3000;
  ASSERT_TRUE(db_->streams().Append("clicks", evs).ok());
  ASSERT_TRUE(db_->streams().CommitOffset("billing", "clicks", 2).ok());
  Close();
  std::vector<std::string> want = {
      R"({"offset":0,"timestamp_ms":1000,"key":null,"headers":[],"payload":"a"})",
      R"({"offset":1,"timestamp_ms":2000,"key":"u7","headers":[["src","web"]],"payload":"b"})",
      R"({"offset":2,"timestamp_ms":3000,"key":null,"headers":[],"payload":{"base64":"/wA="}})",
  };
  EXPECT_EQ(Lines("room=clicks"), want);
  EXPECT_EQ(Lines("room=clicks from_offset=1 to_offset=1"), std::vector<std::string>{want[1]});
  std::vector<std::string> b64 = Lines("room=clicks from_offset=1 encoding=base64");
  ASSERT_EQ(b64.size(), 2u);
  EXPECT_EQ(b64[0], R"({"offset":1,"timestamp_ms":2000,"key":"dTc=","headers":[["c3Jj","d2Vi"]],"payload":"Yg=="})");
  // The consumer group's commit, from the store's own room.
  std::vector<std::string> meta = Lines("type=stream-meta");
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_NE(meta[0].find(R"("model":"stream-meta")"), std::string::npos) << meta[0];
  EXPECT_NE(meta[0].find(R"("op":"commit","group":"billing","room":"clicks","committed":2})"), std::string::npos)
      << meta[0];
  EXPECT_EQ(DumpStatus("room=nope").code(), Status::Code::kNotFound);
}

TEST_F(DumpTest, RefusesALockedDirectoryAndChangesNothing) {
  Open();
  WriteKv();
  Status st = DumpStatus("");
  EXPECT_EQ(st.code(), Status::Code::kLocked) << st.ToString();
  EXPECT_NE(st.message().find(dir_), std::string::npos) << st.message();
  Close();
  // While a dump holds its shared lock, the engine cannot open the directory.
  Result<DumpFilter> f = ParseDumpFilter("");
  ASSERT_TRUE(f.ok());
  Status open_during;
  bool tried = false;
  ASSERT_TRUE(Dump(dir_, *f, [&](const std::string&) {
                if (!tried) {
                  tried = true;
                  auto r = db::Database::Open(dir_, opts_);
                  open_during =
                      r.ok() ? Status::InvalidArgument("the engine opened a directory being dumped") : r.status();
                }
                return true;
              }).ok());
  EXPECT_TRUE(tried);
  EXPECT_EQ(open_during.code(), Status::Code::kLocked) << open_during.ToString();
}

TEST_F(DumpTest, StopsWhenTheSinkSaysSo) {
  Open();
  WriteKv();
  Close();
  Result<DumpFilter> f = ParseDumpFilter("");
  ASSERT_TRUE(f.ok());
  DumpSummary sum;
  int seen = 0;
  auto two_lines = [&](const std::string&) { return ++seen < 2; };
  ASSERT_TRUE(Dump(dir_, *f, two_lines, &sum).ok());
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(sum.lines, 2u);
  EXPECT_TRUE(sum.stopped);
}

TEST_F(DumpTest, RecordsThatDoNotDecodeGetErrorLines) {
  Open();
  ASSERT_TRUE(kv().Set("a", "1", kv::SetArgs(), nullptr).ok());
  const uint8_t future[] = {9, 1, 2};  // a data model this build does not know
  Result<log::Lsn> lsn = db_->wal().Append(future);
  ASSERT_TRUE(lsn.ok());
  ASSERT_TRUE(db_->wal().WaitFor(*lsn).ok());
  Close();  // (a reopen would refuse the record: Unsupported)
  std::vector<std::string> lines;
  Result<DumpFilter> f = ParseDumpFilter("");
  Status st = Dump(dir_, *f, [&](const std::string& l) {
    lines.push_back(l);
    return true;
  });
  EXPECT_EQ(st.code(), Status::Code::kUnsupported) << st.ToString();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(R"("lsn":2,"error":"log record of unknown data model 9)"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(R"("record":"\u0009\u0001\u0002"})"), std::string::npos) << lines[1];  // UTF-8: a string
}

TEST_F(DumpTest, BadDirectoriesAndFilters) {
  EXPECT_EQ(Dump(dir_ + "/missing", DumpFilter(), [](const std::string&) { return true; }).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(DumpStatus("").code(), Status::Code::kInvalidArgument);  // empty: not a data directory
  for (const char* bad :
       {"bogus=1", "from_lsn=x", "from_lsn=1 from_lsn=2", "from_lsn=5 to_lsn=4", "to_lsn=0", "type=kv,nope",
        "type=queue prefix=a", "type=kv queue=q", "room=r type=kv", "room=r prefix=a", "room=r from_lsn=1",
        "from_offset=1", "room=../x", "room=__x", "prefix=%4", "prefix=%zz", "encoding=hex", "justaword"}) {
    Result<DumpFilter> f = ParseDumpFilter(bad);
    EXPECT_FALSE(f.ok()) << bad;
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
  Result<DumpFilter> f = ParseDumpFilter(" prefix=a%20b%25;queue=q\tfrom_offset=0 type=kv,queue,stream-meta ");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f->prefix, "a b%");
  EXPECT_EQ(*f->queue_name, "q");
  EXPECT_TRUE(f->kv && f->queue && f->stream_meta);
  Result<DumpFilter> meta = ParseDumpFilter("room=__meta");
  EXPECT_TRUE(meta.ok()) << meta.status().ToString();
}

}  // namespace
}  // namespace synap::check
