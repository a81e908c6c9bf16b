// Round-to-nearest integer quantization exactly as compressed-tensors computes it (FORMATS.md §2.7).
//
// A weight W [rows, cols] (rows = output channels) gets one (scale, zero point) per
//   tensor : the whole matrix                 -> scales [1, 1]
//   channel: each row                         -> scales [rows, 1]
//   group  : each row x G contiguous columns  -> scales [rows, ceil(cols/G)] (the last group may be short)
// Codes are signed: qmin = -2^(b-1), qmax = 2^(b-1) - 1.
//   lo = min(min(x), 0), hi = max(max(x), 0)
//   symmetric : s = R(max(-lo, hi) / ((qmax - qmin) / 2)),  zp = 0
//   asymmetric: s = R(R(hi - lo) / (qmax - qmin)),          zp = rne(clamp(R(qmin - R(lo / s)), qmin, qmax))
//   s == 0 -> machine epsilon of the compute dtype (bf16 2^-7, f16 2^-10, f32 2^-23)
//   q = rne(clamp(R(R(x / s) + zp), qmin, qmax))        (the "+ zp" step only when asymmetric)
//   x^ = R((q - zp) * s)
// R() rounds to the compute dtype, which is the weight's dtype (PyTorch evaluates every elementwise op in
// f32 and rounds to bf16/f16), so codes and scales are byte-identical to llm-compressor's on bf16 models.
// rne = round half to even.
//
// Two implementations: the scalar reference twin (Impl::kScalar) and the Highway SIMD one (Impl::kSimd),
// which must agree bit for bit (int_quant_test.cc). F16 compute runs the scalar element kernels in both.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace qforge::codecs {

enum class IntStrategy { kTensor, kChannel, kGroup };

inline constexpr int kMinIntBits = 2;
inline constexpr int kMaxIntBits = 8;

struct IntQuantSpec {
  int bits = 4;
  bool symmetric = true;
  IntStrategy strategy = IntStrategy::kGroup;
  int64_t group_size = 128;  // only for kGroup

  int qmin() const { return -(1 << (bits - 1)); }
  int qmax() const { return (1 << (bits - 1)) - 1; }
  // Columns per parameter group for a matrix with `cols` columns (cols for tensor/channel).
  int64_t GroupCols(int64_t cols) const { return strategy == IntStrategy::kGroup ? group_size : cols; }
  int64_t NumGroups(int64_t cols) const;  // ceil(cols / GroupCols)
  int64_t ParamRows(int64_t rows) const { return strategy == IntStrategy::kTensor ? 1 : rows; }
};

// Scales and zero points: [param_rows, groups] row-major. Scale values are exact values of `dtype` (the
// compute dtype = the weight's dtype) held as float. zeros is empty for symmetric schemes.
struct QParams {
  DType dtype = DType::kF32;
  int64_t param_rows = 0, groups = 0;
  std::vector<float> scales;
  std::vector<int8_t> zeros;

  float scale(int64_t row, int64_t group) const { return scales[static_cast<size_t>((param_rows == 1 ? 0 : row) * groups + group)]; }
  int zero(int64_t row, int64_t group) const {
    return zeros.empty() ? 0 : zeros[static_cast<size_t>((param_rows == 1 ? 0 : row) * groups + group)];
  }
};

struct QuantizedMatrix {
  int64_t rows = 0, cols = 0;
  IntQuantSpec spec;
  QParams params;
  std::vector<int8_t> codes;  // [rows, cols]
};

enum class IntImpl { kScalar, kSimd };

// Machine epsilon of a float dtype as PyTorch's finfo(dtype).eps.
float DTypeEpsilon(DType dtype);
// Rounds f to the nearest value of `dtype` (F32: identity).
float RoundToDType(float f, DType dtype);

// Validates the spec against a weight of shape [rows, cols] (bits 2..8, group size > 0); throws
// qforge::Error naming `name`.
void CheckSpec(const IntQuantSpec& spec, int64_t rows, int64_t cols, std::string_view name);

// `weight` is a rank-2 F32/BF16/F16 tensor. Non-finite values are an error naming `name`.
QParams ComputeQParams(const Tensor& weight, const IntQuantSpec& spec, std::string_view name,
                       IntImpl impl = IntImpl::kSimd);
QuantizedMatrix QuantizeMatrix(const Tensor& weight, const IntQuantSpec& spec, std::string_view name,
                               IntImpl impl = IntImpl::kSimd);
// Codes for given parameters (e.g. parameters computed earlier by ComputeQParams).
std::vector<int8_t> QuantizeWithParams(const Tensor& weight, const IntQuantSpec& spec, const QParams& params,
                                       std::string_view name, IntImpl impl = IntImpl::kSimd);

// x^ = R((q - zp) * s) in params.dtype, returned as a contiguous tensor of params.dtype [rows, cols].
Tensor DequantizeMatrix(const QuantizedMatrix& q);
// The same for one row of codes (used by the compressed-tensors reader): out[c] as float (a params.dtype value).
void DequantizeRow(const int8_t* codes, int64_t row, int64_t cols, const IntQuantSpec& spec, const QParams& params,
                   float* out);

namespace detail {
// Element kernels on f32 spans; *_Simd live in int_quant_hwy.cc.
struct MinMax {
  float min, max;
  bool finite;
};
MinMax MinMaxScalar(const float* x, int64_t n);
MinMax MinMaxSimd(const float* x, int64_t n);
// out[i] = rne(clamp(R(R(x[i] / s) + zp), qmin, qmax)); `asym` adds zp.
void QuantizeSpanScalar(const float* x, int64_t n, float s, int zp, bool asym, DType dtype, int qmin, int qmax,
                        int8_t* out);
void QuantizeSpanSimd(const float* x, int64_t n, float s, int zp, bool asym, DType dtype, int qmin, int qmax,
                      int8_t* out);
}  // namespace detail

}  // namespace qforge::codecs
