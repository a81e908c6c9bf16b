// The shapes `qforge synth` knows: copies of the published config.json values of real checkpoints.
#include <array>

#include "core/error.h"
#include "hf/synth.h"
#include "hf/synth_internal.h"

namespace qforge::hf {
namespace {

struct ShapeRow {
  std::string_view name, model_type, architecture;
  int64_t hidden, layers, heads, kv_heads, head_dim, intermediate, vocab, max_positions;
  double rope_theta, rms_eps;
  bool tied;
  double llama3_factor;  // 0: no rope scaling; else llama3 scaling (low 1, high 4, original 8192)
  int64_t bos, eos;
  std::string_view extra_json;  // further keys of the real config.json
};

// Sources: the config.json files on the Hugging Face hub (meta-llama/Llama-3.2-1B, Llama-3.2-3B,
// Llama-3.1-8B, Qwen/Qwen2.5-0.5B, Qwen2.5-1.5B, Qwen2.5-7B, Qwen/Qwen3-0.6B, mistralai/Mistral-7B-v0.1).
constexpr std::array<ShapeRow, 8> kShapes = {{
    {"llama-3.2-1b", "llama", "LlamaForCausalLM", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000.0, 1e-5, true,
     32.0, 128000, 128001, ""},
    {"llama-3.2-3b", "llama", "LlamaForCausalLM", 3072, 28, 24, 8, 128, 8192, 128256, 131072, 500000.0, 1e-5, true,
     32.0, 128000, 128001, ""},
    {"llama-3.1-8b", "llama", "LlamaForCausalLM", 4096, 32, 32, 8, 128, 14336, 128256, 131072, 500000.0, 1e-5,
     false, 8.0, 128000, 128001, ""},
    {"qwen2.5-0.5b", "qwen2", "Qwen2ForCausalLM", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000.0, 1e-6, true, 0,
     151643, 151643, R"({"sliding_window":32768,"use_mrope":false})"},
    {"qwen2.5-1.5b", "qwen2", "Qwen2ForCausalLM", 1536, 28, 12, 2, 128, 8960, 151936, 131072, 1000000.0, 1e-6, true,
     0, 151643, 151643, R"({"sliding_window":131072,"use_mrope":false})"},
    {"qwen2.5-7b", "qwen2", "Qwen2ForCausalLM", 3584, 28, 28, 4, 128, 18944, 152064, 131072, 1000000.0, 1e-6, false,
     0, 151643, 151643, R"({"sliding_window":131072,"use_mrope":false})"},
    {"qwen3-0.6b", "qwen3", "Qwen3ForCausalLM", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000.0, 1e-6, true, 0,
     151643, 151645, ""},
    {"mistral-7b", "mistral", "MistralForCausalLM", 4096, 32, 32, 8, 128, 14336, 32000, 32768, 10000.0, 1e-5, false,
     0, 1, 2, R"({"sliding_window":4096})"},
}};

const ShapeRow& FindShape(std::string_view name) {
  for (const auto& s : kShapes)
    if (s.name == name) return s;
  Fail("unknown synth shape '{}'; known shapes: {}", name, fmt::join(SynthShapeNames(), ", "));
}

}  // namespace

std::vector<std::string> SynthShapeNames() {
  std::vector<std::string> out;
  for (const auto& s : kShapes) out.emplace_back(s.name);
  return out;
}

ModelConfig SynthShapeConfig(std::string_view name) {
  const ShapeRow& s = FindShape(name);
  ModelConfig c;
  c.model_type = s.model_type;
  c.architecture = s.architecture;
  c.hidden_size = s.hidden;
  c.num_layers = s.layers;
  c.num_heads = s.heads;
  c.num_kv_heads = s.kv_heads;
  c.head_dim = s.head_dim;
  c.intermediate_size = s.intermediate;
  c.vocab_size = s.vocab;
  c.max_position_embeddings = s.max_positions;
  c.rope_theta = s.rope_theta;
  c.rms_norm_eps = s.rms_eps;
  c.tie_word_embeddings = s.tied;
  c.attention_bias = s.model_type == "qwen2";
  c.qk_norm = s.model_type == "qwen3";
  if (s.llama3_factor > 0) {
    c.rope_scaling.type = RopeScalingType::kLlama3;
    c.rope_scaling.factor = s.llama3_factor;
    c.rope_scaling.low_freq_factor = 1.0;
    c.rope_scaling.high_freq_factor = 4.0;
    c.rope_scaling.original_max_position_embeddings = 8192;
  }
  c.torch_dtype = "bfloat16";
  c.bos_token_id = s.bos;
  c.eos_token_id = s.eos;
  c.synthetic = true;
  return c;
}

io::Json SynthExtraConfigKeys(std::string_view name) {
  const ShapeRow& s = FindShape(name);
  return s.extra_json.empty() ? io::Json::object() : io::Json::parse(s.extra_json);
}

}  // namespace qforge::hf
