#include "model/decoder_layer.h"

#include "core/thread_pool.h"
#include "kernels/rope.h"
#include "kernels/simd.h"
#include "model/attention.h"

namespace qforge::model {
namespace {

void RmsNormRows(const float* x, int64_t rows, int64_t dim, const std::vector<float>& w, float eps, float* out) {
  ThreadPool::Global().ParallelFor(static_cast<size_t>(rows), 16, [&](size_t a, size_t b) {
    for (size_t r = a; r < b; ++r) {
      kernels::RmsNormRow(x + static_cast<int64_t>(r) * dim, w.data(), dim, eps, out + static_cast<int64_t>(r) * dim);
    }
  });
}

void AddBias(float* y, int64_t rows, const std::vector<float>& bias) {
  if (bias.empty()) return;
  const int64_t dim = static_cast<int64_t>(bias.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < dim; ++i) y[r * dim + i] += bias[static_cast<size_t>(i)];
  }
}

void Linear(const LayerContext& ctx, const LayerWeights& w, LinearKind kind, const float* x, int64_t n, float* y,
            const std::vector<float>* bias = nullptr) {
  const LinearWeight& lw = w[kind];
  lw.Apply(x, n, y);
  if (bias) AddBias(y, n, *bias);
  if (ctx.observer) {
    ctx.observer->OnLinear(ctx.layer_index, kind, x, y, n, lw.in_features(), lw.out_features());
  }
}

}  // namespace

void DecoderLayerForward(const LayerContext& ctx, const LayerWeights& w, float* hidden, int64_t n, int64_t pos0,
                         float* k_cache, float* v_cache) {
  const ModelConfig& c = *ctx.config;
  const int64_t hs = c.hidden_size, qd = c.q_dim(), kvd = c.kv_dim(), hd = c.head_dim;
  const float eps = static_cast<float>(c.rms_norm_eps);
  std::vector<float> x(static_cast<size_t>(n * hs)), q(static_cast<size_t>(n * qd));
  std::vector<float> attn(static_cast<size_t>(n * qd)), o(static_cast<size_t>(n * hs));
  float* k = k_cache + pos0 * kvd;
  float* v = v_cache + pos0 * kvd;

  // Attention block.
  RmsNormRows(hidden, n, hs, w.attn_norm, eps, x.data());
  Linear(ctx, w, LinearKind::kQ, x.data(), n, q.data(), &w.q_bias);
  Linear(ctx, w, LinearKind::kK, x.data(), n, k, &w.k_bias);
  Linear(ctx, w, LinearKind::kV, x.data(), n, v, &w.v_bias);
  if (!w.q_norm.empty()) {
    RmsNormRows(q.data(), n * c.num_heads, hd, w.q_norm, eps, q.data());
    RmsNormRows(k, n * c.num_kv_heads, hd, w.k_norm, eps, k);
  }
  kernels::ApplyRope(q.data(), n, qd, c.num_heads, hd, pos0, *ctx.rope_inv_freq, c.rope_interleaved);
  kernels::ApplyRope(k, n, kvd, c.num_kv_heads, hd, pos0, *ctx.rope_inv_freq, c.rope_interleaved);
  CausalAttention(q.data(), n, pos0, k_cache, v_cache, c.num_heads, c.num_kv_heads, hd, attn.data());
  Linear(ctx, w, LinearKind::kO, attn.data(), n, o.data());
  for (int64_t i = 0; i < n * hs; ++i) hidden[i] += o[static_cast<size_t>(i)];

  // MLP block.
  RmsNormRows(hidden, n, hs, w.mlp_norm, eps, x.data());
  const int64_t is = c.intermediate_size;
  std::vector<float> gate(static_cast<size_t>(n * is)), up(static_cast<size_t>(n * is));
  Linear(ctx, w, LinearKind::kGate, x.data(), n, gate.data());
  Linear(ctx, w, LinearKind::kUp, x.data(), n, up.data());
  ThreadPool::Global().ParallelFor(static_cast<size_t>(n), 4, [&](size_t a, size_t b) {
    for (size_t r = a; r < b; ++r) {
      const int64_t off = static_cast<int64_t>(r) * is;
      kernels::SiluMul(gate.data() + off, up.data() + off, is, gate.data() + off);
    }
  });
  Linear(ctx, w, LinearKind::kDown, gate.data(), n, o.data());
  for (int64_t i = 0; i < n * hs; ++i) hidden[i] += o[static_cast<size_t>(i)];
}

}  // namespace qforge::model
