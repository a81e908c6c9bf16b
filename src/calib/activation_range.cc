#include "calib/activation_range.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace qforge::calib {

ActivationRange::ActivationRange(int64_t channels)
    : min_(static_cast<size_t>(channels), std::numeric_limits<float>::infinity()),
      max_(static_cast<size_t>(channels), -std::numeric_limits<float>::infinity()) {
  QF_CHECK(channels > 0);
}

void ActivationRange::Update(const float* x, int64_t rows) {
  const size_t c = min_.size();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + static_cast<size_t>(r) * c;
    for (size_t j = 0; j < c; ++j) {
      min_[j] = std::min(min_[j], row[j]);
      max_[j] = std::max(max_[j], row[j]);
    }
  }
  rows_ += rows;
}

std::vector<float> ActivationRange::Range() const {
  std::vector<float> r(min_.size(), 0.0f);
  if (rows_ == 0) return r;
  for (size_t j = 0; j < r.size(); ++j) r[j] = max_[j] - min_[j];
  return r;
}

std::vector<float> ActivationRange::AbsMax() const {
  std::vector<float> r(min_.size(), 0.0f);
  if (rows_ == 0) return r;
  for (size_t j = 0; j < r.size(); ++j) r[j] = std::max(std::fabs(min_[j]), std::fabs(max_[j]));
  return r;
}

}  // namespace qforge::calib
