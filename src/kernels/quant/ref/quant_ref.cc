#include "kernels/quant/ref/quant_ref.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace qforge::kernels::ref {

void MatMulW4A16(const float* x, int64_t n, int64_t k, const uint32_t* packed, const float* scales, int64_t group,
                 int64_t m, double* y) {
  const int64_t words = k / 8, groups = k / group;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < m; ++r) {
      double acc = 0;
      for (int64_t i = 0; i < k; ++i) {
        const uint32_t word = packed[r * words + i / 8];
        const int code = static_cast<int>((word >> (4 * (i % 8))) & 0xFu) - 8;
        acc += static_cast<double>(scales[r * groups + i / group]) * code * x[t * k + i];
      }
      y[t * m + r] = acc;
    }
  }
}

void MatMulW8A16(const float* x, int64_t n, int64_t k, const int8_t* w, const float* scales, int64_t group,
                 int64_t m, double* y) {
  const int64_t groups = k / group;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < m; ++r) {
      double acc = 0;
      for (int64_t i = 0; i < k; ++i) {
        acc += static_cast<double>(scales[r * groups + i / group]) * w[r * k + i] * x[t * k + i];
      }
      y[t * m + r] = acc;
    }
  }
}

float QuantizeActivationI8(const float* x, int64_t k, int8_t* q) {
  float absmax = 0.0f;
  for (int64_t i = 0; i < k; ++i) absmax = std::max(absmax, std::fabs(x[i]));
  if (absmax == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(k));
    return 0.0f;
  }
  const float inv = 127.0f / absmax;
  for (int64_t i = 0; i < k; ++i) {
    const float v = std::nearbyint(x[i] * inv);
    q[i] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
  }
  return absmax / 127.0f;
}

void GemmI8(const int8_t* a, int64_t n, int64_t k, const int8_t* w, int64_t m, int32_t* acc) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < m; ++r) {
      int32_t s = 0;
      for (int64_t i = 0; i < k; ++i) s += static_cast<int32_t>(a[t * k + i]) * w[r * k + i];
      acc[t * m + r] = s;
    }
  }
}

void MatMulW8A8(const float* x, int64_t n, int64_t k, const int8_t* w, const float* w_scales, int64_t m, float* y) {
  std::vector<int8_t> a(static_cast<size_t>(n * k));
  std::vector<float> s(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) s[static_cast<size_t>(t)] = QuantizeActivationI8(x + t * k, k, a.data() + t * k);
  std::vector<int32_t> acc(static_cast<size_t>(n * m));
  GemmI8(a.data(), n, k, w, m, acc.data());
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < m; ++r) {
      y[t * m + r] = (s[static_cast<size_t>(t)] * w_scales[r]) * static_cast<float>(acc[t * m + r]);
    }
  }
}

}  // namespace qforge::kernels::ref
