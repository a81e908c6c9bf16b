#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

namespace qforge::kernels {
namespace {

// cos/sin of float angles vs complex<double> rotation: float rounding of angle (≤ pos·ulp) and products.
constexpr double kRopeAbsTol = 2e-5;

TEST(Rope, InvFreqDefaultAndLlama3) {
  const auto f = RopeInvFreq(64, 500000.0, {});
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_NEAR(f[16], std::pow(500000.0, -0.5), 1e-9);
  RopeScaling s;
  s.type = RopeScalingType::kLlama3;
  s.factor = 32;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_position_embeddings = 8192;
  const auto g = RopeInvFreq(64, 500000.0, s);
  // High frequency (wavelength < 8192/4 = 2048): unchanged.
  EXPECT_FLOAT_EQ(g[0], f[0]);
  // Lowest frequency (wavelength 2π·500000^(62/64) ≫ 8192): divided by the factor.
  EXPECT_FLOAT_EQ(g[31], f[31] / 32);
  // A medium one: strictly between the two.
  for (int i = 0; i < 32; ++i) {
    const double wl = 2 * M_PI / f[i];
    if (wl > 2048 && wl < 8192) {
      EXPECT_LT(g[i], f[i]);
      EXPECT_GT(g[i], f[i] / 32);
    }
  }
  RopeScaling lin;
  lin.type = RopeScalingType::kLinear;
  lin.factor = 4;
  EXPECT_FLOAT_EQ(RopeInvFreq(64, 10000.0, lin)[5], f[5] == 0 ? 0 : RopeInvFreq(64, 10000.0, {})[5] / 4);
}

TEST(Rope, RotateHalfMatchesComplexRotation) {
  const int64_t d = 16, heads = 3, n = 5, pos0 = 7;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(static_cast<size_t>(n * heads * d));
  for (auto& v : x) v = u(rng);
  const auto inv = RopeInvFreq(d, 10000.0, {});
  auto y = x;
  ApplyRope(y.data(), n, heads * d, heads, d, pos0, inv, /*interleaved=*/false);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < d / 2; ++i) {
        const int64_t base = t * heads * d + h * d;
        const std::complex<double> z(x[base + i], x[base + i + d / 2]);
        const auto r = z * std::polar(1.0, static_cast<double>(pos0 + t) * inv[i]);
        EXPECT_NEAR(y[base + i], r.real(), kRopeAbsTol);
        EXPECT_NEAR(y[base + i + d / 2], r.imag(), kRopeAbsTol);
      }
    }
  }
}

TEST(Rope, InterleavedEqualsRotateHalfUnderGgufPermutation) {
  // GGUF_row[h·d + i] = HF_row[h·d + (i mod 2)·(d/2) + floor(i/2)] (FORMATS.md §5.6): RoPE must commute.
  const int64_t d = 8, heads = 2, n = 4;
  std::vector<float> hf(static_cast<size_t>(n * heads * d));
  for (size_t i = 0; i < hf.size(); ++i) hf[i] = std::sin(static_cast<float>(i) * 0.37f);
  auto permute = [&](const std::vector<float>& v) {
    std::vector<float> g(v.size());
    for (int64_t t = 0; t < n; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < d; ++i)
          g[t * heads * d + h * d + i] = v[t * heads * d + h * d + (i % 2) * (d / 2) + i / 2];
    return g;
  };
  auto gg = permute(hf);
  const auto inv = RopeInvFreq(d, 10000.0, {});
  ApplyRope(hf.data(), n, heads * d, heads, d, 3, inv, false);
  ApplyRope(gg.data(), n, heads * d, heads, d, 3, inv, true);
  const auto want = permute(hf);
  for (size_t i = 0; i < gg.size(); ++i) EXPECT_FLOAT_EQ(gg[i], want[i]) << i;
}

}  // namespace
}  // namespace qforge::kernels
