// KL-divergence of a model against a base model on the same windows, with the statistics llama-perplexity
// --kl-divergence prints (FORMATS.md §8.3/8.4). Per scored token t (target token y, model logits z, base
// log-probs lpb — u16-encoded like the reference's base file unless exact_base):
//
//   nll_t  = zmax + lse − z_y                   nllb_t = −lpb_y
//   KLD_t  = Σ_v exp(lpb_v)·(lpb_v − lp_v)      (encoded base: only v with lpb_v > −16, as the reference)
//   same_t = [argmax z == argmax lpb]           (first strict maximum on each side)
//   Δp_t   = exp(−nll_t) − exp(−nllb_t)
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "eval/perplexity.h"
#include "eval/statistics.h"
#include "eval/windows.h"

namespace qforge::eval {

struct TokenComparison {
  double nll = 0;       // model
  double nll_base = 0;  // base (from the encoded row unless exact)
  double kld = 0;
  float dp = 0;         // Δp
  bool same_top = false;
};

// `base_logits` and `model_logits` have the same length (n_vocab); token in [0, n_vocab).
TokenComparison CompareToken(std::span<const float> base_logits, std::span<const float> model_logits,
                             int32_t token, bool exact_base);

// Sorted-sample summary (all fields filled; the reference prints p75/p25 only for Δp).
struct Spread {
  Estimate mean;
  float max = 0, p99_9 = 0, p99 = 0, p95 = 0, p90 = 0, p75 = 0, median = 0, p25 = 0, p10 = 0, p5 = 0, p1 = 0,
        p0_1 = 0, min = 0;
};

// The cumulative per-window line of the reference.
struct KldRunning {
  Estimate ppl;            // PPL(Q)
  Estimate ln_ppl_ratio;   // ln(PPL(Q)/PPL(base))
  Estimate kld;            // mean KLD
  Estimate rms_dp;         // RMS Δp (probability units)
  Estimate same_top;       // fraction
};

// The final block of the reference.
struct KldReport {
  uint64_t count = 0;
  Estimate ppl, ppl_base;           // exp(mean nll), ± value·error
  double cor_ln_ppl = 0;            // correlation of ln PPL(Q) and ln PPL(base), in [−1, 1]
  Estimate ln_ppl_ratio, ppl_ratio, ppl_diff;
  Spread kld;
  Spread dp;                        // probability units (print × 100 for %)
  Estimate rms_dp;
  Estimate same_top;                // fraction
};

class KldAccumulator {
 public:
  void Add(const TokenComparison& t);
  uint64_t count() const { return count_; }
  KldRunning Running() const;
  KldReport Report() const;  // sorts copies of the per-token samples; count() must be > 0

 private:
  uint64_t count_ = 0, same_top_ = 0;
  double sum_nll_ = 0, sum_nll2_ = 0, sum_nll_base_ = 0, sum_nll_base2_ = 0, sum_nll_nll_base_ = 0;
  double sum_kld_ = 0, sum_kld2_ = 0, sum_dp_ = 0, sum_dp2_ = 0, sum_dp4_ = 0;
  std::vector<float> kld_values_, dp_values_;
};

struct KldOptions {
  bool exact_base = false;  // use the base's f32 log-probs instead of the reference's u16 encoding
};

struct KldResult {
  PerplexityResult model, base;  // plain (exact) perplexities of both models on the same windows
  KldAccumulator kld;
};

using KldWindowDone = std::function<void(int64_t windows_done, const KldResult& so_far)>;

// Runs both models on every window of `plan` and compares them token by token.
KldResult KlDivergence(std::span<const int32_t> tokens, int64_t n_vocab, const LogitsFn& base_fn,
                       const LogitsFn& model_fn, const WindowPlan& plan, const KldOptions& options,
                       const KldWindowDone& on_window = {});

}  // namespace qforge::eval
