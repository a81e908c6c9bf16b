// Tensors of a quantized Linear in a compressed-tensors checkpoint (FORMATS.md §2.6). For module prefix <p>:
//
//   pack-quantized (W4A16, W4A16_ASYM, W8A16), b = num_bits:
//     <p>.weight_packed      I32          [out, ceil(in*b/32)]     codes + 2^(b-1), LSB-first (codecs/int/pack_int32.h)
//     <p>.weight_scale       model dtype  [out, n_groups] | [out, 1] (channel) | [1] (tensor)
//     <p>.weight_shape       I64          [2] = {out, in}
//     <p>.weight_zero_point  I32          [ceil(out*b/32), n_groups]  packed along dim 0; asymmetric only
//     <p>.weight_g_idx       I32          [in]  (actorder "group" only: group of each input column)
//   int-quantized (W8A8):
//     <p>.weight             I8           [out, in]                signed codes, not packed
//     <p>.weight_scale       model dtype  [out, 1] | [1]
//     <p>.weight_zero_point  I8           same shape as the scale; asymmetric only
// Zero points of symmetric schemes are never written (vLLM does not load them). Other tensors of the model
// are stored unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "formats/compressed_tensors/quant_config.h"
#include "formats/safetensors/writer.h"

namespace qforge::compressed_tensors {

inline constexpr std::string_view kWeightPacked = "weight_packed";
inline constexpr std::string_view kWeightScale = "weight_scale";
inline constexpr std::string_view kWeightShape = "weight_shape";
inline constexpr std::string_view kWeightZeroPoint = "weight_zero_point";
inline constexpr std::string_view kWeightGIdx = "weight_g_idx";
inline constexpr std::string_view kWeight = "weight";

enum class Part { kPacked, kInt8Weight, kScale, kShape, kZeroPoint, kGIdx };

struct PartSpec {
  Part part;
  safetensors::TensorSpec spec;
};

// Number of scale groups along the input for `w`: ceil(in / group_size) for group, else 1.
int64_t NumGroups(const QuantizationArgs& w, int64_t in);
// Shape of weight_scale (and of an int-quantized zero point).
Shape ScaleShape(const QuantizationArgs& w, int64_t out, int64_t in);

// The tensors written for Linear `prefix` [out, in] with weights `w` in `format` (pack-quantized or
// int-quantized); `scale_dtype` is the model's float dtype.
std::vector<PartSpec> QuantizedLinearParts(const std::string& prefix, int64_t out, int64_t in,
                                           const QuantizationArgs& w, std::string_view format, DType scale_dtype);

// "<prefix>.<suffix>".
inline std::string PartName(std::string_view prefix, std::string_view suffix) {
  return std::string(prefix) + "." + std::string(suffix);
}

}  // namespace qforge::compressed_tensors
