// JsonWriter: writes one JSON object, keys in insertion order, with nested
// objects and arrays of objects. Enough for stats and machine-readable tool output; no dependency.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace synap {

class JsonWriter {
 public:
  JsonWriter() { out_ = "{"; }

  JsonWriter& Str(std::string_view key, std::string_view v) {
    Key(key);
    Quote(v);
    return *this;
  }
  JsonWriter& Bool(std::string_view key, bool v) {
    Key(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& U64(std::string_view key, uint64_t v) {
    Key(key);
    out_ += std::to_string(v);
    return *this;
  }
  // `decimals` digits after the point; non-finite values become null.
  JsonWriter& Num(std::string_view key, double v, int decimals = 3) {
    Key(key);
    if (!std::isfinite(v)) {
      out_ += "null";
      return *this;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    out_ += buf;
    return *this;
  }
  JsonWriter& Null(std::string_view key) {
    Key(key);
    out_ += "null";
    return *this;
  }
  JsonWriter& BeginObject(std::string_view key) {
    Key(key);
    out_ += "{";
    first_ = true;
    return *this;
  }
  JsonWriter& EndObject() {
    out_ += "}";
    first_ = false;
    return *this;
  }
  // An array under `key`; its elements are anonymous objects: BeginObject().
  JsonWriter& BeginArray(std::string_view key) {
    Key(key);
    out_ += "[";
    first_ = true;
    return *this;
  }
  JsonWriter& BeginObject() {
    if (!first_) out_ += ",";
    out_ += "{";
    first_ = true;
    return *this;
  }
  JsonWriter& EndArray() {
    out_ += "]";
    first_ = false;
    return *this;
  }
  // The finished object (closes the outermost brace).
  std::string Finish() const { return out_ + "}"; }

 private:
  void Key(std::string_view key) {
    if (!first_) out_ += ",";
    first_ = false;
    Quote(key);
    out_ += ":";
  }
  void Quote(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
};

}  // namespace synap
