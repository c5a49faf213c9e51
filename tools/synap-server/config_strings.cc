#include "tools/synap-server/config_strings.h"

#include <cctype>
#include <cstdint>
#include <sstream>

namespace synap::server {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The n hex digits after line[i] (a 'u' or 'U') as UTF-8; "" and *why on error.
bool UnicodeEscape(const std::string& line, size_t i, size_t n, std::string* out, const char** why) {
  if (i + n >= line.size()) return *why = "a short \\u escape", false;
  uint32_t cp = 0;
  for (size_t k = 1; k <= n; ++k) {
    int h = static_cast<unsigned char>(line[i + k]);
    if (!std::isxdigit(h)) return *why = "a bad \\u escape", false;
    cp = cp * 16 + static_cast<uint32_t>(std::isdigit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
  }
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return *why = "a \\u escape that is no Unicode scalar", false;
  AppendUtf8(cp, out);
  return true;
}

// The string starting at line[at] (its opening quote); false and *why on error.
bool Unquote(const std::string& line, size_t at, std::string* v, const char** why) {
  const char quote = line[at];
  for (size_t i = at + 1; i < line.size(); ++i) {
    char c = line[i];
    if (c == quote) return true;
    if (c != '\\' || quote == '\'') {
      *v += c;
      continue;
    }
    if (++i == line.size()) break;
    switch (line[i]) {
      case '\\': *v += '\\'; break;
      case '"': *v += '"'; break;
      case 'b': *v += '\b'; break;
      case 't': *v += '\t'; break;
      case 'n': *v += '\n'; break;
      case 'f': *v += '\f'; break;
      case 'r': *v += '\r'; break;
      case 'u':
      case 'U': {
        size_t n = line[i] == 'u' ? 4 : 8;
        if (!UnicodeEscape(line, i, n, v, why)) return false;
        i += n;
        break;
      }
      default: return *why = "an unknown escape", false;
    }
  }
  return *why = "no closing quote", false;
}

}  // namespace

bool ReadQuotedValues(const std::string& text, std::map<std::string, std::string>* out, std::string* error) {
  std::string section;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#' || line[b] == ';') continue;
    if (line[b] == '[') {
      size_t e = line.find(']', b);
      if (e != std::string::npos) section = Trim(line.substr(b + 1, e - b - 1));
      continue;
    }
    size_t eq = line.find('=', b);
    if (eq == std::string::npos) continue;
    size_t v = line.find_first_not_of(" \t", eq + 1);
    if (v == std::string::npos || (line[v] != '"' && line[v] != '\'')) continue;
    if (line.compare(v, 3, "\"\"\"") == 0 || line.compare(v, 3, "'''") == 0) continue;  // multi-line
    std::string key = Trim(line.substr(b, eq - b));
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
    std::string name = section.empty() ? key : section + "." + key;
    std::string value;
    const char* why = nullptr;
    if (!Unquote(line, v, &value, &why)) {
      *error = "key '" + name + "' in the config file: " + why + " in its value";
      return false;
    }
    (*out)[name] = std::move(value);
  }
  return true;
}

}  // namespace synap::server
