// Q6_K (FORMATS.md §6.4): 16 sub-blocks of 16; P1(nmax 32, w = x^2, or w = v with an importance matrix)
// gives a signed scale each; int8 sub-scales against the first largest-|scale| A (is = -128/A, d = 1/is);
// codes recomputed from the stored f16 d. A block whose |A| < 1e-15 is written as 210 zero bytes.
// Packing per half h, l < 32 (e0 = 128h + l): ql[64h + l] = L[e0] & 15 | (L[e0 + 64] & 15) << 4,
// ql[64h + l + 32] = L[e0 + 32] & 15 | (L[e0 + 96] & 15) << 4, qh[32h + l] = the four high 2-bit pairs.
#include "codecs/ggml/fp_strict.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {
namespace {

constexpr int kSub = kQkK / 16;

void QuantizeBlock(const float* x, const float* qw, BlockQ6_K& y) {
  int8_t L[kQkK];
  float scales[kSub];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < kSub; ++ib) {
    scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, qw ? qw + 16 * ib : nullptr);
    const float abs_scale = std::fabs(scales[ib]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(&y, 0, sizeof(y));
    return;
  }
  const float iscale = -128.f / max_scale;
  y.d.set(ToHalf(1 / iscale));
  for (int ib = 0; ib < kSub; ++ib) y.scales[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
  const float dd = FromHalf(y.d.get());
  for (int j = 0; j < kSub; ++j) {
    const float d = dd * static_cast<float>(y.scales[j]);
    if (d == 0.f) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = std::max(-32, std::min(31, NearestInt(x[16 * j + ii] / d)));
      L[16 * j + ii] = static_cast<int8_t>(l + 32);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const int8_t* Lh = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int q1 = Lh[l] & 0xF, q2 = Lh[l + 32] & 0xF, q3 = Lh[l + 64] & 0xF, q4 = Lh[l + 96] & 0xF;
      y.ql[64 * h + l] = static_cast<uint8_t>(q1 | (q3 << 4));
      y.ql[64 * h + l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      y.qh[32 * h + l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                              ((Lh[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace

void QuantizeRowQ6_K(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ6_K*>(dst);
  for (int64_t b = 0; b < n / kQkK; ++b)
    QuantizeBlock(x + kQkK * b, imatrix ? imatrix + kQkK * b : nullptr, y[b]);
}

void DequantizeRowQ6_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(src);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = FromHalf(x[b].d.get());
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      const int8_t* sc = x[b].scales + 8 * h;
      float* y = dst + kQkK * b + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace qforge::codecs::ggml
