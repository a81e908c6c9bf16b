// A Linear layer's weight behind a small interface, so calibration can observe and replace it and
// quantized formats (and W8A8 activation quantization) can plug in their own kernels later.
//   W: [out_features, in_features];  Apply: y[n, out] = x[n, in] · Wᵀ   (the bias is the layer's business)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace qforge::model {

class LinearWeight {
 public:
  virtual ~LinearWeight() = default;
  virtual int64_t out_features() const = 0;
  virtual int64_t in_features() const = 0;
  virtual DType dtype() const = 0;  // storage type, for messages and reports
  virtual void Apply(const float* x, int64_t n_tokens, float* y) const = 0;
  // The weight as a dense contiguous F32 [out, in] tensor (what GPTQ/RTN start from).
  virtual Tensor DenseF32() const = 0;
};

// Dense F32/BF16/F16 weights used in place (a view into a memory-mapped file stays valid through the
// Tensor's keep-alive). GGUF block types (Q8_0, Q4_K, ...) are dequantized to F32 here, once; other
// types and ranks other than 2 throw, naming `name`.
std::unique_ptr<LinearWeight> MakeDenseLinear(const Tensor& w, const std::string& name);

// The same weight re-stored as `to` (F32, BF16 or F16; rounding to nearest even), e.g. to benchmark or to
// compare weight types on one checkpoint.
std::unique_ptr<LinearWeight> ConvertLinear(const LinearWeight& w, DType to);

// Converts any float or GGUF block tensor to a contiguous F32 tensor (throws naming `name` otherwise).
Tensor ToF32Tensor(const Tensor& t, const std::string& name);

}  // namespace qforge::model
