// F32, F16, BF16 "codecs": element types with block size 1. ggml stores F16 with round-to-nearest-even
// (NaN -> sign|0x7e00) and BF16 with round-to-nearest-even (NaN -> quiet, high half | 0x40); an importance
// matrix does not apply.
#include "codecs/ggml/fp_strict.h"

#include <cstring>

#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"
#include "core/half.h"

namespace qforge::codecs::ggml {

void QuantizeRowF32(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
  std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
}
void DequantizeRowF32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void QuantizeRowF16(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = ToHalf(x[i]);
    out[2 * i] = static_cast<uint8_t>(h & 0xff);
    out[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
}
void DequantizeRowF16(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = FromHalf(static_cast<uint16_t>(in[2 * i] | (in[2 * i + 1] << 8)));
}

void QuantizeRowBF16(const float* x, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = F32ToBf16(x[i]);
    out[2 * i] = static_cast<uint8_t>(h & 0xff);
    out[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
}
void DequantizeRowBF16(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(static_cast<uint16_t>(in[2 * i] | (in[2 * i + 1] << 8)));
}

}  // namespace qforge::codecs::ggml
