// safetensors reader (FORMATS.md §1). Byte layout of a .safetensors file:
//
//   offset 0     u64 LE   N = header length
//   offset 8     N bytes  UTF-8 JSON object, first byte '{', may be right-padded with spaces
//                         { "__metadata__": {"k": "string", ...},               (optional, strings only)
//                           "<name>": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ... }
//   offset 8+N   data     raw little-endian row-major tensor bytes; offsets are relative to 8+N
//
// Validation (every file is hostile): N <= kMaxHeaderBytes and 8+N <= file size; the header is a JSON object
// no deeper than kMaxJsonDepth with at most kMaxTensors entries and no duplicate names; every entry has
// exactly dtype/shape/data_offsets of the right JSON types; dtype is known; rank <= kMaxRank; dims >= 0;
// the element count and byte size do not overflow; end - begin == bytes(dtype) * prod(shape); sorted by
// offset, tensors tile the data buffer from 0 with no gap or overlap; the file ends where the last tensor ends.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace qforge::io {
class MappedFile;
}

namespace qforge::safetensors {

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit (ST: tensor.rs)
inline constexpr size_t kMaxTensors = 1'000'000;          // far above any real checkpoint (~1e4)
inline constexpr size_t kMaxRank = 8;                     // real tensors have rank <= 5
inline constexpr size_t kMaxNameBytes = 1024;             // HF names are < 200 bytes
inline constexpr int kMaxJsonDepth = 4;                   // root > entry > field > (array | metadata)

// Ordered (key, value) string pairs of `__metadata__`, in file order.
using Metadata = std::vector<std::pair<std::string, std::string>>;

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the start of the data buffer
  uint64_t nbytes() const { return end - begin; }
};

class File : public std::enable_shared_from_this<File> {
 public:
  // Maps and validates `path`; throws qforge::Error "<path>: <problem>; expected ..." on any defect.
  static std::shared_ptr<const File> Open(const std::string& path);
  // Validates an in-memory image (tests, fuzzing); `name` is used in messages. The bytes are copied.
  static std::shared_ptr<const File> FromBytes(std::span<const uint8_t> bytes, const std::string& name);

  const std::string& path() const { return path_; }
  // Tensors in data-offset order (the file's own order).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* Find(std::string_view name) const;  // nullptr when absent
  // A lazy view into the mapping (nothing is read until touched); keeps the file mapped while alive.
  // Throws qforge::Error naming the file and the tensor when it is absent.
  Tensor Get(std::string_view name) const;
  std::span<const std::byte> Bytes(const TensorInfo& t) const;
  const Metadata& metadata() const { return metadata_; }
  uint64_t header_length() const { return header_length_; }  // N (padded)
  uint64_t data_start() const { return 8 + header_length_; }
  uint64_t file_size() const { return size_; }

 private:
  File() = default;
  void Parse();

  std::string path_;
  std::shared_ptr<const io::MappedFile> mapping_;  // null for FromBytes
  std::vector<uint8_t> owned_;                     // FromBytes
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t header_length_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> index_;
};

}  // namespace qforge::safetensors
