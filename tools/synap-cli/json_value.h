// A JSON value for synap-cli's data commands: built to print `--json`
// output, and parsed from the JSON libsynap returns (synap_queue_stats_json,
// synap_group_lag_json, ...).
//
// Numbers keep their literal text, so a uint64 offset or id survives a
// round trip exactly (no double in between). Objects keep their members in
// insertion order, so output is stable. Arbitrary bytes (keys, values,
// payloads) go through Json::Bytes: a JSON string when they are valid UTF-8,
// else {"base64": "..."}, since a JSON string cannot hold other bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace synap::cli {

class Json {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : kind_(Kind::kBool), text_(b ? "true" : "false") {}
  Json(int v) : Json(static_cast<int64_t>(v)) {}
  Json(int64_t v) : kind_(Kind::kNumber), text_(std::to_string(v)) {}
  Json(uint64_t v) : kind_(Kind::kNumber), text_(std::to_string(v)) {}
  Json(double v);
  Json(std::string s) : kind_(Kind::kString), text_(std::move(s)) {}  // must be UTF-8 (see Bytes)
  Json(const char* s) : Json(std::string(s)) {}

  static Json Array() { return Json(Kind::kArray); }
  static Json Object() { return Json(Kind::kObject); }
  // Bytes of any kind: a string if valid UTF-8, else {"base64": "..."}.
  static Json Bytes(std::string_view bytes);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  // A string's text, a number's literal, "true"/"false"; "" otherwise.
  const std::string& text() const { return text_; }
  // A number that is a non-negative integer below 2^64; false otherwise.
  bool AsU64(uint64_t* out) const;

  // Arrays.
  Json& Push(Json v);
  const std::vector<Json>& items() const { return items_; }
  // Objects (a later Set of the same name adds a second member; callers do not).
  Json& Set(std::string name, Json v);
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  // The member `name`, or nullptr.
  const Json* Find(std::string_view name) const;

  // Compact JSON text.
  std::string Dump() const;
  void DumpTo(std::string* out) const;

  // Parses one JSON document (RFC 8259; nesting at most 64 deep). False with
  // *error saying what and where on malformed text.
  static bool Parse(std::string_view text, Json* out, std::string* error);

 private:
  explicit Json(Kind k) : kind_(k) {}
  friend class JsonParser;

  Kind kind_ = Kind::kNull;
  std::string text_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsUtf8(std::string_view s);
// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace synap::cli
