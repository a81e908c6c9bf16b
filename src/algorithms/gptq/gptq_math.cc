#include "algorithms/gptq/gptq_math.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/gptq/cholesky.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace qforge::algorithms::gptq {
namespace {

// Rows per parallel chunk of the column loop: enough work per task to amortise the pool's hand-off.
constexpr size_t kRowGrain = 8;
// BLAS/LAPACK take int dimensions and leading dimensions; keep cols * cols products well inside size_t too.
constexpr int64_t kMaxDim = 1 << 20;

enum class ParamSource {
  kPerChannel,      // one group per row, from W as given
  kUpfrontNatural,  // contiguous groups of original columns, before the solve
  kUpfrontPermuted, // contiguous groups of the processing order, before the solve (LLMC actorder=group)
  kAtGroupStart,    // reference dynamic groups (processing order), from the partly updated W
};

void Validate(int64_t rows, int64_t cols, const Options& o) {
  if (rows <= 0 || cols <= 0) Fail("GPTQ: weight shape [{}, {}] must be non-empty", rows, cols);
  if (o.bits < 2 || o.bits > 8) Fail("GPTQ: bits = {}; expected 2 to 8", o.bits);
  if (o.group_size == 0 || o.group_size < -1) {
    Fail("GPTQ: group_size = {}; expected -1 (per channel) or a positive column count", o.group_size);
  }
  if (rows > kMaxDim || cols > kMaxDim) {
    Fail("GPTQ: weight shape [{}, {}] exceeds {} per dimension (BLAS int indices)", rows, cols, kMaxDim);
  }
  if (o.block_size <= 0) Fail("GPTQ: block_size = {}; expected a positive column count", o.block_size);
  if (!(o.dampening_frac >= 0.0) || !std::isfinite(o.dampening_frac)) {
    Fail("GPTQ: dampening_frac = {}; expected a finite value >= 0", o.dampening_frac);
  }
  if (o.static_groups && o.convention != Convention::kReference) {
    Fail("GPTQ: static_groups is an option of the reference convention; llm-compressor's groups are always "
         "computed before the solve");
  }
  if (o.upfront_params != nullptr &&
      (o.convention != Convention::kLlmCompressor || (o.actorder == ActOrder::kGroup && o.group_size != -1))) {
    Fail("GPTQ: external parameters apply to the llm-compressor convention with natural groups only");
  }
  if (o.static_groups && o.actorder == ActOrder::kGroup) {
    Fail("GPTQ: static_groups with actorder=group; use actorder=static for activation order with static "
         "groups");
  }
}

ParamSource SourceFor(const Options& o) {
  if (o.group_size == -1) return ParamSource::kPerChannel;
  if (o.convention == Convention::kLlmCompressor) {
    return o.actorder == ActOrder::kGroup ? ParamSource::kUpfrontPermuted : ParamSource::kUpfrontNatural;
  }
  if (o.static_groups || o.actorder == ActOrder::kStatic) return ParamSource::kUpfrontNatural;
  return ParamSource::kAtGroupStart;
}

// Parameters of every contiguous group of `src` (row-major [rows, cols]) with columns taken in the order
// `order` (nullptr = natural), into params[r * groups + g].
void GroupParams(const float* src, int64_t rows, int64_t cols, int64_t gs, const int64_t* order,
                 const Options& o, std::vector<QParams>& params) {
  const int64_t groups = NumGroups(cols, gs);
  const QParamRule rule = RuleFor(o.convention);
  ThreadPool::Global().ParallelFor(static_cast<size_t>(rows), kRowGrain, [&](size_t r0, size_t r1) {
    std::vector<float> tmp(static_cast<size_t>(gs));
    for (size_t r = r0; r < r1; ++r) {
      const float* row = src + r * static_cast<size_t>(cols);
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t c0 = g * gs, n = std::min(gs, cols - c0);
        const float* x = row + c0;
        if (order != nullptr) {
          for (int64_t i = 0; i < n; ++i) tmp[static_cast<size_t>(i)] = row[order[c0 + i]];
          x = tmp.data();
        }
        params[r * static_cast<size_t>(groups) + static_cast<size_t>(g)] =
            ComputeQParams(x, n, 1, o.bits, o.symmetric, rule);
      }
    }
  });
}

}  // namespace

QParamRule RuleFor(Convention c) {
  return c == Convention::kReference ? QParamRule::kReference : QParamRule::kCompressedTensors;
}

int64_t NumGroups(int64_t cols, int64_t group_size) {
  return group_size == -1 ? 1 : (cols + group_size - 1) / group_size;
}

bool Result::g_idx_needed() const {
  if (groups <= 1) return false;
  for (int64_t c = 0; c < cols; ++c) {
    if (g_idx[static_cast<size_t>(c)] != c / group_size) return true;
  }
  return false;
}

Result Quantize(const float* w_in, const float* h_in, int64_t rows, int64_t cols, const Options& o) {
  Validate(rows, cols, o);
  const size_t R = static_cast<size_t>(rows), C = static_cast<size_t>(cols);
  const ParamSource source = SourceFor(o);
  const QParamRule rule = RuleFor(o.convention);
  const int64_t gs = o.group_size == -1 ? cols : std::min(o.group_size, cols);
  const int64_t groups = NumGroups(cols, o.group_size);

  Result res;
  res.rows = rows;
  res.cols = cols;
  res.groups = groups;
  res.group_size = gs;
  std::vector<QParams> params(R * static_cast<size_t>(groups));

  // 1. Per-channel / llm-compressor parameters come from the weight as given.
  if (o.upfront_params != nullptr) {
    if (o.upfront_params->size() != params.size()) {
      Fail("GPTQ: {} external parameters for a [{}, {}] weight with {} groups per row", o.upfront_params->size(),
           rows, cols, groups);
    }
    params = *o.upfront_params;
  } else if (source == ParamSource::kPerChannel ||
             (source == ParamSource::kUpfrontNatural && o.convention == Convention::kLlmCompressor)) {
    GroupParams(w_in, rows, cols, gs, nullptr, o, params);
  }

  // 2. Dead columns: H[j][j] == 0 -> H[j][j] = 1, W[:, j] = 0.
  std::vector<float> w(w_in, w_in + R * C);
  std::vector<float> h(h_in, h_in + C * C);
  for (size_t j = 0; j < C; ++j) {
    if (h[j * C + j] == 0.0f) {
      h[j * C + j] = 1.0f;
      ++res.dead_columns;
      for (size_t r = 0; r < R; ++r) w[r * C + j] = 0.0f;
    }
  }

  // 3. Reference static groups: from W after the dead-column fix, natural order.
  if (source == ParamSource::kUpfrontNatural && o.convention == Convention::kReference) {
    GroupParams(w.data(), rows, cols, gs, nullptr, o, params);
  }

  // 4. Activation order: descending diag(H), ties by ascending index (a stable sort).
  std::vector<int64_t> perm(C);
  std::iota(perm.begin(), perm.end(), 0);
  const bool permuted = o.actorder != ActOrder::kNone;
  if (permuted) {
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return h[a * C + a] > h[b * C + b]; });
    std::vector<float> tmp(R * C);
    for (size_t r = 0; r < R; ++r) {
      for (size_t k = 0; k < C; ++k) tmp[r * C + k] = w[r * C + perm[k]];
    }
    w.swap(tmp);
    tmp.assign(C * C, 0.0f);
    for (size_t i = 0; i < C; ++i) {
      for (size_t k = 0; k < C; ++k) tmp[i * C + k] = h[perm[i] * C + perm[k]];
    }
    h.swap(tmp);
    res.perm = perm;
  }
  if (source == ParamSource::kUpfrontPermuted) {
    GroupParams(w_in, rows, cols, gs, perm.data(), o, params);
  }

  // 5. Dampening and the inverse's upper Cholesky factor.
  double diag_sum = 0.0;
  for (size_t j = 0; j < C; ++j) diag_sum += h[j * C + j];
  const float mean_diag = static_cast<float>(diag_sum) / static_cast<float>(cols);
  const float damp = static_cast<float>(o.dampening_frac) * mean_diag;
  for (size_t j = 0; j < C; ++j) h[j * C + j] += damp;
  if (!InverseCholeskyUpper(h, cols, o.solve_in_f64)) {
    if (o.convention == Convention::kReference) {
      Fail("GPTQ: the dampened Hessian ({}x{}) is not positive definite; increase dampening_frac (now {}) "
           "or the number of calibration samples", cols, cols, o.dampening_frac);
    }
    res.cholesky_failed = true;  // llm-compressor: warn and fall back to rounding (U = I)
    std::fill(h.begin(), h.end(), 0.0f);
    for (size_t j = 0; j < C; ++j) h[j * C + j] = 1.0f;
  }
  const std::vector<float>& u = h;

  // Group of processing column k, as an index into params / the output's group axis.
  auto group_of = [&](int64_t k) -> int64_t {
    switch (source) {
      case ParamSource::kPerChannel: return 0;
      case ParamSource::kUpfrontNatural: return perm[static_cast<size_t>(k)] / gs;
      case ParamSource::kUpfrontPermuted:
      case ParamSource::kAtGroupStart: return k / gs;
    }
    return 0;
  };

  // 6. Column loop in blocks with lazy updates. Rows are independent given U, so each block's column loop
  // runs row-parallel on a private copy of the block; the update of later columns is one sgemm.
  res.codes.assign(R * C, 0);
  res.wq.assign(R * C, 0.0f);
  std::vector<double> row_loss(R, 0.0);
  const int64_t bsz = o.block_size;
  std::vector<float> err(R * static_cast<size_t>(std::min(bsz, cols)));
  for (int64_t b0 = 0; b0 < cols; b0 += bsz) {
    const int64_t b1 = std::min(b0 + bsz, cols), bw = b1 - b0;
    ThreadPool::Global().ParallelFor(R, kRowGrain, [&](size_t r0, size_t r1) {
      std::vector<float> w1(static_cast<size_t>(bw));
      for (size_t r = r0; r < r1; ++r) {
        float* wrow = w.data() + r * C;
        std::copy(wrow + b0, wrow + b1, w1.begin());
        float* erow = err.data() + r * static_cast<size_t>(bw);
        double loss = 0.0;
        for (int64_t i = 0; i < bw; ++i) {
          const int64_t k = b0 + i;
          const int64_t g = group_of(k);
          QParams& p = params[r * static_cast<size_t>(groups) + static_cast<size_t>(g)];
          if (source == ParamSource::kAtGroupStart && k % gs == 0) {
            // Reads W, not w1: in-block updates of earlier columns are not seen (reference behaviour).
            p = ComputeQParams(wrow + k, std::min(gs, cols - k), 1, o.bits, o.symmetric, rule);
          }
          const float x = w1[static_cast<size_t>(i)];
          const int32_t code = QuantizeCode(x, p, o.bits, rule);
          const float q = Dequantize(code, p);
          const size_t orig = static_cast<size_t>(perm[static_cast<size_t>(k)]);
          res.codes[r * C + orig] = code;
          res.wq[r * C + orig] = q;
          const float* urow = u.data() + static_cast<size_t>(k) * C;
          const float d = urow[k];
          const float diff = x - q;
          loss += static_cast<double>(diff * diff / (d * d));
          const float e = diff / d;
          for (int64_t j = i + 1; j < bw; ++j) w1[static_cast<size_t>(j)] -= e * urow[b0 + j];
          erow[i] = e;
        }
        row_loss[r] += loss / 2.0;
      }
    });
    if (b1 < cols) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
                  static_cast<int>(cols - b1), static_cast<int>(bw), -1.0f, err.data(), static_cast<int>(bw),
                  u.data() + static_cast<size_t>(b0) * C + static_cast<size_t>(b1), static_cast<int>(cols), 1.0f,
                  w.data() + b1, static_cast<int>(cols));
    }
  }
  for (double l : row_loss) res.loss += l;

  // 7. Outputs in original column order.
  res.scale.resize(params.size());
  res.zero.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    res.scale[i] = params[i].scale;
    res.zero[i] = params[i].zero;
  }
  res.g_idx.assign(C, 0);
  if (o.group_size != -1) {
    for (size_t k = 0; k < C; ++k) {
      const size_t orig = static_cast<size_t>(perm[k]);
      res.g_idx[orig] = static_cast<int32_t>(
          source == ParamSource::kUpfrontNatural ? static_cast<int64_t>(orig) / gs : group_of(k));
    }
  }
  return res;
}

}  // namespace qforge::algorithms::gptq
