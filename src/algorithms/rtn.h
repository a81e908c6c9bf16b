// Round-to-nearest: llm-compressor's QuantizationModifier. Scales from the min/max of each group of the
// original weight, codes by rounding, exactly as compressed-tensors computes them (codecs/int/int_quant.h).
#pragma once

#include "algorithms/linear_quantizer.h"

namespace qforge::algorithms {

class RtnQuantizer final : public LinearQuantizer {
 public:
  std::string_view name() const override { return "rtn"; }
  codecs::QuantizedMatrix Quantize(const std::string& module, const Tensor& weight,
                                   const codecs::IntQuantSpec& spec) override;
  codecs::QParams Params(const std::string& module, const Tensor& weight, const codecs::IntQuantSpec& spec) override;
};

}  // namespace qforge::algorithms
