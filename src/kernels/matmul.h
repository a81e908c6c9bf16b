// Dense matrix products with a float activation and an F32, BF16 or F16 weight:
//   y[n, m] = x[n, k] · W[m, k]ᵀ      (W row-major, [out_features, in_features], contiguous)
// Few tokens (decode): a Highway GEMV over weight rows, split across ThreadPool::Global().
// Many tokens (prefill): OpenBLAS sgemm; BF16/F16 weights are widened to F32 a tile of rows at a time.
// The crossover kGemmMinTokens was picked by measurement (bench/kernels_bench.cc).
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace qforge::kernels {

inline constexpr int64_t kGemmMinTokens = 4;

// w_type is kF32, kBF16 or kF16 (QF_CHECKed). y must not alias x.
void MatMul(const float* x, int64_t n, int64_t k, DType w_type, const void* w, int64_t m, float* y);

}  // namespace qforge::kernels
