// A generation session: the model plus a KV cache of up to max_tokens positions (F32, per layer
// [max_tokens, kv_dim] for K and for V). Eval appends tokens and returns their logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"

namespace qforge::model {

class Session {
 public:
  Session(const Model& model, int64_t max_tokens);

  int64_t position() const { return pos_; }
  int64_t max_tokens() const { return max_tokens_; }

  // Runs `tokens` at positions position() .. position()+n−1 and advances. logits: [n, vocab] when
  // all_logits, else [vocab] for the last token only. Throws when the cache would overflow.
  void Eval(std::span<const int32_t> tokens, float* logits, bool all_logits = false);
  void Reset() { pos_ = 0; }

 private:
  const Model& model_;
  int64_t max_tokens_;
  int64_t pos_ = 0;
  std::vector<std::vector<float>> k_, v_;  // per layer [max_tokens, kv_dim]
};

}  // namespace qforge::model
