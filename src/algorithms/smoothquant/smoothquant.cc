#include "algorithms/smoothquant/smoothquant.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace qforge::algorithms::smoothquant {

std::vector<float> ComputeScales(std::span<const float> range, std::span<const WeightView> balance, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) Fail("SmoothQuant: smoothing_strength = {}; expected 0 to 1", alpha);
  if (balance.empty()) Fail("SmoothQuant: a mapping with no balance layers");
  const size_t n = range.size();
  std::vector<float> wmax(n, 0.0f);
  for (const WeightView& w : balance) {
    if (w.in != static_cast<int64_t>(n)) {
      Fail("SmoothQuant: balance layer has {} input columns; the smooth layer has {} channels", w.in, n);
    }
    for (int64_t o = 0; o < w.out; ++o) {
      const float* row = w.data + o * w.in;
      for (size_t j = 0; j < n; ++j) wmax[j] = std::max(wmax[j], std::fabs(row[j]));
    }
  }
  const float a = static_cast<float>(alpha);
  std::vector<float> s(n);
  for (size_t j = 0; j < n; ++j) {
    const float wj = 2.0f * wmax[j];
    const float v = wj > 0.0f ? std::pow(range[j], a) / std::pow(wj, 1.0f - a) : range[j];
    s[j] = std::max(v, kMinimumSmoothingScale);
  }
  return s;
}

void ScaleColumns(float* w, int64_t out, int64_t in, std::span<const float> s) {
  QF_CHECK(static_cast<int64_t>(s.size()) == in);
  for (int64_t o = 0; o < out; ++o) {
    float* row = w + o * in;
    for (int64_t j = 0; j < in; ++j) row[j] *= s[static_cast<size_t>(j)];
  }
}

void DivideNorm(std::span<float> gamma, std::span<const float> s) {
  QF_CHECK(gamma.size() == s.size());
  for (size_t j = 0; j < s.size(); ++j) gamma[j] /= s[j];
}

}  // namespace qforge::algorithms::smoothquant
