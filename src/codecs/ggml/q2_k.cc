// Q2_K (FORMATS.md §6.4): 16 sub-blocks of 16; P2(nmax 3, rmin -0.5, rdelta 0.1, nstep 15, |err|) with
// w = |x| gives a scale and min per sub-block; both are quantized to 4 bits against the block maxima
// (d = max/15, dmin = maxmin/15), then codes are recomputed from the stored f16 d, dmin.
// Importance matrix (§6.5): w = v*sqrt(sigma2 + x^2) (sigma2 = mean x^2 of the block), P2'(3, -0.9, 0.05,
// 36, err^2), sub-scales and mins by P4(nmax 15) weighted by the sub-block weight sums.
#include "codecs/ggml/fp_strict.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {
namespace {

constexpr int kSub = kQkK / 16;  // sub-blocks per block

// Recomputes the codes of every sub-block whose decoded scale is non-zero, from the stored d/dmin.
void Requantize(const float* x, const BlockQ2_K& y, uint8_t* L) {
  const float dd = FromHalf(y.d.get()), dm = FromHalf(y.dmin.get());
  for (int j = 0; j < kSub; ++j) {
    const float d = dd * static_cast<float>(y.scales[j] & 0xF);
    if (d == 0.f) continue;
    const float m = dm * static_cast<float>(y.scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) {
      const int l = NearestInt((x[16 * j + ii] + m) / d);
      L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
    }
  }
}

void QuantizeBlockRef(const float* x, BlockQ2_K& y) {
  uint8_t L[kQkK], Laux[16];
  float weights[16], mins[kSub], scales[kSub];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kSub; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = MakeQkxQuants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true,
                              false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  constexpr float kQ4Scale = 15.f;
  if (max_scale > 0) {
    const float iscale = kQ4Scale / max_scale;
    for (int j = 0; j < kSub; ++j) y.scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
    y.d.set(ToHalf(max_scale / kQ4Scale));
  } else {
    for (int j = 0; j < kSub; ++j) y.scales[j] = 0;
    y.d.set(ToHalf(0.f));
  }
  if (max_min > 0) {
    const float iscale = kQ4Scale / max_min;
    for (int j = 0; j < kSub; ++j) y.scales[j] |= static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
    y.dmin.set(ToHalf(max_min / kQ4Scale));
  } else {
    y.dmin.set(ToHalf(0.f));
  }
  Requantize(x, y, L);
  Pack2Bits(L, y.qs);
}

void QuantizeBlockImatrix(const float* x, BlockQ2_K& y, const float* qw_block) {
  uint8_t L[kQkK], Laux[16], Ls[kSub], Lm[kSub];
  float mins[kSub], scales[kSub], sw[kSub] = {}, weight[16];
  float sumx2 = 0;
  for (int j = 0; j < kQkK; ++j) sumx2 += x[j] * x[j];
  const float sigma2 = sumx2 / static_cast<float>(kQkK);
  for (int j = 0; j < kSub; ++j) {
    const float* qw = qw_block + 16 * j;
    for (int l = 0; l < 16; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
    for (int l = 0; l < 16; ++l) sw[j] += weight[l];
    scales[j] = MakeQkxQuants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false,
                              true);
  }
  const float dm = MakeQpQuants(kSub, 15, scales, Ls, sw);
  const float mm = MakeQpQuants(kSub, 15, mins, Lm, sw);
  y.d.set(ToHalf(dm));
  y.dmin.set(ToHalf(mm));
  for (int j = 0; j < kSub; ++j) y.scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
  Requantize(x, y, L);
  Pack2Bits(L, y.qs);
}

}  // namespace

void QuantizeRowQ2_K(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ2_K*>(dst);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    if (imatrix) {
      QuantizeBlockImatrix(x + kQkK * b, y[b], imatrix + kQkK * b);
    } else {
      QuantizeBlockRef(x + kQkK * b, y[b]);
    }
  }
}

void DequantizeRowQ2_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ2_K*>(src);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = FromHalf(x[b].d.get()), min = FromHalf(x[b].dmin.get());
    for (int e = 0; e < kQkK; ++e) {
      const int h = e / 128, r = e % 128;
      const int c = (x[b].qs[32 * h + r % 32] >> (2 * (r / 32))) & 3;
      const uint8_t sc = x[b].scales[e / 16];
      const float dl = d * static_cast<float>(sc & 0xF), ml = min * static_cast<float>(sc >> 4);
      *dst++ = dl * static_cast<float>(c) - ml;
    }
  }
}

}  // namespace qforge::codecs::ggml
