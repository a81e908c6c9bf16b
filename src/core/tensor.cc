#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "core/error.h"
#include "core/half.h"

namespace qforge {

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    QF_CHECK_MSG(d >= 0, "negative dim in {}", ShapeToString(shape));
    QF_CHECK_MSG(!__builtin_mul_overflow(n, d, &n), "element count of {} overflows", ShapeToString(shape));
  }
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

AlignedBuffer::AlignedBuffer(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  const size_t rounded = (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  data_ = static_cast<std::byte*>(std::aligned_alloc(kBufferAlignment, rounded));
  if (!data_) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
}
AlignedBuffer::~AlignedBuffer() { std::free(data_); }
AlignedBuffer::AlignedBuffer(AlignedBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

namespace {
std::vector<int64_t> ContiguousStrides(const Shape& shape, DType dtype) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    // Block types: the innermost dim counts elements, strides count blocks for outer dims.
    int64_t d = shape[i];
    if (i + 1 == shape.size()) d /= Traits(dtype).block_size;
    s *= d;
  }
  return st;
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep_alive)
    : dtype_(dtype), shape_(std::move(shape)), data_(data), keep_alive_(std::move(keep_alive)) {
  strides_ = ContiguousStrides(shape_, dtype_);
}

Tensor Tensor::Zeros(DType dtype, Shape shape) {
  const auto bytes = ByteSize(dtype, static_cast<uint64_t>(NumElements(shape)));
  QF_CHECK_MSG(bytes.has_value(), "{} elements of {} are not whole blocks", NumElements(shape), Name(dtype));
  auto buf = std::make_shared<AlignedBuffer>(*bytes);
  Tensor t(dtype, std::move(shape), buf->data(), buf);
  t.owning_ = true;
  return t;
}

size_t Tensor::nbytes() const {
  const auto b = ByteSize(dtype_, static_cast<uint64_t>(numel()));
  QF_CHECK(b.has_value());
  return *b;
}

bool Tensor::contiguous() const { return strides_ == ContiguousStrides(shape_, dtype_); }

std::byte* Tensor::mutable_bytes() {
  QF_CHECK_MSG(owning_, "mutable access to a borrowed tensor view");
  return const_cast<std::byte*>(bytes());
}

Tensor Tensor::Rows(int64_t begin, int64_t end) const {
  QF_CHECK(rank() >= 1 && contiguous());
  QF_CHECK(0 <= begin && begin <= end && end <= shape_[0]);
  Shape s = shape_;
  s[0] = end - begin;
  const size_t row_bytes = shape_[0] ? nbytes() / static_cast<size_t>(shape_[0]) : 0;
  Tensor t(dtype_, std::move(s), bytes() + row_bytes * static_cast<size_t>(begin), keep_alive_);
  t.owning_ = owning_;
  return t;
}

Tensor Tensor::ToF32() const {
  QF_CHECK(contiguous());
  Tensor out = Zeros(DType::kF32, shape_);
  const size_t n = static_cast<size_t>(numel());
  float* dst = out.mutable_data<float>();
  switch (dtype_) {
    case DType::kF32: std::memcpy(dst, data_, n * 4); break;
    case DType::kF16: F16ToF32(data<uint16_t>(), dst, n); break;
    case DType::kBF16: Bf16ToF32(data<uint16_t>(), dst, n); break;
    case DType::kF64:
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(data<double>()[i]);
      break;
    default: Fail("cannot convert a {} tensor to F32; expected F32, F16, BF16 or F64", Name(dtype_));
  }
  return out;
}

}  // namespace qforge
