// Byte encoding shared by the data models' records: unsigned LEB128 varints,
// little-endian fixed-width integers, length-prefixed strings, and a reader
// whose every Get fails (returns false) instead of reading past the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace synap {

inline void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

inline void PutFixed64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 0; i < 8; i++) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}

inline void PutBytes(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

struct ByteReader {
  const uint8_t* p;
  const uint8_t* end;

  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) return false;
      uint8_t b = *p++;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool Fixed64(uint64_t* v) {
    if (end - p < 8) return false;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= static_cast<uint64_t>(p[i]) << (8 * i);
    p += 8;
    *v = u;
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!Fixed64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Bytes(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n) || n > static_cast<uint64_t>(end - p)) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }
  bool U8(uint8_t* v) {
    if (p == end) return false;
    *v = *p++;
    return true;
  }
  bool done() const { return p == end; }
};

}  // namespace synap
