// Activation rows quantized the way llama.cpp's CPU backend quantizes the right-hand side of a matrix
// product before its integer dot products ("vec_dot_type"), so a GGUF weight can be applied with the same
// arithmetic llama.cpp uses and give the same numbers:
//
//   weight type                         activation format  block  layout (bytes)
//   Q8_0, Q4_0, Q5_0                    Q8_0               32     [0,2) d (f16)  [2,34) qs[32] (int8)
//   Q4_1, Q5_1                          Q8_1               32     [0,2) d (f16)  [2,4) s (f16) = d·Σqs  [4,36) qs[32]
//   Q2_K, Q3_K, Q4_K, Q5_K, Q6_K        Q8_K               256    [0,4) d (f32)  [4,260) qs[256]  [260,292) bsums[16] (int16, Σ of 16 qs)
//
// Q8_0 / Q8_1 (x86 builds of ggml, the path llama.cpp's prebuilt CPU backends run):
//   amax = max|x|;  d = amax / 127 (stored as f16);  id = amax ≠ 0 ? 127 / amax : 0;  q = rne(x · id)
// Q8_K: the element of largest magnitude `max` (first one on ties) sets iscale = −127 / max;
//   q = min(127, rne(iscale · x));  d = 1 / iscale;  an all-zero block stores d = 0 and q = 0.
// These are internal formats (never stored in a file), so they are not in the DType table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace qforge::codecs::ggml {

enum class ActFormat { kQ8_0, kQ8_1, kQ8_K };

inline constexpr int kActQ8Block = 32;
inline constexpr int kActQ8KBlock = 256;

struct BlockQ8_1Act {
  uint16_t d;  // f16
  uint16_t s;  // f16: d · Σ qs
  int8_t qs[kActQ8Block];
};
struct BlockQ8_KAct {
  float d;
  int8_t qs[kActQ8KBlock];
  int16_t bsums[kActQ8KBlock / 16];
};
static_assert(sizeof(BlockQ8_1Act) == 36);
static_assert(sizeof(BlockQ8_KAct) == 292);

// The activation format llama.cpp pairs with a GGUF block weight type; throws qforge::Error for a type
// without an integer dot product (float types, unknown types).
ActFormat ActFormatFor(DType weight_type);
bool HasActFormat(DType weight_type);
// Elements per activation block and bytes of one row of k elements (k a multiple of the block; QF_CHECKed).
int64_t ActBlockSize(ActFormat f);
size_t ActRowBytes(ActFormat f, int64_t k);

// Quantizes one row of k floats (k a multiple of ActBlockSize(f)) into dst (ActRowBytes(f, k) bytes;
// Q8_K rows must be 4-byte aligned). Scalar: a small cost next to the matrix product it feeds.
void QuantizeActRow(ActFormat f, const float* x, int64_t k, void* dst);

// Decodes a quantized activation row back to floats (d · q), for tests and the reference dot product.
void DequantizeActRow(ActFormat f, const void* src, int64_t k, float* y);

}  // namespace qforge::codecs::ggml
