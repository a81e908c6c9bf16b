// GGUF dot products: the dispatched kernels (every compiled and supported Highway target) and the portable
// integer code against the float reference twin VecDotRef; activation quantization against its definition.
#include "codecs/ggml/dot/vec_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "codecs/ggml/ggml_codecs.h"
#include "codecs/ggml/quant_math.h"
#include "core/error.h"
#include "hwy/targets.h"

namespace qforge::codecs::ggml {
namespace {

const DType kTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                        DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// Integer block sums are exact everywhere; what differs is the float accumulation of k / 32 (or k / 256)
// block terms and the order of the scale products: a few float ulps of Σ|w·a|. 1e-5 · Σ|w·a| is ≥ 20×
// that at k ≤ 4096 and still catches any wrong code (one code step of one element is ≳ 1e-4 of Σ|w·a|
// here, since the rows have ≤ 4096 elements of similar magnitude).
constexpr double kDotRelTol = 1e-5;
// Q4_1 / Q5_1: the activation's Q8_1 `s` is f16(d · Σq) with the unrounded d, while the element values are
// f16(d) · q; the min term m · s therefore carries two f16 roundings (each ≤ 2^-11 relative) that the
// reference, which sums f16(d) · q element by element, does not.
constexpr double kQ8_1SumRounding = 2.0 / 2048;

std::vector<float> Normal(int64_t n, uint32_t seed, float outlier_every = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)] = g(rng);
    if (outlier_every > 0 && i % static_cast<int64_t>(outlier_every) == 7) v[static_cast<size_t>(i)] *= 40.0f;
  }
  return v;
}

struct Case {
  DType type;
  int64_t m, k, n;
  std::vector<uint8_t> w;   // m rows
  std::vector<uint32_t> a;  // n activation rows (4-byte aligned)
  size_t a_bytes;
  std::vector<double> ref;  // [n, m]
  std::vector<double> tol;  // [n, m]
};

Case MakeCase(DType t, int64_t m, int64_t k, int64_t n, uint32_t seed) {
  Case c{t, m, k, n, {}, {}, 0, {}, {}};
  const ActFormat f = ActFormatFor(t);
  const auto wf = Normal(m * k, seed, 97);
  c.w.resize(RowBytes(t, k) * static_cast<size_t>(m));
  QuantizeRows(t, wf.data(), c.w.data(), m, k, nullptr);
  const auto xf = Normal(n * k, seed + 1, 61);
  c.a_bytes = ActRowBytes(f, k);
  c.a.resize((c.a_bytes * static_cast<size_t>(n) + 3) / 4);
  auto* a = reinterpret_cast<uint8_t*>(c.a.data());
  for (int64_t t2 = 0; t2 < n; ++t2) QuantizeActRow(f, xf.data() + t2 * k, k, a + t2 * c.a_bytes);
  std::vector<float> wd(static_cast<size_t>(k)), ad(static_cast<size_t>(k));
  for (int64_t tok = 0; tok < n; ++tok) {
    DequantizeActRow(f, a + tok * c.a_bytes, k, ad.data());
    for (int64_t r = 0; r < m; ++r) {
      const uint8_t* wr = c.w.data() + r * RowBytes(t, k);
      DequantizeRowRef(t, wr, wd.data(), k);
      double abs_sum = 0, q8_1_min = 0;
      for (int64_t i = 0; i < k; ++i) abs_sum += std::fabs(static_cast<double>(wd[static_cast<size_t>(i)]) * ad[static_cast<size_t>(i)]);
      if (f == ActFormat::kQ8_1) {
        const size_t wb = Traits(t).type_size;
        for (int64_t b = 0; b < k / 32; ++b) {
          const uint8_t* blk = wr + b * wb;
          const auto* act = reinterpret_cast<const BlockQ8_1Act*>(a + tok * c.a_bytes) + b;
          q8_1_min += std::fabs(FromHalf(static_cast<uint16_t>(blk[2] | (blk[3] << 8))) * FromHalf(act->s));
        }
      }
      c.ref.push_back(VecDotRef(t, wr, a + tok * c.a_bytes, k));
      c.tol.push_back(kDotRelTol * abs_sum + kQ8_1SumRounding * q8_1_min + 1e-30);
    }
  }
  return c;
}

TEST(GgufDot, GenericIntegerCodeMatchesReference) {
  for (DType t : kTypes) {
    const Case c = MakeCase(t, 5, 1024, 3, 7);
    const auto* a = reinterpret_cast<const uint8_t*>(c.a.data());
    for (int64_t tok = 0; tok < c.n; ++tok)
      for (int64_t r = 0; r < c.m; ++r) {
        const float got = VecDotGeneric(t, c.w.data() + r * RowBytes(t, c.k), a + tok * c.a_bytes, c.k);
        const size_t i = static_cast<size_t>(tok * c.m + r);
        EXPECT_NEAR(got, c.ref[i], c.tol[i]) << Name(t) << " row " << r << " token " << tok;
      }
  }
}

TEST(GgufDot, KernelsMatchReferenceOnEveryTarget) {
  int targets = 0, simd_types = 0;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    ASSERT_EQ(GgufDotTarget(), hwy::TargetName(target));
    ++targets;
    for (DType t : kTypes) {
      simd_types += GgufDotHasSimd(t) ? 1 : 0;
      // 1..19 tokens: every token-tile width (8 on AVX-512 targets, else 4; and each tail) and tiles plus tails.
      for (const int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 11, 19}) {
        const Case c = MakeCase(t, 6, 512, n, static_cast<uint32_t>(11 * n));
        std::vector<float> y(static_cast<size_t>(n * c.m), NAN);
        GgufDotRows(t, c.w.data(), c.k, c.a.data(), n, 0, c.m, y.data(), c.m);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], c.ref[i], c.tol[i]) << Name(t) << " on " << hwy::TargetName(target) << " n=" << n;
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
  std::printf("[ dot ] %d targets, %d (type, target) pairs with a vector kernel\n", targets, simd_types);
  EXPECT_GE(targets, 1);
}

TEST(GgufDot, MatMulQuantizesActivationsAndFillsEveryRow) {
  for (DType t : {DType::kQ4_K, DType::kQ8_0, DType::kQ5_1}) {
    const int64_t m = 37, k = 768, n = 5;
    const auto wf = Normal(m * k, 3), xf = Normal(n * k, 4);
    std::vector<uint8_t> w(RowBytes(t, k) * m);
    QuantizeRows(t, wf.data(), w.data(), m, k, nullptr);
    const int64_t ldy = m + 3;
    std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
    GgufMatMul(t, w.data(), m, k, xf.data(), n, y.data(), ldy);
    const ActFormat f = ActFormatFor(t);
    std::vector<uint32_t> a((ActRowBytes(f, k) + 3) / 4);
    std::vector<float> wd(k), xd(k);
    for (int64_t tok = 0; tok < n; ++tok) {
      QuantizeActRow(f, xf.data() + tok * k, k, a.data());
      for (int64_t r = 0; r < m; ++r) {
        const double ref = VecDotRef(t, w.data() + r * RowBytes(t, k), a.data(), k);
        // Against the unquantized product too: the Q8 activation error is ≤ 1/254 of each block's absmax.
        DequantizeRowRef(t, w.data() + r * RowBytes(t, k), wd.data(), k);
        double exact = 0, abs_sum = 0;
        for (int64_t i = 0; i < k; ++i) {
          exact += static_cast<double>(wd[i]) * xf[tok * k + i];
          abs_sum += std::fabs(static_cast<double>(wd[i]) * xf[tok * k + i]);
        }
        const float got = y[tok * ldy + r];
        EXPECT_NEAR(got, ref, kDotRelTol * abs_sum + kQ8_1SumRounding * abs_sum) << Name(t);
        EXPECT_NEAR(got, exact, 0.02 * abs_sum) << Name(t);
      }
      for (int64_t r = m; r < ldy; ++r) EXPECT_EQ(y[tok * ldy + r], -7.0f);  // padding untouched
    }
  }
}

TEST(GgufDot, ActivationQuantizationFollowsTheDefinition) {
  const auto x = Normal(1024, 9, 50);
  {  // Q8_K: d = 1 / (−127 / max), bsums are the 16-element sums, |x − d·q| ≤ |d| / 2
    std::vector<BlockQ8_KAct> b(4);
    QuantizeActRow(ActFormat::kQ8_K, x.data(), 1024, b.data());
    for (int blk = 0; blk < 4; ++blk) {
      float amax = 0, max = 0;
      for (int j = 0; j < 256; ++j)
        if (std::fabs(x[blk * 256 + j]) > amax) amax = std::fabs(max = x[blk * 256 + j]);
      EXPECT_EQ(b[blk].d, 1.0f / (-127.0f / max));
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int j = 0; j < 16; ++j) s += b[blk].qs[16 * g + j];
        EXPECT_EQ(b[blk].bsums[g], s);
      }
      for (int j = 0; j < 256; ++j)
        EXPECT_LE(std::fabs(x[blk * 256 + j] - b[blk].d * b[blk].qs[j]), std::fabs(b[blk].d) * 0.5001f);
    }
  }
  {  // Q8_1: s = f16(d · Σq); Q8_0 has the same d and codes
    std::vector<BlockQ8_1Act> b(32);
    std::vector<uint8_t> b0(34 * 32);
    QuantizeActRow(ActFormat::kQ8_1, x.data(), 1024, b.data());
    QuantizeActRow(ActFormat::kQ8_0, x.data(), 1024, b0.data());
    for (int blk = 0; blk < 32; ++blk) {
      int s = 0;
      for (int j = 0; j < 32; ++j) s += b[blk].qs[j];
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
      EXPECT_EQ(b[blk].d, ToHalf(amax / 127.0f));
      EXPECT_EQ(b[blk].s, ToHalf(amax / 127.0f * static_cast<float>(s)));
      EXPECT_EQ(0, std::memcmp(b0.data() + 34 * blk + 2, b[blk].qs, 32));
      EXPECT_EQ(0, std::memcmp(b0.data() + 34 * blk, &b[blk].d, 2));
    }
  }
  {  // all-zero blocks quantize to zeros and dot to exactly zero
    std::vector<float> z(256, 0.0f);
    std::vector<BlockQ8_KAct> b(1);
    QuantizeActRow(ActFormat::kQ8_K, z.data(), 256, b.data());
    EXPECT_EQ(b[0].d, 0.0f);
    for (int j = 0; j < 256; ++j) ASSERT_EQ(b[0].qs[j], 0);
  }
}

TEST(GgufDot, TypesWithoutIntegerDotAreRejected) {
  EXPECT_THROW(ActFormatFor(DType::kF16), Error);
  EXPECT_THROW(ActFormatFor(DType::kF32), Error);
}

}  // namespace
}  // namespace qforge::codecs::ggml

namespace qforge::codecs::ggml {
namespace {

// A token's outputs do not depend on how many other tokens share the call (every token tile width runs
// the same per-token arithmetic): bit-identical.
TEST(GgufDot, TokenResultsDoNotDependOnBatchSize) {
  for (DType t : kTypes) {
    for (const int64_t k : {int64_t{256}, int64_t{512}}) {
      const int64_t m = 172, n = 26;
      const auto wf = Normal(m * k, 5, 13), xf = Normal(n * k, 6, 29);
      std::vector<uint8_t> w(RowBytes(t, k) * m);
      QuantizeRows(t, wf.data(), w.data(), m, k, nullptr);
      std::vector<float> full(static_cast<size_t>(n * m));
      GgufMatMul(t, w.data(), m, k, xf.data(), n, full.data(), m);
      for (const int64_t prefix : {1, 2, 3, 5, 8, 9, 15}) {
        std::vector<float> part(static_cast<size_t>(prefix * m));
        GgufMatMul(t, w.data(), m, k, xf.data(), prefix, part.data(), m);
        for (int64_t i = 0; i < prefix * m; ++i)
          ASSERT_EQ(part[static_cast<size_t>(i)], full[static_cast<size_t>(i)]) << Name(t) << " k=" << k << " prefix " << prefix << " i " << i;
      }
    }
  }
}

}  // namespace
}  // namespace qforge::codecs::ggml
