// Test helper: an in-memory TensorSource holding a random tiny Llama-family model.
#pragma once

#include <map>
#include <random>
#include <string>

#include "core/error.h"
#include "core/model_config.h"
#include "core/tensor_source.h"

namespace qforge::model::testing {

class MemorySource : public TensorSource {
 public:
  std::vector<std::string> Names() const override {
    std::vector<std::string> v;
    for (auto& [k, _] : t_) v.push_back(k);
    return v;
  }
  bool Has(std::string_view name) const override { return t_.count(std::string(name)) > 0; }
  Tensor Get(std::string_view name) const override {
    auto it = t_.find(std::string(name));
    if (it == t_.end()) Fail("memory: no tensor {}", name);
    return it->second;
  }
  std::string Describe() const override { return "memory"; }
  std::map<std::string, Tensor>& tensors() { return t_; }

 private:
  std::map<std::string, Tensor> t_;
};

ModelConfig TinyConfig();  // hidden 32, 2 layers, 4 heads / 2 kv heads, head_dim 8, mlp 48, vocab 61
// Random weights with HF names for `c` (biases / q-k norms per the config), F32.
MemorySource RandomModel(const ModelConfig& c, uint32_t seed);

}  // namespace qforge::model::testing
