// GPTQ math beyond the reference goldens: the llm-compressor convention, option validation, fallbacks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "algorithms/gptq/gptq_math.h"
#include "core/error.h"

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
