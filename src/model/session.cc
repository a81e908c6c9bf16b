#include "model/session.h"

#include "core/error.h"

namespace qforge::model {

Session::Session(const Model& model, int64_t max_tokens) : model_(model), max_tokens_(max_tokens) {
  QF_CHECK(max_tokens > 0);
  const size_t per_layer = static_cast<size_t>(max_tokens * model.config().kv_dim());
  k_.assign(static_cast<size_t>(model.num_layers()), std::vector<float>(per_layer));
  v_.assign(static_cast<size_t>(model.num_layers()), std::vector<float>(per_layer));
}

void Session::Eval(std::span<const int32_t> tokens, float* logits, bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return;
  if (pos_ + n > max_tokens_) {
    Fail("context full: {} tokens so far + {} new exceed the session's {} positions", pos_, n, max_tokens_);
  }
  const int64_t hs = model_.hidden_size();
  std::vector<float> h(static_cast<size_t>(n * hs));
  model_.Embed(tokens, h.data());
  for (int l = 0; l < model_.num_layers(); ++l) {
    model_.RunLayerCached(l, h.data(), n, pos_, k_[static_cast<size_t>(l)].data(), v_[static_cast<size_t>(l)].data());
  }
  if (all_logits) {
    model_.Head(h.data(), n, logits);
  } else {
    model_.Head(h.data() + (n - 1) * hs, 1, logits);
  }
  pos_ += n;
}

}  // namespace qforge::model
