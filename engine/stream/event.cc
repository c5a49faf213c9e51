#include "engine/stream/event.h"

#include "engine/base/coding.h"

namespace synap::stream {

size_t EncodedEventSize(const EventIn& e) {
  size_t n = 1 + 8 + VarintBytes(e.key.size()) + e.key.size() + VarintBytes(e.headers.size()) + e.payload.size();
  for (const HeaderView& h : e.headers)
    n += VarintBytes(h.name.size()) + h.name.size() + VarintBytes(h.value.size()) + h.value.size();
  return n;
}

void EncodeEvent(const EventIn& e, int64_t timestamp_ms, std::string* out) {
  out->push_back(static_cast<char>(kEventVersion));
  PutFixed64(static_cast<uint64_t>(timestamp_ms), out);
  PutBytes(e.key, out);
  PutVarint(e.headers.size(), out);
  for (const HeaderView& h : e.headers) {
    PutBytes(h.name, out);
    PutBytes(h.value, out);
  }
  out->append(e.payload);
}

bool EventTimestamp(std::span<const uint8_t> rec, int64_t* ts) {
  ByteReader r{rec.data(), rec.data() + rec.size()};
  uint64_t v;
  if (rec.empty() || rec[0] != kEventVersion) return false;
  r.p++;
  if (!r.Fixed64(&v)) return false;
  *ts = static_cast<int64_t>(v);
  return true;
}

Status DecodeEvent(std::span<const uint8_t> rec, EventView* out) {
  ByteReader r{rec.data(), rec.data() + rec.size()};
  if (rec.empty()) return Status::Corruption("empty event record");
  if (rec[0] != kEventVersion)
    return Status::Unsupported("event record version " + std::to_string(rec[0]) + " (this build reads 1)");
  r.p++;
  uint64_t ts, count;
  if (!r.Fixed64(&ts) || !r.Bytes(&out->key) || !r.Varint(&count) ||
      count > static_cast<uint64_t>(r.end - r.p))
    return Status::Corruption("malformed event record");
  out->timestamp_ms = static_cast<int64_t>(ts);
  out->headers.clear();
  for (uint64_t i = 0; i < count; i++) {
    HeaderView h;
    if (!r.Bytes(&h.name) || !r.Bytes(&h.value)) return Status::Corruption("malformed event header");
    out->headers.push_back(h);
  }
  out->payload = std::string_view(reinterpret_cast<const char*>(r.p), r.end - r.p);
  return Status::Ok();
}

}  // namespace synap::stream
