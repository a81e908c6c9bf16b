// The per-Linear quantizer strategy: the seam between "which tensors get quantized, and how they are written"
// (pipeline/quantize, export/compressed_tensors_export) and "how codes are chosen" (RTN here; GPTQ, with its
// calibration statistics, plugs in as another implementation).
//
// Writers ask for Params() when a file layout needs scales before codes (e.g. F32 scales sort before I32
// packed weights in a safetensors shard), then Quantize(); both must describe the same quantization.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/int/int_quant.h"
#include "core/tensor.h"

namespace qforge::algorithms {

class LinearQuantizer {
 public:
  virtual ~LinearQuantizer() = default;
  virtual std::string_view name() const = 0;  // "rtn", "gptq"
  // `module` is the Linear's name ("model.layers.0.self_attn.q_proj"), `weight` its [out, in] float weight.
  virtual codecs::QuantizedMatrix Quantize(const std::string& module, const Tensor& weight,
                                           const codecs::IntQuantSpec& spec) = 0;
  // Scales and zero points only. The default quantizes and drops the codes; cheap strategies override it.
  virtual codecs::QParams Params(const std::string& module, const Tensor& weight, const codecs::IntQuantSpec& spec) {
    return Quantize(module, weight, spec).params;
  }
  // weight_g_idx [in] (group of each input column) for activation-ordered schemes; empty = natural order
  // (column c in group c / group_size).
  virtual std::vector<int32_t> GIdx(const std::string& module) {
    (void)module;
    return {};
  }
};

}  // namespace qforge::algorithms
