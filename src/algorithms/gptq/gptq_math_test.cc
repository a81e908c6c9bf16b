// GPTQ math beyond the reference goldens: the llm-compressor convention, option validation, fallbacks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "algorithms/gptq/gptq_math.h"

#include "algorithms/gptq/cholesky.h"
#include "core/error.h"
#include "core/half.h"

namespace qforge::algorithms::gptq {
namespace {

struct Problem {
  int64_t rows, cols;
  std::vector<float> w, h, x;
};

// Correlated inputs (like the goldens' recipe, smaller): x = z + f·B, a few heavy and dead channels.
Problem MakeProblem(int64_t rows, int64_t cols, int64_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  Problem p{rows, cols, {}, {}, {}};
  p.w.resize(static_cast<size_t>(rows * cols));
  for (float& v : p.w) v = 0.05f * n01(rng);
  const int64_t factors = 4;
  std::vector<float> b(static_cast<size_t>(factors * cols));
  for (float& v : b) v = 0.5f * n01(rng);
  p.x.resize(static_cast<size_t>(tokens * cols));
  for (int64_t t = 0; t < tokens; ++t) {
    float f[factors];
    for (float& v : f) v = n01(rng);
    for (int64_t c = 0; c < cols; ++c) {
      float v = 0.7f * n01(rng);
      for (int64_t k = 0; k < factors; ++k) v += f[k] * b[static_cast<size_t>(k * cols + c)];
      if (c % 17 == 3) v *= 8.0f;   // heavy channels
      if (c == cols - 2) v = 0.0f;  // a dead channel
      p.x[static_cast<size_t>(t * cols + c)] = v;
    }
  }
  p.h.assign(static_cast<size_t>(cols * cols), 0.0f);
  for (int64_t i = 0; i < cols; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      double s = 0;
      for (int64_t t = 0; t < tokens; ++t) s += double(p.x[t * cols + i]) * p.x[t * cols + j];
      p.h[static_cast<size_t>(i * cols + j)] = static_cast<float>(2.0 * s / static_cast<double>(tokens));
    }
  }
  return p;
}

double OutErr(const Problem& p, const std::vector<float>& wq) {
  const int64_t tokens = static_cast<int64_t>(p.x.size()) / p.cols;
  double num = 0, den = 0;
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t t = 0; t < tokens; ++t) {
      double a = 0, b = 0;
      for (int64_t c = 0; c < p.cols; ++c) {
        const double x = p.x[static_cast<size_t>(t * p.cols + c)];
        a += (double(p.w[r * p.cols + c]) - wq[r * p.cols + c]) * x;
        b += double(p.w[r * p.cols + c]) * x;
      }
      num += a * a;
      den += b * b;
    }
  }
  return std::sqrt(num / den);
}

// RTN with the same rule and contiguous groups of the given weight.
std::vector<float> Rtn(const Problem& p, const Options& o) {
  const int64_t gs = o.group_size == -1 ? p.cols : o.group_size;
  std::vector<float> out(p.w.size());
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t c0 = 0; c0 < p.cols; c0 += gs) {
      const int64_t n = std::min(gs, p.cols - c0);
      const QParams q = ComputeQParams(&p.w[r * p.cols + c0], n, 1, o.bits, o.symmetric, RuleFor(o.convention));
      for (int64_t c = c0; c < c0 + n; ++c) {
        out[r * p.cols + c] = Dequantize(QuantizeCode(p.w[r * p.cols + c], q, o.bits, RuleFor(o.convention)), q);
      }
    }
  }
  return out;
}

TEST(GptqMath, LlmCompressorStaticActorderBeatsRtnAndKeepsUpfrontScales) {
  const Problem p = MakeProblem(48, 96, 512, 7);
  for (int64_t gs : {int64_t{32}, int64_t{-1}}) {
    for (bool sym : {true, false}) {
      Options o;
      o.group_size = gs;
      o.symmetric = sym;
      o.block_size = 32;  // several blocks
      const Result res = Quantize(p.w.data(), p.h.data(), p.rows, p.cols, o);
      // Scales come from the unmodified weight (before the dead-column fix), contiguous natural groups.
      const int64_t g = gs == -1 ? p.cols : gs;
      for (int64_t r = 0; r < p.rows; ++r) {
        for (int64_t k = 0; k < res.groups; ++k) {
          const QParams q = ComputeQParams(&p.w[r * p.cols + k * g], std::min(g, p.cols - k * g), 1, 4, sym,
                                           QParamRule::kCompressedTensors);
          ASSERT_EQ(res.scale[r * res.groups + k], q.scale);
          ASSERT_EQ(res.zero[r * res.groups + k], q.zero);
        }
      }
      EXPECT_FALSE(res.g_idx_needed());
      EXPECT_EQ(res.perm.size(), static_cast<size_t>(p.cols));
      EXPECT_EQ(res.dead_columns, 1);
      const double gptq = OutErr(p, res.wq), rtn = OutErr(p, Rtn(p, o));
      EXPECT_LT(gptq, 0.9 * rtn) << "gs " << gs << " sym " << sym;  // GPTQ must clearly beat RTN
    }
  }
}

TEST(GptqMath, GroupActorderStoresPermutedGidx) {
  const Problem p = MakeProblem(16, 64, 256, 3);
  Options o;
  o.group_size = 16;
  o.actorder = ActOrder::kGroup;
  const Result res = Quantize(p.w.data(), p.h.data(), p.rows, p.cols, o);
  ASSERT_EQ(res.perm.size(), 64u);
  EXPECT_TRUE(res.g_idx_needed());
  for (int64_t k = 0; k < p.cols; ++k) EXPECT_EQ(res.g_idx[res.perm[k]], k / 16);
  // Parameters from the permuted original weight.
  std::vector<float> tmp(16);
  for (int64_t gi = 0; gi < 4; ++gi) {
    for (int64_t i = 0; i < 16; ++i) tmp[i] = p.w[5 * p.cols + res.perm[gi * 16 + i]];
    const QParams q = ComputeQParams(tmp.data(), 16, 1, 4, true, QParamRule::kCompressedTensors);
    EXPECT_EQ(res.scale[5 * 4 + gi], q.scale);
  }
}

// q/k/v (gate/up) share one factorisation: solving two different weights against one Factorization must
// give exactly what Quantize (which factors H itself) gives, for every activation order and convention.
TEST(GptqMath, SharedFactorizationIsBitIdentical) {
  const Problem p = MakeProblem(48, 96, 512, 11);
  std::mt19937 rng(5);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  std::vector<float> w2(static_cast<size_t>(24 * p.cols));
  for (float& v : w2) v = 0.03f * n01(rng);
  struct Case {
    ActOrder actorder;
    Convention convention;
    bool f64;
  };
  const Case cases[] = {{ActOrder::kStatic, Convention::kLlmCompressor, true},
                        {ActOrder::kGroup, Convention::kLlmCompressor, true},
                        {ActOrder::kNone, Convention::kLlmCompressor, false},
                        {ActOrder::kNone, Convention::kReference, true},
                        {ActOrder::kGroup, Convention::kReference, false}};
  for (const Case& c : cases) {
    Options o;
    o.group_size = 32;
    o.block_size = 32;
    o.actorder = c.actorder;
    o.convention = c.convention;
    o.solve_in_f64 = c.f64;
    const Factorization f = Factorize(p.h, p.cols, o);
    EXPECT_EQ(f.dead_columns, 1);
    const std::pair<const std::vector<float>*, int64_t> weights[] = {{&p.w, p.rows}, {&w2, 24}};
    for (const auto& [w, rows] : weights) {
      const Result shared = Solve(w->data(), rows, f, o);
      const Result own = Quantize(w->data(), p.h.data(), rows, p.cols, o);
      EXPECT_EQ(shared.codes, own.codes);
      EXPECT_EQ(shared.scale, own.scale);
      EXPECT_EQ(shared.zero, own.zero);
      EXPECT_EQ(shared.wq, own.wq);
      EXPECT_EQ(shared.g_idx, own.g_idx);
      EXPECT_EQ(shared.perm, own.perm);
      EXPECT_EQ(shared.loss, own.loss);
      EXPECT_EQ(shared.dead_columns, 1);
    }
  }
}

TEST(GptqMath, HessianQuadFormUsesTheStoredH) {
  const Problem p = MakeProblem(6, 1100, 24, 3);  // three panels of the Gram matrix
  Options o;
  const Factorization f = Factorize(p.h, p.cols, o);  // U overwrites the upper triangle; H stays below
  std::mt19937 rng(9);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  std::vector<float> d(static_cast<size_t>(p.rows * p.cols));
  for (float& v : d) v = n01(rng);
  double want = 0.0;
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t i = 0; i < p.cols; ++i) {
      for (int64_t j = 0; j < p.cols; ++j) {
        want += double(d[r * p.cols + i]) * p.h[i * p.cols + j] * d[r * p.cols + j];
      }
    }
  }
  // float32 products summed by BLAS against a float64 sum: a few float32 ulps of the total.
  constexpr double kRelTol = 1e-5;
  EXPECT_NEAR(HessianQuadForm(f, d.data(), p.rows), want, kRelTol * std::abs(want));
}

// llm-compressor dequantizes with the scale's dtype (bf16 for a bf16 model) inside the loop. Oracle: the
// column loop written out plainly (one block, natural order) with q rounded to bf16 before the error is
// propagated, using the factor U that Factorize produced.
TEST(GptqMath, DequantRoundBf16IsPropagated) {
  Problem p = MakeProblem(48, 96, 512, 13);
  for (float& v : p.w) v = RoundBf16(v);
  Options o;
  o.group_size = 32;
  o.actorder = ActOrder::kNone;
  o.block_size = p.cols;  // one block: the plain loop below has the same operation order
  const int64_t groups = p.cols / 32;
  std::vector<QParams> params(static_cast<size_t>(p.rows * groups));
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      QParams q = ComputeQParams(&p.w[r * p.cols + g * 32], 32, 1, 4, true, QParamRule::kCompressedTensors);
      q.scale = RoundBf16(q.scale);
      params[static_cast<size_t>(r * groups + g)] = q;
    }
  }
  o.upfront_params = &params;
  const Factorization f = Factorize(p.h, p.cols, o);
  const Result plain = Solve(p.w.data(), p.rows, f, o);
  o.dequant_round = Options::Round::kBF16;
  const Result rounded = Solve(p.w.data(), p.rows, f, o);

  std::vector<uint8_t> want(p.w.size());
  const size_t C = static_cast<size_t>(p.cols);
  for (int64_t r = 0; r < p.rows; ++r) {
    std::vector<float> w(p.w.begin() + r * p.cols, p.w.begin() + (r + 1) * p.cols);
    for (size_t j = 0; j < C; ++j) {
      if (f.dead[j]) w[j] = 0.0f;
    }
    for (size_t k = 0; k < C; ++k) {
      const QParams& q = params[static_cast<size_t>(r * groups) + k / 32];
      const int32_t code = QuantizeCode(w[k], q, 4, QParamRule::kCompressedTensors);
      const float deq = RoundBf16(Dequantize(code, q));
      want[r * C + k] = static_cast<uint8_t>(code);
      const float e = (w[k] - deq) / f.u_diag[k];
      for (size_t j = k + 1; j < C; ++j) w[j] -= e * f.m[k * C + j];
    }
  }
  EXPECT_EQ(rounded.codes, want);
  EXPECT_NE(plain.codes, want);  // the rounding matters on this problem, so the check above can fail
  for (float v : rounded.wq) ASSERT_EQ(v, RoundBf16(v));
}

// The packed (RFP) reversed float64 factorisation, odd and even n: U^T U A = I, and U equals the
// full-storage potrf/potri/potrf path.
TEST(GptqMath, PackedCholeskyMatchesFullStorage) {
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{33}}) {
    SCOPED_TRACE(n);
    const size_t c = static_cast<size_t>(n);
    std::mt19937 rng(static_cast<uint32_t>(n));
    std::normal_distribution<double> n01;
    std::vector<double> b(c * c);
    for (double& v : b) v = n01(rng);
    std::vector<double> a(c * c);  // B B^T + n I, symmetric positive definite
    for (size_t i = 0; i < c; ++i) {
      for (size_t j = 0; j < c; ++j) {
        double s = i == j ? static_cast<double>(n) : 0.0;
        for (size_t k = 0; k < c; ++k) s += b[i * c + k] * b[j * c + k];
        a[i * c + j] = s;
      }
    }
    std::vector<float> full(c * c);
    for (size_t i = 0; i < c * c; ++i) full[i] = static_cast<float>(a[i]);
    std::vector<double> rfp(c * (c + 1) / 2);  // B = J A J
    for (size_t j = 0; j < c; ++j) {
      for (size_t i = j; i < c; ++i) {
        rfp[RfpLowerIndex(i, j, c)] = static_cast<double>(full[(c - 1 - i) * c + (c - 1 - j)]);
      }
    }
    ASSERT_TRUE(InverseCholeskyUpper(full, n, true));
    ASSERT_TRUE(ReversedCholeskyInverseRfp(rfp, n));
    auto u = [&](size_t i, size_t j) { return i <= j ? rfp[RfpLowerIndex(c - 1 - i, c - 1 - j, c)] : 0.0; };
    // Both are float64 factorisations of the same float32 A; `full` is cast to float32 at the end.
    constexpr double kF32Tol = 1e-6;
    for (size_t i = 0; i < c; ++i) {
      for (size_t j = 0; j < c; ++j) {
        EXPECT_NEAR(full[i * c + j], u(i, j), kF32Tol * std::abs(u(i, i)) + 1e-12) << i << "," << j;
        double s = 0.0;  // (U^T U A)[i][j]
        for (size_t k = 0; k < c; ++k) {
          double utu = 0.0;
          for (size_t l = 0; l < c; ++l) utu += u(l, i) * u(l, k);
          s += utu * static_cast<double>(static_cast<float>(a[k * c + j]));
        }
        constexpr double kIdentityTol = 1e-9;  // float64 arithmetic on a well-conditioned A
        EXPECT_NEAR(s, i == j ? 1.0 : 0.0, kIdentityTol);
      }
    }
  }
}

TEST(GptqMath, DiagonalHessianIsRtn) {
  // With a diagonal H, U is diagonal: no error feedback, GPTQ degenerates to rounding.
  Problem p = MakeProblem(8, 40, 16, 11);
  std::fill(p.h.begin(), p.h.end(), 0.0f);
  for (int64_t j = 0; j < p.cols; ++j) p.h[j * p.cols + j] = 1.0f + static_cast<float>(j);
  Options o;
  o.group_size = 8;
  o.actorder = ActOrder::kNone;
  const Result res = Quantize(p.w.data(), p.h.data(), p.rows, p.cols, o);
  EXPECT_EQ(res.wq, Rtn(p, o));
}

TEST(GptqMath, NotPositiveDefinite) {
  // An indefinite H stays indefinite after 1% dampening.
  const std::vector<float> h = {1.0f, 2.0f, 2.0f, 1.0f};
  const std::vector<float> w = {0.3f, -0.2f, 0.1f, 0.05f};
  Options o;
  o.group_size = -1;
  const Result res = Quantize(w.data(), h.data(), 2, 2, o);  // llm-compressor: falls back to rounding
  EXPECT_TRUE(res.cholesky_failed);
  Problem p{2, 2, w, h, {}};
  EXPECT_EQ(res.wq, Rtn(p, o));
  o.convention = Convention::kReference;
  EXPECT_THROW(Quantize(w.data(), h.data(), 2, 2, o), Error);
}

TEST(GptqMath, RejectsBadOptions) {
  const std::vector<float> w(4, 0.1f), h = {1, 0, 0, 1};
  auto run = [&](auto&& edit) {
    Options o;
    edit(o);
    return Quantize(w.data(), h.data(), 2, 2, o);
  };
  EXPECT_THROW(run([](Options& o) { o.bits = 9; }), Error);
  EXPECT_THROW(run([](Options& o) { o.group_size = 0; }), Error);
  EXPECT_THROW(run([](Options& o) { o.block_size = 0; }), Error);
  EXPECT_THROW(run([](Options& o) { o.dampening_frac = -1; }), Error);
  EXPECT_THROW(run([](Options& o) { o.static_groups = true; }), Error);  // llm-compressor convention
  EXPECT_NO_THROW(run([](Options& o) { o.group_size = 128; }));          // one partial group
}

TEST(QParams, CompressedTensorsRoundsAfterAddingZeroPoint) {
  // FORMATS.md §2.8 worked example (asymmetric int4): s = (0.75 + 0.73828125) / 15 in float32.
  const std::vector<float> x = {0.75f, -0.30078125f, 0.050048828125f, 0.2001953125f,
                                -0.73828125f, 0.10009765625f, 0.400390625f, -0.125f};
  const QParams p = ComputeQParams(x.data(), 8, 1, 4, false, QParamRule::kCompressedTensors);
  EXPECT_EQ(p.zero - 8.0f, -1.0f);  // zp = -1
  const QParams s = ComputeQParams(x.data(), 8, 1, 4, true, QParamRule::kCompressedTensors);
  EXPECT_EQ(s.scale, 0.75f / 7.5f);
  EXPECT_EQ(QuantizeCode(0.75f, s, 4, QParamRule::kCompressedTensors) - 8, 7);    // 7.5 clamps to 7
  EXPECT_EQ(QuantizeCode(-0.75f, s, 4, QParamRule::kCompressedTensors) - 8, -8);  // -7.5 -> -8
  // Reference rule on a sym group without negatives: scale = max / 15, zero 8 (FORMATS.md §3.4).
  const std::vector<float> pos = {0.5f, 1.5f};
  EXPECT_EQ(ComputeQParams(pos.data(), 2, 1, 4, true, QParamRule::kReference).scale, 1.5f / 15.0f);
}

}  // namespace
}  // namespace qforge::algorithms::gptq
