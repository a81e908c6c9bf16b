// Log-softmax of one logit row, with the precision choices of llama-perplexity (FORMATS.md §8.2): the maximum
// and the differences z − zmax in f32, exp in f32, the sum of exponentials and its log in double.
#pragma once

#include <cstdint>
#include <span>

namespace qforge::eval {

struct RowSoftmax {
  float max_logit = 0;    // zmax
  int32_t argmax = 0;     // first index holding zmax (first strict maximum)
  double log_sum_exp = 0; // log Σ_v exp(z_v − zmax), accumulated in double
};

// One pass for the maximum, one for the sum. `logits` must not be empty.
RowSoftmax AnalyzeRow(std::span<const float> logits);

// −log p(token) = −((z_token − zmax) − lse), the f32 difference widened to double.
double TokenNll(std::span<const float> logits, const RowSoftmax& row, int32_t token);
inline double TokenNll(std::span<const float> logits, int32_t token) {
  return TokenNll(logits, AnalyzeRow(logits), token);
}

}  // namespace qforge::eval
