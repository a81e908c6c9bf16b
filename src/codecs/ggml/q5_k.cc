// Q5_K (FORMATS.md §6.4): as Q4_K with P2(nmax 31, rmin -0.5, rdelta 0.1, nstep 15, err^2) and codes 0..31;
// for chunk c and l < 32, element 64c + l puts bit 4 into bit 2c of qh[l], element 64c + 32 + l into bit
// 2c + 1; low nibbles as Q4_K.
#include "codecs/ggml/fp_strict.h"

#include <cstring>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"
#include "codecs/ggml/scale_min_k.h"

namespace qforge::codecs::ggml {

void QuantizeRowQ5_K(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ5_K*>(dst);
  constexpr ScaleMinParams kParams{31, -0.5f, 0.1f, 15};
  uint8_t L[kQkK];
  for (int64_t b = 0; b < n / kQkK; ++b) {
    QuantizeScaleMinBlock(x + kQkK * b, imatrix ? imatrix + kQkK * b : nullptr, kParams, &y[b].d, &y[b].dmin,
                          y[b].scales, L);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        int l1 = L[64 * c + l], l2 = L[64 * c + 32 + l];
        if (l1 > 15) {
          l1 -= 16;
          y[b].qh[l] = static_cast<uint8_t>(y[b].qh[l] | (1u << (2 * c)));
        }
        if (l2 > 15) {
          l2 -= 16;
          y[b].qh[l] = static_cast<uint8_t>(y[b].qh[l] | (2u << (2 * c)));
        }
        y[b].qs[32 * c + l] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
    }
  }
}

void DequantizeRowQ5_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_K*>(src);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = FromHalf(x[b].d.get()), min = FromHalf(x[b].dmin.get());
    for (int c = 0; c < 4; ++c) {
      uint8_t sc, m;
      GetScaleMinK4(2 * c, x[b].scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
      GetScaleMinK4(2 * c + 1, x[b].scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
      const uint8_t* q = x[b].qs + 32 * c;
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * c)), u2 = static_cast<uint8_t>(2u << (2 * c));
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * static_cast<float>((q[l] & 0xF) + ((x[b].qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * static_cast<float>((q[l] >> 4) + ((x[b].qh[l] & u2) ? 16 : 0)) - m2;
    }
  }
}

}  // namespace qforge::codecs::ggml
