#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "eval/log_softmax.h"

namespace qforge::eval {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<int32_t> Text(int64_t n, int32_t vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int32_t>((i * 7 + 3) % static_cast<size_t>(vocab));
  return t;
}

WindowPlan Plan(int64_t n_tokens, int64_t n_ctx, bool all = false, std::optional<int32_t> bos = std::nullopt) {
  WindowOptions o;
  o.n_ctx = n_ctx;
  o.score_all = all;
  o.bos_id = bos;
  return PlanWindows(n_tokens, o, "test");
}

TEST(Perplexity, UniformLogitsGiveTheVocabularySize) {
  constexpr int64_t kVocab = 7;
  const auto text = Text(100, kVocab);
  const LogitsFn uniform = [](std::span<const int32_t> w, float* logits) {
    std::fill(logits, logits + w.size() * kVocab, 0.5f);
  };
  const WindowPlan plan = Plan(100, 16);
  const PerplexityResult r = Perplexity(text, kVocab, uniform, plan);
  EXPECT_EQ(r.nll.count, 6u * 7u);  // 6 windows × (16 − 1 − 8)
  EXPECT_NEAR(r.nll.Ppl(), 7.0, 7.0 * 1e-12);
  // Every token has the same NLL: only the cancellation in Σx²/n − (Σx/n)² (≈1e-16 · ln²7) is left.
  EXPECT_NEAR(r.nll.PplError(), 0.0, 1e-6);
  ASSERT_EQ(r.running_ppl.size(), 6u);
  EXPECT_NEAR(r.running_ppl[0], 7.0, 7.0 * 1e-12);
}

// Logits that put `boost(i)` on the token that follows position i, 0 elsewhere, and NaN in every row the
// protocol must not read (rows before `first` and the last row) — a NaN leaking into the sums fails the test.
LogitsFn Peaked(int64_t vocab, int64_t first, std::function<float(size_t)> boost,
                std::vector<std::vector<int32_t>>* seen) {
  return [=](std::span<const int32_t> w, float* logits) {
    if (seen) seen->emplace_back(w.begin(), w.end());
    const auto v = static_cast<size_t>(vocab);
    for (size_t i = 0; i < w.size(); ++i) {
      float* row = logits + i * v;
      const bool used = i >= static_cast<size_t>(first) && i + 1 < w.size();
      std::fill(row, row + v, used ? 0.0f : kNaN);
      if (used) row[static_cast<size_t>(w[i + 1])] = boost(i);
    }
  };
}

TEST(Perplexity, ScoresOnlyTheSecondHalfWithBosFirst) {
  constexpr int64_t kVocab = 4, kCtx = 8;
  const auto text = Text(35, kVocab);
  std::vector<std::vector<int32_t>> seen;
  // boost ln 3 → p = 3 / (3 + 3) = 1/2 for every scored token: PPL = 2.
  const WindowPlan plan = Plan(35, kCtx, false, 1);
  const PerplexityResult r =
      Perplexity(text, kVocab, Peaked(kVocab, plan.first, [](size_t) { return std::log(3.0f); }, &seen), plan);
  EXPECT_EQ(r.nll.count, 4u * 3u);
  EXPECT_NEAR(r.nll.Ppl(), 2.0, 2.0 * 1e-6);  // f32 logits: ln 3 is rounded to f32
  ASSERT_EQ(seen.size(), 4u);
  for (size_t k = 0; k < seen.size(); ++k) {
    std::vector<int32_t> expected(text.begin() + static_cast<ptrdiff_t>(k * kCtx),
                                  text.begin() + static_cast<ptrdiff_t>((k + 1) * kCtx));
    expected[0] = 1;
    EXPECT_EQ(seen[k], expected) << "window " << k;
  }
}

TEST(Perplexity, FullModeScoresEveryTokenAfterTheFirst) {
  constexpr int64_t kVocab = 4, kCtx = 8;
  const auto text = Text(16, kVocab);
  const WindowPlan plan = Plan(16, kCtx, true);
  const PerplexityResult r =
      Perplexity(text, kVocab, Peaked(kVocab, 0, [](size_t) { return std::log(3.0f); }, nullptr), plan);
  EXPECT_EQ(r.nll.count, 2u * 7u);
  EXPECT_NEAR(r.nll.Ppl(), 2.0, 2.0 * 1e-6);
}

TEST(Perplexity, MeanAndErrorFollowTheTextbookFormulas) {
  constexpr int64_t kVocab = 5, kCtx = 10;
  const auto text = Text(60, kVocab);
  // Even rows: boost ln 4 → p = 4/8 = 1/2; odd rows: boost ln 12 → p = 12/16 = 3/4.
  const auto boost = [](size_t i) { return i % 2 == 0 ? std::log(4.0f) : std::log(12.0f); };
  const WindowPlan plan = Plan(60, kCtx);
  const PerplexityResult r = Perplexity(text, kVocab, Peaked(kVocab, plan.first, boost, nullptr), plan);
  // Scored rows per window: 5, 6, 7, 8 → two p = 3/4 and two p = 1/2; 6 windows → 24 tokens.
  ASSERT_EQ(r.nll.count, 24u);
  const double a = std::log(2.0), b = std::log(4.0 / 3.0);  // the two NLLs
  const double mean = (a + b) / 2, variance = ((a - mean) * (a - mean) + (b - mean) * (b - mean)) / 2;
  const double ppl = std::exp(mean), err = ppl * std::sqrt(variance / 23);
  constexpr double kTol = 1e-6;  // f32 rounding of the boosts
  EXPECT_NEAR(r.nll.Ppl(), ppl, ppl * kTol);
  EXPECT_NEAR(r.nll.PplError(), err, err * kTol);
  EXPECT_NEAR(std::sqrt(8.0 / 3.0), ppl, 1e-12);  // the hand value: exp(mean) = sqrt(2 · 4/3)
}

TEST(Perplexity, RunningEstimateAndCallback) {
  constexpr int64_t kVocab = 4, kCtx = 8;
  const auto text = Text(24, kVocab);
  // Window 0 (tokens 0–7) predicts with p = 1/2, later windows with p = 1/4 (boost 0 = uniform).
  int calls = 0;
  const LogitsFn fn = [&](std::span<const int32_t> w, float* logits) {
    std::fill(logits, logits + w.size() * kVocab, 0.0f);
    if (calls++ == 0)
      for (size_t i = 0; i + 1 < w.size(); ++i) logits[i * kVocab + static_cast<size_t>(w[i + 1])] = std::log(3.0f);
  };
  std::vector<int64_t> done;
  const PerplexityResult r =
      Perplexity(text, kVocab, fn, Plan(24, kCtx), [&](int64_t n, const NllSums&) { done.push_back(n); });
  EXPECT_EQ(done, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(r.running_ppl.size(), 3u);
  EXPECT_NEAR(r.running_ppl[0], 2.0, 1e-5);
  EXPECT_NEAR(r.running_ppl[1], std::sqrt(2.0 * 4.0), 1e-5);
  EXPECT_NEAR(r.running_ppl[2], std::cbrt(2.0 * 4.0 * 4.0), 1e-5);
}

TEST(Perplexity, RejectsTokensOutsideTheVocabulary) {
  auto text = Text(32, 4);
  text[20] = 4;
  const LogitsFn zero = [](std::span<const int32_t> w, float* l) { std::fill(l, l + w.size() * 4, 0.0f); };
  EXPECT_THROW(Perplexity(text, 4, zero, Plan(32, 8)), Error);
  text[20] = 0;
  EXPECT_THROW(Perplexity(text, 4, zero, Plan(32, 8, false, 9)), Error);  // BOS id too
  EXPECT_NO_THROW(Perplexity(text, 4, zero, Plan(32, 8, false, 1)));
}

TEST(LogSoftmax, NllOfASkewedRow) {
  // logits (0, ln 3): p = (1/4, 3/4).
  const std::vector<float> row = {0.0f, std::log(3.0f)};
  EXPECT_NEAR(TokenNll(row, 0), std::log(4.0), 1e-6);
  EXPECT_NEAR(TokenNll(row, 1), std::log(4.0 / 3.0), 1e-6);
  // Large offsets do not overflow: the maximum is subtracted first.
  const std::vector<float> big = {1000.0f, 1000.0f + std::log(3.0f)};
  EXPECT_NEAR(TokenNll(big, 0), std::log(4.0), 1e-4);
}

}  // namespace
}  // namespace qforge::eval
