// Q4_1 (FORMATS.md §6.4): d = (max - min)/15, m = min, code = min(15, trunc((x - min)/d + 0.5)).
// With an importance matrix (§6.5): w_i = v_i * sqrt(sigma2 + x_i^2) (sigma2 over the whole row),
// P2'(nmax 15, rmin -0.9, rdelta 0.05, nstep 36) per block, d = f16(scale), m = f16(-offset), codes as found.
#include "codecs/ggml/fp_strict.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {

void QuantizeRowQ4_1(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ4_1*>(dst);
  const int64_t nb = n / kQk32;
  if (!imatrix) {
    for (int64_t b = 0; b < nb; ++b, x += kQk32) {
      float min = FLT_MAX, max = -FLT_MAX;
      for (int j = 0; j < kQk32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / 15.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[b].d.set(ToHalf(d));
      y[b].m.set(ToHalf(min));
      for (int j = 0; j < kQk32 / 2; ++j) {
        const int q0 = std::min<int>(15, static_cast<int8_t>(TruncToInt((x[j] - min) * id + 0.5f)));
        const int q1 = std::min<int>(15, static_cast<int8_t>(TruncToInt((x[kQk32 / 2 + j] - min) * id + 0.5f)));
        y[b].qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(q0) | (static_cast<uint8_t>(q1) << 4));
      }
    }
    return;
  }
  const float sigma2 = RowSigma2(x, n);
  float weight[kQk32];
  uint8_t L[kQk32], Laux[kQk32];
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + kQk32 * b;
    const float* qw = imatrix + kQk32 * b;
    for (int j = 0; j < kQk32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    float min = 0;
    const float d = MakeQkxQuants(kQk32, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false, true);
    y[b].d.set(ToHalf(d));
    y[b].m.set(ToHalf(-min));
    for (int j = 0; j < kQk32 / 2; ++j) y[b].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void DequantizeRowQ4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(src);
  for (int64_t b = 0; b < n / kQk32; ++b, dst += kQk32) {
    const float d = FromHalf(x[b].d.get());
    const float m = FromHalf(x[b].m.get());
    for (int j = 0; j < kQk32 / 2; ++j) {
      dst[j] = static_cast<float>(x[b].qs[j] & 0x0F) * d + m;
      dst[j + kQk32 / 2] = static_cast<float>(x[b].qs[j] >> 4) * d + m;
    }
  }
}

}  // namespace qforge::codecs::ggml
