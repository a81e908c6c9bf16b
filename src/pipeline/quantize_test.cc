// `qforge quantize` end to end on the bundled model: every preset and group size writes a compressed-tensors
// directory whose stored codes are exactly our RTN codes, whose dequantized weights equal
// scale * (code - zero) of what was written, with the config.json/recipe.yaml/tokenizer files vLLM expects.
#include "pipeline/quantize.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "codecs/int/int_quant.h"
#include "core/error.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/safetensors/checkpoint.h"
#include "io/json_util.h"
#include "io/mapped_file.h"
#include "recipe/recipe.h"

namespace qforge::pipeline {
namespace {

namespace fs = std::filesystem;
const std::string kModel = std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K";

std::string TempDir(const std::string& name) {
  const std::string d = (fs::temp_directory_path() / ("qforge_quantize_test_" + std::to_string(::getpid()) + "_" + name)).string();
  fs::remove_all(d);
  return d;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

QuantizeOptions Options(const recipe::QuantScheme& s, const std::string& out) {
  QuantizeOptions o;
  o.model_dir = kModel;
  o.out_dir = out;
  o.recipe = recipe::RecipeFromScheme(s, {"lm_head"});
  o.progress = false;
  return o;
}

struct Case {
  const char* preset;
  int64_t group;  // 0 = preset default
};

TEST(Quantize, ReadBackIsExactForEveryPresetAndGroupSize) {
  const Case cases[] = {{"W4A16", 0},  {"W4A16", 32},      {"W4A16", 64},      {"W4A16", -1},
                        {"W4A16_ASYM", 0}, {"W4A16_ASYM", 32}, {"W4A16_ASYM", -1}, {"W8A16", 0},
                        {"W8A16", 32}, {"W8A16", 64}, {"W8A16", 128}, {"W8A8", 0}};
  auto orig = safetensors::OpenCheckpoint(kModel);
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("{} g={}", c.preset, c.group));
    recipe::QuantScheme s = recipe::Preset(c.preset);
    if (c.group) s = recipe::WithGroupSize(s, c.group);
    const std::string out = TempDir("rb");
    const auto report = QuantizeModel(Options(s, out));
    EXPECT_EQ(report.stats.tensors_quantized, 14);  // 7 Linears x 2 layers; lm_head is tied and ignored
    const auto cfg = compressed_tensors::ReadQuantizationConfig(out);
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->ignore, std::vector<std::string>{"lm_head"});
    EXPECT_EQ(cfg->format, c.preset == std::string("W8A8") ? "int-quantized" : "pack-quantized");
    auto raw = safetensors::OpenCheckpoint(out);
    int checked = 0;
    for (const auto& name : orig->Names()) {
      if (!name.ends_with("_proj.weight")) {
        // Untouched tensors keep dtype and bytes.
        const Tensor a = orig->Get(name), b = raw->Get(name);
        ASSERT_EQ(a.dtype(), b.dtype());
        ASSERT_EQ(0, std::memcmp(a.bytes(), b.bytes(), a.nbytes())) << name;
        continue;
      }
      const std::string prefix = name.substr(0, name.size() - 7);
      const auto d = compressed_tensors::DecodeLinear(*raw, *cfg, prefix);
      const Tensor w = orig->Get(name);
      const auto q = codecs::QuantizeMatrix(w, {s.weights->num_bits, s.weights->symmetric,
                                                s.weights->strategy == recipe::Strategy::kGroup ? codecs::IntStrategy::kGroup : codecs::IntStrategy::kChannel,
                                                s.weights->group_size.value_or(0)}, name, codecs::IntImpl::kScalar);
      ASSERT_EQ(d.codes, q.codes) << name;        // written codes == scalar-twin RTN of the original
      ASSERT_EQ(d.scales, q.params.scales) << name;
      ASSERT_EQ(d.zeros, q.params.zeros) << name;
      const Tensor deq = compressed_tensors::Dequantize(d);
      ASSERT_EQ(deq.dtype(), DType::kF32);
      for (int64_t o = 0; o < d.out; ++o)
        for (int64_t i = 0; i < d.in; ++i) {
          const size_t k = static_cast<size_t>(o * d.groups + d.group_of(i));
          const float want = d.scales[k] * static_cast<float>(d.codes[static_cast<size_t>(o * d.in + i)] - (d.zeros.empty() ? 0 : d.zeros[k]));
          ASSERT_EQ(deq.data<float>()[o * d.in + i], want) << name << " [" << o << "," << i << "]";
        }
      ++checked;
    }
    EXPECT_EQ(checked, 14);
    // The dequantizing source presents the same names as the original.
    auto dense = compressed_tensors::OpenDequantized(out);
    for (const auto& name : orig->Names()) EXPECT_TRUE(dense->Has(name)) << name;
    EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
    EXPECT_TRUE(fs::exists(out + "/generation_config.json"));
    const auto back = recipe::ReadRecipeFile(out + "/recipe.yaml");
    EXPECT_EQ(back.WeightModifier().schemes[0].weights, s.weights);
    const std::string config_text = io::ReadTextFile(out + "/config.json");
    EXPECT_NE(config_text.back(), '\n');  // compressed-tensors' json.dump: no trailing newline
    fs::remove_all(out);
  }
}

TEST(Quantize, SmallerShardsAndSizes) {
  const std::string out = TempDir("shards");
  auto o = Options(recipe::Preset("W4A16"), out);
  o.max_shard_bytes = 400'000;
  const auto r = QuantizeModel(o);
  EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json"));
  // int4 codes + f32 scales per 128 + shape: 4 + 32/128 = 4.25 bits plus 128 bits per Linear.
  const double bpw = 8.0 * static_cast<double>(r.stats.quantized_out_bytes) / static_cast<double>(r.stats.quantized_params);
  EXPECT_GT(bpw, 4.25);
  EXPECT_LT(bpw, 4.30);
  EXPECT_NE(FormatQuantizeReport(r).find("bits per weight"), std::string::npos);
  fs::remove_all(out);
}

TEST(Quantize, ContradictionsAreSpecificErrors) {
  const std::string out = TempDir("err");
  std::string e = ErrorOf([&] { QuantizeModel(Options(recipe::WithGroupSize(recipe::Preset("W4A16"), 256), out)); });
  EXPECT_NE(e.find("model.layers.0.mlp.down_proj: input width 384 is not a multiple of group size 256"), std::string::npos) << e;
  e = ErrorOf([&] { QuantizeModel(Options(recipe::WithGroupSize(recipe::Preset("W8A8"), 128), out)); });
  EXPECT_NE(e.find("cannot be loaded by vLLM"), std::string::npos) << e;
  auto o = Options(recipe::Preset("W4A16"), out);
  o.recipe = recipe::RecipeFromScheme(recipe::Preset("W4A16"), {"lm_head", "model.layers.0.self_attn.k_proj"});
  e = ErrorOf([&] { QuantizeModel(o); });
  EXPECT_NE(e.find("qkv_proj"), std::string::npos) << e;
  o.recipe = recipe::RecipeFromScheme(recipe::Preset("W4A16"), {});
  e = ErrorOf([&] { QuantizeModel(o); });
  EXPECT_NE(e.find("lm_head is tied"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out));  // nothing half-written
  fs::create_directories(out);
  e = ErrorOf([&] { QuantizeModel(Options(recipe::Preset("W4A16"), out)); });
  EXPECT_NE(e.find("already exists"), std::string::npos) << e;
  fs::remove_all(out);
}

TEST(Quantize, IgnoredLayersAreListedAndKeptDense) {
  const std::string out = TempDir("ign");
  auto o = Options(recipe::Preset("W8A16"), out);
  o.recipe = recipe::RecipeFromScheme(recipe::Preset("W8A16"), {"lm_head", "re:.*down_proj"});
  const auto r = QuantizeModel(o);
  EXPECT_EQ(r.stats.tensors_quantized, 12);
  const auto cfg = compressed_tensors::ReadQuantizationConfig(out);
  EXPECT_EQ(cfg->ignore, (std::vector<std::string>{"model.layers.0.mlp.down_proj", "model.layers.1.mlp.down_proj", "lm_head"}));
  auto raw = safetensors::OpenCheckpoint(out);
  EXPECT_TRUE(raw->Has("model.layers.0.mlp.down_proj.weight"));
  EXPECT_TRUE(raw->Has("model.layers.0.mlp.up_proj.weight_packed"));
  fs::remove_all(out);
}

}  // namespace
}  // namespace qforge::pipeline
