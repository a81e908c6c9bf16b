// Shared arithmetic of the ggml reference quantizers (FORMATS.md §6.1, §6.4, §6.5): the rounding helper,
// ggml's f16 conversion and the four scale-search procedures P1..P4. Every function follows the step order
// written in FORMATS.md exactly (f32 only, one rounding per operation, left-to-right sums, no FMA), because
// the results must be bit-identical to ggml's. This folder is compiled with -ffp-contract=off semantics:
// the code never relies on contraction and the build has no FMA at baseline.
#pragma once

#include <cstdint>

#include "core/half.h"

namespace qforge::codecs::ggml {

// A group whose largest |x| is below this is treated as all zero (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// rne_i: round to nearest, ties to even, via the 1.5*2^23 magic number; exact for |v| < 2^22 and, like the
// reference, a deterministic bit pattern beyond that.
inline int NearestInt(float v) {
  const float t = v + 12582912.f;
  const int32_t i = static_cast<int32_t>(FloatBits(t));
  return (i & 0x007fffff) - 0x00400000;
}

// ggml's f32 -> f16 store: round to nearest even, overflow to inf, every NaN becomes sign | 0x7e00.
inline uint16_t ToHalf(float f) {
  const uint32_t u = FloatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7e00u);
  return F32ToF16(f);
}
inline float FromHalf(uint16_t h) { return F16ToF32(h); }

// What C's float -> integer conversion does on x86-64 (cvttss2si): truncate toward zero; NaN and values
// outside int32 give INT32_MIN. Used where the reference converts with a cast, e.g. (int8_t)(x + 8.5f).
inline int32_t TruncToInt(float v) {
  if (!(v > -2147483648.f && v < 2147483648.f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}

// sigma2 of the Q4_0/Q4_1/Q5_0/Q5_1 importance weights: mean of x^2 over the whole row.
inline float RowSigma2(const float* x, int64_t n) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / static_cast<float>(n);
}


// P1 (make_qx_quants, rmse type 1): signed scale search. L receives codes l + nmax (0 .. 2*nmax-1), or raw
// zeros for an all-zero group. qw: weights, or nullptr for w_i = x_i^2. Returns the scale.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L, const float* qw);

// P2 (make_qkx2_quants) and P2' (make_qkx3_quants, `le_test`: degenerate when max <= min). Asymmetric
// scale/offset search; L receives 0..nmax; *the_min = -offset (>= 0). use_mad: |err| instead of err^2.
float MakeQkxQuants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                    uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad, bool le_test);

// P3 (make_q3_quants with rmse): 3-bit coordinate descent with weights x^2; L receives l + nmax.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L);

// P4 (make_qp_quants): non-negative values x, weights qw; L receives 0..nmax. Returns the scale.
float MakeQpQuants(int n, int nmax, const float* x, uint8_t* L, const float* qw);

}  // namespace qforge::codecs::ggml
