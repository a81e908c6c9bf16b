// Random-weight HF checkpoints in the exact shapes of real models, for benchmarks (`qforge synth`).
// Weights ~ N(0, 0.02) in BF16 (norm weights = 1, biases = 0), seeded, streamed shard by shard through
// safetensors::WriteCheckpoint (never the whole model in memory). config.json carries "_qforge_synthetic".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model_config.h"
#include "io/json_util.h"

namespace qforge::hf {

inline constexpr double kSynthStdDev = 0.02;  // transformers' default initializer_range

std::vector<std::string> SynthShapeNames();  // "llama-3.2-1b", "llama-3.1-8b", "qwen2.5-0.5b", "mistral-7b", ...
// The real model's config (synthetic = true). Throws qforge::Error listing the known names.
ModelConfig SynthShapeConfig(std::string_view name);

enum class SynthTokenizer { kAuto, kCopy, kByteLevel };

struct SynthOptions {
  std::string shape;
  std::optional<int64_t> layers;      // truncate depth (1..real layers)
  uint64_t seed = 0;
  uint64_t max_shard_bytes = 0;       // 0 = safetensors::kDefaultMaxShardBytes
  SynthTokenizer tokenizer = SynthTokenizer::kAuto;
  std::string tokenizer_dir;          // "" = the bundled TinyStories model (compile-time path)
  bool overwrite = false;
  bool progress = true;
};

// Writes the checkpoint into `out_dir` atomically (staging dir + rename). Returns the config written.
ModelConfig WriteSyntheticCheckpoint(const SynthOptions& opts, const std::string& out_dir);
// The same for any config (tests use tiny ones); opts.shape and opts.layers are ignored, `c.synthetic` is set.
// `extra_config` keys are merged into config.json.
ModelConfig WriteSyntheticModel(ModelConfig c, const io::Json& extra_config, const SynthOptions& opts,
                                const std::string& out_dir);

// Where the bundled model lives (for the tokenizer copy); compile-time default.
std::string BundledModelDir();

}  // namespace qforge::hf
