// An event: what a stream room stores at each offset, and its byte encoding
// as one log record (docs/format.md §17).
//
//   [u8 version = 1][u64 timestamp_ms][varint key_len][key]
//   [varint header_count]{[varint name_len][name][varint value_len][value]}
//   [payload: the rest of the record]
//
// The timestamp is the producer's (Kafka's CreateTime), or the append time in
// milliseconds when the producer gives 0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace synap::stream {

inline constexpr uint8_t kEventVersion = 1;

struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// An event to append. Views: the caller keeps the bytes alive for the call.
struct EventIn {
  std::string_view key;
  std::span<const HeaderView> headers;
  std::string_view payload;
  int64_t timestamp_ms = 0;  // 0: the append time
};

// A decoded event: views into the record it was decoded from.
struct EventView {
  int64_t timestamp_ms = 0;
  std::string_view key;
  std::vector<HeaderView> headers;
  std::string_view payload;
};

// Appends the encoding of `e` (with `timestamp_ms` in place of a zero one) to *out.
void EncodeEvent(const EventIn& e, int64_t timestamp_ms, std::string* out);
// The bytes EncodeEvent would write.
size_t EncodedEventSize(const EventIn& e);
// Corruption if `rec` is not one well-formed event.
Status DecodeEvent(std::span<const uint8_t> rec, EventView* out);
// Only the timestamp (what recovery needs); false if the record is too short.
bool EventTimestamp(std::span<const uint8_t> rec, int64_t* ts);

}  // namespace synap::stream
