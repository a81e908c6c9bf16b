// Every Highway target compiled in and supported here vs the scalar twins in ref/.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/simd.h"

namespace qforge::kernels {
namespace {

// Dot products: float accumulation in a different order than the double-precision twin. The error bound of
// a k-term float sum is ~k·eps·Σ|wᵢxᵢ|; random data gives ~sqrt(k)·eps, so 1e-5·Σ|wᵢxᵢ| (k ≤ 1000) has
// ~10× headroom and still fails on any wrong element or missed tail (each term is ≳1e-3 of Σ).
constexpr double kDotRelTol = 1e-5;
// Element-wise ops (norm, silu, softmax): a few float ulps (Highway Exp is ≤ 2 ulp).
constexpr double kElemRelTol = 4e-6;

std::vector<float> Random(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

template <typename Fn>
void ForEachTarget(Fn fn) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    fn();
  }
  hwy::SetSupportedTargetsForTest(0);
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, const std::vector<double>& scale,
                double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(std::abs(static_cast<double>(got[i]) - want[i]), tol * scale[i]) << "at " << i;
  }
}

TEST(SimdKernels, GemvAllWeightTypesMatchTwin) {
  // Odd sizes exercise the 4-row blocks, the leftover rows and the scalar tail of each row.
  for (auto [m, k] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {13, 256}, {64, 1000}}) {
    const int64_t ldw = k + 3;  // a row stride wider than k
    const auto wf = Random(static_cast<size_t>(m * ldw), 1);
    const auto x = Random(static_cast<size_t>(k), 2);
    std::vector<uint16_t> wb(wf.size()), wh(wf.size());
    F32ToBf16(wf.data(), wb.data(), wf.size());
    F32ToF16(wf.data(), wh.data(), wf.size());
    std::vector<double> scale(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t i = 0; i < k; ++i) scale[static_cast<size_t>(r)] += std::abs(wf[r * ldw + i] * x[i]);
    }
    std::vector<float> want(static_cast<size_t>(m)), got(static_cast<size_t>(m));
    ForEachTarget([&] {
      ref::GemvF32(wf.data(), ldw, m, x.data(), k, want.data());
      GemvF32(wf.data(), ldw, m, x.data(), k, got.data());
      ExpectNear(got, want, scale, kDotRelTol);
      ref::GemvBf16(wb.data(), ldw, m, x.data(), k, want.data());
      GemvBf16(wb.data(), ldw, m, x.data(), k, got.data());
      ExpectNear(got, want, scale, kDotRelTol);
      ref::GemvF16(wh.data(), ldw, m, x.data(), k, want.data());
      GemvF16(wh.data(), ldw, m, x.data(), k, got.data());
      ExpectNear(got, want, scale, kDotRelTol);
    });
  }
}

TEST(SimdKernels, WeightedSumRowsMatchesTwin) {
  const int64_t n_rows = 9, k = 70, ld = 75;
  const auto rows = Random(static_cast<size_t>(n_rows * ld), 3);
  const auto p = Random(static_cast<size_t>(n_rows), 4, 0, 1);
  const auto init = Random(static_cast<size_t>(k), 5);
  std::vector<double> scale(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    scale[static_cast<size_t>(i)] = std::abs(init[static_cast<size_t>(i)]);
    for (int64_t r = 0; r < n_rows; ++r) scale[static_cast<size_t>(i)] += std::abs(p[r] * rows[r * ld + i]);
  }
  ForEachTarget([&] {
    auto want = init, got = init;
    ref::WeightedSumRows(rows.data(), ld, n_rows, p.data(), k, want.data());
    WeightedSumRows(rows.data(), ld, n_rows, p.data(), k, got.data());
    ExpectNear(got, want, scale, kDotRelTol);
  });
}

TEST(SimdKernels, ElementwiseMatchTwins) {
  for (int64_t n : {1, 5, 64, 131}) {
    const auto x = Random(static_cast<size_t>(n), 6, -8, 8);
    const auto w = Random(static_cast<size_t>(n), 7, 0.5, 1.5);
    const auto u = Random(static_cast<size_t>(n), 8);
    ForEachTarget([&] {
      std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      std::vector<double> scale(static_cast<size_t>(n));
      ref::RmsNormRow(x.data(), w.data(), n, 1e-6f, want.data());
      RmsNormRow(x.data(), w.data(), n, 1e-6f, got.data());
      for (size_t i = 0; i < scale.size(); ++i) scale[i] = std::abs(want[i]) + 1e-30;
      ExpectNear(got, want, scale, kElemRelTol * 8);  // the mean of squares adds n·eps/sqrt-ish rounding
      ref::SiluMul(x.data(), u.data(), n, want.data());
      SiluMul(x.data(), u.data(), n, got.data());
      for (size_t i = 0; i < scale.size(); ++i) scale[i] = std::abs(want[i]) + 1e-30;
      ExpectNear(got, want, scale, kElemRelTol);
      want = x;
      got = x;
      ref::SoftmaxRow(want.data(), n);
      SoftmaxRow(got.data(), n);
      for (size_t i = 0; i < scale.size(); ++i) scale[i] = std::abs(want[i]) + 1e-30;
      ExpectNear(got, want, scale, kElemRelTol * 4);
    });
  }
}

TEST(SimdKernels, SoftmaxHandlesHugeLogits) {
  std::vector<float> x = {1e30f, 0.0f, -1e30f, 1e30f, 5, 6, 7, 8, 9, 10};
  SoftmaxRow(x.data(), static_cast<int64_t>(x.size()));
  EXPECT_FLOAT_EQ(x[0], 0.5f);
  EXPECT_FLOAT_EQ(x[3], 0.5f);
  EXPECT_EQ(x[1], 0.0f);
}

TEST(SimdKernels, WideningIsExact) {
  std::vector<uint16_t> bits;
  for (uint32_t b = 0; b < 65536; b += 7) bits.push_back(static_cast<uint16_t>(b));
  std::vector<float> got(bits.size());
  ForEachTarget([&] {
    Bf16ToF32Row(bits.data(), got.data(), static_cast<int64_t>(bits.size()));
    for (size_t i = 0; i < bits.size(); ++i) {
      ASSERT_EQ(FloatBits(got[i]), FloatBits(Bf16ToF32(bits[i]))) << i;
    }
    F16ToF32Row(bits.data(), got.data(), static_cast<int64_t>(bits.size()));
    for (size_t i = 0; i < bits.size(); ++i) {
      const float want = F16ToF32(bits[i]);
      // Highway 1.0's emulated f16 promotion (targets without F16C) mishandles exponent 31 (inf/NaN);
      // weights hold neither, so only finite values are checked.
      if (std::isfinite(want)) {
        ASSERT_EQ(FloatBits(got[i]), FloatBits(want)) << i;
      }
    }
  });
}

}  // namespace
}  // namespace qforge::kernels
