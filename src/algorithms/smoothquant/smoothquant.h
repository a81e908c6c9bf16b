// SmoothQuant as llm-compressor computes it (FORMATS.md §4): migrate activation outliers into the weights
// by a per-input-channel scale s folded into the preceding RMSNorm and the following Linears' columns.
//
//   r_j = max_j - min_j over all calibration tokens of the smooth layer's OUTPUT (the norm output = the
//         balance Linears' input; not max|x|: both extremes count)
//   w_j = 2.0 * max over balance layers l, rows o of |W_l[o][j]|
//   s_j = r_j^a / w_j^(1-a)   if w_j > 0,   r_j if w_j == 0;   then s_j = max(s_j, 1e-5)
//   fold: W_l[o][j] *= s_j (every balance layer),  gamma[j] /= s_j (the RMSNorm weight)
// a = smoothing_strength (default 0.5). Default Llama mappings: q/k/v <- input_layernorm,
// gate/up <- post_attention_layernorm. Arithmetic here is float32 (llm-compressor evaluates in the model
// dtype, bf16 for most checkpoints; the folded weights are what differ, by bf16 rounding).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qforge::algorithms::smoothquant {

inline constexpr float kMinimumSmoothingScale = 1e-5f;  // llm-compressor's MINIMUM_SMOOTHING_SCALE
inline constexpr double kDefaultStrength = 0.5;

// A balance layer's weight [out, in] row-major float32.
struct WeightView {
  const float* data;
  int64_t out, in;
};

// r: [in] activation ranges (max - min per channel). Throws qforge::Error if alpha is outside [0, 1] or the
// widths disagree.
std::vector<float> ComputeScales(std::span<const float> range, std::span<const WeightView> balance, double alpha);

// Folds s into a balance weight's columns: w[o][j] *= s[j].
void ScaleColumns(float* w, int64_t out, int64_t in, std::span<const float> s);
// Folds s into the smooth layer: gamma[j] /= s[j].
void DivideNorm(std::span<float> gamma, std::span<const float> s);

}  // namespace qforge::algorithms::smoothquant
