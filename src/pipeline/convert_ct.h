// Lossless compressed-tensors → GGUF block conversion (FORMATS.md §2.7, §6.2), used by `qforge convert`.
//
// Where the integer grids coincide, a quantized Linear's codes and scales become ggml blocks directly:
//   symmetric int4, group size a multiple of 32, no activation reordering → Q4_0: per 32 inputs
//       { f16 d = scale[o][g] ; 16 bytes: low nibble = code[j] + 8, high nibble = code[j + 16] + 8 }
//   symmetric int8, channel or group size a multiple of 32 → Q8_0: per 32 inputs { f16 d = scale ; i8 code[32] }
// ggml decodes these blocks as (q − 8)·d and q·d: exactly code·scale, provided every scale is exactly
// representable in f16 (true for BF16/F16 checkpoints within f16's range; F32 scales generally are not).
// That is verified element by element after encoding (ggml's decoder against code·scale in f32); a Linear
// that fails any condition is reported with the reason and left to the dequantize-and-requantize path.
// (compressed-tensors' own dequantization rounds code·scale to the model dtype; the GGUF value rounded the
// same way is identical, which the tests check.)
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/tensor.h"
#include "core/tensor_source.h"

namespace qforge::pipeline {

struct LosslessCtResult {
  std::map<std::string, Tensor> tensors;  // HF weight name → Q4_0 / Q8_0 tensor [out, in] (HF row order)
  std::vector<std::string> notes;         // one line per Linear that could not be converted losslessly
};

// Tries every quantized Linear of the compressed-tensors checkpoint in `dir`.
LosslessCtResult ConvertCtLossless(const std::string& dir, const ModelConfig& config);

// `base` with the tensors of `overlay` replacing (or adding to) its own.
std::unique_ptr<TensorSource> OverlaySource(const TensorSource& base, std::map<std::string, Tensor> overlay);

}  // namespace qforge::pipeline
