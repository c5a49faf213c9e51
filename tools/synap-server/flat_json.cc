// FlatJson: the scalar fields of the JSON libsynap writes (synap_stats_json,
// synap_queue_stats_json), flattened to "section.name" -> text. libsynap's
// JSON is small, machine-written objects of numbers, strings, booleans and
// nested objects (arrays are skipped), so a reader of that subset is enough.
#include "tools/synap-server/commands.h"

namespace synap::server {
namespace {

struct Reader {
  std::string_view s;
  size_t i = 0;
  void Space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) i++;
  }
  bool Eat(char c) {
    Space();
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  std::string String() {  // at the opening quote
    std::string out;
    for (i++; i < s.size() && s[i] != '"'; i++) {
      if (s[i] == '\\' && i + 1 < s.size()) i++;  // \" and \\ as themselves; others kept as their letter
      out += s[i];
    }
    i++;
    return out;
  }
  // Skips one value it does not keep (an array), balancing brackets.
  void Skip() {
    int depth = 0;
    for (; i < s.size(); i++) {
      if (s[i] == '"') String(), i--;
      else if (s[i] == '[' || s[i] == '{') depth++;
      else if ((s[i] == ']' || s[i] == '}') && --depth == 0) return void(i++);
    }
  }
  void Object(const std::string& prefix, std::vector<std::pair<std::string, std::string>>* out, int depth) {
    if (!Eat('{') || depth > 8) return;
    while (true) {
      Space();
      if (i >= s.size() || s[i] != '"') return void(Eat('}'));
      std::string key = prefix + String();
      if (!Eat(':')) return;
      Space();
      if (i >= s.size()) return;
      if (s[i] == '{') {
        Object(key + ".", out, depth + 1);
      } else if (s[i] == '[') {
        Skip();
      } else if (s[i] == '"') {
        out->emplace_back(key, String());
      } else {
        size_t end = s.find_first_of(",}", i);
        if (end == std::string_view::npos) end = s.size();
        out->emplace_back(key, std::string(s.substr(i, end - i)));
        i = end;
      }
      if (!Eat(',')) return void(Eat('}'));
    }
  }
};

}  // namespace

std::vector<std::pair<std::string, std::string>> FlatJson(std::string_view json) {
  std::vector<std::pair<std::string, std::string>> out;
  Reader r{json};
  r.Object("", &out, 0);
  return out;
}

}  // namespace synap::server
