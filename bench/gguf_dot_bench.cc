// GGUF integer dot products (codecs/ggml/dot): GgufMatMul on a 2048×2048 weight per type and token count,
// bytes of weights per second (decode, 1 token) and tokens per second (prefill-like batches).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "codecs/ggml/dot/vec_dot.h"
#include "codecs/ggml/ggml_codecs.h"

namespace {

using qforge::DType;

void BM_GgufMatMul(benchmark::State& state, DType t) {
  const int64_t m = 2048, k = 2048, n = state.range(0);
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> wf(static_cast<size_t>(m * k)), x(static_cast<size_t>(n * k));
  for (auto& v : wf) v = g(rng);
  for (auto& v : x) v = g(rng);
  std::vector<uint8_t> w(qforge::codecs::RowBytes(t, k) * m);
  qforge::codecs::QuantizeRows(t, wf.data(), w.data(), m, k, nullptr);
  std::vector<float> y(static_cast<size_t>(n * m));
  for (auto _ : state) {
    qforge::codecs::ggml::GgufMatMul(t, w.data(), m, k, x.data(), n, y.data(), m);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_GgufMatMul, q8_0, DType::kQ8_0)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_GgufMatMul, q4_0, DType::kQ4_0)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_GgufMatMul, q4_k, DType::kQ4_K)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_GgufMatMul, q5_k, DType::kQ5_K)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_GgufMatMul, q6_k, DType::kQ6_K)->Arg(1)->Arg(64)->UseRealTime();

}  // namespace
