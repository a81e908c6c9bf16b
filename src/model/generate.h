// The generation loop: prefill the prompt into a Session in one batch, then decode one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "model/model.h"
#include "model/sampler.h"

namespace qforge::model {

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated tokens (the stop token included when hit)
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t prompt_tokens = 0;
  // Decode rate counts tokens whose logits came from a one-token step (all but the first generated).
  double PrefillTokensPerSecond() const;
  double DecodeTokensPerSecond() const;
};

// Generates up to `max_new` tokens after `prompt` (non-empty). Stops early after `stop_token`. on_token is
// called with each new token as soon as it is chosen (for streaming output); may be empty.
GenerateResult Generate(const Model& model, std::span<const int32_t> prompt, int64_t max_new, Sampler& sampler,
                        std::optional<int32_t> stop_token, const std::function<void(int32_t)>& on_token = {});

}  // namespace qforge::model
