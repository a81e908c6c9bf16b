// Opens a model for inference: an HF directory (config.json + safetensors + tokenizer.json) or a GGUF file
// (metadata + tensors + tokenizer.ggml.*). Weights stay memory-mapped; GGUF block types are dequantized to
// F32 at load.
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
};

// `path`: a directory with config.json, or a .gguf file (recognised by its magic). Throws qforge::Error
// naming the path for anything else.
LoadedModel LoadModel(const std::string& path);

}  // namespace qforge::pipeline
