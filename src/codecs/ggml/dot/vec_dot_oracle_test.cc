// GGUF dot products against llama.cpp's own CPU backend (node-llama-cpp 3.21.1's prebuilt libggml-cpu-*.so,
// the variant llama.cpp itself picks for this CPU by ggml_backend_score): the activation quantizers must
// produce the same bytes as quantize_row_q8_0 / q8_1 / q8_K, and our dot products the same values as
// ggml_vec_dot_<type>_q8_<x> up to float summation order.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codecs/ggml/dot/vec_dot.h"
#include "codecs/ggml/ggml_codecs.h"
#include "codecs/ggml/ggml_oracle_lib.h"

namespace qforge::codecs::ggml {
namespace {

// Same float-ordering bound as vec_dot_test.cc (integer block sums exact; float accumulation differs).
constexpr double kDotRelTol = 1e-5;

// The directory of ggml_oracle_lib.h's libggml-base.so: the CPU backend variants lie beside it.
const std::string kBins = testing::GgmlBaseLibPath().substr(0, testing::GgmlBaseLibPath().rfind('/') + 1);
const char* const kVariants[] = {"sapphirerapids", "zen4", "cooperlake", "icelake", "cannonlake", "cascadelake",
                                 "skylakex", "alderlake", "haswell", "piledriver", "ivybridge", "sandybridge",
                                 "sse42", "x64"};

class GgmlCpu {
 public:
  using QuantizeRowFn = void (*)(const float*, void*, int64_t);
  using VecDotFn = void (*)(int, float*, size_t, const void*, size_t, const void*, size_t, int);
  GgmlCpu() {
    // Highest ggml_backend_score wins, as in ggml's backend loader.
    int best = 0;
    for (const char* v : kVariants) {
      const std::string path = kBins + "libggml-cpu-" + v + ".so";
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) continue;
      auto score = reinterpret_cast<int (*)()>(dlsym(h, "ggml_backend_score"));
      const int s = score ? score() : 0;
      if (s > best) {
        if (handle_) dlclose(handle_);
        handle_ = h;
        best = s;
        variant = v;
      } else {
        dlclose(h);
      }
    }
    if (!handle_) throw std::runtime_error("no libggml-cpu variant loads from " + kBins + " (run scripts/install-oracles.sh)");
    reinterpret_cast<void (*)()>(Sym("ggml_cpu_init"))();
  }
  ~GgmlCpu() { dlclose(handle_); }
  void* Sym(const std::string& name) const {
    void* p = dlsym(handle_, name.c_str());
    if (!p) throw std::runtime_error("libggml-cpu-" + variant + ".so lacks " + name);
    return p;
  }
  std::string variant;

 private:
  void* handle_ = nullptr;
};

const GgmlCpu& Cpu() {
  static const GgmlCpu* cpu = new GgmlCpu();
  return *cpu;
}

// ggml's spelling: "q4_0", "q4_K" (only the leading letter in lower case).
std::string GgmlName(DType t) {
  std::string s(Name(t));
  s[0] = static_cast<char>(std::tolower(s[0]));
  return s;
}
const char* ActName(ActFormat f) { return f == ActFormat::kQ8_0 ? "q8_0" : f == ActFormat::kQ8_1 ? "q8_1" : "q8_K"; }

std::vector<float> Data(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = g(rng) * (i % 83 == 5 ? 30.0f : 1.0f);
  return v;
}

TEST(GgufDotOracle, ActivationBytesEqualLlamaCpp) {
  std::printf("[ oracle ] llama.cpp CPU variant: %s\n", Cpu().variant.c_str());
  for (ActFormat f : {ActFormat::kQ8_0, ActFormat::kQ8_1, ActFormat::kQ8_K}) {
    auto quant = reinterpret_cast<GgmlCpu::QuantizeRowFn>(Cpu().Sym(std::string("quantize_row_") + ActName(f)));
    int64_t rows = 0, differing = 0;
    for (uint32_t seed = 1; seed <= 40; ++seed) {
      const int64_t k = 2048;
      auto x = Data(k, seed);
      if (seed == 2) std::fill(x.begin(), x.begin() + 256, 0.0f);  // an all-zero block
      if (seed == 3) for (int64_t i = 0; i < k; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i % 255) - 127.0f;  // exact .5 ties
      std::vector<uint32_t> ours((ActRowBytes(f, k) + 3) / 4), theirs(ours.size());
      QuantizeActRow(f, x.data(), k, ours.data());
      quant(x.data(), theirs.data(), k);
      ++rows;
      differing += std::memcmp(ours.data(), theirs.data(), ActRowBytes(f, k)) != 0;
    }
    std::printf("[ oracle ] %s: %ld of %ld rows differ\n", ActName(f), static_cast<long>(differing), static_cast<long>(rows));
    EXPECT_EQ(differing, 0) << ActName(f);
  }
}

TEST(GgufDotOracle, DotProductsEqualLlamaCpp) {
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K,
                  DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const ActFormat f = ActFormatFor(t);
    auto dot = reinterpret_cast<GgmlCpu::VecDotFn>(Cpu().Sym("ggml_vec_dot_" + GgmlName(t) + "_" + ActName(f)));
    const int64_t m = 24, k = 4096, n = 3;
    const auto wf = Data(m * k, 100), xf = Data(n * k, 200);
    std::vector<uint8_t> w(RowBytes(t, k) * m);
    QuantizeRows(t, wf.data(), w.data(), m, k, nullptr);
    const size_t ab = ActRowBytes(f, k);
    std::vector<uint32_t> a((ab * n + 3) / 4);
    for (int64_t i = 0; i < n; ++i) QuantizeActRow(f, xf.data() + i * k, k, reinterpret_cast<uint8_t*>(a.data()) + i * ab);
    std::vector<float> y(static_cast<size_t>(n * m));
    GgufDotRows(t, w.data(), k, a.data(), n, 0, m, y.data(), m);
    double worst = 0;
    std::vector<float> wd(k), ad(k);
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* ar = reinterpret_cast<const uint8_t*>(a.data()) + i * ab;
      DequantizeActRow(f, ar, k, ad.data());
      for (int64_t r = 0; r < m; ++r) {
        const uint8_t* wr = w.data() + r * RowBytes(t, k);
        float ref = 0;
        dot(static_cast<int>(k), &ref, 0, wr, 0, ar, 0, 1);
        DequantizeRowRef(t, wr, wd.data(), k);
        double abs_sum = 0;
        for (int64_t j = 0; j < k; ++j) abs_sum += std::fabs(static_cast<double>(wd[j]) * ad[j]);
        const double got = y[static_cast<size_t>(i * m + r)];
        worst = std::max(worst, std::fabs(got - ref) / abs_sum);
        EXPECT_NEAR(got, ref, kDotRelTol * abs_sum) << Name(t) << " row " << r;
      }
    }
    std::printf("[ oracle ] %s x %s: max |ours - llama.cpp| / sum|w a| = %.2g\n", Name(t).data(), ActName(f), worst);
  }
}

// A whole batched product through ggml's graph API (ggml_mul_mat on the CPU backend: llama.cpp's own
// dispatch, activation conversion and chunking), against GgufMatMul.
TEST(GgufDotOracle, BatchedMatMulEqualsGgmlMulMat) {
  struct InitParams {
    size_t mem_size;
    void* mem_buffer;
    bool no_alloc;
  };
  auto init = reinterpret_cast<void* (*)(InitParams)>(Cpu().Sym("ggml_init"));
  auto free_ctx = reinterpret_cast<void (*)(void*)>(Cpu().Sym("ggml_free"));
  auto new_2d = reinterpret_cast<void* (*)(void*, int, int64_t, int64_t)>(Cpu().Sym("ggml_new_tensor_2d"));
  auto mul_mat = reinterpret_cast<void* (*)(void*, void*, void*)>(Cpu().Sym("ggml_mul_mat"));
  auto new_graph = reinterpret_cast<void* (*)(void*)>(Cpu().Sym("ggml_new_graph"));
  auto expand = reinterpret_cast<void (*)(void*, void*)>(Cpu().Sym("ggml_build_forward_expand"));
  auto compute = reinterpret_cast<int (*)(void*, void*, int)>(Cpu().Sym("ggml_graph_compute_with_ctx"));
  auto data = reinterpret_cast<void* (*)(void*)>(Cpu().Sym("ggml_get_data"));
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ6_K}) {
    for (const int64_t k : {int64_t{256}, int64_t{768}}) for (const int64_t n : {int64_t{1}, int64_t{12}}) {
      const int64_t m = 64;
      const auto wf = Data(m * k, 300), xf = Data(n * k, 400);
      std::vector<uint8_t> w(RowBytes(t, k) * m);
      QuantizeRows(t, wf.data(), w.data(), m, k, nullptr);
      void* ctx = init({size_t{64} << 20, nullptr, false});
      ASSERT_NE(ctx, nullptr);
      void* a = new_2d(ctx, static_cast<int>(Traits(t).gguf_id), k, m);
      void* b = new_2d(ctx, 0 /* F32 */, k, n);
      std::memcpy(data(a), w.data(), w.size());
      std::memcpy(data(b), xf.data(), xf.size() * sizeof(float));
      void* c = mul_mat(ctx, a, b);
      void* g = new_graph(ctx);
      expand(g, c);
      ASSERT_EQ(compute(ctx, g, 2), 0);
      const auto* theirs = static_cast<const float*>(data(c));  // [n, m]
      std::vector<float> ours(static_cast<size_t>(n * m));
      GgufMatMul(t, w.data(), m, k, xf.data(), n, ours.data(), m);
      double worst = 0;
      for (int64_t tok = 0; tok < n; ++tok) {
        for (int64_t r = 0; r < m; ++r) {
          double abs_sum = 0;
          std::vector<float> wd(k);
          DequantizeRowRef(t, w.data() + r * RowBytes(t, k), wd.data(), k);
          for (int64_t j = 0; j < k; ++j) abs_sum += std::fabs(static_cast<double>(wd[j]) * xf[tok * k + j]);
          const size_t i = static_cast<size_t>(tok * m + r);
          worst = std::max(worst, std::fabs(static_cast<double>(ours[i]) - theirs[i]) / abs_sum);
          EXPECT_NEAR(ours[i], theirs[i], kDotRelTol * abs_sum) << Name(t) << " k=" << k << " n=" << n;
        }
      }
      std::printf("[ oracle ] ggml_mul_mat %s k=%ld n=%ld: max |ours - ggml| / sum|w x| %.2g\n", Name(t).data(), static_cast<long>(k), static_cast<long>(n), worst);
      free_ctx(ctx);
    }
  }
}

}  // namespace
}  // namespace qforge::codecs::ggml
