// Quantization schemes as validated value types, with compressed-tensors' presets (FORMATS.md §2.4) and the
// rules that keep a scheme loadable by vLLM (§2.11). A scheme says how the weights (and, for W8A8, the
// input activations) of the modules it targets are quantized.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::recipe {

enum class Strategy { kTensor, kChannel, kGroup, kToken };
std::string_view StrategyName(Strategy s);  // "tensor", "channel", "group", "token"
// Throws qforge::Error naming `context` for an unknown name.
Strategy ParseStrategy(std::string_view name, std::string_view context);

inline constexpr int kMinBits = 2;
inline constexpr int kMaxBits = 8;

// compressed-tensors' QuantizationArgs (the subset qforge produces).
struct QuantArgs {
  int num_bits = 8;
  std::string type = "int";
  bool symmetric = true;
  Strategy strategy = Strategy::kTensor;
  std::optional<int64_t> group_size;     // set iff strategy == kGroup
  bool dynamic = false;
  std::optional<std::string> actorder;   // "group" / "weight" (GPTQ only), normalised from dynamic/static
  bool operator==(const QuantArgs&) const = default;
};

struct QuantScheme {
  std::string preset;                     // "W4A16", ... or "" when customised
  std::vector<std::string> targets = {"Linear"};
  std::optional<QuantArgs> weights;
  std::optional<QuantArgs> input_activations;
  bool operator==(const QuantScheme&) const = default;
};

// "W4A16", "W4A16_ASYM", "W8A16", "W8A8" (alias "INT8").
std::span<const std::string_view> PresetNames();
// Throws qforge::Error listing the presets when `name` is unknown (case-insensitive match).
QuantScheme Preset(std::string_view name);

// Replaces the weight strategy: g > 0 -> group g, g == -1 -> channel, g == 0 -> tensor. Clears the preset
// name when it changes anything.
QuantScheme WithGroupSize(QuantScheme scheme, int64_t group_size);

// compressed-tensors' argument rules plus what vLLM can load; throws qforge::Error naming `context` with
// the specific contradiction (e.g. group-wise W8A8).
void Validate(const QuantScheme& scheme, std::string_view context);

// A targeted Linear: its module name ("model.layers.0.mlp.down_proj") and input width.
struct LinearShape {
  std::string name;
  int64_t in_features = 0;
};
// Refuses a group size that does not divide a targeted Linear's input width (in >= G; narrower layers get
// one short group, like llm-compressor), naming the tensor and the group sizes that would work.
void CheckGroupSize(const QuantArgs& weights, std::span<const LinearShape> linears);

// Target / ignore patterns (FORMATS.md §2.10): the exact module name, "re:<regex>" matched from the start
// of the name (Python re.match), or the module class ("Linear"). Throws on an invalid regex.
bool MatchesPattern(std::string_view pattern, std::string_view module_name, std::string_view class_name);

}  // namespace qforge::recipe
