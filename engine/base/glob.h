// Glob patterns as Redis's KEYS and SCAN MATCH read them: `*` any run of
// bytes, `?` one byte, `[abc]` / `[^abc]` / `[a-z]` a class, `\x` the byte x.
// Bytes, not characters: keys are arbitrary binary strings.
#pragma once

#include <string_view>

namespace synap {

// True when `s` matches `pattern`. Runs in O(|pattern| * |s|) at worst (no
// recursion, so no pattern can exhaust the stack).
bool GlobMatch(std::string_view pattern, std::string_view s);

}  // namespace synap
