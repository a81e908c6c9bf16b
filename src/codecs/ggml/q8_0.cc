// Q8_0: 32 int8 codes and one f16 scale per block (FORMATS.md §6.4). d = amax/127, q = roundf(x/d)
// (half away from zero). The importance matrix is ignored, as in ggml.
#include "codecs/ggml/fp_strict.h"

#include <cmath>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {

void QuantizeRowQ8_0(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQk32; ++b, x += kQk32) {
    float amax = 0.0f;
    for (int j = 0; j < kQk32; ++j) {
      const float a = std::fabs(x[j]);
      amax = amax > a ? amax : a;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d.set(ToHalf(d));
    for (int j = 0; j < kQk32; ++j) y[b].qs[j] = static_cast<int8_t>(TruncToInt(std::round(x[j] * id)));
  }
}

void DequantizeRowQ8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < n / kQk32; ++b) {
    const float d = FromHalf(x[b].d.get());
    for (int j = 0; j < kQk32; ++j) dst[b * kQk32 + j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

}  // namespace qforge::codecs::ggml
