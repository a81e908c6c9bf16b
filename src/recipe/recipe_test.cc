#include "recipe/recipe.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "recipe/scheme.h"

namespace qforge::recipe {
namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Scheme, PresetsHaveCompressedTensorsMeaning) {
  auto w4 = Preset("W4A16");
  EXPECT_EQ(w4.weights->num_bits, 4);
  EXPECT_EQ(w4.weights->strategy, Strategy::kGroup);
  EXPECT_EQ(w4.weights->group_size, 128);
  EXPECT_TRUE(w4.weights->symmetric);
  EXPECT_FALSE(w4.input_activations);
  EXPECT_FALSE(Preset("w4a16_asym").weights->symmetric);
  EXPECT_EQ(Preset("W8A16").weights->strategy, Strategy::kChannel);
  auto w8a8 = Preset("INT8");
  EXPECT_EQ(w8a8.preset, "W8A8");
  EXPECT_EQ(w8a8.weights->strategy, Strategy::kChannel);
  EXPECT_EQ(w8a8.input_activations->strategy, Strategy::kToken);
  EXPECT_TRUE(w8a8.input_activations->dynamic);
  for (auto n : PresetNames()) EXPECT_NO_THROW(Validate(Preset(n), "t"));
  EXPECT_NE(ErrorOf([] { Preset("W3A16"); }).find("expected one of W4A16, W4A16_ASYM, W8A16, W8A8"), std::string::npos);
}

TEST(Scheme, GroupWiseW8A8IsRefused) {
  const std::string e = ErrorOf([] { Validate(WithGroupSize(Preset("W8A8"), 128), "flags"); });
  EXPECT_NE(e.find("cannot be loaded by vLLM"), std::string::npos) << e;
  EXPECT_NO_THROW(Validate(WithGroupSize(Preset("W8A16"), 128), "flags"));
  EXPECT_EQ(WithGroupSize(Preset("W4A16"), 128).preset, "W4A16");
  EXPECT_EQ(WithGroupSize(Preset("W4A16"), 64).preset, "");
  EXPECT_EQ(WithGroupSize(Preset("W4A16"), -1).weights->strategy, Strategy::kChannel);
}

TEST(Scheme, GroupSizeMustDivideInputWidth) {
  const LinearShape ls[] = {{"model.layers.0.self_attn.q_proj", 128}, {"model.layers.0.mlp.down_proj", 384}};
  EXPECT_NO_THROW(CheckGroupSize(*WithGroupSize(Preset("W4A16"), 128).weights, ls));
  EXPECT_NO_THROW(CheckGroupSize(*WithGroupSize(Preset("W4A16"), 1024).weights, ls));  // one short group each
  const std::string e = ErrorOf([&] { CheckGroupSize(*WithGroupSize(Preset("W4A16"), 256).weights, ls); });
  EXPECT_NE(e.find("model.layers.0.mlp.down_proj: input width 384 is not a multiple of group size 256"), std::string::npos) << e;
  EXPECT_NE(e.find("8, 16, 32, 64, 128"), std::string::npos) << e;
}

TEST(Scheme, Patterns) {
  EXPECT_TRUE(MatchesPattern("Linear", "model.layers.0.mlp.up_proj", "Linear"));
  EXPECT_TRUE(MatchesPattern("lm_head", "lm_head", "Linear"));
  EXPECT_TRUE(MatchesPattern("re:.*down_proj$", "model.layers.1.mlp.down_proj", "Linear"));
  EXPECT_FALSE(MatchesPattern("re:mlp", "model.layers.1.mlp.down_proj", "Linear"));  // re.match: anchored at start
  EXPECT_FALSE(MatchesPattern("lm_head", "model.lm_head2", "Linear"));
  EXPECT_THROW(MatchesPattern("re:([", "x", "Linear"), Error);
}

TEST(Recipe, ParsesLlmCompressorShapes) {
  const Recipe r = ParseRecipe(R"(
quant_stage:
  quant_modifiers:
    QuantizationModifier:
      targets: [Linear]
      ignore: ["lm_head", "re:.*down_proj"]
      scheme: W4A16
)", "r.yaml");
  const auto& m = r.WeightModifier();
  EXPECT_EQ(m.kind, ModifierKind::kQuantization);
  ASSERT_EQ(m.schemes.size(), 1u);
  EXPECT_EQ(m.schemes[0], Preset("W4A16"));
  EXPECT_EQ(m.ignore, (std::vector<std::string>{"lm_head", "re:.*down_proj"}));
  EXPECT_EQ(r.stage, "quant_stage");

  const Recipe g = ParseRecipe(R"(
default_stage:
  default_modifiers:
    SmoothQuantModifier:
      smoothing_strength: 0.8
    GPTQModifier:
      block_size: 128
      dampening_frac: 0.01
      actorder: static
      config_groups:
        group_0:
          targets: [Linear]
          weights: {num_bits: 4, type: int, symmetric: false, strategy: group, group_size: 64}
)", "g.yaml");
  EXPECT_EQ(g.modifiers.size(), 2u);
  const auto& gm = g.WeightModifier();
  EXPECT_EQ(gm.kind, ModifierKind::kGptq);
  EXPECT_EQ(gm.actorder, "weight");
  EXPECT_EQ(gm.ignore, std::vector<std::string>{"lm_head"});  // default
  EXPECT_EQ(gm.schemes[0].weights->group_size, 64);
  EXPECT_FALSE(gm.schemes[0].weights->symmetric);
  // Round trip through recipe.yaml.
  const Recipe back = ParseRecipe(RecipeToYaml(g), "back");
  EXPECT_EQ(back.WeightModifier().schemes, gm.schemes);
  EXPECT_EQ(back.modifiers[0].smoothing_strength, 0.8);
}

TEST(Recipe, RejectsUnknownKeysAndContradictions) {
  std::string e = ErrorOf([] { ParseRecipe("s:\n  m_modifiers:\n    QuantizationModifier:\n      scheme: W4A16\n      groupsize: 64\n", "r.yaml"); });
  EXPECT_NE(e.find("unknown key 'groupsize'"), std::string::npos) << e;
  EXPECT_NE(e.find("r.yaml:5"), std::string::npos) << e;
  e = ErrorOf([] { ParseRecipe("s:\n  m_modifiers:\n    AWQModifier:\n      scheme: W4A16\n", "r.yaml"); });
  EXPECT_NE(e.find("unknown modifier 'AWQModifier'"), std::string::npos) << e;
  e = ErrorOf([] {
    ParseRecipe("s:\n  m_modifiers:\n    QuantizationModifier:\n      config_groups:\n        g:\n          weights: "
                "{num_bits: 4, strategy: channel, group_size: 128}\n", "r.yaml");
  });
  EXPECT_NE(e.find("only valid with strategy 'group'"), std::string::npos) << e;
  e = ErrorOf([] { ParseRecipe("s:\n  m_modifiers:\n    SmoothQuantModifier: {}\n", "r.yaml"); });
  EXPECT_NE(e.find("no QuantizationModifier or GPTQModifier"), std::string::npos) << e;
  e = ErrorOf([] { ParseRecipe("s: [", "r.yaml"); });
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(Recipe, FlagsRecipeYaml) {
  const std::string y = RecipeToYaml(RecipeFromScheme(Preset("W4A16"), {"lm_head"}));
  EXPECT_EQ(y, "default_stage:\n  default_modifiers:\n    QuantizationModifier:\n      targets:\n        - Linear\n"
               "      ignore:\n        - lm_head\n      scheme: W4A16\n");
}

}  // namespace
}  // namespace qforge::recipe
