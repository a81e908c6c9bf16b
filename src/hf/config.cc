#include "hf/config.h"

#include <array>

#include "core/error.h"

namespace qforge::hf {
namespace {

constexpr std::array<std::string_view, 4> kSupported = {"llama", "mistral", "qwen2", "qwen3"};
constexpr double kMaxRopeTheta = 1e12;
constexpr double kMaxRopeFactor = 1e4;

int64_t InRange(int64_t v, int64_t lo, int64_t hi, std::string_view key, const std::string& path) {
  if (v < lo || v > hi) Fail("{}: \"{}\" = {} is out of range; expected {} to {}", path, key, v, lo, hi);
  return v;
}

// eos_token_id may be an integer or a list of integers (Llama 3 instruct); the first is kept.
std::optional<int64_t> TokenId(const io::Json& j, std::string_view key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_array()) {
    if (it->empty()) return std::nullopt;
    io::Json first = {{"first", (*it)[0]}};
    return io::GetInt(first, "first", fmt::format("{}: \"{}\"[0]", path, key));
  }
  return io::GetOptInt(j, key, path);
}

RopeScaling ParseRopeScaling(const io::Json& j, const std::string& path) {
  RopeScaling r;
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return r;
  const std::string ctx = path + ": rope_scaling";
  if (!it->is_object()) Fail("{}: field \"rope_scaling\" must be an object or null, found {}", path, io::TypeName(*it));
  auto type = io::GetOptString(*it, "rope_type", ctx);
  if (!type) type = io::GetOptString(*it, "type", ctx);
  if (!type || *type == "default") return r;
  if (*type == "llama3") {
    r.type = RopeScalingType::kLlama3;
    r.low_freq_factor = io::GetNumber(*it, "low_freq_factor", ctx);
    r.high_freq_factor = io::GetNumber(*it, "high_freq_factor", ctx);
    r.original_max_position_embeddings = io::GetInt(*it, "original_max_position_embeddings", ctx);
    if (!(r.low_freq_factor > 0) || !(r.high_freq_factor > r.low_freq_factor) ||
        r.original_max_position_embeddings <= 0)
      Fail("{}: llama3 needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0", ctx);
  } else if (*type == "linear") {
    r.type = RopeScalingType::kLinear;
  } else {
    Fail("{}: rope type \"{}\" is not supported; supported: default, linear, llama3", ctx, *type);
  }
  r.factor = io::GetNumber(*it, "factor", ctx);
  if (!(r.factor >= 1.0 && r.factor <= kMaxRopeFactor))
    Fail("{}: factor = {} is out of range; expected 1 to {}", ctx, r.factor, kMaxRopeFactor);
  return r;
}

}  // namespace

std::span<const std::string_view> SupportedModelTypes() { return kSupported; }

ModelConfig ParseConfig(const io::Json& j, const std::string& path) {
  if (!j.is_object()) Fail("{}: config is a JSON {}; expected an object", path, io::TypeName(j));
  ModelConfig c;
  c.model_type = io::GetString(j, "model_type", path);
  bool supported = false;
  for (auto t : kSupported) supported |= (t == c.model_type);
  if (!supported)
    Fail("{}: model_type \"{}\" is not supported; supported model types: {}", path, c.model_type,
         fmt::join(kSupported, ", "));
  if (auto it = j.find("architectures"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) Fail("{}: field \"architectures\" must be a list of strings, found {}", path, io::TypeName(*it));
    if (!it->empty()) {
      if (!(*it)[0].is_string()) Fail("{}: \"architectures\"[0] must be a string, found {}", path, io::TypeName((*it)[0]));
      c.architecture = (*it)[0].get<std::string>();
    }
  }
  c.hidden_size = InRange(io::GetInt(j, "hidden_size", path), 1, kMaxHiddenSize, "hidden_size", path);
  c.num_layers = InRange(io::GetInt(j, "num_hidden_layers", path), 1, kMaxLayers, "num_hidden_layers", path);
  c.num_heads = InRange(io::GetInt(j, "num_attention_heads", path), 1, kMaxHeads, "num_attention_heads", path);
  c.num_kv_heads = InRange(io::GetOptInt(j, "num_key_value_heads", path).value_or(c.num_heads), 1, c.num_heads,
                           "num_key_value_heads", path);
  if (c.num_heads % c.num_kv_heads != 0)
    Fail("{}: num_attention_heads = {} is not a multiple of num_key_value_heads = {}", path, c.num_heads,
         c.num_kv_heads);
  if (auto hd = io::GetOptInt(j, "head_dim", path)) {
    c.head_dim = InRange(*hd, 1, kMaxHeadDim, "head_dim", path);
  } else {
    if (c.hidden_size % c.num_heads != 0)
      Fail("{}: hidden_size = {} is not a multiple of num_attention_heads = {} and no head_dim is given", path,
           c.hidden_size, c.num_heads);
    c.head_dim = c.hidden_size / c.num_heads;
  }
  c.intermediate_size =
      InRange(io::GetInt(j, "intermediate_size", path), 1, kMaxIntermediateSize, "intermediate_size", path);
  c.vocab_size = InRange(io::GetInt(j, "vocab_size", path), 1, kMaxVocabSize, "vocab_size", path);
  c.max_position_embeddings = io::GetOptInt(j, "max_position_embeddings", path).value_or(0);
  if (c.max_position_embeddings < 0) Fail("{}: \"max_position_embeddings\" must not be negative", path);
  c.rope_theta = io::GetOptNumber(j, "rope_theta", path).value_or(10000.0);
  if (!(c.rope_theta > 0 && c.rope_theta <= kMaxRopeTheta))
    Fail("{}: \"rope_theta\" = {} is out of range; expected 0 < theta <= {}", path, c.rope_theta, kMaxRopeTheta);
  c.rope_scaling = ParseRopeScaling(j, path);
  c.rms_norm_eps = io::GetOptNumber(j, "rms_norm_eps", path).value_or(1e-6);
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1))
    Fail("{}: \"rms_norm_eps\" = {} is out of range; expected 0 < eps < 1", path, c.rms_norm_eps);
  c.tie_word_embeddings = io::GetOptBool(j, "tie_word_embeddings", path).value_or(false);
  // Qwen2 hard-codes q/k/v biases; qwen3 hard-codes q/k RMSNorm (transformers modeling_qwen2/3).
  c.attention_bias = c.model_type == "qwen2" || io::GetOptBool(j, "attention_bias", path).value_or(false);
  c.qk_norm = c.model_type == "qwen3";
  c.torch_dtype = io::GetOptString(j, "torch_dtype", path).value_or("");
  if (c.torch_dtype.empty()) c.torch_dtype = io::GetOptString(j, "dtype", path).value_or("");
  c.bos_token_id = TokenId(j, "bos_token_id", path);
  c.eos_token_id = TokenId(j, "eos_token_id", path);
  c.synthetic = io::GetOptBool(j, kSyntheticKey, path).value_or(false);
  return c;
}

ModelConfig ReadConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  return ParseConfig(io::ReadJsonFile(path), path);
}

io::Json ConfigToJson(const ModelConfig& c) {
  static const std::array<std::pair<std::string_view, std::string_view>, 4> kArch = {{
      {"llama", "LlamaForCausalLM"}, {"mistral", "MistralForCausalLM"},
      {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}}};
  std::string arch = c.architecture;
  for (const auto& [t, a] : kArch)
    if (arch.empty() && t == c.model_type) arch = a;
  io::Json j = {
      {"architectures", {arch}},
      {"attention_dropout", 0.0},
      {"hidden_act", "silu"},
      {"hidden_size", c.hidden_size},
      {"initializer_range", 0.02},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"model_type", c.model_type},
      {"num_attention_heads", c.num_heads},
      {"num_hidden_layers", c.num_layers},
      {"num_key_value_heads", c.num_kv_heads},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"torch_dtype", c.torch_dtype.empty() ? "bfloat16" : c.torch_dtype},
      {"transformers_version", "4.46.0"},
      {"use_cache", true},
      {"vocab_size", c.vocab_size},
  };
  j["bos_token_id"] = c.bos_token_id ? io::Json(*c.bos_token_id) : io::Json(nullptr);
  j["eos_token_id"] = c.eos_token_id ? io::Json(*c.eos_token_id) : io::Json(nullptr);
  const bool explicit_head_dim = c.head_dim * c.num_heads != c.hidden_size;
  if (c.model_type == "llama") {
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = false;
    j["pretraining_tp"] = 1;
    j["head_dim"] = c.head_dim;
  } else if (c.model_type == "mistral") {
    j["sliding_window"] = nullptr;
    if (explicit_head_dim) j["head_dim"] = c.head_dim;
  } else if (c.model_type == "qwen2") {
    j["max_window_layers"] = c.num_layers;
    j["sliding_window"] = c.max_position_embeddings;
    j["use_sliding_window"] = false;
  } else if (c.model_type == "qwen3") {
    j["attention_bias"] = c.attention_bias;
    j["head_dim"] = c.head_dim;
    j["max_window_layers"] = c.num_layers;
    j["sliding_window"] = nullptr;
    j["use_sliding_window"] = false;
  }
  switch (c.rope_scaling.type) {
    case RopeScalingType::kNone: j["rope_scaling"] = nullptr; break;
    case RopeScalingType::kLinear:
      j["rope_scaling"] = {{"factor", c.rope_scaling.factor}, {"rope_type", "linear"}};
      break;
    case RopeScalingType::kLlama3:
      j["rope_scaling"] = {{"factor", c.rope_scaling.factor},
                           {"high_freq_factor", c.rope_scaling.high_freq_factor},
                           {"low_freq_factor", c.rope_scaling.low_freq_factor},
                           {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings},
                           {"rope_type", "llama3"}};
      break;
  }
  if (c.synthetic) j[kSyntheticKey] = true;
  return j;
}

}  // namespace qforge::hf
