// Scalar twins of kernels/simd.h: the obvious loops, written for clarity, used as the test oracle.
#pragma once

#include <cstdint>

namespace qforge::kernels::ref {

void GemvF32(const float* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y);
void GemvBf16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y);
void GemvF16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y);
void WeightedSumRows(const float* rows, int64_t ld, int64_t n_rows, const float* p, int64_t k, float* out);
void RmsNormRow(const float* x, const float* w, int64_t n, float eps, float* out);
void SiluMul(const float* g, const float* u, int64_t n, float* out);
void SoftmaxRow(float* x, int64_t n);
// y[n, m] = x[n, k] · W[m, k]ᵀ with an F32 weight (the twin of kernels::MatMul).
void MatMulF32(const float* x, int64_t n, int64_t k, const float* w, int64_t m, float* y);

}  // namespace qforge::kernels::ref
