// W8A8 compressed-tensors checkpoints evaluated as vLLM runs them (FORMATS.md §4.6): every decoder Linear
// stored int-quantized with 8-bit symmetric weights (channel or tensor scales) whose config group has
// input_activations {int, 8 bits, symmetric, dynamic, strategy token} is replaced by a W8A8 Linear
// (pipeline/w8a8_linear.h) that quantizes each token's activations to int8 before the product. Other
// Linears keep the dequantized weights of the dequantizing reader. lm_head is not replaced (the model keeps
// it dense; llm-compressor ignores it by default).
#pragma once

#include <memory>
#include <string>

#include "formats/compressed_tensors/quant_config.h"
#include "formats/compressed_tensors/reader.h"
#include "model/model.h"

namespace qforge::pipeline {

// `dir`: the compressed-tensors directory `model` was built from. Returns the number of Linears replaced
// (0 when the checkpoint has no such config group). Throws qforge::Error for malformed tensors.
int ApplyW8A8Linears(model::Model& model, const std::string& dir);

// Whether a config group is W8A8 as above (int8 symmetric channel/tensor weights, dynamic per-token int8
// activations).
bool IsW8A8Group(const compressed_tensors::ConfigGroup& g);
// The W8A8 Linear of one decoded Linear of such a group; throws naming `where` for a bad scale count.
std::unique_ptr<model::LinearWeight> W8A8FromDecoded(compressed_tensors::DecodedLinear d, const std::string& where);

}  // namespace qforge::pipeline
