// GGUF v3 writer on an io::ByteSink; writes the layout gguf_file.h reads:
//
//   "GGUF" | u32 3 | u64 tensor_count | u64 kv_count | KVs in insertion order | tensor infos in
//   insertion order (offsets sequential) | 0x00 pad to ALIGN | each tensor's bytes + 0x00 pad to ALIGN
//
// ALIGN is general.alignment when set (UINT32 power of two), else 32; padding is counted from the
// sink position at which Write() starts. This is what ggml's gguf_write_out and llama-quantize produce,
// so a file read with gguf::File and written back with the same KVs and tensors is byte-identical.
//
// Tensor data is streamed: Write() calls the producer once per tensor, in order, and checks that it wrote
// exactly the tensor's byte size, so a caller never holds the whole model in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_value.h"
#include "io/byte_sink.h"

namespace qforge::gguf {

// Writes exactly info.nbytes bytes of tensor `index` to the sink.
using TensorProducer = std::function<void(size_t index, const TensorInfo& info, io::ByteSink& sink)>;

// ggml-order dims of a PyTorch-order shape (reversed; a scalar becomes {1}).
std::vector<int64_t> NeFromShape(const Shape& shape);

class Writer {
 public:
  // Appends a KV. QF_CHECKs that the key is new and non-empty (callers build metadata from known keys).
  void Add(std::string key, Value value);
  // Removes `key` if present and appends it at the end (llama-quantize's gguf_set_* semantics).
  void Set(std::string key, Value value);
  void Remove(std::string_view key);
  const Value* Find(std::string_view key) const;
  const std::vector<KeyValue>& kvs() const { return kvs_; }

  // Appends a tensor info; `ne` in ggml order (NeFromShape for a PyTorch shape). QF_CHECKs name length,
  // uniqueness, rank and that ne[0] is a multiple of the type's block size. Returns its index.
  size_t AddTensor(std::string name, DType type, std::vector<int64_t> ne);
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  uint32_t alignment() const;
  // Total bytes Write() will produce.
  uint64_t FileSize() const;

  void Write(io::ByteSink& sink, const TensorProducer& produce) const;

 private:
  uint64_t HeaderSize() const;
  std::vector<KeyValue> kvs_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Writer with every KV and tensor of `file` in its order; its tensors' bytes are copied by
// CopyTensorsFrom(file).
Writer WriterFromFile(const File& file);
TensorProducer CopyTensorsFrom(const File& file);

// Writes `writer` to `path` atomically (temp file + fsync + rename).
void WriteFile(const std::string& path, const Writer& writer, const TensorProducer& produce);

}  // namespace qforge::gguf
