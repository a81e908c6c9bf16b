#include "kernels/rope.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace qforge::kernels {

std::vector<float> RopeInvFreq(int64_t head_dim, double theta, const RopeScaling& scaling) {
  QF_CHECK(head_dim > 0 && head_dim % 2 == 0);
  const int64_t half = head_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    // As HF computes it: float32 base^(2i/d), then the reciprocal.
    double f = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
    switch (scaling.type) {
      case RopeScalingType::kNone: break;
      case RopeScalingType::kLinear: f /= scaling.factor; break;
      case RopeScalingType::kLlama3: {
        const double len = static_cast<double>(scaling.original_max_position_embeddings);
        const double wavelen = 2.0 * std::numbers::pi / f;
        const double low_wavelen = len / scaling.low_freq_factor;
        const double high_wavelen = len / scaling.high_freq_factor;
        if (wavelen > low_wavelen) {
          f /= scaling.factor;
        } else if (wavelen >= high_wavelen) {
          const double s = (len / wavelen - scaling.low_freq_factor) /
                           (scaling.high_freq_factor - scaling.low_freq_factor);
          f = (1.0 - s) * f / scaling.factor + s * f;
        }
        break;
      }
    }
    inv[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return inv;
}

void ApplyRope(float* x, int64_t n_tokens, int64_t ld, int64_t n_heads, int64_t head_dim, int64_t pos0,
               const std::vector<float>& inv_freq, bool interleaved) {
  const int64_t half = head_dim / 2;
  QF_CHECK(static_cast<int64_t>(inv_freq.size()) == half);
  std::vector<float> cos_t(static_cast<size_t>(half)), sin_t(static_cast<size_t>(half));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float pos = static_cast<float>(pos0 + t);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = pos * inv_freq[static_cast<size_t>(i)];
      cos_t[static_cast<size_t>(i)] = std::cos(angle);
      sin_t[static_cast<size_t>(i)] = std::sin(angle);
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + t * ld + h * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        float* a = interleaved ? v + 2 * i : v + i;
        float* b = interleaved ? v + 2 * i + 1 : v + i + half;
        const float c = cos_t[static_cast<size_t>(i)], s = sin_t[static_cast<size_t>(i)];
        const float a0 = *a, b0 = *b;
        *a = a0 * c - b0 * s;
        *b = a0 * s + b0 * c;
      }
    }
  }
}

}  // namespace qforge::kernels
