#include "model/generate.h"

#include <chrono>

#include "core/error.h"
#include "model/session.h"

namespace qforge::model {

double GenerateResult::PrefillTokensPerSecond() const {
  return prefill_seconds > 0 ? static_cast<double>(prompt_tokens) / prefill_seconds : 0.0;
}
double GenerateResult::DecodeTokensPerSecond() const {
  const auto steps = static_cast<double>(tokens.size() > 1 ? tokens.size() - 1 : 0);
  return decode_seconds > 0 ? steps / decode_seconds : 0.0;
}

GenerateResult Generate(const Model& model, std::span<const int32_t> prompt, int64_t max_new, Sampler& sampler,
                        std::optional<int32_t> stop_token, const std::function<void(int32_t)>& on_token) {
  if (prompt.empty()) Fail("generation needs at least one prompt token (e.g. BOS)");
  if (max_new < 0) Fail("number of tokens to generate must be ≥ 0, got {}", max_new);
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  if (max_new == 0) return r;
  using Clock = std::chrono::steady_clock;
  Session session(model, r.prompt_tokens + max_new);
  std::vector<float> logits(static_cast<size_t>(model.vocab_size()));
  auto t0 = Clock::now();
  session.Eval(prompt, logits.data());
  r.prefill_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  t0 = Clock::now();
  for (int64_t i = 0; i < max_new; ++i) {
    const int32_t tok = sampler.Sample(logits);
    r.tokens.push_back(tok);
    if (on_token) on_token(tok);
    if ((stop_token && tok == *stop_token) || i + 1 == max_new) break;
    session.Eval(std::span(&tok, 1), logits.data());
  }
  r.decode_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace qforge::model
