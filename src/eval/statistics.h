// Aggregate statistics exactly as llama-perplexity prints them (FORMATS.md §8.4): a mean with its standard
// error from running sums, the covariance of two running sums, and percentiles of a sorted sample.
#pragma once

#include <cstdint>
#include <span>

namespace qforge::eval {

struct Estimate {
  double value = 0;  // the estimate
  double error = 0;  // its ± (one standard error)
};

// mean = sum/n; error = sqrt((sum2/n - mean^2) / (n - 1)) when that variance is positive and n > 10, else 0.
// n = 0 gives {0, 0}.
Estimate MeanAndError(double sum, double sum2, uint64_t n);

// (sum_ab/n - (sum_a/n)(sum_b/n)) / (n - 1); 0 when n < 10.
double Covariance(double sum_a, double sum_b, double sum_ab, uint64_t n);

// Linear interpolation at index fraction·(n−1) of an ascending sample (float arithmetic, like the
// reference); fraction ≤ 0 gives the minimum, ≥ 1 the maximum. The sample must not be empty.
float Percentile(std::span<const float> sorted, float fraction);

// Middle value, or the mean of the two middle values for an even count. The sample must not be empty.
float Median(std::span<const float> sorted);

}  // namespace qforge::eval
