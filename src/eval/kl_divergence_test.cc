#include "eval/kl_divergence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "eval/base_log_probs.h"

namespace qforge::eval {
namespace {

// Deterministic pseudo-random logits in [−4, 4] for (window content, position).
LogitsFn Noisy(int64_t vocab, uint32_t seed, float scale = 1.0f) {
  return [=](std::span<const int32_t> w, float* logits) {
    for (size_t i = 0; i < w.size(); ++i) {
      std::mt19937 rng(seed + 7919u * static_cast<uint32_t>(w[i]) + 31u * static_cast<uint32_t>(i));
      std::uniform_real_distribution<float> u(-4.0f, 4.0f);
      const auto n = static_cast<size_t>(vocab);
      for (size_t v = 0; v < n; ++v) logits[i * n + v] = scale * u(rng);
    }
  };
}

std::vector<int32_t> Text(size_t n, int32_t vocab) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 13 + 5) % static_cast<size_t>(vocab));
  return t;
}

WindowPlan Plan(int64_t n_tokens, int64_t n_ctx) {
  WindowOptions o;
  o.n_ctx = n_ctx;
  o.bos_id = 1;
  return PlanWindows(n_tokens, o, "test");
}

TEST(KlDivergence, IdenticalModelsAgreeEverywhere) {
  constexpr int64_t kVocab = 50, kCtx = 32;
  const auto text = Text(200, kVocab);
  const LogitsFn fn = Noisy(kVocab, 11);
  for (const bool exact : {false, true}) {
    KldOptions o;
    o.exact_base = exact;
    const KldResult r = KlDivergence(text, kVocab, fn, fn, Plan(200, kCtx), o);
    const KldReport k = r.kld.Report();
    EXPECT_EQ(k.count, 6u * 15u);
    // Exact: KLD is a sum of p·0 terms. Encoded base: the u16 code error (≤ scale/2 = 8/65535/2 nats per
    // log-prob here) bounds |KLD| by about that much.
    const double kTol = exact ? 1e-12 : 1e-4;
    EXPECT_NEAR(k.kld.mean.value, 0.0, kTol) << exact;
    EXPECT_NEAR(k.kld.max, 0.0, kTol);
    EXPECT_NEAR(k.kld.min, 0.0, kTol);
    EXPECT_DOUBLE_EQ(k.same_top.value, 1.0);
    EXPECT_DOUBLE_EQ(k.same_top.error, 0.0);
    EXPECT_NEAR(k.rms_dp.value, 0.0, exact ? 1e-12 : 1e-4);
    EXPECT_NEAR(k.ln_ppl_ratio.value, 0.0, exact ? 1e-12 : 1e-4);
    EXPECT_NEAR(k.ppl.value, r.model.nll.Ppl(), 1e-9 * k.ppl.value);
    EXPECT_DOUBLE_EQ(r.model.nll.Ppl(), r.base.nll.Ppl());
    if (exact) {
      EXPECT_NEAR(k.cor_ln_ppl, 1.0, 1e-9);
    }
  }
}

TEST(KlDivergence, TwoTokenDistributionsByHand) {
  // base p = (1/2, 1/2), model q = (3/4, 1/4): KL(p‖q) = ½ ln(2/3) + ½ ln 2 = ½ ln(4/3).
  const std::vector<float> base = {0.0f, 0.0f};
  const std::vector<float> model = {std::log(3.0f), 0.0f};
  const double kl = 0.5 * std::log(4.0 / 3.0);
  const TokenComparison exact = CompareToken(base, model, 1, true);
  EXPECT_NEAR(exact.kld, kl, 1e-7);
  EXPECT_NEAR(exact.nll, std::log(4.0), 1e-6);
  EXPECT_NEAR(exact.nll_base, std::log(2.0), 1e-6);
  EXPECT_NEAR(exact.dp, 0.25 - 0.5, 1e-6);
  EXPECT_TRUE(exact.same_top);  // base tie → first index 0; model argmax 0
  // Encoded base: scale = 0 (flat row), every code 0, lp = −ln 2 exactly up to f32.
  const TokenComparison coded = CompareToken(base, model, 1, false);
  EXPECT_NEAR(coded.kld, kl, 1e-6);
  EXPECT_NEAR(coded.nll_base, std::log(2.0), 1e-6);
  // Top tokens disagree: base prefers 1, model 0.
  const std::vector<float> base1 = {0.0f, 1.0f};
  EXPECT_FALSE(CompareToken(base1, model, 1, true).same_top);
  EXPECT_FALSE(CompareToken(base1, model, 1, false).same_top);
}

TEST(KlDivergence, EncodedBaseMatchesExactToTheCodeResolution) {
  constexpr int64_t kVocab = 300, kCtx = 64;
  const auto text = Text(256, kVocab);
  KldOptions exact_o, coded_o;
  exact_o.exact_base = true;
  const LogitsFn base = Noisy(kVocab, 5), model = Noisy(kVocab, 6, 0.9f);
  const KldReport e = KlDivergence(text, kVocab, base, model, Plan(256, kCtx), exact_o).kld.Report();
  const KldReport c = KlDivergence(text, kVocab, base, model, Plan(256, kCtx), coded_o).kld.Report();
  ASSERT_EQ(e.count, 4u * 31u);
  EXPECT_GT(e.kld.mean.value, 0.1);  // the models really differ
  // Logits span 8 nats here → code step 8/65535 ≈ 1.2e-4 nats: KLD differs by at most ~that.
  constexpr double kCodeTol = 2e-4;
  EXPECT_NEAR(c.kld.mean.value, e.kld.mean.value, kCodeTol);
  EXPECT_NEAR(c.ppl_base.value, e.ppl_base.value, e.ppl_base.value * kCodeTol);
  EXPECT_DOUBLE_EQ(c.ppl.value, e.ppl.value);  // the model side is exact in both
  EXPECT_GT(e.kld.max, e.kld.p99);
  EXPECT_GE(e.kld.p99, e.kld.median);
  EXPECT_GE(e.kld.median, e.kld.min);
  EXPECT_GE(e.dp.p75, e.dp.median);
  EXPECT_GE(e.dp.median, e.dp.p25);
}

TEST(KlDivergence, ReportAggregatesFollowTheReferenceFormulas) {
  // Hand-made token results: check each aggregate against its formula (FORMATS.md §8.4).
  KldAccumulator acc;
  std::vector<TokenComparison> ts;
  for (int i = 0; i < 40; ++i) {
    TokenComparison t;
    t.nll = 1.0 + 0.1 * (i % 4);
    t.nll_base = 1.0 + 0.05 * (i % 5);
    t.kld = 0.01 * (i % 7);
    t.dp = 0.02f * static_cast<float>(i % 3) - 0.02f;
    t.same_top = i % 4 != 0;
    ts.push_back(t);
    acc.Add(t);
  }
  const KldReport r = acc.Report();
  double s = 0, s2 = 0, sb = 0, sb2 = 0, sx = 0, dp2 = 0, dp4 = 0, kl = 0;
  for (const auto& t : ts) {
    s += t.nll, s2 += t.nll * t.nll, sb += t.nll_base, sb2 += t.nll_base * t.nll_base;
    sx += t.nll * t.nll_base, kl += t.kld;
    dp2 += double(t.dp) * t.dp, dp4 += double(t.dp) * t.dp * t.dp * t.dp;
  }
  const double n = 40, m = s / n, mb = sb / n;
  const double um = std::sqrt((s2 / n - m * m) / (n - 1)), ub = std::sqrt((sb2 / n - mb * mb) / (n - 1));
  const double cov = (sx / n - m * mb) / (n - 1);
  EXPECT_NEAR(r.ppl.value, std::exp(m), 1e-12);
  EXPECT_NEAR(r.ppl.error, std::exp(m) * um, 1e-12);
  EXPECT_NEAR(r.ppl_base.value, std::exp(mb), 1e-12);
  EXPECT_NEAR(r.cor_ln_ppl, cov / (um * ub), 1e-9);
  EXPECT_NEAR(r.ln_ppl_ratio.value, m - mb, 1e-12);
  EXPECT_NEAR(r.ln_ppl_ratio.error, std::sqrt(um * um + ub * ub - 2 * cov), 1e-12);
  EXPECT_NEAR(r.ppl_ratio.value, std::exp(m - mb), 1e-12);
  EXPECT_NEAR(r.kld.mean.value, kl / n, 1e-12);
  EXPECT_NEAR(r.same_top.value, 0.75, 1e-15);
  EXPECT_NEAR(r.same_top.error, std::sqrt(0.75 * 0.25 / 39), 1e-15);
  const double rms = std::sqrt(dp2 / n);
  EXPECT_NEAR(r.rms_dp.value, rms, 1e-9);
  EXPECT_NEAR(r.rms_dp.error, 0.5 / rms * std::sqrt((dp4 / n - (dp2 / n) * (dp2 / n)) / (n - 1)), 1e-9);
  // KLD sample 0..0.06 in steps of 0.01 (i mod 7): median of 40 values, max 0.06, min 0.
  EXPECT_FLOAT_EQ(r.kld.max, 0.06f);
  EXPECT_FLOAT_EQ(r.kld.min, 0.0f);
  EXPECT_FLOAT_EQ(r.kld.median, 0.03f);  // sorted[19] = sorted[20] = 0.03
  EXPECT_FLOAT_EQ(r.dp.median, 0.0f);
}

TEST(BaseLogProbs, EncodingRoundTripsWithinHalfACodeStep) {
  std::vector<float> logits(1000);
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 5.0f);
  for (float& z : logits) z = d(rng);
  QuantizedLogProbs q;
  QuantizeLogProbs(logits, &q);
  const float zmax = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float z : logits) sum += std::exp(double(z) - zmax);
  const double lse = std::log(sum);
  EXPECT_NEAR(q.scale, 16.0f / 65535.0f, 1e-9f);  // spread > 16 nats: the floor is zmax − 16
  int floor_codes = 0, max_codes = 0;
  for (size_t v = 0; v < logits.size(); ++v) {
    const double lp = double(logits[v]) - zmax - lse;
    if (lp > -16.0 - lse + 1e-3) {
      EXPECT_NEAR(q.LogProb(v), lp, 0.5 * q.scale + 1e-5) << v;  // half a code step + f32 rounding
    } else {
      EXPECT_LE(q.codes[v], 1) << v;
      ++floor_codes;
    }
    max_codes += q.codes[v] == 65535;
  }
  EXPECT_EQ(max_codes, 1);
  EXPECT_GT(floor_codes, 0);
}

}  // namespace
}  // namespace qforge::eval
