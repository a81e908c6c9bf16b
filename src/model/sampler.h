// Next-token choice from logits: greedy (temperature 0) or sampling with temperature, top-k, top-p.
// Deterministic for a given seed (own splitmix64 generator, no std::distribution, so results do not
// depend on the standard library).
#pragma once

#include <cstdint>
#include <span>

namespace qforge::model {

struct SamplingOptions {
  float temperature = 0.0f;  // ≤ 0: greedy
  int64_t top_k = 0;         // ≤ 0: all tokens
  float top_p = 1.0f;        // keep the smallest set of most likely tokens whose mass reaches top_p
  uint64_t seed = 0;
};

// The first index of the largest logit.
int32_t Argmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  int32_t Sample(std::span<const float> logits);

 private:
  double NextUniform();  // [0, 1)
  SamplingOptions opt_;
  uint64_t state_;
};

}  // namespace qforge::model
