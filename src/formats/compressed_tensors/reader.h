// Reading compressed-tensors checkpoints (FORMATS.md §2.9): the directory as a TensorSource of dense
// tensors in HF names. Every quantized Linear <p> (pack-quantized <p>.weight_packed + scale/shape/zero point,
// or int-quantized I8 <p>.weight + scale) is exposed as <p>.weight, dequantized on access:
//   W[o][i] = R((code[o][i] - zp[o][g(i)]) * scale[o][g(i)])      in the scale's dtype (the model dtype)
//   g(i) = weight_g_idx[i] if present, else i / group_size (channel, tensor: 0)
// Other tensors pass through. Every quantized tensor is validated against the config and its siblings.
#pragma once

#include <memory>
#include <string>

#include "codecs/int/int_quant.h"
#include "core/tensor_source.h"
#include "formats/compressed_tensors/quant_config.h"

namespace qforge::compressed_tensors {

// One decoded Linear: codes, scales, zero points and (optional) g_idx exactly as stored.
struct DecodedLinear {
  std::string prefix;
  int64_t out = 0, in = 0;
  QuantizationArgs args;
  std::string format;
  DType scale_dtype = DType::kF32;
  int64_t groups = 1;
  std::vector<int8_t> codes;      // [out, in]
  std::vector<float> scales;      // [out or 1, groups]
  std::vector<int8_t> zeros;      // same shape as scales; empty when symmetric
  std::vector<int32_t> g_idx;     // [in] or empty
  int group_of(int64_t i) const;  // g(i)
};

// The config group whose targets match module `prefix` (exact name, "re:" regex, else a group targeting
// a class such as "Linear"); throws when none does.
const ConfigGroup& GroupForModule(const QuantizationConfig& c, const std::string& prefix, const std::string& ctx);

// Reads and validates the stored tensors of Linear `prefix` from `raw`.
DecodedLinear DecodeLinear(const TensorSource& raw, const QuantizationConfig& c, const std::string& prefix);
// Dense dequantized weight [out, in] in the scale dtype.
Tensor Dequantize(const DecodedLinear& d);

// Wraps the raw tensors of a compressed-tensors checkpoint.
std::unique_ptr<TensorSource> DequantizingSource(std::unique_ptr<TensorSource> raw, QuantizationConfig config);

// Opens `dir` (config.json with a compressed-tensors quantization_config + safetensors) dequantizing.
// Throws qforge::Error when the directory is not a compressed-tensors checkpoint.
std::unique_ptr<TensorSource> OpenDequantized(const std::string& dir);

}  // namespace qforge::compressed_tensors
