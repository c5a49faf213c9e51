// The wall clock, in Unix milliseconds: what timestamps, TTLs and ages are
// stored in. (Durations and deadlines use std::chrono::steady_clock.)
#pragma once

#include <chrono>
#include <cstdint>

namespace synap {

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace synap
