// GGUF v2/v3 reader (FORMATS.md §5.1). Byte layout (all little-endian):
//
//   magic "GGUF" | u32 version (2 or 3) | u64 tensor_count | u64 kv_count
//   kv_count  × { string key | u32 value type | value }                      (gguf_value.h)
//   tensor_count × { string name | u32 n_dims | n_dims × i64 ne | u32 ggml type | u64 offset }
//   0x00 padding to a multiple of ALIGN (= general.alignment, UINT32 power of two, default 32)
//   tensor data: tensor i at data_offset + offset_i; offsets are sequential in info order,
//   offset_{i+1} = offset_i + pad(nbytes_i, ALIGN), each tensor followed by 0x00 padding.
//
// ne[0] is the innermost dimension; Tensor shapes returned by Get() are PyTorch order (ne reversed).
// Every field is validated before use (named limits, checked arithmetic); a malformed file throws
// qforge::Error naming the file, the field and what was expected. As a TensorSource the file serves its
// tensors under their GGUF names ("blk.0.attn_q.weight"), in file order, as views into the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/tensor_source.h"
#include "formats/gguf/gguf_value.h"

namespace qforge::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as u32 LE
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr size_t kMaxNameBytes = 63;      // GGML_MAX_NAME (64) including the terminator
inline constexpr uint32_t kMaxDims = 4;
// Sanity limits on untrusted counts; far above any real model.
inline constexpr uint64_t kMaxTensors = uint64_t{1} << 20;
inline constexpr uint64_t kMaxKvs = uint64_t{1} << 20;
inline constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
inline constexpr uint64_t kMaxArrayCount = uint64_t{1} << 30;

struct TensorInfo {
  std::string name;
  DType type = DType::kF32;
  std::vector<int64_t> ne;  // ggml order: ne[0] innermost; size = n_dims as stored
  uint64_t offset = 0;      // relative to the data section
  uint64_t nbytes = 0;      // unpadded data size

  Shape shape() const { return Shape(ne.rbegin(), ne.rend()); }  // PyTorch order
  int64_t numel() const;
};

class File final : public TensorSource {
 public:
  static std::shared_ptr<const File> Open(const std::string& path);
  // Parses bytes held in memory (tests, in-memory round trips); `name` is used in messages.
  static std::shared_ptr<const File> FromBytes(std::vector<uint8_t> bytes, std::string name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section
  uint64_t file_size() const { return size_; }

  // Metadata, in file order.
  const std::vector<KeyValue>& kvs() const { return kvs_; }
  const Value* Find(std::string_view key) const;
  // Throws "<path>: metadata key 'k' is missing".
  const Value& Kv(std::string_view key) const;
  // Strict typed getters: throw when missing or when the stored type differs (as llama.cpp does).
  std::string GetString(std::string_view key) const;
  uint32_t GetU32(std::string_view key) const;
  float GetF32(std::string_view key) const;
  std::optional<std::string> FindString(std::string_view key) const;
  std::optional<uint32_t> FindU32(std::string_view key) const;
  std::optional<float> FindF32(std::string_view key) const;
  std::optional<bool> FindBool(std::string_view key) const;

  // Tensors, in file order.
  const std::vector<TensorInfo>& tensor_infos() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  std::span<const std::byte> TensorData(const TensorInfo& info) const;

  // TensorSource (GGUF names).
  std::vector<std::string> Names() const override;
  bool Has(std::string_view name) const override { return FindTensor(name) != nullptr; }
  Tensor Get(std::string_view name) const override;
  std::string Describe() const override { return path_; }

  // Keep-alive handle for the mapped bytes (views outliving the File hold this).
  const std::shared_ptr<const void>& keep_alive() const { return keep_alive_; }

 private:
  File() = default;
  void Parse();

  std::string path_;
  std::shared_ptr<const void> keep_alive_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> kvs_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace qforge::gguf
