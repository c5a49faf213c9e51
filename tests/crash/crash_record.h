// Records written by wal_crash_child and checked by the crash tests: every
// byte, and the length, is a function of (writer, round, seq), so a reader can
// tell an intact record from a torn, shifted or stale one without any other
// state.
//
// Layout (little-endian, as the host writes it):
//   u32 magic | u32 writer | u32 round | u32 length | u64 seq | payload
// length is the whole record's size and must equal CrashRecordLen(writer,
// seq); payload byte i is CrashRecordByte(key, i) with key derived from the
// three ids.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "engine/wal/options.h"

namespace synap::testing {

// The log the child writes and the tests reopen: both sides must agree.
inline wal::WalOptions CrashLogOptions(const std::string& dir, wal::Mechanism mechanism, uint64_t segment_bytes) {
  wal::WalOptions o;
  o.dir = dir;
  o.fsync = wal::FsyncMode::kAlways;
  o.mechanism = mechanism;
  o.segment_bytes = segment_bytes;
  o.max_record_bytes = 16 * 1024;  // the largest record the child writes, with room
  o.max_batch_bytes = 64 * 1024;
  return o;
}

inline constexpr uint32_t kCrashRecordMagic = 0x4b494c4c;  // "LLIK"
inline constexpr size_t kCrashRecordHeader = 24;
inline constexpr size_t kCrashRecordMaxPayload = 4000;

struct CrashRecordId {
  uint32_t writer = 0;
  uint32_t round = 0;
  uint64_t seq = 0;
  bool operator==(const CrashRecordId&) const = default;
};

inline uint64_t CrashMix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// 24 .. 24 + kCrashRecordMaxPayload - 1 bytes; depends on writer and seq only.
inline size_t CrashRecordLen(uint32_t writer, uint64_t seq) {
  return kCrashRecordHeader + CrashMix(seq * 0x100000001b3ull + writer) % kCrashRecordMaxPayload;
}

inline uint64_t CrashRecordKey(const CrashRecordId& id) {
  return CrashMix(CrashMix(id.seq) ^ (uint64_t{id.writer} << 32 | id.round));
}

inline uint8_t CrashRecordByte(uint64_t key, size_t i) {
  return static_cast<uint8_t>((key >> (8 * (i & 7))) + i * 167);
}

inline std::vector<uint8_t> MakeCrashRecord(const CrashRecordId& id) {
  std::vector<uint8_t> r(CrashRecordLen(id.writer, id.seq));
  uint32_t len = static_cast<uint32_t>(r.size());
  std::memcpy(r.data(), &kCrashRecordMagic, 4);
  std::memcpy(r.data() + 4, &id.writer, 4);
  std::memcpy(r.data() + 8, &id.round, 4);
  std::memcpy(r.data() + 12, &len, 4);
  std::memcpy(r.data() + 16, &id.seq, 8);
  uint64_t key = CrashRecordKey(id);
  for (size_t i = kCrashRecordHeader; i < r.size(); ++i) r[i] = CrashRecordByte(key, i);
  return r;
}

// Decodes a record made by MakeCrashRecord. On any mismatch returns false and
// says what was wrong in *why.
inline bool DecodeCrashRecord(std::span<const uint8_t> r, CrashRecordId* id, std::string* why) {
  if (r.size() < kCrashRecordHeader) {
    *why = "record of " + std::to_string(r.size()) + " bytes is shorter than its header";
    return false;
  }
  uint32_t magic, len;
  std::memcpy(&magic, r.data(), 4);
  std::memcpy(&id->writer, r.data() + 4, 4);
  std::memcpy(&id->round, r.data() + 8, 4);
  std::memcpy(&len, r.data() + 12, 4);
  std::memcpy(&id->seq, r.data() + 16, 8);
  if (magic != kCrashRecordMagic) {
    *why = "bad magic";
    return false;
  }
  if (len != r.size() || len != CrashRecordLen(id->writer, id->seq)) {
    *why = "length " + std::to_string(r.size()) + " (header says " + std::to_string(len) + ", expected " +
           std::to_string(CrashRecordLen(id->writer, id->seq)) + ")";
    return false;
  }
  uint64_t key = CrashRecordKey(*id);
  for (size_t i = kCrashRecordHeader; i < r.size(); ++i) {
    if (r[i] != CrashRecordByte(key, i)) {
      *why = "payload byte " + std::to_string(i) + " differs";
      return false;
    }
  }
  return true;
}

inline std::string ToString(const CrashRecordId& id) {
  return "(writer " + std::to_string(id.writer) + ", round " + std::to_string(id.round) + ", seq " +
         std::to_string(id.seq) + ")";
}

}  // namespace synap::testing
