// An HF model directory: config.json + safetensors (single or sharded) + tokenizer files. Tied embeddings
// may be stored under either name (the bundled TinyStories model stores only lm_head.weight); when the
// config ties them, Get/Has answer for both names, while Names() lists each stored tensor once.
#pragma once

#include <memory>
#include <string>

#include "core/model_config.h"
#include "core/tensor_source.h"

namespace qforge::hf {

class Checkpoint {
 public:
  // Reads the config, opens the tensors and checks them against the config: every expected tensor present
  // (either name when tied) with the expected shape and a float dtype.
  static std::unique_ptr<Checkpoint> Open(const std::string& dir);

  const ModelConfig& config() const { return config_; }
  const TensorSource& tensors() const { return *tensors_; }
  const std::string& dir() const { return dir_; }

 private:
  Checkpoint() = default;
  std::string dir_;
  ModelConfig config_;
  std::unique_ptr<TensorSource> tensors_;
};

// Wraps `base` so that, when `tied`, the embedding and lm_head names both resolve to whichever is stored.
std::unique_ptr<TensorSource> WithTiedAliases(std::unique_ptr<TensorSource> base, bool tied);

// Throws qforge::Error naming `source` and the tensor when a tensor the config requires is missing or has
// the wrong shape or a non-float dtype. Tied aliases must already be resolvable through `source`.
void CheckTensorsMatchConfig(const ModelConfig& c, const TensorSource& source);

}  // namespace qforge::hf
