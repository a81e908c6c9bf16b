// Rotary position embedding (RoPE). A head vector of size d holds d/2 pairs; pair i at position p is
// rotated by angle p · inv_freq[i]:
//   rotate-half (HF layout):    pair i = (x[i], x[i + d/2])
//   interleaved (GGUF llama):   pair i = (x[2i], x[2i + 1])      (FORMATS.md §5.6)
// (a, b) → (a·cos − b·sin, a·sin + b·cos).
#pragma once

#include <cstdint>
#include <vector>

#include "core/model_config.h"

namespace qforge::kernels {

// inv_freq[i] = theta^(−2i/d) for i < d/2, adjusted by `scaling`:
//   linear: / factor;
//   llama3: wavelength λ = 2π/f; λ < L/high_freq_factor keeps f, λ > L/low_freq_factor divides by factor,
//           in between blends with s = (L/λ − low)/(high − low): f·((1 − s)/factor + s), L = original ctx.
std::vector<float> RopeInvFreq(int64_t head_dim, double theta, const RopeScaling& scaling);

// x: [n_tokens, n_heads, head_dim] with token stride `ld` (floats); token t is at position pos0 + t.
void ApplyRope(float* x, int64_t n_tokens, int64_t ld, int64_t n_heads, int64_t head_dim, int64_t pos0,
               const std::vector<float>& inv_freq, bool interleaved);

}  // namespace qforge::kernels
