// `qforge bench`: the W4A16-vs-W8A8 crossover measured on this machine. Times one decoder layer's Linear
// stack (q, k, v, o, gate, up, down) of a named model shape per weight scheme and batch, next to this
// machine's limits measured in the same run:
//   memory bandwidth  a multi-threaded streaming read of a buffer far larger than the caches
//   F32 peak          register-resident vector FMA chains on every thread
//   int8 peak         register-resident int8 dot-product chains (the W8A8 kernel's instruction) on every thread
// Each figure is then reported as a percentage of the limit it is bounded by.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qforge::pipeline {

struct MachineLimits {
  double mem_gbps = 0;    // GB/s (1e9 bytes)
  double f32_gflops = 0;  // 1e9 FLOP/s (FMA = 2)
  double int8_gops = 0;   // 1e9 int8 OP/s (multiply-add = 2)
  int threads = 0;
  std::string target;     // Highway target of the quantized kernels
};
MachineLimits MeasureMachineLimits();

struct LinearShape {
  std::string name;
  int64_t hidden = 0, intermediate = 0, q_dim = 0, kv_dim = 0;
  int64_t Params() const;  // weights in the 7 Linear layers
};
// "llama-3.1-8b", "llama-3.2-1b", "qwen2.5-0.5b"; throws listing the known names otherwise.
LinearShape ShapeByName(const std::string& name);

struct BenchPoint {
  std::string scheme;
  int64_t batch = 0;
  double seconds = 0;       // one pass over the layer's Linear stack (best of the repetitions)
  double weight_bytes = 0;  // resident bytes of the 7 weights (codes + scales)
  double ops = 0;           // 2 · params · batch
  double TokensPerSecond() const { return static_cast<double>(batch) / seconds; }
  double WeightGBps() const { return weight_bytes / seconds / 1e9; }
  double Gops() const { return ops / seconds / 1e9; }
};

struct BenchResult {
  MachineLimits limits;
  LinearShape shape;
  std::vector<BenchPoint> points;
};

// schemes: f32, bf16, w8a16, w4a16, w8a8, q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m (q4_k; v and down q6_k).
// min_seconds: time each point for at least this long (and at least 2 repetitions).
BenchResult RunLinearBench(const LinearShape& shape, const std::vector<int64_t>& batches,
                           const std::vector<std::string>& schemes, double min_seconds, bool progress);

// The smallest batch from which `fast` (e.g. w8a8) stays at least as fast as `slow` (w4a16) in tokens/s.
std::optional<int64_t> CrossoverBatch(const BenchResult& r, const std::string& slow, const std::string& fast);

std::string FormatBenchTable(const BenchResult& r);  // Markdown table, one row per (scheme, batch)
std::string RenderBenchSvg(const BenchResult& r);    // tokens/s vs batch, log-log, one line per scheme

}  // namespace qforge::pipeline
