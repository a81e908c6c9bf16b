// Tensor views and owning buffers. Shapes are row-major; a Linear weight is [out_features, in_features].
// A Tensor is a (dtype, shape, strides, data) view; it may share ownership of the bytes it points into
// (an AlignedBuffer, or a memory-mapped file kept alive by a shared_ptr) or just borrow them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace qforge {

inline constexpr size_t kBufferAlignment = 64;  // one cache line; enough for AVX-512 loads

using Shape = std::vector<int64_t>;

// Product of dims; QF_CHECKs against overflow and negative dims (validate untrusted shapes first with
// io/checked_math.h).
int64_t NumElements(const Shape& shape);
std::string ShapeToString(const Shape& shape);  // "[2048, 128]"

// An owning, 64-byte-aligned, zero-initialised byte buffer.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& o) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

class Tensor {
 public:
  Tensor() = default;
  // A view of `data` (not owned unless `keep_alive` holds it).
  Tensor(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep_alive = nullptr);
  // Allocates a zeroed, contiguous, owning tensor.
  static Tensor Zeros(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }  // in elements (blocks for block types)
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return NumElements(shape_); }
  size_t nbytes() const;  // of the contiguous data
  bool contiguous() const;

  const std::byte* bytes() const { return static_cast<const std::byte*>(data_); }
  std::byte* mutable_bytes();  // only for owning tensors
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  template <typename T> T* mutable_data() { return reinterpret_cast<T*>(mutable_bytes()); }

  // A view of rows [begin, end) of the first dimension (contiguous tensors only).
  Tensor Rows(int64_t begin, int64_t end) const;
  // Converts a float tensor (F32/F16/BF16/F64) to a new contiguous F32 tensor.
  Tensor ToF32() const;

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  std::vector<int64_t> strides_;
  const void* data_ = nullptr;
  bool owning_ = false;
  std::shared_ptr<const void> keep_alive_;
};

}  // namespace qforge
