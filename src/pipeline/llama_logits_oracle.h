// Test-only: llama.cpp's raw logits through tests/oracle/llama_logits.cc (target qforge_llama_logits), which
// dlopens libllama of the pinned node-llama-cpp package in its own process. Shared by the pipeline oracle
// tests (convert_oracle_test: per-position log-probs and per-product checks; evaluate_oracle_test: perplexity
// of quantized GGUFs). See that program's header for what it runs and why a CPU variant needs a process.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/convert_llama_oracle.h"

namespace qforge::pipeline::testing {

inline std::string LlamaLogitsTool() { return std::string(QFORGE_BINARY_DIR) + "/tests/oracle/qforge_llama_logits"; }

// llama.cpp's portable CPU build (no AVX), the yardstick for llama.cpp's own cross-build reproducibility;
// x64 is used instead when this machine's best backend is sse42 itself.
inline constexpr const char* kPortableCpu = "sse42";
inline constexpr const char* kPortableCpuFallback = "x64";

struct LlamaLogits {
  std::string cpu;  // the backend library ggml loaded, e.g. "libggml-cpu-zen4.so"
  int64_t n_vocab = 0;
  std::vector<float> logits;  // [tokens][n_vocab]
  const float* row(size_t t) const { return logits.data() + t * static_cast<size_t>(n_vocab); }
};

// Evaluates `tokens` as one batch at positions 0..n-1. variant "" = the CPU backend ggml scores best here
// (what node-llama-cpp uses); dump_dir non-empty = also write llama.cpp's intermediate tensors there.
// Throws std::runtime_error with the tool's output when it fails.
inline LlamaLogits RunLlamaLogits(const std::string& model, const std::vector<int32_t>& tokens,
                                  const std::string& scratch_dir, const std::string& variant = "",
                                  const std::string& dump_dir = "") {
  namespace fs = std::filesystem;
  std::string ids;
  for (int32_t t : tokens) ids += fmt::format("{}{}", ids.empty() ? "" : ",", t);
  const std::string bins = fs::path(LlamaLibPath()).parent_path().string();
  const std::string out_file = fmt::format("{}/logits-{}.f32", scratch_dir, ::getpid());
  const std::string cmd = fmt::format("'{}' '{}' '{}' {} '{}'{}{} 2>&1", LlamaLogitsTool(), bins, model, ids, out_file,
                                      variant.empty() ? "" : " --cpu " + variant,
                                      dump_dir.empty() ? "" : " --dump '" + dump_dir + "'");
  std::string out;
  int rc = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    rc = ::pclose(p);
  }
  if (rc != 0) throw std::runtime_error(cmd + "\n" + out);
  LlamaLogits r;
  std::string line;
  for (const char c : out + "\n") {
    if (c != '\n') {
      line += c;
      continue;
    }
    if (line.rfind("cpu: ", 0) == 0) r.cpu = fs::path(line.substr(5)).filename().string();
    if (line.rfind("n_vocab: ", 0) == 0) r.n_vocab = std::stoll(line.substr(9));
    line.clear();
  }
  if (r.n_vocab <= 0) throw std::runtime_error("no vocabulary size from " + cmd + "\n" + out);
  r.logits.resize(tokens.size() * static_cast<size_t>(r.n_vocab));
  FILE* f = std::fopen(out_file.c_str(), "rb");
  const bool ok = f && std::fread(r.logits.data(), sizeof(float), r.logits.size(), f) == r.logits.size();
  if (f) std::fclose(f);
  fs::remove(out_file);
  if (!ok) throw std::runtime_error("no logits from " + cmd + "\n" + out);
  return r;
}

// The portable variant to compare against a native run whose backend is `native_cpu`.
inline std::string PortableCpuFor(const std::string& native_cpu) {
  return native_cpu == fmt::format("libggml-cpu-{}.so", kPortableCpu) ? kPortableCpuFallback : kPortableCpu;
}

// log-softmax of one row of logits, in double.
inline std::vector<double> LogSoftmax(const float* row, int64_t v) {
  double mx = row[0], sum = 0;
  for (int64_t i = 1; i < v; ++i) mx = std::max<double>(mx, row[i]);
  for (int64_t i = 0; i < v; ++i) sum += std::exp(row[i] - mx);
  const double lse = mx + std::log(sum);
  std::vector<double> out(static_cast<size_t>(v));
  for (int64_t i = 0; i < v; ++i) out[static_cast<size_t>(i)] = row[i] - lse;
  return out;
}

}  // namespace qforge::pipeline::testing
