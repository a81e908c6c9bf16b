#include "model/attention.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/simd.h"

namespace qforge::model {

void CausalAttention(const float* q, int64_t n, int64_t pos0, const float* k, const float* v, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim, float* out) {
  QF_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0);
  const int64_t group = n_heads / n_kv_heads;
  const int64_t q_dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // One task = one (token, head) pair; each reads up to pos0+n keys.
  const size_t tasks = static_cast<size_t>(n * n_heads);
  const size_t grain = std::max<size_t>(1, 4096 / static_cast<size_t>(head_dim * (pos0 + 1)));
  ThreadPool::Global().ParallelFor(tasks, grain, [&](size_t begin, size_t end) {
    std::vector<float> scores(static_cast<size_t>(pos0 + n));
    for (size_t task = begin; task < end; ++task) {
      const int64_t t = static_cast<int64_t>(task) / n_heads, h = static_cast<int64_t>(task) % n_heads;
      const int64_t kvh = h / group, len = pos0 + t + 1;
      const float* qv = q + t * q_dim + h * head_dim;
      kernels::GemvF32(k + kvh * head_dim, kv_dim, len, qv, head_dim, scores.data());
      for (int64_t j = 0; j < len; ++j) scores[static_cast<size_t>(j)] *= scale;
      kernels::SoftmaxRow(scores.data(), len);
      float* o = out + t * q_dim + h * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) o[i] = 0.0f;
      kernels::WeightedSumRows(v + kvh * head_dim, kv_dim, len, scores.data(), head_dim, o);
    }
  });
}

}  // namespace qforge::model
