#include "pipeline/gptq_linear.h"

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "kernels/matmul.h"

namespace qforge::pipeline {
namespace gptq = algorithms::gptq;
namespace {

DType ComputeDType(DType t) { return t == DType::kBF16 || t == DType::kF16 ? t : DType::kF32; }

// tr(D H D^T) / denom with D = W - Wq; `wq` is overwritten with D.
double RelErr(const float* w, std::vector<float>& wq, const gptq::Factorization& f, int64_t rows, double denom) {
  for (size_t i = 0; i < wq.size(); ++i) wq[i] = w[i] - wq[i];
  return denom > 0.0 ? gptq::HessianQuadForm(f, wq.data(), rows) / denom : 0.0;
}

Tensor AsDType(const Tensor& f32, DType dt) {
  if (dt == DType::kF32) return f32;
  Tensor t = Tensor::Zeros(dt, f32.shape());
  const float* src = f32.data<float>();
  uint16_t* dst = t.mutable_data<uint16_t>();
  const size_t n = static_cast<size_t>(f32.numel());
  for (size_t i = 0; i < n; ++i) dst[i] = dt == DType::kBF16 ? F32ToBf16(src[i]) : F32ToF16(src[i]);
  return t;
}

class CodesLinear final : public model::LinearWeight {
 public:
  CodesLinear(std::shared_ptr<const codecs::QuantizedMatrix> q, std::vector<int32_t> g_idx)
      : q_(std::move(q)), g_idx_(std::move(g_idx)) {}
  int64_t out_features() const override { return q_->rows; }
  int64_t in_features() const override { return q_->cols; }
  DType dtype() const override { return DType::kI8; }  // codes are held as int8
  void Apply(const float* x, int64_t n_tokens, float* y) const override {
    const std::vector<float> w = DequantizeToF32(*q_, g_idx_);
    kernels::MatMul(x, n_tokens, q_->cols, DType::kF32, w.data(), q_->rows, y);
  }
  Tensor DenseF32() const override {
    Tensor t = Tensor::Zeros(DType::kF32, {q_->rows, q_->cols});
    const std::vector<float> w = DequantizeToF32(*q_, g_idx_);
    std::memcpy(t.mutable_bytes(), w.data(), w.size() * sizeof(float));
    return t;
  }

 private:
  std::shared_ptr<const codecs::QuantizedMatrix> q_;
  std::vector<int32_t> g_idx_;
};

}  // namespace

std::vector<float> DequantizeToF32(const codecs::QuantizedMatrix& q, const std::vector<int32_t>& g_idx) {
  const int64_t gcols = q.spec.GroupCols(q.cols);
  std::vector<float> out(static_cast<size_t>(q.rows * q.cols));
  for (int64_t r = 0; r < q.rows; ++r) {
    for (int64_t c = 0; c < q.cols; ++c) {
      const int64_t g = g_idx.empty() ? c / gcols : g_idx[static_cast<size_t>(c)];
      const size_t i = static_cast<size_t>(r * q.cols + c);
      const float v = static_cast<float>(q.codes[i] - q.params.zero(r, g)) * q.params.scale(r, g);
      out[i] = codecs::RoundToDType(v, q.params.dtype);
    }
  }
  return out;
}

std::unique_ptr<model::LinearWeight> MakeCodesLinear(std::shared_ptr<const codecs::QuantizedMatrix> q,
                                                     std::vector<int32_t> g_idx) {
  return std::make_unique<CodesLinear>(std::move(q), std::move(g_idx));
}

std::unique_ptr<model::LinearWeight> MakeRoundedDenseLinear(const std::vector<float>& values, int64_t rows,
                                                            int64_t cols, DType dtype, const std::string& name) {
  Tensor t = Tensor::Zeros(DType::kF32, {rows, cols});
  std::memcpy(t.mutable_bytes(), values.data(), values.size() * sizeof(float));
  return model::MakeDenseLinear(AsDType(t, ComputeDType(dtype)), name);
}

GptqLinearResult QuantizeLinearGptq(const model::LinearWeight& lw, const gptq::Factorization& f,
                                    const codecs::IntQuantSpec& spec, const gptq::Options& options,
                                    const std::string& name, bool round_to_model_dtype) {
  if (spec.strategy == codecs::IntStrategy::kTensor) {
    Fail("{}: GPTQ needs a group or channel weight strategy; tensor-wise weights are quantized by RTN", name);
  }
  return QuantizeLinearGptq(lw.DenseF32(), lw.dtype(), f, spec, options, name, round_to_model_dtype);
}

GptqLinearResult QuantizeLinearGptq(const Tensor& w, DType dtype, const gptq::Factorization& f,
                                    const codecs::IntQuantSpec& spec, const gptq::Options& options,
                                    const std::string& name, bool round_to_model_dtype) {
  const auto t0 = std::chrono::steady_clock::now();
  if (spec.strategy == codecs::IntStrategy::kTensor) {
    Fail("{}: GPTQ needs a group or channel weight strategy; tensor-wise weights are quantized by RTN", name);
  }
  QF_CHECK(w.dtype() == DType::kF32 && w.rank() == 2);
  const int64_t rows = w.dim(0), cols = w.dim(1);
  codecs::CheckSpec(spec, rows, cols, name);
  QF_CHECK(f.cols == cols);
  const DType dt = ComputeDType(dtype);

  gptq::Options o = options;
  o.bits = spec.bits;
  o.symmetric = spec.symmetric;
  o.group_size = spec.strategy == codecs::IntStrategy::kGroup ? spec.group_size : -1;
  o.keep_wq = false;
  const int64_t groups = gptq::NumGroups(cols, o.group_size);
  const float half = static_cast<float>(1 << (spec.bits - 1));

  // llm-compressor (>= 0.11) takes qparams from the stored weight in the model dtype before the solve, and
  // compressed-tensors' fake_quantize then dequantizes in that dtype inside the GPTQ loop.
  const Tensor w_dt = AsDType(w, dt);
  std::vector<gptq::QParams> upfront;
  const bool llmc_natural = o.convention == gptq::Convention::kLlmCompressor &&
                            !(o.actorder == gptq::ActOrder::kGroup && o.group_size != -1);
  if (llmc_natural) {
    const codecs::QParams cp = codecs::ComputeQParams(w_dt, spec, name);
    upfront.resize(static_cast<size_t>(rows * groups));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < groups; ++g) {
        upfront[static_cast<size_t>(r * groups + g)] = {cp.scale(r, g), static_cast<float>(cp.zero(r, g)) + half};
      }
    }
    o.upfront_params = &upfront;
    if (round_to_model_dtype && dt == DType::kBF16) o.dequant_round = gptq::Options::Round::kBF16;
    if (round_to_model_dtype && dt == DType::kF16) o.dequant_round = gptq::Options::Round::kF16;
  }
  const float* wv = w.data<float>();
  gptq::Result res = gptq::Solve(wv, rows, f, o);

  auto q = std::make_shared<codecs::QuantizedMatrix>();
  q->rows = rows;
  q->cols = cols;
  q->spec = spec;
  q->params.dtype = llmc_natural ? dt : DType::kF32;  // scales computed here in f32 are not dt values
  q->params.param_rows = rows;
  q->params.groups = groups;
  q->params.scales = std::move(res.scale);
  if (!spec.symmetric) {
    q->params.zeros.resize(res.zero.size());
    for (size_t i = 0; i < res.zero.size(); ++i) q->params.zeros[i] = static_cast<int8_t>(res.zero[i] - half);
  }
  q->codes.resize(res.codes.size());
  const int32_t ihalf = 1 << (spec.bits - 1);
  for (size_t i = 0; i < res.codes.size(); ++i) {
    q->codes[i] = static_cast<int8_t>(static_cast<int32_t>(res.codes[i]) - ihalf);
  }
  std::vector<uint8_t>().swap(res.codes);

  GptqLinearResult out;
  if (res.g_idx_needed()) out.g_idx = res.g_idx;
  out.loss = res.loss;
  out.dead_columns = res.dead_columns;
  out.cholesky_failed = res.cholesky_failed;
  const double denom = gptq::HessianQuadForm(f, wv, rows);
  {
    std::vector<float> d = DequantizeToF32(*q, out.g_idx);
    out.rel_err = RelErr(wv, d, f, rows, denom);
  }
  {
    std::vector<float> d = DequantizeToF32(codecs::QuantizeMatrix(w_dt, spec, name), {});
    out.rtn_rel_err = RelErr(wv, d, f, rows, denom);
  }
  out.matrix = std::move(q);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

GptqLinearResult QuantizeLinearGptq(const model::LinearWeight& lw, const std::vector<float>& h,
                                    const codecs::IntQuantSpec& spec, const gptq::Options& options,
                                    const std::string& name, bool round_to_model_dtype) {
  const int64_t cols = lw.in_features();
  QF_CHECK(h.size() == static_cast<size_t>(cols * cols));
  const gptq::Factorization f = gptq::Factorize(h, cols, options);
  return QuantizeLinearGptq(lw, f, spec, options, name, round_to_model_dtype);
}

}  // namespace qforge::pipeline
