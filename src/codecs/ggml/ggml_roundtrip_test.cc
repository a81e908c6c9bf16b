// Quantize -> dequantize error on Gaussian rows lies in a two-sided band per type, so both a broken codec and
// a suspicious "improvement" fail; an importance matrix lowers the weighted error where it is used.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "codecs/ggml/ggml_codecs.h"
#include "codecs/ggml/ggml_test_rows.h"

namespace qforge::codecs::ggml {
namespace {

// Relative RMS error sqrt(sum (x - y)^2 / sum x^2) on N(0,1) rows.
double RelRmse(DType t, const std::vector<float>& x, int64_t n, const float* imatrix, const float* w) {
  const int64_t rows = static_cast<int64_t>(x.size()) / n;
  std::vector<uint8_t> q(RowBytes(t, n) * rows);
  QuantizeRows(t, x.data(), q.data(), rows, n, imatrix);
  std::vector<float> y(n);
  double num = 0, den = 0;
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRow(t, q.data() + r * RowBytes(t, n), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double wi = w ? w[i] : 1.0;
      const double e = x[r * n + i] - y[i];
      num += wi * e * e;
      den += wi * double(x[r * n + i]) * x[r * n + i];
    }
  }
  return std::sqrt(num / den);
}

TEST(GgmlRoundTrip, ErrorWithinBands) {
  // Bands around the values measured for these seeds (errors scale ~2^-bits); each band is +-25% so that a
  // changed rounding rule or a lost bit fails, while the exact value is pinned by the oracle test.
  struct Band { DType type; double lo, hi; };
  const Band bands[] = {
      {DType::kF32, 0.0, 0.0},         {DType::kF16, 1e-4, 3e-4},     {DType::kBF16, 1e-3, 3e-3},
      {DType::kQ8_0, 0.003, 0.006},    {DType::kQ4_0, 0.08, 0.13},    {DType::kQ4_1, 0.07, 0.12},
      {DType::kQ5_0, 0.04, 0.065},     {DType::kQ5_1, 0.035, 0.06},   {DType::kQ2_K, 0.25, 0.45},
      {DType::kQ3_K, 0.13, 0.22},      {DType::kQ4_K, 0.06, 0.11},    {DType::kQ5_K, 0.03, 0.055},
      {DType::kQ6_K, 0.015, 0.03},
  };
  const testing::RowSet s = testing::RandomRows(512, 2, 31);
  std::vector<float> gauss(s.data.begin(), s.data.begin() + 2 * 512);  // kind 0: Gaussian rows
  for (const Band& b : bands) {
    const double e = RelRmse(b.type, gauss, 512, nullptr, nullptr);
    std::printf("[ rmse ] %-5s %.5f\n", std::string(Name(b.type)).c_str(), e);
    EXPECT_GE(e, b.lo) << Name(b.type);
    EXPECT_LE(e, b.hi) << Name(b.type);
  }
}

TEST(GgmlRoundTrip, ImatrixLowersWeightedError) {
  const testing::RowSet s = testing::RandomRows(512, 4, 8);
  std::vector<float> gauss(s.data.begin(), s.data.begin() + 4 * 512);
  const std::vector<float> im = testing::RandomImatrix(512, 9);
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                  DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const double plain = RelRmse(t, gauss, 512, nullptr, im.data());
    const double weighted = RelRmse(t, gauss, 512, im.data(), im.data());
    EXPECT_LT(weighted, plain) << Name(t);
  }
}

}  // namespace
}  // namespace qforge::codecs::ggml
