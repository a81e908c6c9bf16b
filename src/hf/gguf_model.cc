#include "hf/gguf_model.h"

#include <array>
#include <charconv>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "hf/checkpoint.h"
#include "hf/config.h"

namespace qforge::hf {
namespace {

constexpr std::string_view kBlockPrefix = "blk.";

struct GgufRow {
  Role role;
  bool per_layer;
  std::string_view gguf_name;  // full name, or the part after "blk.<N>."
};

// LC: gguf-py/gguf/constants.py TENSOR_NAMES / tensor_mapping.py (FORMATS.md §5.5).
constexpr std::array<GgufRow, 17> kGgufRoles = {{
    {Role::kEmbedding, false, "token_embd.weight"},
    {Role::kFinalNorm, false, "output_norm.weight"},
    {Role::kLmHead, false, "output.weight"},
    {Role::kAttnNorm, true, "attn_norm.weight"},
    {Role::kQ, true, "attn_q.weight"},
    {Role::kK, true, "attn_k.weight"},
    {Role::kV, true, "attn_v.weight"},
    {Role::kO, true, "attn_output.weight"},
    {Role::kQBias, true, "attn_q.bias"},
    {Role::kKBias, true, "attn_k.bias"},
    {Role::kVBias, true, "attn_v.bias"},
    {Role::kQNorm, true, "attn_q_norm.weight"},
    {Role::kKNorm, true, "attn_k_norm.weight"},
    {Role::kMlpNorm, true, "ffn_norm.weight"},
    {Role::kGate, true, "ffn_gate.weight"},
    {Role::kUp, true, "ffn_up.weight"},
    {Role::kDown, true, "ffn_down.weight"},
}};

}  // namespace

std::string GgufTensorName(Role role, int layer) {
  for (const auto& row : kGgufRoles) {
    if (row.role != role) continue;
    if (!row.per_layer) {
      QF_CHECK(layer == -1);
      return std::string(row.gguf_name);
    }
    QF_CHECK(layer >= 0);
    return fmt::format("{}{}.{}", kBlockPrefix, layer, row.gguf_name);
  }
  QF_CHECK_MSG(false, "role {} has no GGUF name", RoleName(role));
  return {};
}

std::optional<std::string> GgufTensorNameFromHf(std::string_view hf_name) {
  const auto tn = ParseTensorName(hf_name);
  if (!tn) return std::nullopt;
  return GgufTensorName(tn->role, tn->layer);
}

std::optional<TensorName> ParseGgufTensorName(std::string_view name) {
  if (name.substr(0, kBlockPrefix.size()) == kBlockPrefix) {
    const std::string_view rest = name.substr(kBlockPrefix.size());
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
    const std::string_view digits = rest.substr(0, dot);
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    int layer = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
    if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
    const std::string_view suffix = rest.substr(dot + 1);
    for (const auto& row : kGgufRoles) {
      if (row.per_layer && row.gguf_name == suffix) return TensorName{row.role, layer};
    }
    return std::nullopt;
  }
  for (const auto& row : kGgufRoles) {
    if (!row.per_layer && row.gguf_name == name) return TensorName{row.role, -1};
  }
  return std::nullopt;
}

std::string GgufArchitecture(const ModelConfig& c) {
  if (c.model_type == "llama" || c.model_type == "mistral") return "llama";
  if (c.model_type == "qwen2" || c.model_type == "qwen3") return c.model_type;
  Fail("model_type '{}' has no GGUF export; expected llama, mistral, qwen2 or qwen3", c.model_type);
}

namespace {

int64_t PositiveU32(const gguf::File& f, const std::string& key, int64_t max) {
  const gguf::Value* v = f.Find(key);
  if (v && v->is_array()) {
    Fail("{}: metadata key '{}' is a per-layer array; qforge supports one value for all layers", f.path(), key);
  }
  const int64_t n = f.GetU32(key);
  if (n <= 0 || n > max) Fail("{}: metadata key '{}' is {}; expected 1..{}", f.path(), key, n, max);
  return n;
}

}  // namespace

ModelConfig ConfigFromGguf(const gguf::File& f) {
  const std::string arch = f.GetString("general.architecture");
  ModelConfig c;
  if (arch == "llama") {
    c.model_type = "llama";
    c.architecture = "LlamaForCausalLM";
    c.rope_interleaved = true;
  } else if (arch == "qwen2") {
    c.model_type = "qwen2";
    c.architecture = "Qwen2ForCausalLM";
    c.attention_bias = true;
  } else if (arch == "qwen3") {
    c.model_type = "qwen3";
    c.architecture = "Qwen3ForCausalLM";
    c.qk_norm = true;
  } else {
    Fail("{}: general.architecture is '{}'; qforge supports llama, qwen2 and qwen3", f.path(), arch);
  }
  const std::string p = arch + ".";
  c.hidden_size = PositiveU32(f, p + "embedding_length", kMaxHiddenSize);
  c.num_layers = PositiveU32(f, p + "block_count", kMaxLayers);
  c.num_heads = PositiveU32(f, p + "attention.head_count", kMaxHeads);
  c.num_kv_heads = f.Find(p + "attention.head_count_kv") ? PositiveU32(f, p + "attention.head_count_kv", kMaxHeads)
                                                         : c.num_heads;
  if (c.num_heads % c.num_kv_heads != 0) {
    Fail("{}: head_count {} is not a multiple of head_count_kv {}", f.path(), c.num_heads, c.num_kv_heads);
  }
  if (f.Find(p + "attention.key_length")) {
    c.head_dim = PositiveU32(f, p + "attention.key_length", kMaxHeadDim);
  } else {
    if (c.hidden_size % c.num_heads != 0) {
      Fail("{}: embedding_length {} is not a multiple of head_count {}", f.path(), c.hidden_size, c.num_heads);
    }
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (const auto vl = f.FindU32(p + "attention.value_length"); vl && *vl != c.head_dim) {
    Fail("{}: value_length {} differs from key_length {}; qforge expects them equal", f.path(), *vl, c.head_dim);
  }
  if (const auto rot = f.FindU32(p + "rope.dimension_count"); rot && *rot != c.head_dim) {
    Fail("{}: rope.dimension_count {} differs from the head size {}; partial RoPE is not supported", f.path(), *rot,
         c.head_dim);
  }
  c.intermediate_size = PositiveU32(f, p + "feed_forward_length", kMaxIntermediateSize);
  c.max_position_embeddings = f.Find(p + "context_length") ? f.GetU32(p + "context_length") : 0;
  c.rope_theta = f.FindF32(p + "rope.freq_base").value_or(10000.0f);
  c.rms_norm_eps = f.GetF32(p + "attention.layer_norm_rms_epsilon");
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) {
    Fail("{}: layer_norm_rms_epsilon is {}; expected a value in (0, 1)", f.path(), c.rms_norm_eps);
  }
  if (const auto st = f.FindString(p + "rope.scaling.type"); st && *st != "none") {
    if (*st != "linear") Fail("{}: rope.scaling.type '{}' is not supported (only linear)", f.path(), *st);
    c.rope_scaling.type = RopeScalingType::kLinear;
    c.rope_scaling.factor = f.GetF32(p + "rope.scaling.factor");
  }

  const gguf::TensorInfo* embd = f.FindTensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2) Fail("{}: tensor 'token_embd.weight' is missing or not 2-D", f.path());
  c.vocab_size = embd->ne[1];
  if (c.vocab_size <= 0 || c.vocab_size > kMaxVocabSize) {
    Fail("{}: token_embd.weight has {} rows; expected 1..{}", f.path(), c.vocab_size, kMaxVocabSize);
  }
  c.tie_word_embeddings = f.FindTensor("output.weight") == nullptr;
  c.torch_dtype = "float32";  // llama.cpp computes in f32
  if (const auto id = f.FindU32("tokenizer.ggml.bos_token_id"); id && *id < c.vocab_size) c.bos_token_id = *id;
  if (const auto id = f.FindU32("tokenizer.ggml.eos_token_id"); id && *id < c.vocab_size) c.eos_token_id = *id;
  return c;
}

namespace {

// GGUF file → HF names; validates every tensor against the config.
class GgufHfSource final : public TensorSource {
 public:
  explicit GgufHfSource(std::shared_ptr<const gguf::File> file) : file_(std::move(file)) {
    const ModelConfig c = ConfigFromGguf(*file_);
    for (const auto& info : file_->tensor_infos()) {
      if (info.name == kGgufRopeFreqs) {
        Add(info.name, info.name);
        continue;
      }
      const auto tn = ParseGgufTensorName(info.name);
      if (!tn) Fail("{}: unexpected tensor '{}' for a {} model", file_->path(), info.name, c.model_type);
      if (tn->layer >= c.num_layers) {
        Fail("{}: tensor '{}' belongs to layer {}, but block_count is {}", file_->path(), info.name, tn->layer,
             c.num_layers);
      }
      if (!RoleApplies(tn->role, c)) {
        Fail("{}: tensor '{}' does not belong to a {} model", file_->path(), info.name, c.model_type);
      }
      const Shape want = ExpectedShape(tn->role, c);
      if (info.shape() != want) {
        Fail("{}: tensor '{}' has shape {} (ne reversed); the metadata implies {}", file_->path(), info.name,
             ShapeToString(info.shape()), ShapeToString(want));
      }
      Add(HfTensorName(tn->role, tn->layer), info.name);
    }
    for (const ExpectedTensor& e : ExpectedTensors(c)) {
      if (!to_gguf_.count(e.name)) {
        Fail("{}: tensor '{}' (HF '{}') is missing", file_->path(), GgufTensorName(e.role, e.layer), e.name);
      }
    }
  }

  std::vector<std::string> Names() const override { return names_; }
  bool Has(std::string_view name) const override { return to_gguf_.count(std::string(name)) != 0; }
  Tensor Get(std::string_view name) const override {
    const auto it = to_gguf_.find(std::string(name));
    if (it == to_gguf_.end()) Fail("{}: no tensor named '{}' (HF name)", file_->path(), name);
    return file_->Get(it->second);
  }
  std::string Describe() const override { return file_->path(); }

 private:
  void Add(std::string hf, std::string gguf) {
    names_.push_back(hf);
    to_gguf_.emplace(std::move(hf), std::move(gguf));
  }
  std::shared_ptr<const gguf::File> file_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::string> to_gguf_;
};

}  // namespace

std::unique_ptr<TensorSource> HfNamedTensors(std::shared_ptr<const gguf::File> file) {
  const bool tied = file->FindTensor("output.weight") == nullptr;
  return WithTiedAliases(std::make_unique<GgufHfSource>(std::move(file)), tied);
}

}  // namespace qforge::hf
