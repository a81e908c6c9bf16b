// What `qforge inspect` reports about any tensor collection: architecture, exact parameter count, bytes by
// dtype, tied embeddings, per-tensor table. Input-format independent: takes a TensorSource (safetensors,
// GGUF, compressed-tensors...) and an optional ModelConfig, so new inputs only need to produce those two.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/model_config.h"
#include "core/tensor_source.h"
#include "io/json_util.h"

namespace qforge::hf {

struct DTypeTotal {
  DType dtype;
  int64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

struct TensorRow {
  std::string name, role;  // role "" when the name is not in the architecture table
  DType dtype;
  Shape shape;
  uint64_t bytes = 0;
};

struct ModelSummary {
  std::string source;                // TensorSource::Describe()
  std::string format;                // "safetensors", "gguf", ... (set by the caller)
  std::optional<ModelConfig> config;
  std::string architecture;          // model_type, or "unknown" without a config
  int64_t num_layers = 0;            // from the config, else the largest layer index in names + 1
  uint64_t num_parameters = 0;       // elements of stored tensors (a tied embedding counts once)
  uint64_t total_bytes = 0;
  std::vector<DTypeTotal> by_dtype;  // in DType order
  std::optional<bool> tied;          // nullopt when unknown
  bool synthetic = false;
  std::vector<TensorRow> tensors;    // in source order
};

ModelSummary Summarize(const TensorSource& source, const ModelConfig* config, std::string format);
std::string FormatSummaryText(const ModelSummary& s, bool with_tensors);
io::OrderedJson SummaryToJson(const ModelSummary& s, bool with_tensors);

}  // namespace qforge::hf
