#include "formats/compressed_tensors/quant_config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace qforge::compressed_tensors {
namespace {

QuantizationConfig W4A16() {
  QuantizationConfig c;
  ConfigGroup g;
  QuantizationArgs w;
  w.num_bits = 4;
  w.strategy = "group";
  w.group_size = 128;
  g.weights = w;
  c.groups.push_back(g);
  c.format = "pack-quantized";
  c.ignore = {"lm_head"};
  return c;
}

// The exact bytes compressed-tensors 0.12's update_config writes for an RTN W4A16 model (FORMATS.md §2.2 with
// the 0.12 field set of §2.3: 10 Args keys, observer "minmax", actorder null).
TEST(QuantConfig, ExactOnDiskForm) {
  io::Json config = {{"model_type", "llama"}, {"rms_norm_eps", 1e-06}, {"rope_theta", 10000.0}, {"architectures", {"LlamaForCausalLM"}}};
  const std::string s = ConfigJsonWithQuantization(config, W4A16());
  EXPECT_EQ(s, R"({
  "architectures": [
    "LlamaForCausalLM"
  ],
  "model_type": "llama",
  "quantization_config": {
    "config_groups": {
      "group_0": {
        "format": "pack-quantized",
        "input_activations": null,
        "output_activations": null,
        "targets": [
          "Linear"
        ],
        "weights": {
          "actorder": null,
          "block_structure": null,
          "dynamic": false,
          "group_size": 128,
          "num_bits": 4,
          "observer": "minmax",
          "observer_kwargs": {},
          "strategy": "group",
          "symmetric": true,
          "type": "int"
        }
      }
    },
    "format": "pack-quantized",
    "global_compression_ratio": null,
    "ignore": [
      "lm_head"
    ],
    "kv_cache_scheme": null,
    "quant_method": "compressed-tensors",
    "quantization_status": "compressed",
    "sparsity_config": {},
    "transform_config": {},
    "version": "0.12.2"
  },
  "rms_norm_eps": 1e-06,
  "rope_theta": 10000.0
})");
}

TEST(QuantConfig, RoundTripAndFormats) {
  const auto c = W4A16();
  const auto back = ParseQuantizationConfig(ToJson(c), "config.json");
  ASSERT_EQ(back.groups.size(), 1u);
  EXPECT_EQ(back.groups[0].weights, c.groups[0].weights);
  EXPECT_EQ(back.groups[0].format, "pack-quantized");
  EXPECT_EQ(back.ignore, c.ignore);
  ConfigGroup w8a8;
  w8a8.weights = QuantizationArgs{8, "int", true, "channel", std::nullopt, false, std::nullopt, "minmax"};
  w8a8.input_activations = QuantizationArgs{8, "int", true, "token", std::nullopt, true, std::nullopt, std::nullopt};
  EXPECT_EQ(FormatFor(w8a8), "int-quantized");
  EXPECT_EQ(FormatFor(c.groups[0]), "pack-quantized");
}

// A current (CT 0.18) GPTQ block with the 12-key Args and actorder "static" parses; strategy is inferred.
TEST(QuantConfig, ReadsNewerAndOlderFieldSets) {
  const io::Json j = io::Json::parse(R"({"config_groups": {"group_0": {"format": "pack-quantized",
    "input_activations": null, "output_activations": null, "targets": ["Linear"],
    "weights": {"actorder": "static", "block_structure": null, "dynamic": false, "group_size": 128,
    "num_bits": 4, "observer": "memoryless_minmax", "observer_kwargs": {}, "scale_dtype": null,
    "strategy": "group", "symmetric": true, "type": "int", "zp_dtype": null}}},
    "format": "pack-quantized", "global_compression_ratio": null, "ignore": ["lm_head"], "kv_cache_scheme": null,
    "quant_method": "compressed-tensors", "quantization_status": "compressed", "sparsity_config": {},
    "transform_config": {}, "version": "0.18.0"})");
  const auto c = ParseQuantizationConfig(j, "c.json");
  EXPECT_EQ(c.groups[0].weights->actorder, "weight");
  EXPECT_EQ(c.version, "0.18.0");
  const io::Json old = io::Json::parse(R"({"config_groups": {"g": {"targets": ["Linear"],
    "weights": {"num_bits": 8, "group_size": -1, "symmetric": false}}}, "quant_method": "compressed-tensors"})");
  EXPECT_EQ(ParseQuantizationConfig(old, "c.json").groups[0].weights->strategy, "channel");
}

TEST(QuantConfig, RejectsContradictions) {
  auto bad = [](const char* weights) {
    return io::Json::parse(std::string(R"({"config_groups": {"g": {"targets": ["Linear"], "weights": )") + weights + "}}}");
  };
  EXPECT_THROW(ParseQuantizationConfig(bad(R"({"num_bits": 4, "strategy": "group"})"), "c"), Error);
  EXPECT_THROW(ParseQuantizationConfig(bad(R"({"num_bits": 4, "strategy": "channel", "group_size": 64})"), "c"), Error);
  EXPECT_THROW(ParseQuantizationConfig(bad(R"({"num_bits": 4, "strategy": "token"})"), "c"), Error);
  EXPECT_THROW(ParseQuantizationConfig(bad(R"({"num_bits": 4, "bits": 4})"), "c"), Error);
  EXPECT_THROW(ParseQuantizationConfig(bad(R"({"num_bits": 12})"), "c"), Error);
  EXPECT_THROW(ParseQuantizationConfig(io::Json::parse(R"({"quant_method": "gptq", "config_groups": {}})"), "c"), Error);
}

}  // namespace
}  // namespace qforge::compressed_tensors
