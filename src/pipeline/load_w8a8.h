// W8A8 compressed-tensors checkpoints evaluated as vLLM runs them (FORMATS.md §4.6): every decoder Linear
// stored int-quantized with 8-bit symmetric weights (channel or tensor scales) whose config group has
// input_activations {int, 8 bits, symmetric, dynamic, strategy token} is replaced by a W8A8 Linear
// (pipeline/w8a8_linear.h) that quantizes each token's activations to int8 before the product. Other
// Linears keep the dequantized weights of the dequantizing reader. lm_head is not replaced (the model keeps
// it dense; llm-compressor ignores it by default).
#pragma once

#include <string>

#include "model/model.h"

namespace qforge::pipeline {

// `dir`: the compressed-tensors directory `model` was built from. Returns the number of Linears replaced
// (0 when the checkpoint has no such config group). Throws qforge::Error for malformed tensors.
int ApplyW8A8Linears(model::Model& model, const std::string& dir);

}  // namespace qforge::pipeline
