// How many seeds a simulation test runs when not told: its CI count in a
// plain build, a quarter of it under ASan or TSan. Those runs are 4-6x
// slower and look for memory and thread errors, which the same code paths
// show at any seed count; the plain build covers the seeds. The
// environment overrides both: SYNAP_SIM_SEEDS=N runs N seeds (the long
// runs), SYNAP_SIM_SEED=S the one seed S.
//
// GCC defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang only
// answers __has_feature, so both are asked.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SYNAP_SIM_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SYNAP_SIM_UNDER_SANITIZER 1
#endif
#endif

namespace synap::testing {

#ifdef SYNAP_SIM_UNDER_SANITIZER
inline constexpr uint64_t kSanitizerSeedDivisor = 4;
#else
inline constexpr uint64_t kSanitizerSeedDivisor = 1;
#endif

// SYNAP_SIM_SEEDS, else `ci_count` (divided under a sanitizer, at least 1).
inline uint64_t SimSeedCount(uint64_t ci_count) {
  if (const char* n = std::getenv("SYNAP_SIM_SEEDS")) return std::strtoull(n, nullptr, 10);
  uint64_t n = ci_count / kSanitizerSeedDivisor;
  return n > 0 ? n : 1;
}

// SYNAP_SIM_SEED, if set.
inline std::optional<uint64_t> SimOnlySeed() {
  if (const char* s = std::getenv("SYNAP_SIM_SEED")) return std::strtoull(s, nullptr, 10);
  return std::nullopt;
}

}  // namespace synap::testing
