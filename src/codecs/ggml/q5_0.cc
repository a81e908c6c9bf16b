// Q5_0 (FORMATS.md §6.4): 5-bit codes, low 4 bits in nibbles as Q4_0, bit 4 of element e in bit e of the u32
// qh. d = xm/-16, code = min(31, trunc(x/d + 16.5)). Importance matrix (§6.5): as Q4_0 with nmax 16.
#include "codecs/ggml/fp_strict.h"

#include <algorithm>
#include <cmath>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {

void QuantizeRowQ5_0(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ5_0*>(dst);
  const int64_t nb = n / kQk32;
  uint8_t L[kQk32];
  if (!imatrix) {
    for (int64_t b = 0; b < nb; ++b, x += kQk32) {
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < kQk32; ++j) {
        if (amax < std::fabs(x[j])) {
          amax = std::fabs(x[j]);
          max = x[j];
        }
      }
      const float d = max / -16.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[b].d.set(ToHalf(d));
      for (int j = 0; j < kQk32; ++j)
        L[j] = static_cast<uint8_t>(std::min<int>(31, static_cast<int8_t>(TruncToInt(x[j] * id + 16.5f))));
      Pack5(L, y[b].qs, y[b].qh);
    }
    return;
  }
  const float sigma2 = RowSigma2(x, n);
  float weight[kQk32];
  int8_t Ls[kQk32];
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + kQk32 * b;
    const float* qw = imatrix + kQk32 * b;
    for (int j = 0; j < kQk32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    const float d = MakeQxQuants(kQk32, 16, xb, Ls, weight);
    y[b].d.set(ToHalf(d));
    for (int j = 0; j < kQk32; ++j) L[j] = static_cast<uint8_t>(Ls[j]);
    Pack5(L, y[b].qs, y[b].qh);
  }
}

void DequantizeRowQ5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(src);
  for (int64_t b = 0; b < n / kQk32; ++b, dst += kQk32) {
    const float d = FromHalf(x[b].d.get());
    const uint32_t qh = LoadU32(x[b].qh);
    for (int j = 0; j < kQk32; ++j) dst[j] = static_cast<float>(Unpack5(x[b].qs, qh, j) - 16) * d;
  }
}

}  // namespace qforge::codecs::ggml
