#include "tools/synap-cli/json_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace synap::cli {

Json::Json(double v) {
  if (!std::isfinite(v)) return;  // JSON has no NaN or infinity: null
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as v
  kind_ = Kind::kNumber;
  text_.assign(buf, ec == std::errc() ? end : buf);
}

namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[n & 63] : '=';
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; k++) {
      uint8_t d = static_cast<uint8_t>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};  // below: an overlong form
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<uint8_t>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<uint8_t>(ch)));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

Json Json::Bytes(std::string_view bytes) {
  if (IsUtf8(bytes)) return Json(std::string(bytes));
  Json o = Object();
  o.Set("base64", Base64(bytes));
  return o;
}

bool Json::AsU64(uint64_t* out) const {
  if (kind_ != Kind::kNumber) return false;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), *out);
  return ec == std::errc() && end == text_.data() + text_.size();
}

Json& Json::Push(Json v) {
  items_.push_back(std::move(v));
  return *this;
}

Json& Json::Set(std::string name, Json v) {
  members_.emplace_back(std::move(name), std::move(v));
  return *this;
}

const Json* Json::Find(std::string_view name) const {
  for (const auto& [k, v] : members_)
    if (k == name) return &v;
  return nullptr;
}

std::string Json::Dump() const {
  std::string out;
  DumpTo(&out);
  return out;
}

void Json::DumpTo(std::string* out) const {
  switch (kind_) {
    case Kind::kNull: *out += "null"; return;
    case Kind::kBool:
    case Kind::kNumber: *out += text_; return;
    case Kind::kString: *out += JsonQuote(text_); return;
    case Kind::kArray:
      *out += '[';
      for (size_t i = 0; i < items_.size(); i++) {
        if (i > 0) *out += ',';
        items_[i].DumpTo(out);
      }
      *out += ']';
      return;
    case Kind::kObject:
      *out += '{';
      for (size_t i = 0; i < members_.size(); i++) {
        if (i > 0) *out += ',';
        *out += JsonQuote(members_[i].first);
        *out += ':';
        members_[i].second.DumpTo(out);
      }
      *out += '}';
      return;
  }
}

// A recursive-descent reader of RFC 8259 JSON.
class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  bool Document(Json* out, std::string* error) {
    if (!Value(out, 0) || (Space(), i_ != s_.size())) {
      *error = (why_.empty() ? "unexpected text" : why_) + " at byte " + std::to_string(i_);
      return false;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool Fail(const char* why) {
    if (why_.empty()) why_ = why;
    return false;
  }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) i_++;
  }
  bool Eat(char c) {
    Space();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  bool Word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return Fail("unknown literal");
    i_ += w.size();
    return true;
  }

  bool Value(Json* out, int depth) {
    if (depth > kMaxDepth) return Fail("nested too deep");
    Space();
    if (i_ >= s_.size()) return Fail("unexpected end");
    char c = s_[i_];
    if (c == '{') return ObjectValue(out, depth);
    if (c == '[') return ArrayValue(out, depth);
    if (c == '"') {
      *out = Json(Json::Kind::kString);
      return String(&out->text_);
    }
    if (c == 't') return Word("true") && (*out = Json(true), true);
    if (c == 'f') return Word("false") && (*out = Json(false), true);
    if (c == 'n') return Word("null") && (*out = Json(), true);
    return Number(out);
  }

  bool ObjectValue(Json* out, int depth) {
    *out = Json::Object();
    i_++;
    if (Eat('}')) return true;
    do {
      Space();
      std::string name;
      if (i_ >= s_.size() || s_[i_] != '"' || !String(&name)) return Fail("expected a member name");
      if (!Eat(':')) return Fail("expected ':'");
      Json v;
      if (!Value(&v, depth + 1)) return false;
      out->Set(std::move(name), std::move(v));
    } while (Eat(','));
    return Eat('}') || Fail("expected ',' or '}'");
  }

  bool ArrayValue(Json* out, int depth) {
    *out = Json::Array();
    i_++;
    if (Eat(']')) return true;
    do {
      Json v;
      if (!Value(&v, depth + 1)) return false;
      out->Push(std::move(v));
    } while (Eat(','));
    return Eat(']') || Fail("expected ',' or ']'");
  }

  bool Number(Json* out) {
    size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') i_++;
    auto digits = [&] {
      size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') i_++;
      return i_ > from;
    };
    if (!digits()) return Fail("expected a value");
    if (i_ < s_.size() && s_[i_] == '.' && (++i_, !digits())) return Fail("malformed number");
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      i_++;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) i_++;
      if (!digits()) return Fail("malformed number");
    }
    *out = Json(Json::Kind::kNumber);
    out->text_ = std::string(s_.substr(start, i_ - start));
    return true;
  }

  bool Hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, *v, 16);
    if (ec != std::errc() || end != s_.data() + i_ + 4) return false;
    i_ += 4;
    return true;
  }

  // At the opening quote; leaves i_ after the closing one.
  bool String(std::string* out) {
    for (i_++; i_ < s_.size(); i_++) {
      char c = s_[i_];
      if (c == '"') return ++i_, true;
      if (static_cast<uint8_t>(c) < 0x20) return Fail("control byte in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (++i_ >= s_.size()) break;
      switch (s_[i_]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          i_++;
          uint32_t cp = 0, low = 0;
          if (!Hex4(&cp)) return Fail("malformed \\u escape");
          // A high surrogate followed by \uDC00..DFFF is one code point.
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
            size_t keep = i_;
            i_ += 2;
            if (Hex4(&low) && low >= 0xDC00 && low <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            else i_ = keep;
          }
          AppendUtf8(cp, out);
          i_--;  // the loop's i_++ steps past the last hex digit
          break;
        }
        default: return Fail("unknown escape");
      }
    }
    return Fail("unterminated string");
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string why_;
};

bool Json::Parse(std::string_view text, Json* out, std::string* error) {
  return JsonParser(text).Document(out, error);
}

}  // namespace synap::cli
