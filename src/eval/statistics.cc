#include "eval/statistics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace qforge::eval {

Estimate MeanAndError(double sum, double sum2, uint64_t n) {
  if (n == 0) return {};
  const double count = static_cast<double>(n);
  const double mean = sum / count;
  const double variance = sum2 / count - mean * mean;
  // The reference reports no error for tiny samples (n ≤ 10) or a non-positive variance estimate.
  const double error = variance > 0 && n > 10 ? std::sqrt(variance / (count - 1)) : 0.0;
  return {mean, error};
}

double Covariance(double sum_a, double sum_b, double sum_ab, uint64_t n) {
  if (n < 10) return 0.0;
  const double count = static_cast<double>(n);
  return (sum_ab / count - (sum_a / count) * (sum_b / count)) / (count - 1);
}

float Percentile(std::span<const float> sorted, float fraction) {
  QF_CHECK(!sorted.empty());
  if (fraction <= 0) return sorted.front();
  if (fraction >= 1) return sorted.back();
  float position = fraction * static_cast<float>(sorted.size() - 1);
  const size_t index = static_cast<size_t>(position);
  position -= static_cast<float>(index);
  const size_t next = std::min(index + 1, sorted.size() - 1);
  return (1 - position) * sorted[index] + position * sorted[next];
}

float Median(std::span<const float> sorted) {
  QF_CHECK(!sorted.empty());
  const size_t n = sorted.size();
  if (n % 2 == 0) return 0.5f * (sorted[n / 2 - 1] + sorted[n / 2]);
  return sorted[n / 2];
}

}  // namespace qforge::eval
