// The `quantization_config` block of a compressed-tensors config.json (FORMATS.md §2.2, §2.3).
//
// qforge writes the field set of compressed-tensors 0.12.2 (kWrittenVersion), which is what llm-compressor
// 0.8 writes and what every vLLM release of the last year validates successfully (CT 0.6 ... 0.18 accept it):
//
//   "quantization_config": {                                  (keys sorted, json.dump(indent=2, sort_keys=True))
//     "config_groups": {"group_0": {"format": "pack-quantized", "input_activations": null | Args,
//                                   "output_activations": null, "targets": ["Linear"], "weights": Args}},
//     "format": "pack-quantized" | "int-quantized" | "mixed-precision",
//     "global_compression_ratio": null, "ignore": ["lm_head"], "kv_cache_scheme": null,
//     "quant_method": "compressed-tensors", "quantization_status": "compressed",
//     "sparsity_config": {}, "transform_config": {}, "version": "0.12.2"}
//   Args = {"actorder": null, "block_structure": null, "dynamic": false, "group_size": 128 | null,
//           "num_bits": 4, "observer": "minmax" | null, "observer_kwargs": {}, "strategy": "group",
//           "symmetric": true, "type": "int"}                       (10 keys: no scale_dtype / zp_dtype)
//
// The reader accepts every version's field set (including the 12-key Args of CT >= 0.13) and applies
// compressed-tensors' validation rules (strategy inferred from group_size, token needs dynamic, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_util.h"

namespace qforge::compressed_tensors {

inline constexpr std::string_view kWrittenVersion = "0.12.2";
inline constexpr std::string_view kQuantMethod = "compressed-tensors";
inline constexpr std::string_view kPackQuantized = "pack-quantized";
inline constexpr std::string_view kIntQuantized = "int-quantized";
inline constexpr std::string_view kNaiveQuantized = "naive-quantized";
inline constexpr std::string_view kMixedPrecision = "mixed-precision";

struct QuantizationArgs {
  int num_bits = 8;
  std::string type = "int";
  bool symmetric = true;
  std::string strategy = "tensor";       // tensor, channel, group, token (also block, tensor_group, attn_head on read)
  std::optional<int64_t> group_size;
  bool dynamic = false;
  std::optional<std::string> actorder;   // "group" / "weight" (normalised from dynamic / static)
  std::optional<std::string> observer = "minmax";
  bool operator==(const QuantizationArgs&) const = default;
};

struct ConfigGroup {
  std::vector<std::string> targets = {"Linear"};
  std::optional<QuantizationArgs> weights, input_activations;
  std::string format;  // per-group format (CT >= 0.11); "" when absent on read
  bool operator==(const ConfigGroup&) const = default;
};

struct QuantizationConfig {
  std::vector<ConfigGroup> groups;  // written as group_0, group_1, ...
  std::vector<std::string> group_names;  // on read: the file's names (same order as groups)
  std::string format;
  std::vector<std::string> ignore;
  std::string version = std::string(kWrittenVersion);
  std::string quantization_status = "compressed";
};

// The compression format compressed-tensors picks for a group (§2.5): int weights with input activations ->
// int-quantized; int weights of 1..8 bits without -> pack-quantized.
std::string FormatFor(const ConfigGroup& g);

io::Json ToJson(const QuantizationConfig& c);
QuantizationConfig ParseQuantizationConfig(const io::Json& j, const std::string& context);

// `config` (a transformers config.json) with "quantization_config" set, serialised like compressed-tensors'
// update_config: json.dump(indent=2, sort_keys=True), no trailing newline (FORMATS.md §1.5).
std::string ConfigJsonWithQuantization(io::Json config, const QuantizationConfig& c);

// The block of `dir`/config.json, or nullopt when the model is not compressed-tensors.
std::optional<QuantizationConfig> ReadQuantizationConfig(const std::string& dir);
bool IsCompressedTensorsConfig(const io::Json& config);

// One line per group for `qforge inspect` ("group_0: int4 sym group 128 -> Linear (pack-quantized)").
std::string DescribeQuantization(const QuantizationConfig& c);

}  // namespace qforge::compressed_tensors
