#include "pipeline/w8a8_linear.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"

namespace qforge::pipeline {
namespace {

class W8A8Linear final : public model::LinearWeight {
 public:
  explicit W8A8Linear(std::shared_ptr<const codecs::QuantizedMatrix> q) : q_(std::move(q)) {
    QF_CHECK(q_->spec.bits == 8 && q_->spec.symmetric && q_->spec.strategy == codecs::IntStrategy::kChannel);
  }
  int64_t out_features() const override { return q_->rows; }
  int64_t in_features() const override { return q_->cols; }
  DType dtype() const override { return DType::kI8; }
  void Apply(const float* x, int64_t n_tokens, float* y) const override {
    const int64_t k = q_->cols, m = q_->rows;
    std::vector<int8_t> qx(static_cast<size_t>(n_tokens * k));
    std::vector<float> sx(static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) sx[t] = QuantizeActivationRow(x + t * k, k, qx.data() + t * k);
    ThreadPool::Global().ParallelFor(static_cast<size_t>(m), 16, [&](size_t o0, size_t o1) {
      for (size_t o = o0; o < o1; ++o) {
        const int8_t* w = q_->codes.data() + o * static_cast<size_t>(k);
        const float sw = q_->params.scale(static_cast<int64_t>(o), 0);
        for (int64_t t = 0; t < n_tokens; ++t) {
          const int8_t* a = qx.data() + t * k;
          int32_t acc = 0;
          for (int64_t j = 0; j < k; ++j) acc += static_cast<int32_t>(a[j]) * static_cast<int32_t>(w[j]);
          y[t * m + static_cast<int64_t>(o)] = sx[static_cast<size_t>(t)] * sw * static_cast<float>(acc);
        }
      }
    });
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
