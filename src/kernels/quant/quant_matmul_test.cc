// The quantized kernels on every Highway target compiled in and supported here (AVX3_DL = VNNI included)
// vs the scalar twins in ref/: integer paths exactly, float paths within named tolerances.
#include "kernels/quant/quant_matmul.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/quant/ref/quant_ref.h"

namespace qforge::kernels {
namespace {

// Float paths: the kernel sums in float in a different order than the double twin; the error of a k-term
// float sum is ≲ k·eps·Σ|terms| (≈ sqrt(k)·eps for random data), so 2e-5·Σ|terms| at k ≤ 1024 keeps ≥10×
// headroom and still fails on any wrong code, scale or missed block (each term is ≳1e-3 of Σ).
constexpr double kDotRelTol = 2e-5;

template <typename Fn>
void ForEachTarget(Fn fn) {
  const auto targets = QuantKernelTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    ASSERT_EQ(QuantKernelTarget(), hwy::TargetName(target));  // the mock took effect
    fn();
  }
  hwy::SetSupportedTargetsForTest(0);
}

std::vector<float> RandomF(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}
std::vector<int8_t> RandomI8(size_t n, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(u(rng));
  return v;
}
std::vector<uint32_t> RandomWords(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> v(n);
  for (auto& x : v) x = rng();
  return v;
}

TEST(QuantKernels, CompiledTargetsIncludeVnniWhereTheCpuHasIt) {
  bool has_dl = false;
  for (int64_t t : QuantKernelTargets()) has_dl |= (t == HWY_AVX3_DL);
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi2") &&
      __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("gfni") &&
      __builtin_cpu_supports("vaes") && __builtin_cpu_supports("avx512bitalg")) {
    EXPECT_TRUE(has_dl) << "the CPU has AVX-512 VNNI but the AVX3_DL kernels were not built";
  }
#endif
  (void)has_dl;
}

// The compressed-tensors 4-bit example (pack_int32.h): codes [-8,-7,0,1,2,3,4,7] pack to 0xfcba9810.
TEST(QuantKernels, W4LayoutIsCompressedTensorsPacking) {
  const int64_t k = 128;  // one block on every target
  std::vector<uint32_t> words(k / 8, 0x88888888u);  // code 0 everywhere
  words[0] = 0xfcba9810u;
  const std::vector<float> scales = {1.0f};
  const std::vector<int> want = {-8, -7, 0, 1, 2, 3, 4, 7};
  ForEachTarget([&] {
    for (int64_t i = 0; i < 8; ++i) {
      std::vector<float> x(k, 0.0f);
      x[static_cast<size_t>(i)] = 1.0f;
      float y = -1;
      MatMulW4A16(x.data(), 1, k, words.data(), scales.data(), k, 1, &y);
      EXPECT_EQ(y, static_cast<float>(want[static_cast<size_t>(i)])) << "element " << i;
    }
  });
}

struct Shape {
  int64_t n, m, k, group;
};

TEST(QuantKernels, W4A16MatchesTwin) {
  // Token counts hit the 4-token tile and each remainder; m the 4-row tile and leftover rows; group 32 on
  // k 256 runs the scalar fallback on wide targets and the vector kernel on 128-bit ones.
  // One token over m = 19: two 8-row tiles plus 3 single rows.
  for (const Shape s : {Shape{1, 7, 256, 128}, Shape{5, 13, 512, 128}, Shape{3, 9, 256, 32}, Shape{9, 6, 1024, 256},
                        Shape{2, 4, 64, 64}, Shape{1, 19, 384, 128}}) {
    SCOPED_TRACE(testing::Message() << "n=" << s.n << " m=" << s.m << " k=" << s.k << " g=" << s.group);
    const auto words = RandomWords(static_cast<size_t>(s.m * s.k / 8), 11);
    auto scales = RandomF(static_cast<size_t>(s.m * s.k / s.group), 12);
    const auto x = RandomF(static_cast<size_t>(s.n * s.k), 13);
    std::vector<double> want(static_cast<size_t>(s.n * s.m)), bound(want.size());
    ref::MatMulW4A16(x.data(), s.n, s.k, words.data(), scales.data(), s.group, s.m, want.data());
    // Σ|terms| per output, for the tolerance: the twin on |x|, |scales| and |codes| is not linear, so sum here.
    for (int64_t t = 0; t < s.n; ++t)
      for (int64_t r = 0; r < s.m; ++r)
        for (int64_t i = 0; i < s.k; ++i) {
          const int code = static_cast<int>((words[r * s.k / 8 + i / 8] >> (4 * (i % 8))) & 0xF) - 8;
          bound[t * s.m + r] += std::abs(scales[r * s.k / s.group + i / s.group] * code * x[t * s.k + i]);
        }
    ForEachTarget([&] {
      std::vector<float> y(want.size(), NAN);
      MatMulW4A16(x.data(), s.n, s.k, words.data(), scales.data(), s.group, s.m, y.data());
      for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], kDotRelTol * bound[i]) << "at " << i;
    });
  }
}

TEST(QuantKernels, W8A16MatchesTwin) {
  for (const Shape s : {Shape{1, 7, 256, 256}, Shape{5, 13, 512, 128}, Shape{3, 9, 100, 100}, Shape{6, 5, 96, 32},
                        Shape{4, 8, 12, 4}}) {
    SCOPED_TRACE(testing::Message() << "n=" << s.n << " m=" << s.m << " k=" << s.k << " g=" << s.group);
    const auto w = RandomI8(static_cast<size_t>(s.m * s.k), 21, -128, 127);
    const auto scales = RandomF(static_cast<size_t>(s.m * s.k / s.group), 22);
    const auto x = RandomF(static_cast<size_t>(s.n * s.k), 23);
    std::vector<double> want(static_cast<size_t>(s.n * s.m)), bound(want.size());
    ref::MatMulW8A16(x.data(), s.n, s.k, w.data(), scales.data(), s.group, s.m, want.data());
    for (int64_t t = 0; t < s.n; ++t)
      for (int64_t r = 0; r < s.m; ++r)
        for (int64_t i = 0; i < s.k; ++i)
          bound[t * s.m + r] += std::abs(scales[r * s.k / s.group + i / s.group] * w[r * s.k + i] * x[t * s.k + i]);
    ForEachTarget([&] {
      std::vector<float> y(want.size(), NAN);
      MatMulW8A16(x.data(), s.n, s.k, w.data(), scales.data(), s.group, s.m, y.data());
      for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], kDotRelTol * bound[i]) << "at " << i;
    });
  }
}

TEST(QuantKernels, ActivationQuantizationIsExact) {
  // absmax 127 makes the multiplier exactly 1, so ±2.5 / 3.5 are ties: round half to even gives 2 / 4.
  std::vector<float> ties = {127.0f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f, -127.0f, 126.5f};
  for (int i = 0; i < 30; ++i) ties.push_back(static_cast<float>(i) - 14.5f);
  const std::vector<int8_t> want_head = {127, 2, 4, -2, -4, 0, 0, 2, -127, 126};
  const auto rnd = RandomF(1037, 31);
  const std::vector<float> zeros(19, 0.0f);
  ForEachTarget([&] {
    for (const std::vector<float>* v : std::initializer_list<const std::vector<float>*>{&ties, &rnd, &zeros}) {
      std::vector<int8_t> got(v->size()), want(v->size());
      const float s_got = QuantizeActivationI8(v->data(), static_cast<int64_t>(v->size()), got.data());
      const float s_want = ref::QuantizeActivationI8(v->data(), static_cast<int64_t>(v->size()), want.data());
      EXPECT_EQ(s_got, s_want);
      EXPECT_EQ(got, want);
      if (v == &ties) {
        EXPECT_EQ(std::vector<int8_t>(got.begin(), got.begin() + 10), want_head);
      }
    }
  });
}

TEST(QuantKernels, GemmI8IsExact) {
  // k: below one vector, exact multiples of 16/32/64 bytes, and tails; w spans the full int8 range
  // (−128 included), a the range the activation quantizer produces ([−127, 127]). n ≥ 16 with m ≥ 32 runs
  // the packed 32-row × 8-token AVX3_DL kernel (kPackedMinTokens): token tiles and tails (37 = 4·8 + 5),
  // leftover rows (70 = 2·32 + 6), k % 4 tails (203, 2) and k < 4 (2: no packed part at all).
  for (const Shape s : {Shape{1, 3, 1, 0}, Shape{4, 4, 64, 0}, Shape{5, 9, 63, 0}, Shape{9, 13, 200, 0},
                        Shape{2, 5, 1000, 0}, Shape{7, 8, 4096, 0}, Shape{37, 70, 203, 0}, Shape{16, 64, 4096, 0},
                        Shape{24, 33, 2, 0}, Shape{19, 96, 1001, 0}}) {
    SCOPED_TRACE(testing::Message() << "n=" << s.n << " m=" << s.m << " k=" << s.k);
    const auto w = RandomI8(static_cast<size_t>(s.m * s.k), 41, -128, 127);
    const auto a = RandomI8(static_cast<size_t>(s.n * s.k), 42, -127, 127);
    const auto sums = Int8RowSums(w.data(), s.m, s.k);
    std::vector<int32_t> want(static_cast<size_t>(s.n * s.m));
    ref::GemmI8(a.data(), s.n, s.k, w.data(), s.m, want.data());
    ForEachTarget([&] {
      std::vector<int32_t> got(want.size(), -1);
      GemmI8(a.data(), s.n, s.k, w.data(), sums.data(), s.m, got.data());
      EXPECT_EQ(got, want);
    });
  }
  // Extremes: every product at its largest magnitude (|a| = 127, w = −128 or 127) over a long row, for one
  // token (dot-product kernel) and for 16 tokens × 32 rows (packed kernel).
  const int64_t k = 4096;
  for (const int64_t n : {1, 16}) {
    const int64_t m = n == 1 ? 1 : 32;
    for (const int wv : {-128, 127}) {
      SCOPED_TRACE(testing::Message() << "extreme n=" << n << " w=" << wv);
      const std::vector<int8_t> w(static_cast<size_t>(m * k), static_cast<int8_t>(wv));
      const std::vector<int8_t> a(static_cast<size_t>(n * k), static_cast<int8_t>(wv < 0 ? -127 : 127));
      const auto sums = Int8RowSums(w.data(), m, k);
      ForEachTarget([&] {
        std::vector<int32_t> got(static_cast<size_t>(n * m), 0);
        GemmI8(a.data(), n, k, w.data(), sums.data(), m, got.data());
        for (int32_t g : got) ASSERT_EQ(g, 127 * (wv < 0 ? 128 : 127) * k);
      });
    }
  }
}

TEST(QuantKernels, W8A8IsBitExactWithTwin) {
  // n ≥ 16 with m ≥ 32: the packed AVX3_DL kernel's float epilogue (plus its leftover rows, m = 33, 70).
  for (const Shape s : {Shape{1, 7, 256, 0}, Shape{6, 9, 333, 0}, Shape{17, 12, 512, 0}, Shape{40, 70, 333, 0},
                        Shape{16, 33, 1024, 0}}) {
    SCOPED_TRACE(testing::Message() << "n=" << s.n << " m=" << s.m << " k=" << s.k);
    const auto w = RandomI8(static_cast<size_t>(s.m * s.k), 51, -128, 127);
    auto ws = RandomF(static_cast<size_t>(s.m), 52);
    auto x = RandomF(static_cast<size_t>(s.n * s.k), 53);
    for (int64_t i = 0; i < s.k; ++i) x[static_cast<size_t>(i)] = 0.0f;  // token 0 all zeros: y = 0
    const auto sums = Int8RowSums(w.data(), s.m, s.k);
    std::vector<float> want(static_cast<size_t>(s.n * s.m));
    ref::MatMulW8A8(x.data(), s.n, s.k, w.data(), ws.data(), s.m, want.data());
    for (int64_t r = 0; r < s.m; ++r) ASSERT_EQ(want[static_cast<size_t>(r)], 0.0f);
    ForEachTarget([&] {
      std::vector<float> got(want.size(), NAN);
      MatMulW8A8(x.data(), s.n, s.k, w.data(), ws.data(), sums.data(), s.m, got.data());
      EXPECT_EQ(got, want);
    });
  }
}

TEST(QuantKernels, PeakLoopsCountWork) {
  EXPECT_GT(Int8PeakLoop(1000), 0.0);
  EXPECT_GT(F32FmaPeakLoop(1000), 0.0);
}

}  // namespace
}  // namespace qforge::kernels
