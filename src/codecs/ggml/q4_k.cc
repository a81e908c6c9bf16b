// Q4_K (FORMATS.md §6.4): 8 sub-blocks of 32 with 6-bit scale/min (scale_min_k.h), P2(nmax 15, rmin -1.0,
// rdelta 0.1, nstep 20, err^2); codes 0..15, chunk c of 64 elements: qs[32c + l] = L[64c + l] | L[64c + 32 + l] << 4.
#include "codecs/ggml/fp_strict.h"

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"
#include "codecs/ggml/scale_min_k.h"

namespace qforge::codecs::ggml {

void QuantizeRowQ4_K(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ4_K*>(dst);
  constexpr ScaleMinParams kParams{15, -1.f, 0.1f, 20};
  uint8_t L[kQkK];
  for (int64_t b = 0; b < n / kQkK; ++b) {
    QuantizeScaleMinBlock(x + kQkK * b, imatrix ? imatrix + kQkK * b : nullptr, kParams, &y[b].d, &y[b].dmin,
                          y[b].scales, L);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        y[b].qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void DequantizeRowQ4_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(src);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = FromHalf(x[b].d.get()), min = FromHalf(x[b].dmin.get());
    for (int c = 0; c < 4; ++c) {
      uint8_t sc, m;
      GetScaleMinK4(2 * c, x[b].scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
      GetScaleMinK4(2 * c + 1, x[b].scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
      const uint8_t* q = x[b].qs + 32 * c;
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

}  // namespace qforge::codecs::ggml
