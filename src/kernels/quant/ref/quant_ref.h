// Scalar twins of kernels/quant/quant_matmul.h: the obvious loops, in double for the float products (the
// test oracle), and the exact integer arithmetic for the int8 paths.
#pragma once

#include <cstdint>

namespace qforge::kernels::ref {

// Ŵ decoded element by element from the packed words; sums in double.
void MatMulW4A16(const float* x, int64_t n, int64_t k, const uint32_t* packed, const float* scales, int64_t group,
                 int64_t m, double* y);
void MatMulW8A16(const float* x, int64_t n, int64_t k, const int8_t* w, const float* scales, int64_t group,
                 int64_t m, double* y);
// Exactly the documented formula (std::nearbyint under the default rounding mode = round half to even).
float QuantizeActivationI8(const float* x, int64_t k, int8_t* q);
void GemmI8(const int8_t* a, int64_t n, int64_t k, const int8_t* w, int64_t m, int32_t* acc);
// Bit-exact twin of kernels::MatMulW8A8: same integer sums, same float epilogue (s_t · s_w) · acc.
void MatMulW8A8(const float* x, int64_t n, int64_t k, const int8_t* w, const float* w_scales, int64_t m, float* y);

}  // namespace qforge::kernels::ref
