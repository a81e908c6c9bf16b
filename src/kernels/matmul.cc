#include "kernels/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/simd.h"

namespace qforge::kernels {
namespace {

// Rows of W per GEMV task: enough work (≥ 64 KiB of F32 weights at k = 256) to amortise a task hand-off.
constexpr size_t kGemvGrainRows = 64;
// Rows of a BF16/F16 weight widened per sgemm call: 256 rows × k floats stays in L2 for k ≤ 2048.
constexpr int64_t kWidenTileRows = 256;

void GemvRows(DType t, const void* w, int64_t k, int64_t r0, int64_t r1, const float* x, float* y) {
  switch (t) {
    case DType::kF32: GemvF32(static_cast<const float*>(w) + r0 * k, k, r1 - r0, x, k, y + r0); break;
    case DType::kBF16: GemvBf16(static_cast<const uint16_t*>(w) + r0 * k, k, r1 - r0, x, k, y + r0); break;
    case DType::kF16: GemvF16(static_cast<const uint16_t*>(w) + r0 * k, k, r1 - r0, x, k, y + r0); break;
    default: QF_CHECK_MSG(false, "MatMul: unsupported weight type {}", Name(t));
  }
}

void Sgemm(const float* x, int64_t n, int64_t k, const float* w, int64_t m, float* y, int64_t ldy) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m),
              static_cast<int>(k), 1.0f, x, static_cast<int>(k), w, static_cast<int>(k), 0.0f, y,
              static_cast<int>(ldy));
}

}  // namespace

void MatMul(const float* x, int64_t n, int64_t k, DType w_type, const void* w, int64_t m, float* y) {
  QF_CHECK(n >= 0 && k > 0 && m > 0);
  QF_CHECK(w_type == DType::kF32 || w_type == DType::kBF16 || w_type == DType::kF16);
  QF_CHECK_MSG(k < (int64_t{1} << 31) && m < (int64_t{1} << 31) && n < (int64_t{1} << 31),
               "MatMul dims exceed BLAS int range");
  if (n == 0) return;
  auto& pool = ThreadPool::Global();
  if (n < kGemmMinTokens) {
    for (int64_t t = 0; t < n; ++t) {
      pool.ParallelFor(static_cast<size_t>(m), kGemvGrainRows, [&](size_t r0, size_t r1) {
        GemvRows(w_type, w, k, static_cast<int64_t>(r0), static_cast<int64_t>(r1), x + t * k, y + t * m);
      });
    }
    return;
  }
  if (w_type == DType::kF32) {
    Sgemm(x, n, k, static_cast<const float*>(w), m, y, m);
    return;
  }
  const auto* w16 = static_cast<const uint16_t*>(w);
  std::vector<float> tile(static_cast<size_t>(std::min(m, kWidenTileRows) * k));
  for (int64_t r0 = 0; r0 < m; r0 += kWidenTileRows) {
    const int64_t rows = std::min(kWidenTileRows, m - r0);
    pool.ParallelFor(static_cast<size_t>(rows), 16, [&](size_t a, size_t b) {
      for (size_t r = a; r < b; ++r) {
        const uint16_t* src = w16 + (r0 + static_cast<int64_t>(r)) * k;
        float* dst = tile.data() + static_cast<int64_t>(r) * k;
        if (w_type == DType::kBF16) {
          Bf16ToF32Row(src, dst, k);
        } else {
          F16ToF32Row(src, dst, k);
        }
      }
    });
    Sgemm(x, n, k, tile.data(), rows, y + r0, m);
  }
}

}  // namespace qforge::kernels
