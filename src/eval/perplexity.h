// Perplexity by llama-perplexity's method (FORMATS.md §8.1/8.2): windows from windows.h, one LogitsFn call
// per window, the scored tokens' negative log-likelihoods accumulated in double.
//   PPL = exp(Σ NLL / count),  ± = PPL · sqrt((Σ NLL²/count − (Σ NLL/count)²) / (count − 1))
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "eval/windows.h"

namespace qforge::eval {

struct NllSums {
  uint64_t count = 0;
  double sum = 0;   // Σ NLL
  double sum2 = 0;  // Σ NLL²

  void Add(double nll) {
    ++count;
    sum += nll;
    sum2 += nll * nll;
  }
  double Ppl() const;       // exp(mean NLL); 0 when empty
  double PplError() const;  // the ± above; 0 when count < 2 or the variance estimate is not positive
};

struct PerplexityResult {
  WindowPlan plan;
  NllSums nll;
  std::vector<double> running_ppl;  // PPL over windows 0 … k, one entry per window (the "[k]ppl," line)
};

// Called after each window with the number of windows done and the sums so far.
using WindowDone = std::function<void(int64_t windows_done, const NllSums& so_far)>;

// Every token must lie in [0, n_vocab). The plan comes from PlanWindows(tokens.size(), ...).
PerplexityResult Perplexity(std::span<const int32_t> tokens, int64_t n_vocab, const LogitsFn& logits,
                            const WindowPlan& plan, const WindowDone& on_window = {});

// The NLLs of one evaluated window: entry j scores window[first+1+j] with logits row first+j.
// `logits` holds window.size()·n_vocab floats. Rows are processed in parallel; the result does not depend on
// the thread count.
void ScoreWindow(std::span<const int32_t> window, const float* logits, int64_t n_vocab, const WindowPlan& plan,
                 std::vector<double>* nll);

// Throws naming `what` when a token id is outside [0, n_vocab).
void CheckTokens(std::span<const int32_t> tokens, int64_t n_vocab, const char* what);

}  // namespace qforge::eval
