// Per-channel statistics of activations seen during calibration: running min, max and max|x| per column
// (SmoothQuant's statistic is max - min, FORMATS.md §4.1).
#pragma once

#include <cstdint>
#include <vector>

namespace qforge::calib {

class ActivationRange {
 public:
  explicit ActivationRange(int64_t channels);
  // x: [rows, channels] row-major.
  void Update(const float* x, int64_t rows);
  int64_t channels() const { return static_cast<int64_t>(min_.size()); }
  int64_t rows_seen() const { return rows_; }
  std::vector<float> Range() const;   // max - min per channel (0 before any update)
  std::vector<float> AbsMax() const;  // max(|min|, |max|)
  const std::vector<float>& min() const { return min_; }
  const std::vector<float>& max() const { return max_; }

 private:
  std::vector<float> min_, max_;
  int64_t rows_ = 0;
};

}  // namespace qforge::calib
