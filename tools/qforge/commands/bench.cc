// `qforge bench [--shape llama-3.1-8b] [--batch 1,2,...,256] [--schemes f32,bf16,w8a16,w4a16,w8a8,q4_k_m]`:
// one decoder layer's Linear stack per weight scheme and batch against this machine's measured limits; prints
// the table and the W4A16→W8A8 crossover batch, writes an SVG plot (--svg) and the table (--out, Markdown).
#include <fmt/format.h>

#include <sstream>

#include "command.h"
#include "io/atomic_file.h"
#include "pipeline/bench.h"

namespace qforge::cli {
namespace {

struct BenchArgs {
  std::string shape = "llama-3.1-8b";
  std::vector<int64_t> batches = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<std::string> schemes = {"f32", "bf16", "w8a16", "w4a16", "w8a8", "q4_k_m"};
  std::string svg = "qforge-bench.svg", out;
  double min_seconds = 0.3;
  bool limits_only = false;
};

std::function<int()> SetupBench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("--shape", a->shape, "Model shape: llama-3.1-8b, llama-3.2-1b, qwen2.5-0.5b");
  app.add_option("--batch", a->batches, "Batch sizes (tokens per pass)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--schemes", a->schemes, "Weight schemes")
      ->delimiter(',')
      ->check(CLI::IsMember({"f32", "bf16", "w8a16", "w4a16", "w8a8", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m"}));
  app.add_option("--svg", a->svg, "Write the tokens/s plot here ('' = none)");
  app.add_option("--out", a->out, "Also write the table (Markdown) here");
  app.add_option("--min-time", a->min_seconds, "Seconds to time each point for (at least 2 passes)")
      ->check(CLI::Range(0.0, 60.0));
  app.add_flag("--limits-only", a->limits_only, "Only measure and print the machine limits");
  return [a] {
    if (a->limits_only) {
      const auto L = pipeline::MeasureMachineLimits();
      fmt::print("threads {} target {}: memory bandwidth {:.1f} GB/s, F32 FMA peak {:.1f} GFLOP/s, int8 peak {:.1f} GOP/s\n",
                 L.threads, L.target, L.mem_gbps, L.f32_gflops, L.int8_gops);
      return 0;
    }
    const auto shape = pipeline::ShapeByName(a->shape);
    const auto r = pipeline::RunLinearBench(shape, a->batches, a->schemes, a->min_seconds, true);
    std::string table = pipeline::FormatBenchTable(r);
    const auto cross = pipeline::CrossoverBatch(r, "w4a16", "w8a8");
    table += cross ? fmt::format("\nCrossover: W8A8 is at least as fast as W4A16 from batch {} on.\n", *cross)
                   : std::string("\nCrossover: none in the measured batches (W8A8 never stays ahead of W4A16, or "
                                 "one of them was not measured).\n");
    fmt::print("{}", table);
    if (!a->svg.empty()) {
      io::WriteFileAtomically(a->svg, pipeline::RenderBenchSvg(r));
      fmt::print("plot: {}\n", a->svg);
    }
    if (!a->out.empty()) io::WriteFileAtomically(a->out, table);
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(bench, "bench", 80, "Time quantized Linear kernels per scheme and batch against this machine's limits",
               SetupBench);
}  // namespace qforge::cli
