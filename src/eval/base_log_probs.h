// A base-model log-probability row in the encoding of llama-perplexity's --kl-divergence-base file
// (FORMATS.md §8.3). Layout of one row in that file (u16 words, little-endian):
//
//   words 0–1: f32 scale | words 2–3: f32 min_log_prob | n_vocab × u16 code | (+1 pad word if n_vocab is odd)
//
//   zmin'        = max(min_v z_v, zmax − 16)
//   scale        = (zmax − zmin') / 65535
//   min_log_prob = zmin' − zmax − lse
//   code_v       = z_v > zmin' ? round_half_even((z_v − zmin') / scale) : 0      (all 0 when scale = 0)
//   decoded lp_v = scale · code_v + min_log_prob
//
// KL statistics computed from these rows match llama-perplexity --kl-divergence; the compression costs up to
// ~1.2e-4 nats per log-prob and makes PPL(base) in KL mode differ from a plain run.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qforge::eval {

inline constexpr float kBaseLogProbRange = 16.0f;  // log-probs below zmax − lse − 16 all decode to min_log_prob

struct QuantizedLogProbs {
  float scale = 0;
  float min_log_prob = 0;
  std::vector<uint16_t> codes;  // one per vocabulary entry

  float LogProb(size_t v) const { return scale * static_cast<float>(codes[v]) + min_log_prob; }
};

// Encodes the log-softmax of `logits` (not empty). Reuses out->codes' storage.
void QuantizeLogProbs(std::span<const float> logits, QuantizedLogProbs* out);

}  // namespace qforge::eval
