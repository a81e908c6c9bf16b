#include "algorithms/rtn.h"

namespace qforge::algorithms {

codecs::QuantizedMatrix RtnQuantizer::Quantize(const std::string& module, const Tensor& weight,
                                               const codecs::IntQuantSpec& spec) {
  return codecs::QuantizeMatrix(weight, spec, module);
}

codecs::QParams RtnQuantizer::Params(const std::string& module, const Tensor& weight,
                                     const codecs::IntQuantSpec& spec) {
  return codecs::ComputeQParams(weight, spec, module);
}

}  // namespace qforge::algorithms
