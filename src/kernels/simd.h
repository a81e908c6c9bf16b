// Highway SIMD kernels (dynamic dispatch per call; every call is a row or more of work). Each has a scalar
// twin in ref/ with the same signature, used as the test oracle. Shapes are row-major; `ld` is a row stride
// in elements. Pointers need no particular alignment.
#pragma once

#include <cstdint>

namespace qforge::kernels {

// y[r] = Σ_i W[r, i] · x[i] for r in [0, m); W is [m, k] with row stride ldw (F32, BF16 or F16 bits).
void GemvF32(const float* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y);
void GemvBf16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y);
void GemvF16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y);

// out[i] += Σ_r p[r] · rows[r, i] for i in [0, k); rows is [n_rows, k] with row stride ld.
void WeightedSumRows(const float* rows, int64_t ld, int64_t n_rows, const float* p, int64_t k, float* out);

// out[i] = x[i] · w[i] / sqrt(mean(x²) + eps) over one row of n (out may equal x).
void RmsNormRow(const float* x, const float* w, int64_t n, float eps, float* out);

// out[i] = silu(g[i]) · u[i] = g[i] / (1 + exp(-g[i])) · u[i] (out may equal g or u).
void SiluMul(const float* g, const float* u, int64_t n, float* out);

// x = softmax(x) in place over n values (max-subtracted, so large logits do not overflow).
void SoftmaxRow(float* x, int64_t n);

// Widening conversions (exact).
void Bf16ToF32Row(const uint16_t* src, float* dst, int64_t n);
void F16ToF32Row(const uint16_t* src, float* dst, int64_t n);

}  // namespace qforge::kernels
