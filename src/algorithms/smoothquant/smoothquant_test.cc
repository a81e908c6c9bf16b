#include "algorithms/smoothquant/smoothquant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"

namespace qforge::algorithms::smoothquant {
namespace {

TEST(SmoothQuant, ScalesAsLlmCompressor) {
  // Two balance layers over 4 channels; channel 2 has all-zero weights, channel 3 a tiny range.
  const std::vector<float> a = {0.5f, -1.0f, 0.0f, 0.25f,  //
                                -0.25f, 0.5f, 0.0f, 0.0f};
  const std::vector<float> b = {1.0f, 0.125f, 0.0f, 0.0f};
  const std::vector<WeightView> bal = {{a.data(), 2, 4}, {b.data(), 1, 4}};
  const std::vector<float> r = {8.0f, 2.0f, 3.0f, 1e-12f};
  const std::vector<float> s = ComputeScales(r, bal, 0.5);
  // w = 2 * max|W| per column = {2, 2, 0, 0.5}
  EXPECT_FLOAT_EQ(s[0], std::sqrt(8.0f) / std::sqrt(2.0f));  // 2
  EXPECT_FLOAT_EQ(s[1], 1.0f);
  EXPECT_EQ(s[2], 3.0f);                    // w == 0 -> r
  EXPECT_EQ(s[3], kMinimumSmoothingScale);  // clamped
  const std::vector<float> s8 = ComputeScales(r, bal, 0.8);
  EXPECT_NEAR(s8[0], std::pow(8.0, 0.8) / std::pow(2.0, 0.2), 1e-5);
  EXPECT_THROW(ComputeScales(r, bal, 1.5), Error);
  const std::vector<float> r3 = {1, 2, 3};
  EXPECT_THROW(ComputeScales(r3, bal, 0.5), Error);
}

TEST(SmoothQuant, FoldingPreservesTheProduct) {
  // y = (x * gamma) W^T must not change when gamma /= s and W columns *= s.
  std::vector<float> gamma = {1.0f, 0.5f, 2.0f};
  std::vector<float> w = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f};  // [2, 3]
  const std::vector<float> x = {3.0f, -1.0f, 0.5f};
  auto apply = [&] {
    std::vector<double> y(2, 0.0);
    for (int o = 0; o < 2; ++o) {
      for (int j = 0; j < 3; ++j) y[o] += double(x[j]) * gamma[j] * w[o * 3 + j];
    }
    return y;
  };
  const std::vector<double> before = apply();
  const std::vector<float> s = {4.0f, 0.25f, 3.0f};
  ScaleColumns(w.data(), 2, 3, s);
  DivideNorm(gamma, s);
  const std::vector<double> after = apply();
  for (int o = 0; o < 2; ++o) EXPECT_NEAR(after[o], before[o], 1e-6);
  EXPECT_FLOAT_EQ(w[0], 0.4f);
  EXPECT_FLOAT_EQ(gamma[1], 2.0f);
}

}  // namespace
}  // namespace qforge::algorithms::smoothquant
