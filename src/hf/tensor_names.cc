#include "hf/tensor_names.h"

#include <array>
#include <charconv>

#include "core/error.h"

namespace qforge::hf {
namespace {

constexpr std::string_view kLayerPrefix = "model.layers.";

struct RoleRow {
  Role role;
  bool per_layer;
  std::string_view hf_name;  // full name, or the part after "model.layers.<L>."
  std::string_view role_name;
  bool linear;
};

// The Llama-family architecture table (transformers modeling_llama / _mistral / _qwen2 / _qwen3), in
// state-dict order within a layer: self_attn (q, k, v, o, q_norm, k_norm), mlp (gate, up, down), norms.
constexpr std::array<RoleRow, 17> kRoles = {{
    {Role::kEmbedding, false, "model.embed_tokens.weight", "embedding", false},
    {Role::kQ, true, "self_attn.q_proj.weight", "q_proj", true},
    {Role::kQBias, true, "self_attn.q_proj.bias", "q_bias", false},
    {Role::kK, true, "self_attn.k_proj.weight", "k_proj", true},
    {Role::kKBias, true, "self_attn.k_proj.bias", "k_bias", false},
    {Role::kV, true, "self_attn.v_proj.weight", "v_proj", true},
    {Role::kVBias, true, "self_attn.v_proj.bias", "v_bias", false},
    {Role::kO, true, "self_attn.o_proj.weight", "o_proj", true},
    {Role::kQNorm, true, "self_attn.q_norm.weight", "q_norm", false},
    {Role::kKNorm, true, "self_attn.k_norm.weight", "k_norm", false},
    {Role::kGate, true, "mlp.gate_proj.weight", "gate_proj", true},
    {Role::kUp, true, "mlp.up_proj.weight", "up_proj", true},
    {Role::kDown, true, "mlp.down_proj.weight", "down_proj", true},
    {Role::kAttnNorm, true, "input_layernorm.weight", "attn_norm", false},
    {Role::kMlpNorm, true, "post_attention_layernorm.weight", "mlp_norm", false},
    {Role::kFinalNorm, false, "model.norm.weight", "final_norm", false},
    {Role::kLmHead, false, "lm_head.weight", "lm_head", true},
}};

const RoleRow& Row(Role r) {
  for (const auto& row : kRoles)
    if (row.role == r) return row;
  QF_CHECK_MSG(false, "role {} missing from the table", static_cast<int>(r));
  return kRoles[0];
}

}  // namespace

std::optional<TensorName> ParseTensorName(std::string_view name) {
  if (name.substr(0, kLayerPrefix.size()) == kLayerPrefix) {
    std::string_view rest = name.substr(kLayerPrefix.size());
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
    const std::string_view digits = rest.substr(0, dot);
    for (char ch : digits)
      if (ch < '0' || ch > '9') return std::nullopt;
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;  // "01" is not a layer index
    int layer = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
    if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
    const std::string_view suffix = rest.substr(dot + 1);
    for (const auto& row : kRoles)
      if (row.per_layer && row.hf_name == suffix) return TensorName{row.role, layer};
    return std::nullopt;
  }
  for (const auto& row : kRoles)
    if (!row.per_layer && row.hf_name == name) return TensorName{row.role, -1};
  return std::nullopt;
}

std::string HfTensorName(Role role, int layer) {
  const RoleRow& row = Row(role);
  if (!row.per_layer) {
    QF_CHECK_MSG(layer == -1, "role {} has no layer", row.role_name);
    return std::string(row.hf_name);
  }
  QF_CHECK_MSG(layer >= 0, "role {} needs a layer", row.role_name);
  return fmt::format("{}{}.{}", kLayerPrefix, layer, row.hf_name);
}

bool IsLayerRole(Role role) { return Row(role).per_layer; }
std::string_view RoleName(Role role) { return Row(role).role_name; }
bool IsLinearRole(Role role) { return Row(role).linear; }

Shape ExpectedShape(Role role, const ModelConfig& c) {
  switch (role) {
    case Role::kEmbedding:
    case Role::kLmHead: return {c.vocab_size, c.hidden_size};
    case Role::kAttnNorm:
    case Role::kMlpNorm:
    case Role::kFinalNorm: return {c.hidden_size};
    case Role::kQ: return {c.q_dim(), c.hidden_size};
    case Role::kK:
    case Role::kV: return {c.kv_dim(), c.hidden_size};
    case Role::kO: return {c.hidden_size, c.q_dim()};
    case Role::kQBias: return {c.q_dim()};
    case Role::kKBias:
    case Role::kVBias: return {c.kv_dim()};
    case Role::kQNorm:
    case Role::kKNorm: return {c.head_dim};
    case Role::kGate:
    case Role::kUp: return {c.intermediate_size, c.hidden_size};
    case Role::kDown: return {c.hidden_size, c.intermediate_size};
  }
  QF_CHECK(false);
  return {};
}

bool RoleApplies(Role role, const ModelConfig& c) {
  switch (role) {
    case Role::kQBias:
    case Role::kKBias:
    case Role::kVBias: return c.attention_bias;
    case Role::kQNorm:
    case Role::kKNorm: return c.qk_norm;
    default: return true;
  }
}

std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& c) {
  std::vector<ExpectedTensor> out;
  auto add = [&](Role r, int layer) {
    if (RoleApplies(r, c)) out.push_back({HfTensorName(r, layer), r, layer, ExpectedShape(r, c)});
  };
  add(Role::kEmbedding, -1);
  for (int l = 0; l < c.num_layers; ++l)
    for (const auto& row : kRoles)
      if (row.per_layer) add(row.role, l);
  add(Role::kFinalNorm, -1);
  if (!c.tie_word_embeddings) add(Role::kLmHead, -1);
  return out;
}

}  // namespace qforge::hf
