#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/ref/ref_kernels.h"

namespace qforge::kernels {
namespace {

// Float GEMM/GEMV vs the double-accumulating twin, relative to Σ|wᵢxᵢ| (see simd_test.cc).
constexpr double kMatMulRelTol = 1e-5;

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void CheckMatMul(int64_t n, int64_t k, int64_t m, DType t) {
  auto w = Random(static_cast<size_t>(m * k), 11);
  const auto x = Random(static_cast<size_t>(n * k), 12);
  std::vector<uint16_t> w16(w.size());
  const void* wp = w.data();
  if (t == DType::kBF16) {
    F32ToBf16(w.data(), w16.data(), w.size());
    Bf16ToF32(w16.data(), w.data(), w.size());  // the twin sees the same rounded weights
    wp = w16.data();
  } else if (t == DType::kF16) {
    F32ToF16(w.data(), w16.data(), w.size());
    F16ToF32(w16.data(), w.data(), w.size());
    wp = w16.data();
  }
  std::vector<float> want(static_cast<size_t>(n * m)), got(static_cast<size_t>(n * m), -7.0f);
  ref::MatMulF32(x.data(), n, k, w.data(), m, want.data());
  MatMul(x.data(), n, k, t, wp, m, got.data());
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t r = 0; r < m; ++r) {
      double scale = 0;
      for (int64_t i = 0; i < k; ++i) scale += std::abs(x[a * k + i] * w[r * k + i]);
      ASSERT_NEAR(got[a * m + r], want[a * m + r], kMatMulRelTol * scale)
          << Name(t) << " n=" << n << " token " << a << " row " << r;
    }
  }
}

TEST(MatMul, GemvAndGemmPathsAllWeightTypes) {
  for (DType t : {DType::kF32, DType::kBF16, DType::kF16}) {
    CheckMatMul(1, 67, 300, t);                    // GEMV, many rows split over threads
    CheckMatMul(kGemmMinTokens - 1, 64, 33, t);    // GEMV per token
    CheckMatMul(kGemmMinTokens, 96, 600, t);       // GEMM, more than one widened tile (256 rows)
    CheckMatMul(17, 5, 3, t);                      // GEMM with tiny dims
  }
}

}  // namespace
}  // namespace qforge::kernels
