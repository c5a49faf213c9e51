// A Database in a fresh directory with a clock the test moves by hand.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/db/database.h"

namespace synap::testing {

inline std::string FreshDir(const std::string& name) {
  const char* base = std::getenv("SYNAP_TEST_TMPDIR");
  std::filesystem::path p = std::filesystem::path(base != nullptr ? base : "/tmp") /
                            ("synap-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = FreshDir(std::string(info->test_suite_name()) + "-" + info->name());
    opts_.wal.fsync = wal::FsyncMode::kNever;  // semantics, not durability: fast
    opts_.wal.segment_bytes = 16 << 20;
    opts_.kv.active_expire_ms = 0;              // tests sweep by hand
    opts_.snapshot.interval_secs = 0;           // and snapshot by hand
    opts_.snapshot.operation_threshold = 0;
    opts_.kv.clock = [this] { return now_.load(); };
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    auto r = db::Database::Open(dir_, opts_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    db_ = std::move(*r);
  }
  void Reopen() {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
    Open();
  }
  kv::KvStore& kv() { return db_->kv(); }
  std::string Get(std::string_view k) {
    std::string v;
    auto r = kv().Get(k, &v);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r ? v : "<absent>";
  }

  std::string dir_;
  db::DbOptions opts_;
  std::unique_ptr<db::Database> db_;
  std::atomic<int64_t> now_{1'700'000'000'000};  // Unix ms, moved by tests
};

}  // namespace synap::testing
