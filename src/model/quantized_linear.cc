#include "model/quantized_linear.h"

#include <algorithm>
#include <cstring>

#include "codecs/ggml/dot/vec_dot.h"
#include "codecs/ggml/ggml_codecs.h"
#include "core/half.h"
#include "codecs/int/pack_int32.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/quant/quant_matmul.h"

namespace qforge::model {
namespace {

Tensor Dense(int64_t out, int64_t in) { return Tensor::Zeros(DType::kF32, {out, in}); }

class W4A16Linear final : public LinearWeight {
 public:
  W4A16Linear(Tensor packed, std::vector<float> scales, int64_t out, int64_t in, int64_t group)
      : packed_(std::move(packed)), scales_(std::move(scales)), out_(out), in_(in), group_(group) {}
  int64_t out_features() const override { return out_; }
  int64_t in_features() const override { return in_; }
  DType dtype() const override { return DType::kI32; }
  void Apply(const float* x, int64_t n, float* y) const override {
    kernels::MatMulW4A16(x, n, in_, packed_.data<uint32_t>(), scales_.data(), group_, out_, y);
  }
  Tensor DenseF32() const override {
    Tensor t = Dense(out_, in_);
    float* d = t.mutable_data<float>();
    const uint32_t* p = packed_.data<uint32_t>();
    const int64_t groups = in_ / group_;
    for (int64_t r = 0; r < out_; ++r)
      for (int64_t i = 0; i < in_; ++i) {
        const int code = static_cast<int>((p[r * (in_ / 8) + i / 8] >> (4 * (i % 8))) & 0xFu) - 8;
        d[r * in_ + i] = scales_[static_cast<size_t>(r * groups + i / group_)] * static_cast<float>(code);
      }
    return t;
  }

 private:
  Tensor packed_;
  std::vector<float> scales_;
  int64_t out_, in_, group_;
};

class Int8Linear final : public LinearWeight {
 public:
  Int8Linear(Tensor codes, std::vector<float> scales, int64_t out, int64_t in, int64_t group, bool act_quant)
      : codes_(std::move(codes)), scales_(std::move(scales)), out_(out), in_(in), group_(group), act_quant_(act_quant) {
    if (act_quant_) row_sums_ = kernels::Int8RowSums(codes_.data<int8_t>(), out_, in_);
  }
  int64_t out_features() const override { return out_; }
  int64_t in_features() const override { return in_; }
  DType dtype() const override { return DType::kI8; }
  void Apply(const float* x, int64_t n, float* y) const override {
    if (act_quant_) {
      kernels::MatMulW8A8(x, n, in_, codes_.data<int8_t>(), scales_.data(), row_sums_.data(), out_, y);
    } else {
      kernels::MatMulW8A16(x, n, in_, codes_.data<int8_t>(), scales_.data(), group_, out_, y);
    }
  }
  Tensor DenseF32() const override {
    Tensor t = Dense(out_, in_);
    float* d = t.mutable_data<float>();
    const int8_t* c = codes_.data<int8_t>();
    const int64_t groups = in_ / group_;
    for (int64_t r = 0; r < out_; ++r)
      for (int64_t i = 0; i < in_; ++i)
        d[r * in_ + i] = scales_[static_cast<size_t>(r * groups + i / group_)] * static_cast<float>(c[r * in_ + i]);
    return t;
  }

 private:
  Tensor codes_;
  std::vector<float> scales_;
  int64_t out_, in_, group_;
  bool act_quant_;
  std::vector<int32_t> row_sums_;
};

// GGUF block weights applied with llama.cpp's arithmetic: activations quantized to Q8_0 / Q8_1 / Q8_K blocks,
// integer dot products per block (codecs/ggml/dot).
class GgufLinear final : public LinearWeight {
 public:
  explicit GgufLinear(Tensor w) : w_(std::move(w)) {}
  int64_t out_features() const override { return w_.dim(0); }
  int64_t in_features() const override { return w_.dim(1); }
  DType dtype() const override { return w_.dtype(); }
  void Apply(const float* x, int64_t n, float* y) const override {
    codecs::ggml::GgufMatMul(w_.dtype(), w_.bytes(), out_features(), in_features(), x, n, y, out_features());
  }
  Tensor DenseF32() const override { return ToF32Tensor(w_, "gguf weight"); }

 private:
  Tensor w_;
};

// F16 / BF16 weights as llama.cpp's CPU backend applies them: the activations are first rounded to the
// weight's type (its vec_dot_type), then multiplied in f32.
class RoundedActivationLinear final : public LinearWeight {
 public:
  explicit RoundedActivationLinear(Tensor w) : w_(std::move(w)) {}
  int64_t out_features() const override { return w_.dim(0); }
  int64_t in_features() const override { return w_.dim(1); }
  DType dtype() const override { return w_.dtype(); }
  void Apply(const float* x, int64_t n, float* y) const override {
    const size_t count = static_cast<size_t>(n * in_features());
    std::vector<uint16_t> h(count);
    std::vector<float> xr(count);
    if (w_.dtype() == DType::kF16) {
      F32ToF16(x, h.data(), count);
      F16ToF32(h.data(), xr.data(), count);
    } else {
      F32ToBf16(x, h.data(), count);
      Bf16ToF32(h.data(), xr.data(), count);
    }
    kernels::MatMul(xr.data(), n, in_features(), w_.dtype(), w_.bytes(), out_features(), y);
  }
  Tensor DenseF32() const override { return w_.ToF32(); }

 private:
  Tensor w_;
};

void CheckInt(const std::string& name, int64_t out, int64_t in, int64_t group, size_t n_scales) {
  if (out <= 0 || in <= 0 || group <= 0 || in % group != 0) {
    Fail("{}: bad quantized Linear shape [{}, {}] with group {} (expected in % group == 0)", name, out, in, group);
  }
  if (n_scales != static_cast<size_t>(out * (in / group))) {
    Fail("{}: {} scales for [{}, {}] with group {} (expected {})", name, n_scales, out, in, group, out * (in / group));
  }
}

}  // namespace

std::unique_ptr<LinearWeight> MakeW4A16Linear(Tensor packed, std::vector<float> scales, int64_t out, int64_t in,
                                              int64_t group, const std::string& name) {
  CheckInt(name, out, in, group, scales.size());
  if (in % 8 != 0 || group % 8 != 0) Fail("{}: int4 kernels need in and group multiples of 8, got {} / {}", name, in, group);
  if ((packed.dtype() != DType::kI32 && packed.dtype() != DType::kU32) || !packed.contiguous() ||
      packed.numel() != out * (in / 8)) {
    Fail("{}: packed int4 weight must be I32 [{}, {}], got {} {}", name, out, in / 8, Name(packed.dtype()),
         ShapeToString(packed.shape()));
  }
  if (reinterpret_cast<uintptr_t>(packed.bytes()) % alignof(uint32_t) != 0) {
    Tensor copy = Tensor::Zeros(packed.dtype(), packed.shape());
    std::memcpy(copy.mutable_bytes(), packed.bytes(), packed.nbytes());
    packed = std::move(copy);
  }
  return std::make_unique<W4A16Linear>(std::move(packed), std::move(scales), out, in, group);
}

std::unique_ptr<LinearWeight> MakeW8A16Linear(Tensor codes, std::vector<float> scales, int64_t out, int64_t in,
                                              int64_t group, const std::string& name) {
  CheckInt(name, out, in, group, scales.size());
  if (codes.dtype() != DType::kI8 || !codes.contiguous() || codes.numel() != out * in) {
    Fail("{}: int8 weight must be I8 [{}, {}], got {} {}", name, out, in, Name(codes.dtype()), ShapeToString(codes.shape()));
  }
  return std::make_unique<Int8Linear>(std::move(codes), std::move(scales), out, in, group, false);
}

std::unique_ptr<LinearWeight> MakeW8A8Linear(Tensor codes, std::vector<float> scales, int64_t out, int64_t in,
                                             const std::string& name) {
  CheckInt(name, out, in, in, scales.size());
  if (in > kernels::kMaxW8A8K) Fail("{}: in_features {} exceeds the W8A8 limit {}", name, in, kernels::kMaxW8A8K);
  if (codes.dtype() != DType::kI8 || !codes.contiguous() || codes.numel() != out * in) {
    Fail("{}: int8 weight must be I8 [{}, {}], got {} {}", name, out, in, Name(codes.dtype()), ShapeToString(codes.shape()));
  }
  return std::make_unique<Int8Linear>(std::move(codes), std::move(scales), out, in, in, true);
}

std::unique_ptr<LinearWeight> MakeIntLinear(const codecs::QuantizedMatrix& q, bool quantize_activations,
                                            const std::string& name) {
  if (!q.spec.symmetric) Fail("{}: native int kernels need symmetric quantization", name);
  if (q.spec.strategy == codecs::IntStrategy::kTensor) Fail("{}: per-tensor int scales are not supported natively", name);
  const int64_t group = q.spec.GroupCols(q.cols);
  std::vector<float> scales = q.params.scales;
  if (q.spec.bits == 4 && !quantize_activations) {
    const auto words = codecs::PackInt32(q.codes, q.rows, q.cols, 4, 1, name);
    Tensor packed = Tensor::Zeros(DType::kI32, {q.rows, q.cols / 8});
    std::memcpy(packed.mutable_bytes(), words.data(), words.size() * sizeof(uint32_t));
    return MakeW4A16Linear(std::move(packed), std::move(scales), q.rows, q.cols, group, name);
  }
  if (q.spec.bits != 8) Fail("{}: no native kernel for {}-bit weights", name, q.spec.bits);
  Tensor codes = Tensor::Zeros(DType::kI8, {q.rows, q.cols});
  std::memcpy(codes.mutable_bytes(), q.codes.data(), q.codes.size());
  if (quantize_activations) {
    if (group != q.cols) Fail("{}: W8A8 needs per-channel weight scales", name);
    return MakeW8A8Linear(std::move(codes), std::move(scales), q.rows, q.cols, name);
  }
  return MakeW8A16Linear(std::move(codes), std::move(scales), q.rows, q.cols, group, name);
}

std::unique_ptr<LinearWeight> MakeGgufLinear(const Tensor& w, const std::string& name) {
  if (w.rank() != 2 || !Traits(w.dtype()).is_quantized || !w.contiguous()) {
    Fail("{}: expected a contiguous 2-D GGUF block tensor, got {} {}", name, Name(w.dtype()), ShapeToString(w.shape()));
  }
  if (w.dim(1) % Traits(w.dtype()).block_size != 0) {
    Fail("{}: row length {} is not a multiple of the {} block size", name, w.dim(1), Name(w.dtype()));
  }
  if (!codecs::ggml::HasActFormat(w.dtype())) {
    Fail("{}: no dot product for {} weights (supported: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K)", name,
         Name(w.dtype()));
  }
  return std::make_unique<GgufLinear>(w);
}

std::unique_ptr<LinearWeight> MakeRoundedActivationLinear(const Tensor& w, const std::string& name) {
  if (w.rank() != 2 || (w.dtype() != DType::kF16 && w.dtype() != DType::kBF16) || !w.contiguous() ||
      reinterpret_cast<uintptr_t>(w.bytes()) % 2 != 0) {
    Fail("{}: expected a contiguous, aligned 2-D F16 or BF16 tensor, got {} {}", name, Name(w.dtype()),
         ShapeToString(w.shape()));
  }
  return std::make_unique<RoundedActivationLinear>(w);
}

std::unique_ptr<LinearWeight> QuantizeLinearAs(const LinearWeight& w, std::string_view scheme) {
  if (scheme == "f32") return ConvertLinear(w, DType::kF32);
  if (scheme == "bf16") return ConvertLinear(w, DType::kBF16);
  const Tensor f32 = w.DenseF32();
  const std::string name = std::string(scheme) + " weight";
  if (scheme == "w4a16" || scheme == "w8a16" || scheme == "w8a8") {
    codecs::IntQuantSpec spec;
    spec.symmetric = true;
    spec.bits = scheme == "w4a16" ? 4 : 8;
    spec.strategy = scheme == "w4a16" ? codecs::IntStrategy::kGroup : codecs::IntStrategy::kChannel;
    spec.group_size = 128;
    return MakeIntLinear(codecs::QuantizeMatrix(f32, spec, name), scheme == "w8a8", name);
  }
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    std::string lower(Name(t));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != lower) continue;
    const int64_t rows = f32.dim(0), cols = f32.dim(1);
    Tensor q = Tensor::Zeros(t, {rows, cols});
    codecs::QuantizeRows(t, f32.data<float>(), q.mutable_bytes(), rows, cols, nullptr);
    return MakeGgufLinear(q, name);
  }
  Fail("unknown weight scheme '{}' (expected f32, bf16, w8a16, w4a16, w8a8, q8_0, q4_0, q4_k, q5_k, q6_k)", scheme);
}

}  // namespace qforge::model
