#include "formats/compressed_tensors/layout.h"

#include "codecs/int/pack_int32.h"
#include "core/error.h"

namespace qforge::compressed_tensors {

int64_t NumGroups(const QuantizationArgs& w, int64_t in) {
  if (w.strategy == "group" && w.group_size && *w.group_size > 0) return (in + *w.group_size - 1) / *w.group_size;
  return 1;
}

Shape ScaleShape(const QuantizationArgs& w, int64_t out, int64_t in) {
  if (w.strategy == "tensor") return {1};
  return {out, NumGroups(w, in)};
}

std::vector<PartSpec> QuantizedLinearParts(const std::string& p, int64_t out, int64_t in, const QuantizationArgs& w,
                                           std::string_view format, DType scale_dtype) {
  QF_CHECK(out > 0 && in > 0);
  std::vector<PartSpec> parts;
  const Shape scale_shape = ScaleShape(w, out, in);
  if (format == kPackQuantized) {
    parts.push_back({Part::kPacked, {PartName(p, kWeightPacked), DType::kI32, codecs::PackedShape(out, in, w.num_bits, 1)}});
    parts.push_back({Part::kScale, {PartName(p, kWeightScale), scale_dtype, scale_shape}});
    parts.push_back({Part::kShape, {PartName(p, kWeightShape), DType::kI64, {2}}});
    if (!w.symmetric) {
      if (w.strategy == "tensor") Fail("{}: asymmetric per-tensor pack-quantized weights are not supported", p);
      parts.push_back({Part::kZeroPoint,
                       {PartName(p, kWeightZeroPoint), DType::kI32, codecs::PackedShape(out, NumGroups(w, in), w.num_bits, 0)}});
    }
    if (w.actorder == "group") parts.push_back({Part::kGIdx, {PartName(p, kWeightGIdx), DType::kI32, {in}}});
  } else if (format == kIntQuantized) {
    QF_CHECK(w.num_bits <= 8);
    parts.push_back({Part::kInt8Weight, {PartName(p, kWeight), DType::kI8, {out, in}}});
    parts.push_back({Part::kScale, {PartName(p, kWeightScale), scale_dtype, scale_shape}});
    if (!w.symmetric) parts.push_back({Part::kZeroPoint, {PartName(p, kWeightZeroPoint), DType::kI8, scale_shape}});
  } else {
    Fail("{}: compression format '{}' is not supported for writing", p, format);
  }
  return parts;
}

}  // namespace qforge::compressed_tensors
