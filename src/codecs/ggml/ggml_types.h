// Per-type scalar quantizers and decoders (one .cc per format family) and the SIMD decoders, as plain
// functions the codec table in ggml_codecs.cc points at. Signatures: QuantizeRowFn / DequantizeFn of
// ggml_codecs.h; n is always a multiple of the type's block size (checked by the table's callers).
#pragma once

#include <cstdint>

namespace qforge::codecs::ggml {

#define QFORGE_GGML_DECLARE(T)                                                     \
  void QuantizeRow##T(const float* x, void* dst, int64_t n, const float* imatrix); \
  void DequantizeRow##T(const void* src, float* dst, int64_t n);

QFORGE_GGML_DECLARE(F32)
QFORGE_GGML_DECLARE(F16)
QFORGE_GGML_DECLARE(BF16)
QFORGE_GGML_DECLARE(Q8_0)
QFORGE_GGML_DECLARE(Q4_0)
QFORGE_GGML_DECLARE(Q4_1)
QFORGE_GGML_DECLARE(Q5_0)
QFORGE_GGML_DECLARE(Q5_1)
QFORGE_GGML_DECLARE(Q2_K)
QFORGE_GGML_DECLARE(Q3_K)
QFORGE_GGML_DECLARE(Q4_K)
QFORGE_GGML_DECLARE(Q5_K)
QFORGE_GGML_DECLARE(Q6_K)

#undef QFORGE_GGML_DECLARE

// Highway decoders (dequantize_simd.cc), dispatched to the best compiled target.
void DequantizeRowQ8_0Simd(const void* src, float* dst, int64_t n);
void DequantizeRowQ4_0Simd(const void* src, float* dst, int64_t n);
void DequantizeRowQ4_KSimd(const void* src, float* dst, int64_t n);
void DequantizeRowQ6_KSimd(const void* src, float* dst, int64_t n);

}  // namespace qforge::codecs::ggml
