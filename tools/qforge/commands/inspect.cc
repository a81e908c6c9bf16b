// `qforge inspect PATH`: what a checkpoint holds (architecture, exact parameter count, bytes by dtype, tied
// embeddings), with --tensors for the per-tensor table and --json for machines.
// To add an input format: return its TensorSource (+ config) from LoadForInspect; the report is shared.
#include <fmt/format.h>

#include <filesystem>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "formats/compressed_tensors/quant_config.h"
#include "formats/safetensors/checkpoint.h"
#include "hf/checkpoint.h"
#include "hf/config.h"
#include "hf/model_summary.h"

namespace qforge::cli {
namespace {
namespace fs = std::filesystem;

struct InspectOptions {
  std::string path;
  bool tensors = false, json = false;
};

// A checkpoint path -> its summary. Directories with config.json are opened as HF checkpoints (config and
// tensors cross-checked); a bare .safetensors file or a config-less directory is summarised from tensor names.
hf::ModelSummary LoadForInspect(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec) && fs::exists(path + "/config.json", ec)) {
    const auto ck = hf::Checkpoint::Open(path);
    return hf::Summarize(ck->tensors(), &ck->config(), "safetensors");
  }
  const auto source = safetensors::OpenCheckpoint(path);
  return hf::Summarize(*source, nullptr, "safetensors");
}

std::function<int()> SetupInspect(CLI::App& app) {
  auto opts = std::make_shared<InspectOptions>();
  app.add_option("PATH", opts->path, "HF model directory or .safetensors file")->required();
  app.add_flag("--tensors", opts->tensors, "Add a table of tensors (name, role, dtype, shape)");
  app.add_flag("--json", opts->json, "Print the report as JSON");
  return [opts] {
    const hf::ModelSummary s = LoadForInspect(opts->path);
    if (opts->json)
      fmt::print("{}\n", hf::SummaryToJson(s, opts->tensors).dump(2));
    else
      fmt::print("{}", hf::FormatSummaryText(s, opts->tensors));
    // compressed-tensors directories: tensors above are dequantized; say how they are stored.
    if (!opts->json)
      if (auto q = compressed_tensors::ReadQuantizationConfig(opts->path))
        fmt::print("quantization:    {}", compressed_tensors::DescribeQuantization(*q));
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(inspect, "inspect", 10, "Describe a checkpoint: architecture, parameters, bytes by dtype, tensors",
               SetupInspect);
}  // namespace qforge::cli
