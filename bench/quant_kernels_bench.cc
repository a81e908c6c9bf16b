// Quantized kernel micro-benchmarks in llama-3.1-8b MLP shape (gate/up: 14336 × 4096): W4A16, W8A16 and W8A8
// per token count, the int8 core alone, and the per-token activation quantization. `qforge bench` times the
// whole Linear stack of a layer against measured machine limits.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/quant/quant_matmul.h"

namespace qforge::kernels {
namespace {

constexpr int64_t kIn = 4096, kOut = 14336, kGroup = 128;

struct Weights {
  std::vector<uint32_t> packed;
  std::vector<int8_t> i8;
  std::vector<float> gscales, cscales;
  std::vector<int32_t> sums;
  Weights()
      : packed(static_cast<size_t>(kOut * kIn / 8)), i8(static_cast<size_t>(kOut * kIn)),
        gscales(static_cast<size_t>(kOut * kIn / kGroup), 0.01f), cscales(static_cast<size_t>(kOut), 0.01f) {
    std::mt19937 rng(1);
    for (auto& w : packed) w = rng();
    for (auto& w : i8) w = static_cast<int8_t>(rng());
    sums = Int8RowSums(i8.data(), kOut, kIn);
  }
};
const Weights& W() {
  static const Weights w;
  return w;
}

void Counters(benchmark::State& state, int64_t n, double weight_bytes) {
  state.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * kIn * kOut),
                                               benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["weight_GB/s"] =
      benchmark::Counter(weight_bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_W4A16(benchmark::State& state) {
  const int64_t n = state.range(0);
  W();  // the weights are built outside the timed loop
  std::vector<float> x(static_cast<size_t>(n * kIn), 0.5f), y(static_cast<size_t>(n * kOut));
  for (auto _ : state) {
    MatMulW4A16(x.data(), n, kIn, W().packed.data(), W().gscales.data(), kGroup, kOut, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  Counters(state, n, static_cast<double>(kOut * kIn) / 2 + 4.0 * static_cast<double>(W().gscales.size()));
}
BENCHMARK(BM_W4A16)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_W8A16(benchmark::State& state) {
  const int64_t n = state.range(0);
  W();  // the weights are built outside the timed loop
  std::vector<float> x(static_cast<size_t>(n * kIn), 0.5f), y(static_cast<size_t>(n * kOut));
  for (auto _ : state) {
    MatMulW8A16(x.data(), n, kIn, W().i8.data(), W().cscales.data(), kIn, kOut, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  Counters(state, n, static_cast<double>(kOut * kIn));
}
BENCHMARK(BM_W8A16)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_W8A8(benchmark::State& state) {
  const int64_t n = state.range(0);
  W();  // the weights are built outside the timed loop
  std::vector<float> x(static_cast<size_t>(n * kIn), 0.5f), y(static_cast<size_t>(n * kOut));
  for (auto _ : state) {
    MatMulW8A8(x.data(), n, kIn, W().i8.data(), W().cscales.data(), W().sums.data(), kOut, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  Counters(state, n, static_cast<double>(kOut * kIn));
}
BENCHMARK(BM_W8A8)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GemmI8(benchmark::State& state) {
  const int64_t n = state.range(0);
  W();
  std::vector<int8_t> a(static_cast<size_t>(n * kIn), 3);
  std::vector<int32_t> acc(static_cast<size_t>(n * kOut));
  for (auto _ : state) {
    GemmI8(a.data(), n, kIn, W().i8.data(), W().sums.data(), kOut, acc.data());
    benchmark::DoNotOptimize(acc.data());
  }
  Counters(state, n, static_cast<double>(kOut * kIn));
}
BENCHMARK(BM_GemmI8)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_QuantizeActivation(benchmark::State& state) {
  std::vector<float> x(static_cast<size_t>(kOut), 0.25f);
  std::vector<int8_t> q(x.size());
  for (auto _ : state) benchmark::DoNotOptimize(QuantizeActivationI8(x.data(), kOut, q.data()));
  state.SetItemsProcessed(state.iterations() * kOut);
}
BENCHMARK(BM_QuantizeActivation);

}  // namespace
}  // namespace qforge::kernels
