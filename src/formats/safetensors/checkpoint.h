// A safetensors checkpoint as a TensorSource: a single .safetensors file, or a directory holding
// model.safetensors or model.safetensors.index.json + its shards (FORMATS.md §1.4). Every shard is mapped
// and validated at open; tensors are lazy views. The index is validated too: a JSON object with a
// "weight_map" object of name -> shard file name (a plain file name in the same directory); every listed
// shard must exist and contain the listed tensor.
#pragma once

#include <memory>
#include <string>

#include "core/tensor_source.h"
#include "formats/safetensors/file.h"

namespace qforge::safetensors {

inline constexpr size_t kMaxShards = 100'000;

// Throws qforge::Error when `path` is neither a .safetensors file nor a directory with one of the above.
std::unique_ptr<TensorSource> OpenCheckpoint(const std::string& path);

// The files behind a checkpoint path, in index order (for tools that need per-file facts).
std::vector<std::shared_ptr<const File>> OpenCheckpointFiles(const std::string& path);

}  // namespace qforge::safetensors
