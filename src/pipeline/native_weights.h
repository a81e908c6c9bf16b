// Native quantized inference: swaps a loaded model's Linear weights for implementations that keep the
// checkpoint's quantized form and run the kernels of kernels/quant (model/quantized_linear.h):
//   GGUF            block types (Q8_0, Q4_K, Q6_K, ...) are native from the start (model::Model keeps them);
//                   F16 / BF16 Linears and lm_head → activations rounded to the weight type (llama.cpp)
//   compressed-tensors  symmetric int, no g_idx, weight-only: 4-bit group → W4A16; 8-bit → W8A16
//                   (W8A8 groups are left to ApplyW8A8Linears, load_w8a8.h)
// Other Linears stay as loaded (dense). The dense copies made at load are released on replacement, so the
// resident size of the replaced weights is their quantized size.
#pragma once

#include <map>
#include <string>

#include <string>

#include "pipeline/load_model.h"

namespace qforge::pipeline {

struct NativeWeightsReport {
  int replaced = 0, kept_dense = 0;
  std::map<std::string, int> kinds;  // kernel name → count
  std::string summary;  // e.g. "112 of 112 Linears native (Q4_K 64, Q6_K 48)"
};

// `m` as returned by LoadModel (format "gguf" or "hf"; an hf directory without a compressed-tensors
// quantization_config is left alone).
NativeWeightsReport UseNativeQuantizedWeights(LoadedModel& m);

// For building a model straight from a compressed-tensors directory without inflating its Linears: each
// quantized Linear with a native kernel (W4A16, W8A16, W8A8 as above) is decoded from the raw checkpoint
// into its native form; every other weight is left to the dequantizing reader (the provider returns
// nullptr). `report` (kept alive by the caller) counts what was supplied. nullopt-like empty function when
// `dir` has no quantization_config.
model::LinearProvider CompressedTensorsLinearProvider(const std::string& dir, NativeWeightsReport* report);
// The report's summary line ("112 of 112 Linears native (W4A16 112)") from its counts.
std::string NativeSummary(const NativeWeightsReport& r);

}  // namespace qforge::pipeline
