#include "model/linear.h"

#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "kernels/matmul.h"

#if __has_include("codecs/ggml/ggml_codecs.h")
#include "codecs/ggml/ggml_codecs.h"
#define QFORGE_MODEL_HAS_GGML_CODECS 1
#endif

namespace qforge::model {
namespace {

class DenseLinear final : public LinearWeight {
 public:
  explicit DenseLinear(Tensor w) : w_(std::move(w)) {}
  int64_t out_features() const override { return w_.dim(0); }
  int64_t in_features() const override { return w_.dim(1); }
  DType dtype() const override { return w_.dtype(); }
  void Apply(const float* x, int64_t n_tokens, float* y) const override {
    kernels::MatMul(x, n_tokens, in_features(), w_.dtype(), w_.bytes(), out_features(), y);
  }
  Tensor DenseF32() const override { return w_.dtype() == DType::kF32 ? w_ : w_.ToF32(); }

 private:
  Tensor w_;
};

bool IsAligned(const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

}  // namespace

Tensor ToF32Tensor(const Tensor& t, const std::string& name) {
  if (!t.contiguous()) Fail("{}: tensor is not contiguous", name);
  if (t.dtype() == DType::kF32) {
    if (IsAligned(t.bytes(), alignof(float))) return t;
    Tensor copy = Tensor::Zeros(DType::kF32, t.shape());
    std::memcpy(copy.mutable_bytes(), t.bytes(), t.nbytes());
    return copy;
  }
  if (Traits(t.dtype()).is_float) return t.ToF32();
  if (Traits(t.dtype()).is_quantized) {
#ifdef QFORGE_MODEL_HAS_GGML_CODECS
    if (t.rank() == 0) Fail("{}: quantized scalar tensor", name);
    const int64_t cols = t.dim(t.rank() - 1);
    if (cols % Traits(t.dtype()).block_size != 0) {
      Fail("{}: row length {} is not a multiple of the {} block size {}", name, cols, Name(t.dtype()),
           Traits(t.dtype()).block_size);
    }
    Tensor out = Tensor::Zeros(DType::kF32, t.shape());
    const int64_t rows = t.numel() / cols;
    const size_t row_bytes = codecs::RowBytes(t.dtype(), cols);
    for (int64_t r = 0; r < rows; ++r) {
      codecs::DequantizeRow(t.dtype(), t.bytes() + static_cast<size_t>(r) * row_bytes,
                            out.mutable_data<float>() + r * cols, cols);
    }
    return out;
#else
    Fail("{}: {} weights need the ggml codecs, which this build lacks", name, Name(t.dtype()));
#endif
  }
  Fail("{}: unsupported dtype {} (expected a float or GGUF block type)", name, Name(t.dtype()));
}

std::unique_ptr<LinearWeight> MakeDenseLinear(const Tensor& w, const std::string& name) {
  if (w.rank() != 2) Fail("{}: a Linear weight must be 2-D [out, in], got {}", name, ShapeToString(w.shape()));
  if (!w.contiguous()) Fail("{}: tensor is not contiguous", name);
  const DType t = w.dtype();
  if ((t == DType::kBF16 || t == DType::kF16) && IsAligned(w.bytes(), 2)) return std::make_unique<DenseLinear>(w);
  return std::make_unique<DenseLinear>(ToF32Tensor(w, name));
}

std::unique_ptr<LinearWeight> ConvertLinear(const LinearWeight& w, DType to) {
  Tensor f32 = w.DenseF32();
  if (to == DType::kF32) return std::make_unique<DenseLinear>(std::move(f32));
  if (to != DType::kBF16 && to != DType::kF16) Fail("cannot store a dense Linear weight as {}", Name(to));
  Tensor out = Tensor::Zeros(to, f32.shape());
  const size_t n = static_cast<size_t>(f32.numel());
  if (to == DType::kBF16) {
    F32ToBf16(f32.data<float>(), out.mutable_data<uint16_t>(), n);
  } else {
    F32ToF16(f32.data<float>(), out.mutable_data<uint16_t>(), n);
  }
  return std::make_unique<DenseLinear>(std::move(out));
}

}  // namespace qforge::model
