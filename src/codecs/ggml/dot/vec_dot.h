// Dot products of GGUF block-quantized weight rows with quantized activation rows (act_quant.h), the
// integer arithmetic of llama.cpp's CPU backend: per block, an exact integer sum of code × code, then
// float scales (weight block scale × activation block scale, k-quant sub-block scales and mins as
// integers inside the block sum). Types: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
//
// Three implementations of one function:
//   VecDotRef      the scalar reference twin: both rows decoded to float by the bit-exact decoders and
//                  multiplied in double — independent of any integer trick, the test oracle;
//   VecDotGeneric  portable integer code (all types, every target);
//   GgufMatMul     the production entry point: Highway-dispatched kernels with x86 intrinsics where
//                  Highway 1.0.3 has no int8 dot product (AVX-512 VNNI vpdpbusd on AVX3_DL, maddubs on
//                  AVX2/AVX3) for Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; VecDotGeneric elsewhere.
// Integer sums are exact in every implementation; results differ only by float summation order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "codecs/ggml/dot/act_quant.h"
#include "core/dtype.h"

namespace qforge::codecs::ggml {

// Σ_i w[i] · a[i] over one row of k elements (k a multiple of the weight's and activation's block sizes).
double VecDotRef(DType w_type, const void* w_row, const void* a_row, int64_t k);
float VecDotGeneric(DType w_type, const void* w_row, const void* a_row, int64_t k);

// y[t, r] = Σ_i W[r, i] · x[t, i] for a row-major GGUF weight W [m, k] of type w_type (rows of
// RowBytes(w_type, k) bytes), float activations x [n, k] and y [n, m] (row stride ldy ≥ m). The
// activations are quantized with QuantizeActRow first, as llama.cpp does. Rows run on the global pool.
void GgufMatMul(DType w_type, const void* w, int64_t m, int64_t k, const float* x, int64_t n, float* y,
                int64_t ldy);

// The same on already quantized activations a [n rows of ActRowBytes(ActFormatFor(w_type), k)], rows
// [r0, r1) only, on the calling thread (the unit the tests compare against VecDotRef on every target).
void GgufDotRows(DType w_type, const void* w, int64_t k, const void* a, int64_t n, int64_t r0, int64_t r1,
                 float* y, int64_t ldy);

// True where GgufDotRows has a vector kernel for this type on the current target.
bool GgufDotHasSimd(DType w_type);
// The Highway target the dispatched kernels run on now.
std::string GgufDotTarget();

}  // namespace qforge::codecs::ggml
