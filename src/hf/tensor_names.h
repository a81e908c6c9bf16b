// The architecture table of the Llama family: HF tensor name <-> (role, layer), and the shape each role
// has for a given ModelConfig. Names are full parameter names, e.g. "model.layers.3.self_attn.q_proj.weight".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model_config.h"
#include "core/tensor.h"

namespace qforge::hf {

enum class Role {
  kEmbedding, kAttnNorm, kQ, kK, kV, kO, kQBias, kKBias, kVBias, kQNorm, kKNorm,
  kMlpNorm, kGate, kUp, kDown, kFinalNorm, kLmHead
};

struct TensorName {
  Role role;
  int layer;  // -1 for non-layer tensors
  bool operator==(const TensorName&) const = default;
};

std::optional<TensorName> ParseTensorName(std::string_view hf_name);
std::string HfTensorName(Role role, int layer = -1);
bool IsLayerRole(Role role);
std::string_view RoleName(Role role);  // "q_proj", "embedding", "attn_norm", ...
bool IsLinearRole(Role role);          // q/k/v/o/gate/up/down (and lm_head)

// Shape of a role's tensor for `c` (Linear weights [out, in], norms/biases [n]).
Shape ExpectedShape(Role role, const ModelConfig& c);
bool RoleApplies(Role role, const ModelConfig& c);  // biases only with attention_bias, q/k norm with qk_norm

struct ExpectedTensor {
  std::string name;
  Role role;
  int layer;
  Shape shape;
};
// Every parameter a transformers model of this config has, in state-dict (module registration) order.
// With tie_word_embeddings the stored lm_head.weight is omitted (transformers drops tied duplicates).
std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& c);

}  // namespace qforge::hf
