#include "tools/synap-cli/reply_format.h"

#include <cstdio>

namespace synap::cli {
namespace {

using Type = RespReply::Type;

// The text of a reply that is not an aggregate.
std::string Scalar(const RespReply& r) {
  switch (r.type) {
    case Type::kSimple: return r.str;
    case Type::kError: return "(error) " + r.str;
    case Type::kInteger: return "(integer) " + std::to_string(r.integer);
    case Type::kBulk: return QuoteBulk(r.str);
    case Type::kNull: return "(nil)";
    case Type::kDouble: return "(double) " + r.str;
    case Type::kBoolean: return r.integer ? "(true)" : "(false)";
    case Type::kVerbatim: return r.str;
    case Type::kBigNumber: return "(big number) " + r.str;
    default: return "";
  }
}

bool IsAggregate(const RespReply& r) { return r.is_list() || r.is_map(); }

// Appends `r`, whose first line continues the current line; each later line
// starts with `indent` spaces. Ends with a newline.
void FormatTo(const RespReply& r, size_t indent, std::string* out) {
  if (!IsAggregate(r)) {
    std::string text = Scalar(r);
    *out += text;
    if (text.empty() || text.back() != '\n') *out += '\n';
    return;
  }
  const size_t n = r.is_map() ? r.elems.size() / 2 : r.elems.size();
  if (n == 0) {
    *out += r.type == Type::kMap ? "(empty hash)\n" : r.type == Type::kSet ? "(empty set)\n" : "(empty array)\n";
    return;
  }
  const char marker = r.type == Type::kMap ? '#' : r.type == Type::kSet ? '~' : ')';
  const size_t width = std::to_string(n).size();
  for (size_t i = 0; i < n; i++) {
    if (i > 0) out->append(indent, ' ');
    std::string label = std::to_string(i + 1);
    label = std::string(width - label.size(), ' ') + label + marker + ' ';
    *out += label;
    if (!r.is_map()) {
      FormatTo(r.elems[i], indent + label.size(), out);
      continue;
    }
    // A map entry: "key => value", the value's later lines under its start.
    const RespReply& key = r.elems[2 * i];
    std::string k = IsAggregate(key) ? "(aggregate key)" : Scalar(key);
    *out += k + " => ";
    FormatTo(r.elems[2 * i + 1], indent + label.size() + k.size() + 4, out);
  }
}

}  // namespace

std::string QuoteBulk(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      default:
        if (c < 0x20 || c >= 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string FormatReply(const RespReply& reply) {
  std::string out;
  FormatTo(reply, 0, &out);
  return out;
}

}  // namespace synap::cli
