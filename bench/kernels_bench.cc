// Kernel micro-benchmarks in llama-3.2-1b shapes (hidden 2048, MLP 8192): GEMV per weight type (decode),
// MatMul at a few token counts (the GEMV/GEMM crossover kGemmMinTokens), and the element-wise kernels.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/matmul.h"
#include "kernels/simd.h"

namespace qforge::kernels {
namespace {

constexpr int64_t kIn = 2048, kOut = 8192;

struct Weights {
  std::vector<float> f32;
  std::vector<uint16_t> bf16, f16;
  Weights() : f32(static_cast<size_t>(kIn * kOut)), bf16(f32.size()), f16(f32.size()) {
    std::mt19937 rng(1);
    std::normal_distribution<float> n(0, 0.02f);
    for (auto& v : f32) v = n(rng);
    F32ToBf16(f32.data(), bf16.data(), f32.size());
    F32ToF16(f32.data(), f16.data(), f32.size());
  }
  const void* Get(DType t) const {
    return t == DType::kF32 ? static_cast<const void*>(f32.data())
                            : t == DType::kBF16 ? static_cast<const void*>(bf16.data()) : f16.data();
  }
};
const Weights& W() {
  static const Weights w;
  return w;
}

void BM_MatMul(benchmark::State& state, DType t) {
  const int64_t n = state.range(0);
  std::vector<float> x(static_cast<size_t>(n * kIn), 0.5f), y(static_cast<size_t>(n * kOut));
  const void* w = W().Get(t);
  for (auto _ : state) {
    MatMul(x.data(), n, kIn, t, w, kOut, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * kIn * kOut),
                                                 benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_MatMul, f32, DType::kF32)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MatMul, bf16, DType::kBF16)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MatMul, f16, DType::kF16)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond);

void BM_Elementwise(benchmark::State& state) {
  std::vector<float> a(kOut, 0.3f), b(kOut, 0.7f), out(kOut), w(kOut, 1.0f);
  for (auto _ : state) {
    SiluMul(a.data(), b.data(), kOut, out.data());
    RmsNormRow(out.data(), w.data(), kOut, 1e-5f, out.data());
    SoftmaxRow(out.data(), kOut);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kOut);
}
BENCHMARK(BM_Elementwise);

}  // namespace
}  // namespace qforge::kernels
