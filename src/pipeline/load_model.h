// Opens a model for inference: an HF directory (config.json + safetensors + tokenizer.json) or a GGUF file
// (metadata + tensors + tokenizer.ggml.*). Weights stay memory-mapped; quantized weights run natively
// (pipeline/native_weights.h) unless LoadOptions says otherwise.
#pragma once

#include <memory>
#include <string>

#include "core/model_config.h"
#include "core/tensor_source.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace qforge::pipeline {

struct LoadedModel {
  std::string path;
  std::string format;  // "hf" or "gguf"
  ModelConfig config;
  std::unique_ptr<TensorSource> tensors;  // HF-named; keeps the mapped files alive
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::unique_ptr<model::Model> model;
  std::string native_summary;  // what UseNativeQuantizedWeights did ("" when not run)
};

struct LoadOptions {
  // Run quantized weights with their native kernels (GGUF integer dot products as llama.cpp computes them;
  // compressed-tensors W4A16 / W8A16 kernels). false: the dense path the checkpoint decodes to (GGUF block
  // weights still run natively: they are never inflated).
  bool native_weights = true;
};

// `path`: a directory with config.json, or a .gguf file (recognised by its magic). Throws qforge::Error
// naming the path for anything else.
LoadedModel LoadModel(const std::string& path, const LoadOptions& options = {});

}  // namespace qforge::pipeline
