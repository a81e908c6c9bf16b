#include "pipeline/w8a8_linear.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"

#include "kernels/quant/quant_matmul.h"

namespace qforge::pipeline {
namespace {

class W8A8Linear final : public model::LinearWeight {
 public:
  explicit W8A8Linear(std::shared_ptr<const codecs::QuantizedMatrix> q) : q_(std::move(q)) {
    QF_CHECK(q_->spec.bits == 8 && q_->spec.symmetric && q_->spec.strategy == codecs::IntStrategy::kChannel);
    QF_CHECK(q_->cols <= kernels::kMaxW8A8K);
    scales_.resize(static_cast<size_t>(q_->rows));
    for (int64_t r = 0; r < q_->rows; ++r) scales_[static_cast<size_t>(r)] = q_->params.scale(r, 0);
    row_sums_ = kernels::Int8RowSums(q_->codes.data(), q_->rows, q_->cols);
  }
  int64_t out_features() const override { return q_->rows; }
  int64_t in_features() const override { return q_->cols; }
  DType dtype() const override { return DType::kI8; }
  // The int8 kernels of kernels/quant (VNNI where present): per-token activation quantization as
  // QuantizeActivationRow below, exact int32 sums, y = (s_t · s_w) · acc.
  void Apply(const float* x, int64_t n_tokens, float* y) const override {
    kernels::MatMulW8A8(x, n_tokens, q_->cols, q_->codes.data(), scales_.data(), row_sums_.data(), q_->rows, y);
  }
  Tensor DenseF32() const override {
    Tensor t = Tensor::Zeros(DType::kF32, {q_->rows, q_->cols});
    float* d = t.mutable_data<float>();
    for (int64_t r = 0; r < q_->rows; ++r) {
      codecs::DequantizeRow(q_->codes.data() + r * q_->cols, r, q_->cols, q_->spec, q_->params, d + r * q_->cols);
    }
    return t;
  }

 private:
  std::shared_ptr<const codecs::QuantizedMatrix> q_;
  std::vector<float> scales_;
  std::vector<int32_t> row_sums_;
};

}  // namespace

float QuantizeActivationRow(const float* x, int64_t n, int8_t* q) {
  float absmax = 0.0f;
  for (int64_t j = 0; j < n; ++j) absmax = std::max(absmax, std::fabs(x[j]));
  if (absmax == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  const float inv = 127.0f / absmax;
  for (int64_t j = 0; j < n; ++j) {
    float v = std::nearbyint(x[j] * inv);
    v = v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v);
    q[j] = static_cast<int8_t>(v);
  }
  return absmax / 127.0f;
}

std::unique_ptr<model::LinearWeight> MakeW8A8Linear(std::shared_ptr<const codecs::QuantizedMatrix> q) {
  return std::make_unique<W8A8Linear>(std::move(q));
}

}  // namespace qforge::pipeline
