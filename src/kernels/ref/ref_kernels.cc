#include "kernels/ref/ref_kernels.h"

#include <cmath>

#include "core/half.h"

namespace qforge::kernels::ref {
namespace {

template <typename ToF32>
void Gemv(int64_t m, int64_t k, float* y, ToF32 w_at, const float* x) {
  for (int64_t r = 0; r < m; ++r) {
    double acc = 0;  // double: the oracle should be more accurate than what it checks
    for (int64_t i = 0; i < k; ++i) acc += static_cast<double>(w_at(r, i)) * x[i];
    y[r] = static_cast<float>(acc);
  }
}

}  // namespace

void GemvF32(const float* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  Gemv(m, k, y, [&](int64_t r, int64_t i) { return w[r * ldw + i]; }, x);
}
void GemvBf16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  Gemv(m, k, y, [&](int64_t r, int64_t i) { return Bf16ToF32(w[r * ldw + i]); }, x);
}
void GemvF16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  Gemv(m, k, y, [&](int64_t r, int64_t i) { return F16ToF32(w[r * ldw + i]); }, x);
}

void WeightedSumRows(const float* rows, int64_t ld, int64_t n_rows, const float* p, int64_t k, float* out) {
  for (int64_t i = 0; i < k; ++i) {
    double acc = out[i];
    for (int64_t r = 0; r < n_rows; ++r) acc += static_cast<double>(p[r]) * rows[r * ld + i];
    out[i] = static_cast<float>(acc);
  }
}

void RmsNormRow(const float* x, const float* w, int64_t n, float eps, float* out) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] * scale * w[i]);
}

void SiluMul(const float* g, const float* u, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const double gi = g[i];
    out[i] = static_cast<float>(gi / (1.0 + std::exp(-gi)) * u[i]);
  }
}

void SoftmaxRow(float* x, int64_t n) {
  if (n <= 0) return;
  double mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max<double>(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(x[i] - mx) / sum);
}

void MatMulF32(const float* x, int64_t n, int64_t k, const float* w, int64_t m, float* y) {
  for (int64_t t = 0; t < n; ++t) GemvF32(w, k, m, x + t * k, k, y + t * m);
}

}  // namespace qforge::kernels::ref
