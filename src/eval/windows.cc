#include "eval/windows.h"

#include "core/error.h"

namespace qforge::eval {

WindowPlan PlanWindows(int64_t n_tokens, const WindowOptions& options, const char* what) {
  if (options.n_ctx < kMinContext || options.n_ctx > kMaxContext)
    Fail("{}: context length {} is out of range; expected {} … {} tokens", what, options.n_ctx, kMinContext,
         kMaxContext);
  if (options.max_chunks == 0 || options.max_chunks < -1)
    Fail("{}: chunk count {} is invalid; expected a positive number (or none for all)", what,
         options.max_chunks);
  if (n_tokens < 2 * options.n_ctx)
    Fail("{}: the text has {} tokens; perplexity with a {}-token context needs at least {} (2 × context)", what,
         n_tokens, options.n_ctx, 2 * options.n_ctx);
  WindowPlan plan;
  plan.n_ctx = options.n_ctx;
  plan.n_chunk = n_tokens / options.n_ctx;
  if (options.max_chunks > 0 && options.max_chunks < plan.n_chunk) plan.n_chunk = options.max_chunks;
  plan.first = options.score_all ? 0 : options.n_ctx / 2;
  plan.scored_per_chunk = options.n_ctx - 1 - plan.first;
  plan.bos_id = options.bos_id;
  return plan;
}

void FillWindow(std::span<const int32_t> tokens, const WindowPlan& plan, int64_t k, std::vector<int32_t>* window) {
  QF_CHECK(k >= 0 && k < plan.n_chunk);
  const auto begin = static_cast<size_t>(k * plan.n_ctx);
  QF_CHECK(begin + static_cast<size_t>(plan.n_ctx) <= tokens.size());
  window->assign(tokens.begin() + static_cast<ptrdiff_t>(begin),
                 tokens.begin() + static_cast<ptrdiff_t>(begin + static_cast<size_t>(plan.n_ctx)));
  if (plan.bos_id) (*window)[0] = *plan.bos_id;
}

}  // namespace qforge::eval
