// Per-tensor type rules of llama-quantize (FORMATS.md §7.2, source LC: src/llama-quant.cpp), as data.
#include "algorithms/kquant_mix.h"

#include <array>
#include <cctype>
#include <charconv>
#include <string>

#include "core/error.h"

namespace qforge::algorithms {
namespace {

// The layer condition of a rule; i = layer (running counter), n = number of layers.
enum class When {
  kNever,
  kAlways,
  kMoreBits,          // UseMoreBits(i, n)
  kFirst2,            // i < 2
  kFirst4,            // i < 4
  kFirstEighth,       // i < n/8
  kFirstSixteenth,    // i < n/16
  kFirstEighthWithImatrix,  // i < n/8 and an imatrix is given
};

// "type_if when the condition holds, else type_else"; nullopt keeps the current (default) type.
struct LayerRule {
  When when = When::kNever;
  std::optional<DType> type_if, type_else;
};

struct MixRules {
  KquantMixInfo info;
  LayerRule attn_v, ffn_down, attn_output, attn_qkv;
  bool moe8_attn_output_q5k;  // 8-expert models: attn_output -> Q5_K for this mix
};

constexpr auto Q4_0 = DType::kQ4_0, Q4_1 = DType::kQ4_1, Q8_0 = DType::kQ8_0, Q3_K = DType::kQ3_K,
               Q4_K = DType::kQ4_K, Q5_K = DType::kQ5_K, Q6_K = DType::kQ6_K;

// FORMATS.md §7.2 table, plus Q4_0 and Q3_K_M from the same function of LC: src/llama-quant.cpp.
const std::array<MixRules, 8> kMixes = {{
    {{KquantMix::kQ8_0, "Q8_0", 7, Q8_0}, {}, {}, {}, {}, false},
    {{KquantMix::kQ6_K, "Q6_K", 18, Q6_K}, {}, {}, {}, {}, false},
    {{KquantMix::kQ5_K_M, "Q5_K_M", 17, DType::kQ5_K},
     {When::kMoreBits, Q6_K, {}}, {When::kMoreBits, Q6_K, {}}, {}, {When::kAlways, Q6_K, {}}, false},
    {{KquantMix::kQ5_K_S, "Q5_K_S", 16, DType::kQ5_K}, {}, {}, {}, {}, false},
    {{KquantMix::kQ4_K_M, "Q4_K_M", 15, Q4_K},
     {When::kMoreBits, Q6_K, {}}, {When::kMoreBits, Q6_K, {}}, {}, {When::kAlways, Q5_K, {}}, true},
    {{KquantMix::kQ4_K_S, "Q4_K_S", 14, Q4_K},
     {When::kFirst4, Q5_K, {}}, {When::kFirstEighth, Q5_K, {}}, {}, {}, true},
    {{KquantMix::kQ4_0, "Q4_0", 2, Q4_0},
     {}, {When::kFirstEighthWithImatrix, Q4_1, {}}, {}, {}, false},
    {{KquantMix::kQ3_K_M, "Q3_K_M", 12, Q3_K},
     {When::kFirst2, Q5_K, Q4_K}, {When::kFirstSixteenth, Q5_K, Q4_K}, {When::kAlways, Q4_K, {}},
     {When::kAlways, Q4_K, {}}, true},
}};

const MixRules& Rules(KquantMix mix) {
  for (const MixRules& r : kMixes)
    if (r.info.mix == mix) return r;
  QF_CHECK_MSG(false, "unknown KquantMix {}", static_cast<int>(mix));
  __builtin_unreachable();
}

bool Holds(When w, int i, int n, bool has_imatrix) {
  switch (w) {
    case When::kNever: return false;
    case When::kAlways: return true;
    case When::kMoreBits: return UseMoreBits(i, n);
    case When::kFirst2: return i < 2;
    case When::kFirst4: return i < 4;
    case When::kFirstEighth: return i < n / 8;
    case When::kFirstSixteenth: return i < n / 16;
    case When::kFirstEighthWithImatrix: return has_imatrix && i < n / 8;
  }
  return false;
}

DType Apply(const LayerRule& r, DType current, int i, int n, bool has_imatrix) {
  if (r.when == When::kNever) return current;
  const std::optional<DType>& t = Holds(r.when, i, n, has_imatrix) ? r.type_if : r.type_else;
  return t.value_or(current);
}

// Block-specific tensor names (the part between "blk.N." and ".weight").
struct NameRole {
  std::string_view name;
  GgufRole role;
};
constexpr NameRole kBlockNames[] = {
    {"attn_q", GgufRole::kAttnQ},       {"attn_k", GgufRole::kAttnK},         {"attn_v", GgufRole::kAttnV},
    {"attn_output", GgufRole::kAttnOutput}, {"attn_qkv", GgufRole::kAttnQkv}, {"ffn_gate", GgufRole::kFfnGate},
    {"ffn_up", GgufRole::kFfnUp},       {"ffn_down", GgufRole::kFfnDown},     {"attn_norm", GgufRole::kNorm},
    {"ffn_norm", GgufRole::kNorm},      {"attn_q_norm", GgufRole::kNorm},     {"attn_k_norm", GgufRole::kNorm},
};

// The rules of llama_tensor_get_type for a non-pure run, before the fallback.
DType RuleType(const KquantTensor& t, const MixRules& r, const KquantModelFacts& m, const KquantOptions& o) {
  const DType def = r.info.default_type;
  const int i = t.layer, n = m.n_layers;
  const bool is_output = t.role == GgufRole::kOutput || (!m.has_output && t.role == GgufRole::kTokenEmbd);
  if (is_output) {
    if (o.output_tensor_type) return *o.output_tensor_type;
    if (t.ne[0] % Traits(def).block_size != 0) return DType::kQ8_0;
    return def != DType::kQ8_0 ? DType::kQ6_K : def;
  }
  switch (t.role) {
    case GgufRole::kTokenEmbd:
      return o.token_embedding_type.value_or(def);
    case GgufRole::kAttnV: {
      DType type = Apply(r.attn_v, def, i, n, o.has_imatrix);
      const bool is_70b = n == 80 && m.n_head != m.n_head_kv;  // LLM_TYPE_70B for llama
      if (is_70b && (type == DType::kQ3_K || type == DType::kQ4_K)) type = DType::kQ5_K;
      if (m.n_expert == 8) type = DType::kQ8_0;
      return type;
    }
    case GgufRole::kAttnK:
      return m.n_expert == 8 ? DType::kQ8_0 : def;
    case GgufRole::kFfnDown:
      return Apply(r.ffn_down, def, i, n, o.has_imatrix);
    case GgufRole::kAttnOutput:
      if (m.n_expert == 8) return r.moe8_attn_output_q5k ? DType::kQ5_K : def;
      return Apply(r.attn_output, def, i, n, o.has_imatrix);
    case GgufRole::kAttnQkv:
      return Apply(r.attn_qkv, def, i, n, o.has_imatrix);
    default:
      return def;
  }
}

}  // namespace

bool UseMoreBits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

DType FallbackType(DType type, int64_t row_length) {
  if (row_length % Traits(type).block_size == 0) return type;
  DType fb = DType::kF16;
  switch (type) {
    case DType::kQ4_K: fb = DType::kQ5_0; break;
    case DType::kQ5_K: fb = DType::kQ5_1; break;
    case DType::kQ6_K: fb = DType::kQ8_0; break;
    case DType::kQ2_K: case DType::kQ3_K: fb = DType::kQ4_0; break;
    default: break;  // 32-element types (and anything else) -> F16
  }
  return row_length % Traits(fb).block_size == 0 ? fb : DType::kF16;
}

std::span<const KquantMixInfo> AllKquantMixes() {
  static const auto infos = [] {
    std::array<KquantMixInfo, kMixes.size()> a{};
    for (size_t k = 0; k < kMixes.size(); ++k) a[k] = kMixes[k].info;
    return a;
  }();
  return infos;
}

const KquantMixInfo& Info(KquantMix mix) { return Rules(mix).info; }

std::optional<KquantMix> KquantMixFromName(std::string_view name) {
  for (const MixRules& r : kMixes) {
    if (r.info.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t k = 0; k < name.size(); ++k)
      eq &= std::toupper(static_cast<unsigned char>(name[k])) == r.info.name[k];
    if (eq) return r.info.mix;
  }
  return std::nullopt;
}

GgufTensorRef ParseGgufTensorName(std::string_view name) {
  constexpr std::string_view kWeight = ".weight";
  if (name.size() < kWeight.size() || name.substr(name.size() - kWeight.size()) != kWeight) return {};
  const std::string_view base = name.substr(0, name.size() - kWeight.size());
  if (base == "token_embd") return {GgufRole::kTokenEmbd, -1};
  if (base == "output") return {GgufRole::kOutput, -1};
  if (base == "output_norm") return {GgufRole::kNorm, -1};
  constexpr std::string_view kBlk = "blk.";
  if (base.substr(0, kBlk.size()) != kBlk) return {};
  const std::string_view rest = base.substr(kBlk.size());
  int layer = -1;
  const auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (ec != std::errc() || layer < 0 || p == rest.data() + rest.size() || *p != '.') return {};
  const std::string_view leaf = rest.substr(static_cast<size_t>(p - rest.data()) + 1);
  for (const NameRole& nr : kBlockNames)
    if (leaf == nr.name) return {nr.role, layer};
  return {GgufRole::kOther, layer};
}

KquantChoice ChooseKquantType(const KquantTensor& t, KquantMix mix, const KquantModelFacts& model,
                              const KquantOptions& options) {
  // FORMATS.md §7.1: only tensors of >= 2 dims that are not norms are quantized.
  if (t.ne.size() < 2 || t.role == GgufRole::kNorm) return {};
  if (t.ne[0] <= 0) Fail("ChooseKquantType: row length {} of a tensor is not positive", t.ne[0]);
  if (t.layer >= 0 && model.n_layers > 0 && t.layer >= model.n_layers)
    Fail("ChooseKquantType: layer {} is outside the model's {} layers", t.layer, model.n_layers);
  const MixRules& r = Rules(mix);
  DType type = options.pure ? r.info.default_type : RuleType(t, r, model, options);
  // Overrides apply after the rules (and in --pure mode) to the tensors with exactly these names.
  if (options.token_embedding_type && t.role == GgufRole::kTokenEmbd) type = *options.token_embedding_type;
  if (options.output_tensor_type && t.role == GgufRole::kOutput) type = *options.output_tensor_type;
  if (!Traits(type).is_quantized && !Traits(type).is_float)
    Fail("ChooseKquantType: {} is not a GGUF tensor type for weights", Name(type));
  const DType fitted = FallbackType(type, t.ne[0]);
  return {true, fitted, fitted != type};
}

}  // namespace qforge::algorithms
