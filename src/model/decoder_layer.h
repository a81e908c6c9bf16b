// One Llama-family decoder layer, in place on the hidden states of n tokens at positions pos0 .. pos0+n−1:
//   x  = RMSNorm(h)·attn_norm;  q,k,v = x·Wq/k/vᵀ (+bias);  [qwen3: per-head RMSNorm of q,k];  RoPE(q,k)
//   k,v → cache rows pos0 .. pos0+n−1;  h += CausalAttention(q, cache)·Woᵀ
//   x  = RMSNorm(h)·mlp_norm;  h += (silu(x·Wgateᵀ) ⊙ x·Wupᵀ)·Wdownᵀ
#pragma once

#include <cstdint>
#include <vector>

#include "core/model_config.h"
#include "model/layer_weights.h"

namespace qforge::model {

struct LayerContext {
  const ModelConfig* config;
  const std::vector<float>* rope_inv_freq;  // [head_dim / 2]
  int layer_index;
  LinearObserver* observer;  // may be null
};

// hidden: [n, hidden_size]; k_cache, v_cache: [≥ pos0+n, kv_dim], rows < pos0 already filled.
void DecoderLayerForward(const LayerContext& ctx, const LayerWeights& w, float* hidden, int64_t n, int64_t pos0,
                         float* k_cache, float* v_cache);

}  // namespace qforge::model
