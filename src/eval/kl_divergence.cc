#include "eval/kl_divergence.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/base_log_probs.h"
#include "eval/log_softmax.h"

namespace qforge::eval {
namespace {

// The reference skips base entries at or below this log-prob in the KLD sum (they are the encoding's floor).
constexpr float kKldFloor = -kBaseLogProbRange;

Spread Summarize(std::vector<float> values, Estimate mean) {
  std::sort(values.begin(), values.end());
  Spread s;
  s.mean = mean;
  s.max = values.back();
  s.p99_9 = Percentile(values, 0.999f);
  s.p99 = Percentile(values, 0.99f);
  s.p95 = Percentile(values, 0.95f);
  s.p90 = Percentile(values, 0.90f);
  s.p75 = Percentile(values, 0.75f);
  s.median = Median(values);
  s.p25 = Percentile(values, 0.25f);
  s.p10 = Percentile(values, 0.10f);
  s.p5 = Percentile(values, 0.05f);
  s.p1 = Percentile(values, 0.01f);
  s.p0_1 = Percentile(values, 0.001f);
  s.min = values.front();
  return s;
}

Estimate PplOf(const Estimate& nll) {
  const double ppl = std::exp(nll.value);
  return {ppl, ppl * nll.error};
}

Estimate Fraction(uint64_t hits, uint64_t n) {
  if (n == 0) return {};
  const double p = static_cast<double>(hits) / static_cast<double>(n);
  return {p, n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1)) : 0.0};
}

Estimate RmsOf(double sum2, double sum4, uint64_t n) {
  const Estimate m2 = MeanAndError(sum2, sum4, n);
  const double rms = std::sqrt(m2.value);
  return {rms, rms > 0 ? 0.5 / rms * m2.error : 0.0};
}

}  // namespace

TokenComparison CompareToken(std::span<const float> base_logits, std::span<const float> model_logits,
                             int32_t token, bool exact_base) {
  QF_CHECK(base_logits.size() == model_logits.size() && token >= 0 &&
           static_cast<size_t>(token) < model_logits.size());
  const RowSoftmax m = AnalyzeRow(model_logits);
  const auto log_prob = [&](size_t v) {
    return static_cast<double>(model_logits[v] - m.max_logit) - m.log_sum_exp;
  };
  TokenComparison t;
  t.nll = TokenNll(model_logits, m, token);
  int32_t top_base = 0;
  if (exact_base) {
    const RowSoftmax b = AnalyzeRow(base_logits);
    top_base = b.argmax;
    for (size_t v = 0; v < base_logits.size(); ++v) {
      const double lpb = static_cast<double>(base_logits[v] - b.max_logit) - b.log_sum_exp;
      t.kld += std::exp(lpb) * (lpb - log_prob(v));
    }
    t.nll_base = TokenNll(base_logits, b, token);
  } else {
    thread_local QuantizedLogProbs q;  // per-thread scratch: a row of n_vocab codes
    QuantizeLogProbs(base_logits, &q);
    float best = 0;
    for (size_t v = 0; v < base_logits.size(); ++v) {
      const float lpb = q.LogProb(v);
      if (v == 0 || lpb > best) {
        best = lpb;
        top_base = static_cast<int32_t>(v);
      }
      if (lpb > kKldFloor) t.kld += std::exp(static_cast<double>(lpb)) * (lpb - log_prob(v));
    }
    t.nll_base = -static_cast<double>(q.LogProb(static_cast<size_t>(token)));
  }
  t.same_top = top_base == m.argmax;
  t.dp = static_cast<float>(std::exp(-t.nll) - std::exp(-t.nll_base));
  return t;
}

void KldAccumulator::Add(const TokenComparison& t) {
  ++count_;
  if (t.same_top) ++same_top_;
  sum_nll_ += t.nll;
  sum_nll2_ += t.nll * t.nll;
  sum_nll_base_ += t.nll_base;
  sum_nll_base2_ += t.nll_base * t.nll_base;
  sum_nll_nll_base_ += t.nll * t.nll_base;
  sum_kld_ += t.kld;
  sum_kld2_ += t.kld * t.kld;
  const double dp = t.dp, dp2 = dp * dp;
  sum_dp_ += dp;
  sum_dp2_ += dp2;
  sum_dp4_ += dp2 * dp2;
  kld_values_.push_back(static_cast<float>(t.kld));
  dp_values_.push_back(t.dp);
}

KldRunning KldAccumulator::Running() const {
  const Estimate nll = MeanAndError(sum_nll_, sum_nll2_, count_);
  const Estimate nll_base = MeanAndError(sum_nll_base_, sum_nll_base2_, count_);
  const double cov = Covariance(sum_nll_, sum_nll_base_, sum_nll_nll_base_, count_);
  KldRunning r;
  r.ppl = PplOf(nll);
  const double ln_var = nll.error * nll.error + nll_base.error * nll_base.error - 2 * cov;
  r.ln_ppl_ratio = {nll.value - nll_base.value, ln_var > 0 ? std::sqrt(ln_var) : 0.0};
  r.kld = MeanAndError(sum_kld_, sum_kld2_, count_);
  r.rms_dp = RmsOf(sum_dp2_, sum_dp4_, count_);
  r.same_top = Fraction(same_top_, count_);
  return r;
}

KldReport KldAccumulator::Report() const {
  QF_CHECK(count_ > 0);
  const Estimate nll = MeanAndError(sum_nll_, sum_nll2_, count_);
  const Estimate nll_base = MeanAndError(sum_nll_base_, sum_nll_base2_, count_);
  const double cov = Covariance(sum_nll_, sum_nll_base_, sum_nll_nll_base_, count_);
  const KldRunning running = Running();
  KldReport r;
  r.count = count_;
  r.ppl = PplOf(nll);
  r.ppl_base = PplOf(nll_base);
  const double denom = nll.error * nll_base.error;
  r.cor_ln_ppl = denom > 0 ? cov / denom : 0.0;
  r.ln_ppl_ratio = running.ln_ppl_ratio;
  const double ratio = std::exp(r.ln_ppl_ratio.value);
  r.ppl_ratio = {ratio, ratio * r.ln_ppl_ratio.error};
  const double diff_var = r.ppl.error * r.ppl.error + r.ppl_base.error * r.ppl_base.error -
                          2 * r.ppl.value * r.ppl_base.value * cov;
  r.ppl_diff = {r.ppl.value - r.ppl_base.value, diff_var > 0 ? std::sqrt(diff_var) : 0.0};
  r.kld = Summarize(kld_values_, running.kld);
  r.dp = Summarize(dp_values_, MeanAndError(sum_dp_, sum_dp2_, count_));
  r.rms_dp = running.rms_dp;
  r.same_top = running.same_top;
  return r;
}

KldResult KlDivergence(std::span<const int32_t> tokens, int64_t n_vocab, const LogitsFn& base_fn,
                       const LogitsFn& model_fn, const WindowPlan& plan, const KldOptions& options,
                       const KldWindowDone& on_window) {
  QF_CHECK(n_vocab > 0 && plan.n_chunk * plan.n_ctx <= static_cast<int64_t>(tokens.size()));
  CheckTokens(tokens.first(static_cast<size_t>(plan.n_chunk * plan.n_ctx)), n_vocab, "text");
  if (plan.bos_id) CheckTokens(std::span<const int32_t>(&*plan.bos_id, 1), n_vocab, "BOS");
  KldResult result;
  result.model.plan = result.base.plan = plan;
  const auto vocab = static_cast<size_t>(n_vocab);
  std::vector<int32_t> window;
  std::vector<float> base_logits(static_cast<size_t>(plan.n_ctx) * vocab);
  std::vector<float> model_logits(base_logits.size());
  std::vector<double> nll;
  std::vector<TokenComparison> compared;
  for (int64_t k = 0; k < plan.n_chunk; ++k) {
    FillWindow(tokens, plan, k, &window);
    base_fn(window, base_logits.data());
    model_fn(window, model_logits.data());
    ScoreWindow(window, model_logits.data(), n_vocab, plan, &nll);
    for (const double v : nll) result.model.nll.Add(v);
    ScoreWindow(window, base_logits.data(), n_vocab, plan, &nll);
    for (const double v : nll) result.base.nll.Add(v);
    result.model.running_ppl.push_back(result.model.nll.Ppl());
    result.base.running_ppl.push_back(result.base.nll.Ppl());

    compared.assign(static_cast<size_t>(plan.scored_per_chunk), {});
    constexpr size_t kRowsPerTask = 4;  // a row is a few passes over n_vocab
    ThreadPool::Global().ParallelFor(compared.size(), kRowsPerTask, [&](size_t begin, size_t end) {
      for (size_t j = begin; j < end; ++j) {
        const size_t pos = static_cast<size_t>(plan.first) + j;
        compared[j] = CompareToken(std::span<const float>(base_logits.data() + pos * vocab, vocab),
                                   std::span<const float>(model_logits.data() + pos * vocab, vocab),
                                   window[pos + 1], options.exact_base);
      }
    });
    for (const TokenComparison& t : compared) result.kld.Add(t);  // in order: thread-count independent
    if (on_window) on_window(k + 1, result);
  }
  return result;
}

}  // namespace qforge::eval
