// Native quantized inference: swaps a loaded model's Linear weights for implementations that keep the
// checkpoint's quantized form and run the kernels of kernels/quant (model/quantized_linear.h):
//   GGUF            every Linear stored as a block type (Q8_0, Q4_K, Q6_K, ...) → GGUF row-tile kernel
//   compressed-tensors  symmetric int, no g_idx: 4-bit group → W4A16; 8-bit → W8A16, or W8A8 when the
//                   config group quantizes input activations (8-bit, dynamic, per token) with channel weights
// Other Linears stay as loaded (dense). The dense copies made at load are released on replacement, so the
// resident size of the replaced weights is their quantized size.
#pragma once

#include <string>

#include "pipeline/load_model.h"

namespace qforge::pipeline {

struct NativeWeightsReport {
  int replaced = 0, kept_dense = 0;
  std::string summary;  // e.g. "112 of 112 Linears native (Q4_K 64, Q6_K 48)"
};

// `m` as returned by LoadModel (format "gguf" or "hf"; an hf directory without a compressed-tensors
// quantization_config is left alone).
NativeWeightsReport UseNativeQuantizedWeights(LoadedModel& m);

}  // namespace qforge::pipeline
