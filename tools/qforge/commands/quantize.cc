// `qforge quantize MODEL -o OUT [--scheme W4A16] [--group-size N] [--ignore NAME ...] [--algo rtn|gptq]
//  [--smoothquant ALPHA] [--calib FILE [--calib-samples N] [--seq-len L] [--seed S]] [--recipe FILE]
//  [--format compressed-tensors] [--max-shard-size 5GB] [--force]`: an HF checkpoint to a compressed-tensors
// directory vLLM loads (round-to-nearest, or GPTQ / SmoothQuant calibrated on --calib). Progress and the
// per-Linear calibration log on stderr, summary on stdout.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <memory>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "calib/calib_data.h"
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
  std::string algo = "rtn";
  std::optional<double> smoothquant;
  calib::CalibDataOptions calib;
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
  app.add_option("--algo", a->algo, "Weight algorithm: rtn (round to nearest, default) or gptq (needs --calib)");
  app.add_option("--smoothquant", a->smoothquant, "SmoothQuant with this smoothing strength in (0, 1), e.g. 0.8 "
                 "(for W8A8; needs --calib)");
  app.add_option("--calib", a->calib.path, "Calibration text for GPTQ / SmoothQuant (plain text or JSON lines "
                 "with \"text\"); not your evaluation text");
  app.add_option("--calib-samples", a->calib.num_samples, "Calibration samples (default 128)");
  app.add_option("--seq-len", a->calib.seq_len, "Tokens per calibration sample (default 2048)");
  app.add_option("--seed", a->calib.seed, "Seed of the calibration window shuffle (default 42)");
  return [a, ign, &app] {
    pipeline::QuantizeOptions o;
    o.model_dir = a->model;
    o.out_dir = a->out;
    o.format = a->format;
    o.overwrite = a->force;
    o.max_shard_bytes = ParseShardSize(a->max_shard);
    o.calib = a->calib;
    if (a->algo != "rtn" && a->algo != "gptq") Fail("--algo '{}': expected rtn or gptq", a->algo);
    if (!a->recipe.empty()) {
      if (app.count("--scheme") || a->group_size || ign->count() || app.count("--algo") || a->smoothquant)
        Fail("--recipe gives the scheme, group size, ignore list and modifiers (GPTQModifier, SmoothQuantModifier); "
             "drop --scheme/--group-size/--ignore/--algo/--smoothquant");
      o.recipe = recipe::ReadRecipeFile(a->recipe);
    } else {
      recipe::QuantScheme s = recipe::Preset(a->scheme);
      if (a->group_size) s = recipe::WithGroupSize(s, *a->group_size);
      o.recipe = recipe::RecipeFromScheme(s, a->ignore);
      if (a->algo == "gptq") o.recipe.modifiers[0].kind = recipe::ModifierKind::kGptq;
      if (a->smoothquant) {
        if (!(*a->smoothquant > 0 && *a->smoothquant < 1))
          Fail("--smoothquant {}: the smoothing strength must be in (0, 1), e.g. 0.8", *a->smoothquant);
        recipe::Modifier sq;
        sq.kind = recipe::ModifierKind::kSmoothQuant;
        sq.ignore.clear();
        sq.smoothing_strength = *a->smoothquant;
        o.recipe.modifiers.insert(o.recipe.modifiers.begin(), std::move(sq));
      }
    }
    const auto report = pipeline::QuantizeModel(o);
    fmt::print("{}", pipeline::FormatQuantizeReport(report));
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(quantize, "quantize", 20,
               "Quantize an HF checkpoint to compressed-tensors (W4A16, W8A16, W8A8; RTN, GPTQ, SmoothQuant) for vLLM",
               SetupQuantize);
}  // namespace qforge::cli
