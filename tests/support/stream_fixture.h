// The stream tests' fixture: a Database with small stream sizes (segments
// roll often), the background maintenance pushed an hour away, and helpers
// to fill, read and look at rooms on disk. Included by stream_test.cc and
// stream_maintenance_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/db_fixture.h"

namespace synap::stream {

namespace fs = std::filesystem;
using testing::DbTest;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One event read back, copied out of its EventBatch.
struct Ev {
  uint64_t offset = 0;
  int64_t ts = 0;
  std::string key, payload;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::vector<Ev> Events(const EventBatch& b) {
  std::vector<Ev> out;
  for (const ReadEvent& e : b.events) {
    Ev v;
    v.offset = e.offset;
    v.ts = e.timestamp_ms;
    v.key.assign(b.bytes.data() + e.key_pos, e.key_len);
    v.payload.assign(b.bytes.data() + e.payload_pos, e.payload_len);
    for (uint32_t i = 0; i < e.header_count; i++) {
      const ReadHeader& h = b.headers[e.first_header + i];
      v.headers.emplace_back(std::string(b.bytes.data() + h.name_pos, h.name_len),
                             std::string(b.bytes.data() + h.value_pos, h.value_len));
    }
    out.push_back(std::move(v));
  }
  return out;
}

// A payload that names its offset and whose filler depends on it.
std::string PayloadFor(uint64_t i, size_t size) {
  std::string s = "event-" + std::to_string(i) + ":";
  while (s.size() < size) s.push_back(static_cast<char>('a' + (i * 7 + s.size()) % 26));
  return s;
}

// Half PayloadFor's pattern, half pseudo-random letters: compressible, but
// not to nothing.
std::string MixedPayload(uint64_t i, size_t size) {
  std::string s = PayloadFor(i, size / 2);
  std::mt19937 rng(static_cast<uint32_t>(i * 2654435761u));
  while (s.size() < size) s.push_back(static_cast<char>('a' + rng() % 26));
  return s;
}

class StreamTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    opts_.stream.max_event_bytes = 16384;
    opts_.stream.max_append_bytes = 65536;
    opts_.stream.max_key_bytes = 1024;  // the default (64 KiB) may not exceed max_event_bytes
    opts_.stream.defaults.segment_bytes = 131072;
    opts_.stream.defaults.fsync = wal::FsyncMode::kNever;
    opts_.stream.maintenance_ms = 3600000;  // the background pass never races the test
    Open();
  }

  StreamStore& ss() { return db_->streams(); }
  std::string StreamsDir() const { return dir_ + "/streams"; }
  std::string RoomDir(const std::string& room) const { return StreamsDir() + "/" + room; }

  void CloseDb() {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
  }

  uint64_t Put(const std::string& room, std::string_view payload, std::string_view key = {}, int64_t ts = 0) {
    EventIn e;
    e.key = key;
    e.payload = payload;
    e.timestamp_ms = ts;
    Result<uint64_t> r = ss().Append(room, std::span<const EventIn>(&e, 1));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : UINT64_MAX;
  }

  // Appends events with payloads PayloadFor(offset, size) and timestamps
  // ts_of(offset), in batches of 1..max_batch events. Returns the next offset.
  uint64_t Fill(const std::string& room, uint64_t count, size_t size, const std::function<int64_t(uint64_t)>& ts_of,
                uint32_t max_batch = 1, uint32_t seed = 1,
                std::string (*payload_for)(uint64_t, size_t) = PayloadFor) {
    std::mt19937 rng(seed);
    uint64_t next = ss().Info(room).ok() ? (*ss().Info(room)).next_offset : 0;
    uint64_t end = next + count;
    while (next < end) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(1 + rng() % max_batch, end - next));
      std::vector<std::string> payloads;
      std::vector<EventIn> batch(n);
      for (uint32_t i = 0; i < n; i++) payloads.push_back(payload_for(next + i, size));
      for (uint32_t i = 0; i < n; i++) {
        batch[i].payload = payloads[i];
        batch[i].timestamp_ms = ts_of(next + i);
      }
      Result<uint64_t> r = ss().Append(room, batch);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return next;
      EXPECT_EQ(*r, next) << "a batch append returns its first offset";
      next += n;
    }
    return next;
  }

  // Every event from `from` to the room's end, read in chunks.
  std::vector<Ev> ReadAll(const std::string& room, uint64_t from = 0, uint32_t chunk = 100000,
                          uint64_t max_bytes = 64u << 20) {
    std::vector<Ev> out;
    EventBatch b;
    for (;;) {
      Status st = ss().Read(room, from, chunk, max_bytes, 0, &b);
      if (!st.ok()) {
        ADD_FAILURE() << "Read(" << room << ", " << from << "): " << st.ToString();
        break;
      }
      for (Ev& e : Events(b)) out.push_back(std::move(e));
      if (b.next_offset >= b.high_watermark) break;
      if (b.next_offset <= from) {
        ADD_FAILURE() << "Read(" << room << ", " << from << ") made no progress below the high watermark "
                      << b.high_watermark;
        break;
      }
      from = b.next_offset;
    }
    return out;
  }

  RoomInfo InfoOf(const std::string& room) {
    Result<RoomInfo> r = ss().Info(room);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RoomInfo{};
  }

  // Base offsets of the room's segment files on disk, ascending.
  std::vector<uint64_t> SegmentBases(const std::string& room) {
    std::vector<uint64_t> out;
    for (const auto& de : fs::directory_iterator(RoomDir(room))) {
      std::string n = de.path().filename().string();
      if (n.size() == 24 && n.substr(20) == ".log" && n.find_first_not_of("0123456789") == 20)
        out.push_back(std::stoull(n.substr(0, 20)));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Just past the last non-zero byte of a file: the end of the last batch's
  // bytes, whether or not the segment was preallocated with zeros.
  static uint64_t DataEnd(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) end--;
    return end;
  }
  static void WriteAt(const std::string& path, uint64_t at, const std::string& bytes) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekp(static_cast<std::streamoff>(at));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good()) << path;
  }
  std::string SegPath(const std::string& room, uint64_t base, const char* ext) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "/%020llu.%s", static_cast<unsigned long long>(base), ext);
    return RoomDir(room) + buf;
  }
};


}  // namespace synap::stream
