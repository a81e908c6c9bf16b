// Q4_0 (FORMATS.md §6.4): d = xm/-8 with xm the first largest-|x| element; code = min(15, trunc(x/d + 8.5)).
// With an importance matrix (§6.5): w_i = v_i * sqrt(sigma2 + x_i^2), sigma2 = mean x^2 over the whole row,
// P1(nmax 8) per block, codes stored as found (no requantization).
#include "codecs/ggml/fp_strict.h"

#include <algorithm>
#include <cmath>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {
namespace {

void QuantizeRef(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQk32) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQk32; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d.set(ToHalf(d));
    for (int j = 0; j < kQk32 / 2; ++j) {
      const int q0 = std::min<int>(15, static_cast<int8_t>(TruncToInt(x[j] * id + 8.5f)));
      const int q1 = std::min<int>(15, static_cast<int8_t>(TruncToInt(x[kQk32 / 2 + j] * id + 8.5f)));
      y[b].qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(q0) | (static_cast<uint8_t>(q1) << 4));
    }
  }
}

}  // namespace

void QuantizeRowQ4_0(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ4_0*>(dst);
  const int64_t nb = n / kQk32;
  if (!imatrix) return QuantizeRef(x, y, nb);
  const float sigma2 = RowSigma2(x, n);
  float weight[kQk32];
  int8_t L[kQk32];
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + kQk32 * b;
    const float* qw = imatrix + kQk32 * b;
    for (int j = 0; j < kQk32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    const float d = MakeQxQuants(kQk32, 8, xb, L, weight);
    y[b].d.set(ToHalf(d));
    for (int j = 0; j < kQk32 / 2; ++j) y[b].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void DequantizeRowQ4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(src);
  for (int64_t b = 0; b < n / kQk32; ++b, dst += kQk32) {
    const float d = FromHalf(x[b].d.get());
    for (int j = 0; j < kQk32 / 2; ++j) {
      dst[j] = static_cast<float>((x[b].qs[j] & 0x0F) - 8) * d;
      dst[j + kQk32 / 2] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

}  // namespace qforge::codecs::ggml
