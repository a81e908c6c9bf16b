#include "pipeline/evaluate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace qforge::pipeline {
namespace {

constexpr int64_t kVocab = 10;

std::vector<int32_t> Text(size_t n) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 3 + 1) % kVocab);
  return t;
}

EvalModel Uniform(const char* path, int64_t vocab = kVocab) {
  return {path, [vocab](std::span<const int32_t> w, float* l) { std::fill(l, l + w.size() * vocab, 0.25f); },
          vocab};
}

// p(next token) = 1/2 everywhere: boost ln 9 on the right token among 10.
EvalModel Half(const char* path) {
  return {path,
          [](std::span<const int32_t> w, float* l) {
            std::fill(l, l + w.size() * kVocab, 0.0f);
            for (size_t i = 0; i + 1 < w.size(); ++i) l[i * kVocab + static_cast<size_t>(w[i + 1])] = std::log(9.0f);
          },
          kVocab};
}

EvaluateOptions Options(int64_t ctx, int64_t chunks = -1) {
  EvaluateOptions o;
  o.n_ctx = ctx;
  o.max_chunks = chunks;
  return o;
}

TEST(Evaluate, PerplexityOnlyWithProgress) {
  const auto tokens = Text(100);
  std::vector<int64_t> done;
  const EvaluateReport r = EvaluateTokens(Uniform("m"), nullptr, tokens, 1, Options(16),
                                          [&](int64_t d, int64_t total, double ppl) {
                                            EXPECT_EQ(total, 6);
                                            EXPECT_NEAR(ppl, 10.0, 1e-9);
                                            done.push_back(d);
                                          });
  EXPECT_EQ(done, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r.n_text_tokens, 100);
  EXPECT_TRUE(r.add_bos);
  EXPECT_EQ(r.plan.n_chunk, 6);
  EXPECT_EQ(r.ppl.nll.count, 6u * 7u);
  EXPECT_NEAR(r.ppl.nll.Ppl(), 10.0, 1e-9);
  EXPECT_FALSE(r.kld.has_value());
  EXPECT_FALSE(r.base_ppl.has_value());
}

TEST(Evaluate, ChunkLimit) {
  const auto tokens = Text(100);
  EXPECT_EQ(EvaluateTokens(Uniform("m"), nullptr, tokens, std::nullopt, Options(16, 2)).plan.n_chunk, 2);
}

TEST(Evaluate, KlDivergenceAgainstABase) {
  const auto tokens = Text(64);
  const EvalModel base = Uniform("base"), model = Half("q");
  const EvaluateReport r = EvaluateTokens(model, &base, tokens, 1, Options(16));
  ASSERT_TRUE(r.kld.has_value() && r.base_ppl.has_value());
  EXPECT_EQ(r.base_path, "base");
  EXPECT_NEAR(r.ppl.nll.Ppl(), 2.0, 1e-5);
  EXPECT_NEAR(r.base_ppl->nll.Ppl(), 10.0, 1e-9);
  // KL(uniform ‖ q) with q = (1/2, 1/18 × 9): 1/10·ln((1/10)/(1/2)) + 9/10·ln((1/10)/(1/18)).
  const double kl = 0.1 * std::log(0.2) + 0.9 * std::log(1.8);
  EXPECT_NEAR(r.kld->kld.mean.value, kl, 1e-5);
  EXPECT_NEAR(r.kld->kld.median, kl, 1e-5);
  // Uniform base: its first index wins the tie, so tokens agree only where the model's top is token 0.
  EXPECT_NEAR(r.kld->dp.median, 0.5 - 0.1, 1e-5);
  EXPECT_NEAR(r.kld->rms_dp.value, 0.4, 1e-5);
}

TEST(Evaluate, RejectsMismatchedVocabulariesAndShortTexts) {
  const auto tokens = Text(64);
  const EvalModel base = Uniform("base", 12);
  EXPECT_THROW(EvaluateTokens(Uniform("m"), &base, tokens, 1, Options(16)), Error);
  EXPECT_THROW(EvaluateTokens(Uniform("m"), nullptr, tokens, 1, Options(40)), Error);  // 64 < 2·40
}

}  // namespace
}  // namespace qforge::pipeline
