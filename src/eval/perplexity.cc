#include "eval/perplexity.h"

#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/log_softmax.h"

namespace qforge::eval {

double NllSums::Ppl() const { return count ? std::exp(sum / static_cast<double>(count)) : 0.0; }

double NllSums::PplError() const {
  if (count < 2) return 0.0;
  const double n = static_cast<double>(count);
  const double mean = sum / n;
  const double variance = sum2 / n - mean * mean;
  return variance > 0 ? std::exp(mean) * std::sqrt(variance / (n - 1)) : 0.0;
}

void CheckTokens(std::span<const int32_t> tokens, int64_t n_vocab, const char* what) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      Fail("{}: token id {} at position {} is outside the model's vocabulary of {} entries", what, tokens[i], i,
           n_vocab);
  }
}

void ScoreWindow(std::span<const int32_t> window, const float* logits, int64_t n_vocab, const WindowPlan& plan,
                 std::vector<double>* nll) {
  QF_CHECK(static_cast<int64_t>(window.size()) == plan.n_ctx);
  const auto rows = static_cast<size_t>(plan.scored_per_chunk);
  const auto vocab = static_cast<size_t>(n_vocab);
  nll->assign(rows, 0.0);
  constexpr size_t kRowsPerTask = 8;  // a row is n_vocab exps: enough work per task even for small vocabs
  ThreadPool::Global().ParallelFor(rows, kRowsPerTask, [&](size_t begin, size_t end) {
    for (size_t j = begin; j < end; ++j) {
      const size_t pos = static_cast<size_t>(plan.first) + j;
      const std::span<const float> row(logits + pos * vocab, vocab);
      (*nll)[j] = TokenNll(row, window[pos + 1]);
    }
  });
}

PerplexityResult Perplexity(std::span<const int32_t> tokens, int64_t n_vocab, const LogitsFn& logits_fn,
                            const WindowPlan& plan, const WindowDone& on_window) {
  QF_CHECK(n_vocab > 0 && plan.n_chunk * plan.n_ctx <= static_cast<int64_t>(tokens.size()));
  CheckTokens(tokens.first(static_cast<size_t>(plan.n_chunk * plan.n_ctx)), n_vocab, "text");
  if (plan.bos_id) CheckTokens(std::span<const int32_t>(&*plan.bos_id, 1), n_vocab, "BOS");
  PerplexityResult result;
  result.plan = plan;
  std::vector<int32_t> window;
  std::vector<float> logits(static_cast<size_t>(plan.n_ctx) * static_cast<size_t>(n_vocab));
  std::vector<double> nll;
  for (int64_t k = 0; k < plan.n_chunk; ++k) {
    FillWindow(tokens, plan, k, &window);
    logits_fn(window, logits.data());
    ScoreWindow(window, logits.data(), n_vocab, plan, &nll);
    for (const double v : nll) result.nll.Add(v);  // in order: the sums do not depend on the thread count
    result.running_ppl.push_back(result.nll.Ppl());
    if (on_window) on_window(k + 1, result.nll);
  }
  return result;
}

}  // namespace qforge::eval
