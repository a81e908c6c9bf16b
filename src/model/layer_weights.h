// The weights of one decoder layer. Norm weights and biases are small and kept as F32 vectors; Linear
// weights sit behind LinearWeight so calibration can swap them (Model::SetLinear).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "model/linear.h"
#include "model/observer.h"

namespace qforge::model {

struct LayerWeights {
  std::vector<float> attn_norm;               // [hidden]   input_layernorm
  std::vector<float> mlp_norm;                // [hidden]   post_attention_layernorm
  std::vector<float> q_bias, k_bias, v_bias;  // [q_dim], [kv_dim], [kv_dim]; empty unless attention_bias
  std::vector<float> q_norm, k_norm;          // [head_dim]; empty unless qk_norm (qwen3)
  std::array<std::unique_ptr<LinearWeight>, kNumLinearKinds> linear;

  const LinearWeight& operator[](LinearKind k) const { return *linear[static_cast<size_t>(k)]; }
};

}  // namespace qforge::model
