// A named collection of tensors: a (sharded) safetensors checkpoint, a GGUF file, a compressed-tensors
// directory. Tensors come back as lazy views into memory-mapped files; nothing is read until touched.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace qforge {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::vector<std::string> Names() const = 0;  // in the source's own order
  virtual bool Has(std::string_view name) const = 0;
  // Throws qforge::Error naming the source and the tensor when it is missing.
  virtual Tensor Get(std::string_view name) const = 0;
  // Where the tensors come from, for messages ("models/x" or "a.gguf").
  virtual std::string Describe() const = 0;
};

}  // namespace qforge
