#include "engine/base/glob.h"

#include <cstddef>
#include <utility>

namespace synap {
namespace {

// Matches the class starting at pattern[p] == '[' against byte c. Sets *end to
// just past the class's ']' (or the pattern's end when it is not closed, where
// the class runs to the end, as in Redis).
bool ClassMatch(std::string_view pattern, size_t p, unsigned char c, size_t* end) {
  p++;  // past '['
  bool negate = p < pattern.size() && pattern[p] == '^';
  if (negate) p++;
  bool hit = false;
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      p++;
      if (static_cast<unsigned char>(pattern[p]) == c) hit = true;
      p++;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-' && pattern[p + 2] != ']') {
      unsigned char lo = pattern[p], hi = pattern[p + 2];
      if (lo > hi) std::swap(lo, hi);
      if (c >= lo && c <= hi) hit = true;
      p += 3;
    } else {
      if (static_cast<unsigned char>(pattern[p]) == c) hit = true;
      p++;
    }
  }
  *end = p < pattern.size() ? p + 1 : p;
  return hit != negate;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view s) {
  size_t p = 0, i = 0;
  // Where to resume after a mismatch: the last '*' seen and the byte of s it
  // was tried against. A later '*' supersedes an earlier one, which is what
  // keeps this linear in backtracking points.
  size_t star_p = std::string_view::npos, star_i = 0;
  while (i < s.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        while (p < pattern.size() && pattern[p] == '*') p++;
        if (p == pattern.size()) return true;
        star_p = p;
        star_i = i;
        continue;
      }
      size_t next = p + 1;
      bool ok;
      if (pc == '?') {
        ok = true;
      } else if (pc == '[') {
        ok = ClassMatch(pattern, p, static_cast<unsigned char>(s[i]), &next);
      } else if (pc == '\\' && p + 1 < pattern.size()) {
        ok = pattern[p + 1] == s[i];
        next = p + 2;
      } else {
        ok = pc == s[i];
      }
      if (ok) {
        p = next;
        i++;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    i = ++star_i;
  }
  while (p < pattern.size() && pattern[p] == '*') p++;
  return p == pattern.size();
}

}  // namespace synap
