#include "algorithms/gptq/hessian.h"

#include <cblas.h>

#include <algorithm>

#include "core/error.h"

namespace qforge::algorithms::gptq {
namespace {
// Rows converted to float64 per dsyrk call: bounds the staging buffer (rows * cols * 8 bytes).
constexpr int64_t kF64ChunkRows = 256;
}  // namespace

HessianAccumulator::HessianAccumulator(int64_t cols, HessianPrecision precision)
    : cols_(cols), precision_(precision) {
  QF_CHECK(cols > 0);
  const size_t n = static_cast<size_t>(cols) * static_cast<size_t>(cols);
  if (precision_ == HessianPrecision::kF32) {
    h32_.assign(n, 0.0f);
  } else {
    h64_.assign(n, 0.0);
  }
}

void HessianAccumulator::Add(const float* x, int64_t rows, int64_t samples) {
  QF_CHECK(rows >= 0 && samples >= 0);
  samples_ += samples;
  if (rows == 0) return;
  const int n = static_cast<int>(cols_);
  if (precision_ == HessianPrecision::kF32) {
    // H(upper) += X^T X: in row-major, C = A^T A with A = X [rows, cols] is "Trans" of a [rows, n] matrix.
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, static_cast<int>(rows), 1.0f, x, n, 1.0f,
                h32_.data(), n);
    return;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += kF64ChunkRows) {
    const int64_t k = std::min(kF64ChunkRows, rows - r0);
    stage_.resize(static_cast<size_t>(k * cols_));
    std::copy(x + r0 * cols_, x + (r0 + k) * cols_, stage_.begin());
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, static_cast<int>(k), 1.0, stage_.data(), n, 1.0,
                h64_.data(), n);
  }
}

std::vector<float> HessianAccumulator::Finalize() const {
  QF_CHECK_MSG(samples_ > 0, "Hessian with no samples");
  const size_t c = static_cast<size_t>(cols_);
  std::vector<float> h(c * c);
  if (precision_ == HessianPrecision::kF32) {
    const float f = 2.0f / static_cast<float>(samples_);
    for (size_t i = 0; i < c; ++i) {
      for (size_t j = i; j < c; ++j) h[i * c + j] = h[j * c + i] = f * h32_[i * c + j];
    }
  } else {
    const double f = 2.0 / static_cast<double>(samples_);
    for (size_t i = 0; i < c; ++i) {
      for (size_t j = i; j < c; ++j) h[i * c + j] = h[j * c + i] = static_cast<float>(f * h64_[i * c + j]);
    }
  }
  return h;
}

std::vector<float> HessianAccumulator::TakeFinalized() {
  QF_CHECK_MSG(samples_ > 0, "Hessian with no samples");
  std::vector<float> h;
  if (precision_ == HessianPrecision::kF32) {
    // Same arithmetic as Finalize: f * upper, mirrored; row i's upper part is read before it is rewritten
    // and the lower part of row i is only written from rows above it.
    h.swap(h32_);
    const size_t c = static_cast<size_t>(cols_);
    const float f = 2.0f / static_cast<float>(samples_);
    for (size_t i = 0; i < c; ++i) {
      for (size_t j = i; j < c; ++j) h[i * c + j] = h[j * c + i] = f * h[i * c + j];
    }
  } else {
    h = Finalize();
    std::vector<double>().swap(h64_);
  }
  std::vector<double>().swap(stage_);
  samples_ = 0;
  return h;
}

uint64_t HessianAccumulator::bytes() const {
  return h32_.size() * sizeof(float) + (h64_.size() + stage_.capacity()) * sizeof(double);
}

}  // namespace qforge::algorithms::gptq
