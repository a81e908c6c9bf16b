// Hugging Face config.json <-> ModelConfig for the Llama family (llama, mistral, qwen2, qwen3).
// Read: required hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size,
// model_type; optional num_key_value_heads (= heads), head_dim (= hidden / heads), rope_theta (10000, the
// transformers default for all four), rope_scaling (null, {"rope_type"|"type": "llama3"|"linear"|
// "default", ...}), rms_norm_eps, tie_word_embeddings (false), attention_bias
// (qwen2: always true), qk_norm (qwen3: always true), max_position_embeddings, torch_dtype, bos/eos ids
// (eos may be a list: the first is kept), "_qforge_synthetic". Values are range-checked with named limits.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/model_config.h"
#include "io/json_util.h"

namespace qforge::hf {

inline constexpr int64_t kMaxHiddenSize = 1 << 17;
inline constexpr int64_t kMaxLayers = 1024;
inline constexpr int64_t kMaxHeads = 4096;
inline constexpr int64_t kMaxHeadDim = 4096;
inline constexpr int64_t kMaxIntermediateSize = 1 << 20;
inline constexpr int64_t kMaxVocabSize = 1 << 24;
inline constexpr const char* kSyntheticKey = "_qforge_synthetic";

// "llama", "mistral", "qwen2", "qwen3".
std::span<const std::string_view> SupportedModelTypes();

// `path` names the file in messages. Throws qforge::Error listing the supported model types when
// model_type is not one of them.
ModelConfig ParseConfig(const io::Json& config, const std::string& path);
// Reads `dir`/config.json.
ModelConfig ReadConfig(const std::string& dir);

// The config.json a transformers save would write for `c` (keys a real config of that model_type has),
// plus "_qforge_synthetic": true when c.synthetic. Serialize with io::DumpPythonStyle(...) + "\n".
io::Json ConfigToJson(const ModelConfig& c);

}  // namespace qforge::hf
