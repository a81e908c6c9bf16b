// `qforge synth --shape NAME -o DIR`: a random-weight HF checkpoint in the exact shapes of a real model,
// for benchmarks. Argument parsing only; the work is hf::WriteSyntheticCheckpoint.
#include <fmt/format.h>

#include <cctype>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "formats/safetensors/writer.h"
#include "hf/synth.h"

namespace qforge::cli {
namespace {

struct SynthArgs {
  std::string shape, out, max_shard = "5GB", tokenizer = "auto", tokenizer_from;
  int64_t layers = -1;  // -1: all
  uint64_t seed = 0;
  bool force = false;
};

// "5GB", "500MB", "64kB", "12345" (bytes). Decimal units, like transformers' max_shard_size.
uint64_t ParseByteSize(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) Fail("--max-shard-size '{}': expected a number with an optional unit (5GB, 500MB)", text);
  const uint64_t n = std::stoull(text.substr(0, i));
  std::string unit = text.substr(i);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  uint64_t mul = 0;
  if (unit.empty() || unit == "B") mul = 1;
  if (unit == "KB") mul = 1'000;
  if (unit == "MB") mul = 1'000'000;
  if (unit == "GB") mul = 1'000'000'000;
  if (mul == 0 || n == 0) Fail("--max-shard-size '{}': expected a positive size such as 5GB, 500MB or 64kB", text);
  return n * mul;
}

std::function<int()> SetupSynth(CLI::App& app) {
  auto a = std::make_shared<SynthArgs>();
  app.add_option("--shape", a->shape, fmt::format("Model shape: {}", fmt::join(hf::SynthShapeNames(), ", ")))
      ->required();
  app.add_option("-o,--output", a->out, "Output directory (must not exist unless --force)")->required();
  app.add_option("--layers", a->layers, "Keep only the first N decoder layers");
  app.add_option("--seed", a->seed, "Random seed (same seed, same bytes)");
  app.add_option("--max-shard-size", a->max_shard, "Largest shard, decimal units like transformers (default 5GB)");
  app.add_option("--tokenizer", a->tokenizer,
                 "auto: copy the bundled TinyStories tokenizer files (its 2048 ids fit every shape's vocabulary), "
                 "else write a byte-level tokenizer.json sized to the model vocab; copy: always copy; byte-level: "
                 "always write the byte-level one")
      ->check(CLI::IsMember({"auto", "copy", "byte-level"}));
  app.add_option("--tokenizer-from", a->tokenizer_from,
                 fmt::format("Directory whose tokenizer files are copied (default {})", hf::BundledModelDir()));
  app.add_flag("--force", a->force, "Replace an existing output directory");
  app.footer("Weights ~ N(0, 0.02) in BF16 (norms 1, biases 0); config.json is marked \"_qforge_synthetic\": true.\n");
  return [a] {
    hf::SynthOptions o;
    o.shape = a->shape;
    if (a->layers != -1) o.layers = a->layers;
    o.seed = a->seed;
    o.max_shard_bytes = ParseByteSize(a->max_shard);
    o.tokenizer = a->tokenizer == "copy"         ? hf::SynthTokenizer::kCopy
                  : a->tokenizer == "byte-level" ? hf::SynthTokenizer::kByteLevel
                                                 : hf::SynthTokenizer::kAuto;
    o.tokenizer_dir = a->tokenizer_from;
    o.overwrite = a->force;
    const ModelConfig c = hf::WriteSyntheticCheckpoint(o, a->out);
    fmt::print("wrote {}: {} ({} layers, hidden {}, vocab {}), random BF16 weights, seed {}\n", a->out, a->shape,
               c.num_layers, c.hidden_size, c.vocab_size, a->seed);
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(synth, "synth", 90, "Write a random-weight HF checkpoint in the shape of a real model (benchmarks)",
               SetupSynth);
}  // namespace qforge::cli
