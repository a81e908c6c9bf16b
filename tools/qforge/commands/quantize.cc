// `qforge quantize MODEL -o OUT [--scheme W4A16] [--group-size N] [--ignore NAME ...] [--recipe FILE]
//  [--format compressed-tensors] [--max-shard-size 5GB] [--force]`: an HF checkpoint to a compressed-tensors
// directory vLLM loads (round-to-nearest). Progress on stderr, summary on stdout.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <memory>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "pipeline/quantize.h"
#include "recipe/recipe.h"
#include "recipe/scheme.h"

namespace qforge::cli {
namespace {

struct QuantizeArgs {
  std::string model, out, scheme = "W4A16", recipe, format = "compressed-tensors", max_shard = "5GB";
  std::optional<int64_t> group_size;
  std::vector<std::string> ignore = {"lm_head"};
  bool force = false, ignore_given = false;
};

uint64_t ParseShardSize(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) Fail("--max-shard-size '{}': expected a number with an optional unit (5GB, 500MB)", text);
  const uint64_t n = std::stoull(text.substr(0, i));
  std::string unit = text.substr(i);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const uint64_t mul = unit.empty() || unit == "B" ? 1 : unit == "KB" ? 1'000 : unit == "MB" ? 1'000'000
                       : unit == "GB" ? 1'000'000'000 : 0;
  if (mul == 0 || n == 0) Fail("--max-shard-size '{}': expected a positive size such as 5GB or 500MB", text);
  return n * mul;
}

std::function<int()> SetupQuantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  app.add_option("model", a->model, "HF model directory (config.json + safetensors)")->required();
  app.add_option("-o,--output", a->out, "Output directory (must not exist unless --force)")->required();
  app.add_option("--scheme", a->scheme, fmt::format("Preset: {} (default W4A16)", fmt::join(recipe::PresetNames(), ", ")));
  app.add_option("--group-size", a->group_size, "Weight group size (32, 64, 128, ...; -1 = per channel)");
  auto* ign = app.add_option("--ignore", a->ignore, "Linear modules to leave dense: names or re:<regex> (default lm_head)");
  app.add_option("--recipe", a->recipe, "llm-compressor-style recipe YAML (instead of --scheme/--group-size/--ignore)");
  app.add_option("--format", a->format, "Output format (compressed-tensors)");
  app.add_option("--max-shard-size", a->max_shard, "Largest shard, decimal units like transformers (default 5GB)");
  app.add_flag("--force", a->force, "Replace an existing output directory");
  return [a, ign, &app] {
    pipeline::QuantizeOptions o;
    o.model_dir = a->model;
    o.out_dir = a->out;
    o.format = a->format;
    o.overwrite = a->force;
    o.max_shard_bytes = ParseShardSize(a->max_shard);
    if (!a->recipe.empty()) {
      if (app.count("--scheme") || a->group_size || ign->count())
        Fail("--recipe gives the scheme, group size and ignore list; drop --scheme/--group-size/--ignore");
      o.recipe = recipe::ReadRecipeFile(a->recipe);
    } else {
      recipe::QuantScheme s = recipe::Preset(a->scheme);
      if (a->group_size) s = recipe::WithGroupSize(s, *a->group_size);
      o.recipe = recipe::RecipeFromScheme(s, a->ignore);
    }
    const auto report = pipeline::QuantizeModel(o);
    fmt::print("{}", pipeline::FormatQuantizeReport(report));
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(quantize, "quantize", 20, "Quantize an HF checkpoint to compressed-tensors (W4A16, W8A16, W8A8) for vLLM",
               SetupQuantize);
}  // namespace qforge::cli
