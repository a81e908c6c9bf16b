// safetensors writer and Hugging Face sharding (FORMATS.md §1.3, §1.4).
//  * WriteFile writes one file like the reference writer: `__metadata__` first ({"format":"pt"} unless given),
//    tensors sorted by dtype descending in safetensors' enum order then name ascending, offsets back to back,
//    compact JSON with keys dtype, shape, data_offsets, padded with spaces to a multiple of 8 bytes.
//  * WriteCheckpoint splits tensors into shards by a maximum shard size (HF rules: walk in the given order, a
//    tensor larger than the limit goes alone, otherwise start a new shard when the current would exceed it),
//    names them model.safetensors or model-0000k-of-0000n.safetensors, and writes model.safetensors.index.json
//    (indent 2, sorted keys, trailing newline, {"metadata":{"total_size":...},"weight_map":{...}}). Every
//    file is written atomically (temp + fsync + rename); the index is written last.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "formats/safetensors/file.h"
#include "io/byte_sink.h"

namespace qforge::safetensors {

inline constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;  // transformers 4.x "5GB" (decimal)
inline constexpr const char* kIndexFileName = "model.safetensors.index.json";
inline constexpr const char* kSingleFileName = "model.safetensors";

struct TensorSpec {
  std::string name;
  DType dtype;
  Shape shape;
};
// Writes exactly the tensor's bytes (little-endian, row-major) to the sink.
using TensorProducer = std::function<void(const TensorSpec&, io::ByteSink&)>;

// Byte size of a spec; throws qforge::Error if the dtype has no safetensors name or the size overflows.
uint64_t SpecBytes(const TensorSpec& spec);
// The reference writer's data order (dtype descending in safetensors' enum order, then name ascending).
void SortLikeReference(std::vector<TensorSpec>& specs);

// One file with __metadata__ {"format":"pt"}. Calls produce() once per tensor in data order.
void WriteFile(io::ByteSink& sink, std::vector<TensorSpec> specs, const TensorProducer& produce);
// Same with explicit metadata entries, written in the given order (to reproduce existing files exactly).
void WriteFile(io::ByteSink& sink, std::vector<TensorSpec> specs, const TensorProducer& produce,
               const Metadata& metadata);

// Shard assignment: indices into `specs`, one vector per shard, in HF's greedy order.
std::vector<std::vector<size_t>> PlanShards(const std::vector<TensorSpec>& specs, uint64_t max_shard_bytes);
// "model-00001-of-00003.safetensors" (1-based index); "model.safetensors" when count == 1.
std::string ShardFileName(size_t index, size_t count);

// Writes the checkpoint's safetensors files (+ index when sharded) into the existing directory `dir`.
// Streams: produce() is called once per tensor, in write order.
void WriteCheckpoint(const std::string& dir, const std::vector<TensorSpec>& specs, uint64_t max_shard_bytes,
                     const TensorProducer& produce);

// Writes a Tensor's bytes to a sink (contiguous tensors; the common producer body).
void WriteTensorBytes(const Tensor& t, io::ByteSink& sink);

}  // namespace qforge::safetensors
