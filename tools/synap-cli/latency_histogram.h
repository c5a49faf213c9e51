// LatencyHistogram: a log-linear histogram of nanosecond latencies.
//
// Values below 2^kSubBits are counted exactly; above, each power of two is
// split into 2^kSubBits equal buckets, so a reported percentile is within
// 1/2^kSubBits (0.8%) of the true sample. Memory is fixed (~60 KiB) however
// many samples go in, so one histogram per writer thread and a merge at the
// end cost nothing on the hot path. The maximum is tracked exactly.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace synap::cli {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr size_t kBuckets = kSub + (64 - kSubBits) * kSub;

  void Record(uint64_t ns) {
    counts_[Index(ns)]++;
    count_++;
    sum_ += ns;
    max_ = std::max(max_, ns);
    min_ = std::min(min_, ns);
  }

  void Merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_); }

  // The value at quantile q in [0, 1] (nearest rank), as its bucket's
  // midpoint clamped to the observed [min, max]; 0 with no samples.
  uint64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(Midpoint(i), min(), max_);
    }
    return max_;
  }

 private:
  static size_t Index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int e = 63 - std::countl_zero(v);  // >= kSubBits
    uint64_t sub = (v >> (e - kSubBits)) & (kSub - 1);
    return static_cast<size_t>(kSub + static_cast<uint64_t>(e - kSubBits) * kSub + sub);
  }
  static uint64_t Midpoint(size_t i) {
    if (i < kSub) return i;
    uint64_t e = (i - kSub) / kSub + kSubBits;
    uint64_t sub = (i - kSub) % kSub;
    uint64_t width = uint64_t{1} << (e - kSubBits);
    uint64_t low = (uint64_t{1} << e) + sub * width;
    return low + width / 2;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace synap::cli
