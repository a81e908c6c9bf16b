// A Llama-family decoder (llama, mistral, qwen2 with q/k/v bias, qwen3 with q/k RMSNorm) built from a
// ModelConfig and a TensorSource with Hugging Face tensor names. F32 compute; weights F32/BF16/F16 used in
// place; GGUF block weights stay quantized (integer dot products as llama.cpp computes them, and one
// embedding row decoded per token).
//
// Layer-at-a-time interface (calibration, GPTQ, SmoothQuant — docs/engine.md):
//   Embed(tokens) → hidden [n, hidden_size]
//   RunLayer(l, in, out, n, observer)  one sequence of n tokens at positions 0..n−1, causal
//   Head(hidden) → logits [n, vocab]      final RMSNorm + lm_head
// Forward() is exactly Embed → RunLayer for every layer → Head. Session (session.h) adds a KV cache.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <span>
#include <vector>

#include "core/model_config.h"
#include "core/tensor.h"
#include "core/tensor_source.h"
#include "model/layer_weights.h"

namespace qforge::model {

// Supplies a Linear weight in its own (e.g. quantized) form instead of reading `weight_name` from the
// TensorSource; nullptr = read the tensor as usual. The result must have the given shape.
using LinearProvider =
    std::function<std::unique_ptr<LinearWeight>(const std::string& weight_name, int64_t out, int64_t in)>;

class Model {
 public:
  // Validates the config and every tensor's presence and shape; throws qforge::Error naming the tensor.
  Model(ModelConfig config, const TensorSource& tensors, const LinearProvider& provider = {});

  const ModelConfig& config() const { return config_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  int64_t hidden_size() const { return config_.hidden_size; }
  int64_t vocab_size() const { return config_.vocab_size; }

  // logits: [tokens.size(), vocab_size]. Tokens at positions 0..n−1. Thread-safe (const, no shared scratch).
  void Forward(std::span<const int32_t> tokens, float* logits) const;

  // hidden: [n, hidden_size]. Throws on a token id outside [0, vocab_size).
  void Embed(std::span<const int32_t> tokens, float* hidden) const;
  // out = layer(in); in and out are [n_tokens, hidden_size] and may be the same buffer.
  void RunLayer(int layer, const float* in, float* out, int64_t n_tokens, LinearObserver* observer = nullptr) const;
  // Layer step on a KV cache (Session): hidden in place; positions pos0..pos0+n−1.
  void RunLayerCached(int layer, float* hidden, int64_t n_tokens, int64_t pos0, float* k_cache, float* v_cache,
                      LinearObserver* observer = nullptr) const;
  void Head(const float* hidden, int64_t n_tokens, float* logits) const;

  const LayerWeights& layer(int l) const { return layers_.at(static_cast<size_t>(l)); }
  // Mutable access for algorithms that fold scales into norms (SmoothQuant). Shapes must not change.
  LayerWeights& mutable_layer(int l) { return layers_.at(static_cast<size_t>(l)); }
  // Replaces a Linear weight; QF_CHECKs that its shape matches the one it replaces.
  void SetLinear(int layer, LinearKind kind, std::unique_ptr<LinearWeight> w);
  void SetLmHead(std::unique_ptr<LinearWeight> w);
  // Re-stores every Linear weight (lm_head included) as `to` (F32/BF16/F16).
  void ConvertLinearWeights(DType to);
  const LinearWeight& lm_head() const { return *lm_head_; }
  const std::vector<float>& final_norm() const { return final_norm_; }

 private:
  ModelConfig config_;
  Tensor embed_;  // [vocab, hidden]: F32/BF16/F16 in place, a GGUF block type in place, or an F32 copy
  std::vector<float> final_norm_;
  std::unique_ptr<LinearWeight> lm_head_;
  std::vector<LayerWeights> layers_;
  std::vector<float> rope_inv_freq_;
};

}  // namespace qforge::model
