// Recipes in llm-compressor's YAML shape (FORMATS.md §2.12):
//
//   <stage>:                       # e.g. default_stage, quant_stage
//     <group>_modifiers:           # e.g. default_modifiers
//       QuantizationModifier:      # or GPTQModifier, SmoothQuantModifier
//         targets: [Linear]
//         ignore: [lm_head]
//         scheme: W4A16            # a preset, {W4A16: [Linear]}, or config_groups: {group_0: {targets, weights,
//                                  #   input_activations}} with compressed-tensors QuantizationArgs keys
//
// Unknown keys are errors. The CLI flags (--scheme, --group-size, --ignore) build the same Recipe, and the
// output directory records it as recipe.yaml.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recipe/scheme.h"

namespace qforge::recipe {

enum class ModifierKind { kQuantization, kGptq, kSmoothQuant };
std::string_view ModifierClassName(ModifierKind k);  // "QuantizationModifier", ...

struct Modifier {
  ModifierKind kind = ModifierKind::kQuantization;
  // QuantizationModifier / GPTQModifier: the schemes (one per config group) and what they skip.
  std::vector<QuantScheme> schemes;
  std::vector<std::string> ignore = {"lm_head"};  // default when the recipe has no `ignore` key
  // GPTQModifier options (nullopt = llm-compressor's default).
  std::optional<int64_t> block_size;
  std::optional<double> dampening_frac;
  std::optional<std::string> actorder;
  std::optional<bool> offload_hessians;
  // SmoothQuantModifier options.
  std::optional<double> smoothing_strength;
  std::vector<std::pair<std::vector<std::string>, std::string>> mappings;  // [[balance layers], smooth layer]
};

struct Recipe {
  std::string stage = "default_stage";
  std::string group = "default_modifiers";
  std::vector<Modifier> modifiers;

  // The one QuantizationModifier or GPTQModifier (throws if there is none or more than one).
  const Modifier& WeightModifier() const;
};

// Parses and validates; `context` names the file in messages.
Recipe ParseRecipe(const std::string& yaml_text, const std::string& context);
Recipe ReadRecipeFile(const std::string& path);

// The recipe CLI flags stand for: one QuantizationModifier with `scheme` (a preset) targeting Linear.
Recipe RecipeFromScheme(const QuantScheme& scheme, std::vector<std::string> ignore);

// recipe.yaml as llm-compressor writes it: stage -> modifiers -> class -> non-null fields, block style.
std::string RecipeToYaml(const Recipe& r);

}  // namespace qforge::recipe
