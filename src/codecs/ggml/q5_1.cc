// Q5_1 (FORMATS.md §6.4): 5-bit codes packed as Q5_0; d = (max - min)/31, m = min,
// code = trunc((x - min)/d + 0.5) (no clamp). Importance matrix (§6.5): as Q4_1 with nmax 31.
#include "codecs/ggml/fp_strict.h"

#include <cfloat>
#include <cmath>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {

void QuantizeRowQ5_1(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ5_1*>(dst);
  const int64_t nb = n / kQk32;
  uint8_t L[kQk32], Laux[kQk32];
  if (!imatrix) {
    for (int64_t b = 0; b < nb; ++b, x += kQk32) {
      float min = FLT_MAX, max = -FLT_MAX;
      for (int j = 0; j < kQk32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / 31.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[b].d.set(ToHalf(d));
      y[b].m.set(ToHalf(min));
      for (int j = 0; j < kQk32; ++j) L[j] = static_cast<uint8_t>(TruncToInt((x[j] - min) * id + 0.5f));
      Pack5(L, y[b].qs, y[b].qh);
    }
    return;
  }
  const float sigma2 = RowSigma2(x, n);
  float weight[kQk32];
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + kQk32 * b;
    const float* qw = imatrix + kQk32 * b;
    for (int j = 0; j < kQk32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    float min = 0;
    const float d = MakeQkxQuants(kQk32, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false, true);
    y[b].d.set(ToHalf(d));
    y[b].m.set(ToHalf(-min));
    Pack5(L, y[b].qs, y[b].qh);
  }
}

void DequantizeRowQ5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(src);
  for (int64_t b = 0; b < n / kQk32; ++b, dst += kQk32) {
    const float d = FromHalf(x[b].d.get());
    const float m = FromHalf(x[b].m.get());
    const uint32_t qh = LoadU32(x[b].qh);
    for (int j = 0; j < kQk32; ++j) dst[j] = static_cast<float>(Unpack5(x[b].qs, qh, j)) * d + m;
  }
}

}  // namespace qforge::codecs::ggml
