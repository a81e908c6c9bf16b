// Native quantized inference: Linear weights that keep the checkpoint's quantized form and run the kernels
// of kernels/quant and codecs/ggml/dot (model/quantized_linear.h):
//   GGUF            block types (Q8_0, Q4_K, Q6_K, ...) are native from the start (model::Model keeps them);
//                   UseNativeQuantizedWeights gives F16 / BF16 Linears and lm_head llama.cpp's activation
//                   rounding
//   compressed-tensors  built while the model is constructed (CompressedTensorsLinearProvider): symmetric
//                   int, no g_idx: 4-bit group → W4A16; 8-bit weight-only → W8A16; 8-bit with dynamic
//                   per-token int8 activations → W8A8 (pipeline/w8a8_linear.h)
// Other Linears stay dense.
#pragma once

#include <map>
#include <string>

#include "pipeline/load_model.h"

namespace qforge::pipeline {

struct NativeWeightsReport {
  int replaced = 0, kept_dense = 0;
  std::map<std::string, int> kinds;  // kernel name → count
  std::string summary;  // e.g. "112 of 112 Linears native (Q4_K 64, Q6_K 48)"
};

// `m` as returned by LoadModel: a GGUF gets the F16 / BF16 rounding above; an hf directory is left alone
// (its quantized Linears come from the provider below).
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
