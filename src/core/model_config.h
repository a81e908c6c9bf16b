// Hyper-parameters of a Llama-family decoder (llama, mistral, qwen2, qwen3), whatever file they came
// from (HF config.json, GGUF metadata). Shapes derive from here: q_proj [heads*head_dim, hidden], ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace qforge {

enum class RopeScalingType { kNone, kLlama3, kLinear };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  // llama3 only:
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type;        // "llama", "mistral", "qwen2", "qwen3"
  std::string architecture;      // "LlamaForCausalLM", ...
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;          // hidden_size / num_heads unless given explicitly (qwen3, mistral-nemo)
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool attention_bias = false;   // q/k/v biases (qwen2)
  bool qk_norm = false;          // per-head RMSNorm on q and k (qwen3)
  std::string torch_dtype;       // "bfloat16", "float32", ... as declared
  std::optional<int64_t> bos_token_id, eos_token_id;
  bool synthetic = false;        // "_qforge_synthetic": random weights from `qforge synth`
  // Q/K weight rows as GGUF stores them for llama (pairs interleaved, FORMATS.md §5.6) instead of HF's
  // rotate-half layout; RoPE must then rotate adjacent pairs.
  bool rope_interleaved = false;

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
};

}  // namespace qforge
