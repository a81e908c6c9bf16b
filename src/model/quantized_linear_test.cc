// Native quantized Linear weights vs the dequantize-then-F32 path (the same weight, decoded to a dense F32
// matrix and run by the dense kernels).
#include "model/quantized_linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"

namespace qforge::model {
namespace {

// Weight-only schemes: both paths use the identical decoded weights; only the float summation order differs
// (≲ sqrt(k)·eps·Σ|terms| for random data). 1e-5·Σ|ŵ·x| leaves ≥ 10× headroom at k = 512.
constexpr double kWeightOnlyRelTol = 1e-5;

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Case {
  std::string scheme;
  DType dtype;
};

TEST(QuantizedLinear, MatchesDequantizedF32Path) {
  const int64_t out = 36, in = 512;
  Tensor w = Tensor::Zeros(DType::kF32, {out, in});
  const auto wv = Random(static_cast<size_t>(out * in), 1);
  std::copy(wv.begin(), wv.end(), w.mutable_data<float>());
  const auto dense_src = MakeDenseLinear(w, "w");
  for (const Case& c : {Case{"w4a16", DType::kI32}, Case{"w8a16", DType::kI8}, Case{"w8a8", DType::kI8},
                        Case{"q8_0", DType::kQ8_0}, Case{"q4_0", DType::kQ4_0}, Case{"q4_k", DType::kQ4_K},
                        Case{"q5_k", DType::kQ5_K}, Case{"q6_k", DType::kQ6_K}}) {
    SCOPED_TRACE(c.scheme);
    const auto q = QuantizeLinearAs(*dense_src, c.scheme);
    EXPECT_EQ(q->dtype(), c.dtype);
    const Tensor deq = q->DenseF32();
    const auto ref = MakeDenseLinear(deq, "deq");
    // The quantized weight is close to the original (catches a scrambled layout that would still agree
    // with its own DenseF32): mean |ŵ − w| well under the weights' spread (σ = 1).
    double err = 0;
    for (int64_t i = 0; i < out * in; ++i) err += std::abs(deq.data<float>()[i] - wv[static_cast<size_t>(i)]);
    EXPECT_LT(err / static_cast<double>(out * in), c.scheme == "q4_0" || c.scheme == "q4_k" || c.scheme == "w4a16" ? 0.15 : 0.05);
    for (int64_t n : {1, 3, 8}) {
      const auto x = Random(static_cast<size_t>(n * in), 2 + static_cast<uint32_t>(n));
      std::vector<float> y(static_cast<size_t>(n * out)), y_ref(y.size());
      q->Apply(x.data(), n, y.data());
      ref->Apply(x.data(), n, y_ref.data());
      for (int64_t t = 0; t < n; ++t) {
        float absmax = 0;
        for (int64_t i = 0; i < in; ++i) absmax = std::max(absmax, std::abs(x[static_cast<size_t>(t * in + i)]));
        for (int64_t r = 0; r < out; ++r) {
          double sum_abs = 0, sum_w = 0;
          for (int64_t i = 0; i < in; ++i) {
            const double wi = std::abs(deq.data<float>()[r * in + i]);
            sum_abs += wi * std::abs(x[static_cast<size_t>(t * in + i)]);
            sum_w += wi;
          }
          // W8A8 also rounds each activation to the int8 grid: |x − x̂| ≤ absmax/254 per element; so do the
          // GGUF types (llama.cpp's Q8_0 / Q8_K activation blocks: step ≤ block absmax / 127).
          const bool act_int8 = c.scheme == "w8a8" || c.scheme[0] == 'q';
          const double tol = kWeightOnlyRelTol * sum_abs + (act_int8 ? sum_w * absmax / 254.0 : 0.0);
          ASSERT_NEAR(y[static_cast<size_t>(t * out + r)], y_ref[static_cast<size_t>(t * out + r)], tol)
              << "token " << t << " row " << r;
        }
      }
    }
  }
}

TEST(QuantizedLinear, RejectsBadShapes) {
  EXPECT_THROW(MakeW4A16Linear(Tensor::Zeros(DType::kI32, {4, 2}), std::vector<float>(4), 4, 16, 12, "t"), Error);
  EXPECT_THROW(MakeW4A16Linear(Tensor::Zeros(DType::kI32, {4, 3}), std::vector<float>(4), 4, 16, 16, "t"), Error);
  EXPECT_THROW(MakeW8A8Linear(Tensor::Zeros(DType::kI8, {4, 16}), std::vector<float>(3), 4, 16, "t"), Error);
  EXPECT_THROW(MakeGgufLinear(Tensor::Zeros(DType::kF32, {4, 32}), "t"), Error);
  EXPECT_THROW(QuantizeLinearAs(*MakeDenseLinear(Tensor::Zeros(DType::kF32, {4, 32}), "t"), "w3a16"), Error);
}

}  // namespace
}  // namespace qforge::model
