// GPTQ input Hessian H = (2 / N) * sum over calibration tokens of x x^T  (FORMATS.md §3.1).
// N counts samples (sequences), as llm-compressor and the reference do; the token rows of every sample are
// all summed. Accumulation is a BLAS rank-k update (syrk) into the upper triangle, in float32 or float64;
// Finalize() scales once, mirrors the triangle and returns float32 [cols, cols] row-major (symmetric).
#pragma once

#include <cstdint>
#include <vector>

namespace qforge::algorithms::gptq {

enum class HessianPrecision { kF32, kF64 };

class HessianAccumulator {
 public:
  HessianAccumulator(int64_t cols, HessianPrecision precision);

  // x: [rows, cols] row-major float32 (the inputs of one Linear); `samples` = how many samples these rows
  // belong to (1 for one sequence, rows for the golden files' token-as-sample convention).
  void Add(const float* x, int64_t rows, int64_t samples);

  int64_t cols() const { return cols_; }
  int64_t samples() const { return samples_; }
  // 2/N * sum x x^T as float32 [cols, cols]; requires samples() > 0.
  std::vector<float> Finalize() const;
  // The same values, reusing the accumulator's float32 buffer (no second [cols, cols] copy) and releasing
  // its memory; the accumulator is empty afterwards.
  std::vector<float> TakeFinalized();
  // Memory held by the accumulator, for the pipeline's peak-memory accounting.
  uint64_t bytes() const;

 private:
  int64_t cols_;
  HessianPrecision precision_;
  int64_t samples_ = 0;
  std::vector<float> h32_;   // upper triangle used (row-major)
  std::vector<double> h64_;
  std::vector<double> stage_;  // float64 copy of a chunk of rows for dsyrk
};

}  // namespace qforge::algorithms::gptq
