#include "algorithms/gptq/gptq_math.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/gptq/cholesky.h"
#include "core/error.h"
#include "core/half.h"
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

namespace {

// Builds the dampened, permuted H in the column-major lower triangle of a T work array, factors it and
// writes U into f.m's strict upper triangle and f.u_diag. Returns false when H is not positive definite.
template <typename T>
bool FactorInto(Factorization& f, const std::vector<float>& diag, float damp) {
  const size_t C = static_cast<size_t>(f.cols);
  const int64_t* perm = f.perm.data();
  std::vector<T> a(C * C);
  // a(i, j), i >= j, at a[i + j*C] = Hp[j][i] = H[perm j][perm i]: the upper triangle of the row-major H.
  ThreadPool::Global().ParallelFor(C, 16, [&](size_t j0, size_t j1) {
    for (size_t j = j0; j < j1; ++j) {
      const float* hrow = f.m.data() + static_cast<size_t>(perm[j]) * C;
      T* col = a.data() + j * C;
      col[j] = static_cast<T>(diag[static_cast<size_t>(perm[j])] + damp);
      for (size_t i = j + 1; i < C; ++i) col[i] = static_cast<T>(hrow[perm[i]]);
    }
  });
  if (!InverseCholeskyUpperInPlace(a, f.cols)) return false;
  // U(i, j), i <= j, at a[i + j*C]; row-major strict upper of m (H's upper copy is no longer needed).
  ThreadPool::Global().ParallelFor(C, 16, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      f.u_diag[i] = static_cast<float>(a[i + i * C]);
      float* mrow = f.m.data() + i * C;
      for (size_t j = i + 1; j < C; ++j) mrow[j] = static_cast<float>(a[i + j * C]);
    }
  });
  return true;
}

// The float64 factorisation in packed (RFP) storage, by the reversed Cholesky (cholesky.h): n(n+1)/2
// doubles, half of FactorInto<double>'s work array (for down_proj of an 8B model 784 MiB instead of
// 1,568 MiB), and 2n^3/3 flops instead of 4n^3/3.
bool FactorIntoRfp(Factorization& f, const std::vector<float>& diag, float damp) {
  const size_t C = static_cast<size_t>(f.cols);
  const int64_t* perm = f.perm.data();
  std::vector<double> a(C * (C + 1) / 2);
  // B(i, j) = A(C-1-i, C-1-j), A(r, c) = H[perm r][perm c] read from the row-major upper triangle (r <= c).
  ThreadPool::Global().ParallelFor(C, 16, [&](size_t j0, size_t j1) {
    for (size_t j = j0; j < j1; ++j) {
      const size_t c = C - 1 - j;
      const size_t pc = static_cast<size_t>(perm[c]);
      a[RfpLowerIndex(j, j, C)] = static_cast<double>(diag[pc] + damp);
      for (size_t i = j + 1; i < C; ++i) {
        a[RfpLowerIndex(i, j, C)] = static_cast<double>(f.m[static_cast<size_t>(perm[C - 1 - i]) * C + pc]);
      }
    }
  });
  if (!ReversedCholeskyInverseRfp(a, f.cols)) return false;
  ThreadPool::Global().ParallelFor(C, 16, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const size_t ri = C - 1 - i;
      f.u_diag[i] = static_cast<float>(a[RfpLowerIndex(ri, ri, C)]);
      float* mrow = f.m.data() + i * C;
      for (size_t j = i + 1; j < C; ++j) mrow[j] = static_cast<float>(a[RfpLowerIndex(ri, C - 1 - j, C)]);
    }
  });
  return true;
}

float RoundDequant(float q, Options::Round r) {
  switch (r) {
    case Options::Round::kNone: return q;
    case Options::Round::kBF16: return RoundBf16(q);
    case Options::Round::kF16: return RoundF16(q);
  }
  return q;
}

}  // namespace

Factorization Factorize(std::vector<float> h, int64_t cols, const Options& o) {
  Validate(1, cols, o);
  const size_t C = static_cast<size_t>(cols);
  QF_CHECK(h.size() == C * C);
  Factorization f;
  f.cols = cols;
  f.m = std::move(h);
  f.permuted = o.actorder != ActOrder::kNone;
  f.dampening_frac = o.dampening_frac;
  f.solve_in_f64 = o.solve_in_f64;

  // Dead columns: diag(H) == 0 -> treated as 1 (the weight's column is zeroed in Solve).
  std::vector<float> diag(C);
  f.dead.assign(C, 0);
  for (size_t j = 0; j < C; ++j) {
    diag[j] = f.m[j * C + j];
    if (diag[j] == 0.0f) {
      diag[j] = 1.0f;
      f.dead[j] = 1;
      ++f.dead_columns;
    }
  }
  // Activation order: descending diag(H), ties by ascending index (a stable sort).
  f.perm.resize(C);
  std::iota(f.perm.begin(), f.perm.end(), 0);
  if (f.permuted) {
    std::stable_sort(f.perm.begin(), f.perm.end(), [&](int64_t a, int64_t b) {
      return diag[static_cast<size_t>(a)] > diag[static_cast<size_t>(b)];
    });
  }
  // Dampening: frac * mean(diag), summed in processing order.
  double diag_sum = 0.0;
  for (size_t k = 0; k < C; ++k) diag_sum += diag[static_cast<size_t>(f.perm[k])];
  const float mean_diag = static_cast<float>(diag_sum) / static_cast<float>(cols);
  const float damp = static_cast<float>(o.dampening_frac) * mean_diag;

  f.u_diag.assign(C, 0.0f);
  const bool ok = !o.solve_in_f64         ? FactorInto<float>(f, diag, damp)
                  : cols <= kMaxRfpDim ? FactorIntoRfp(f, diag, damp)
                                       : FactorInto<double>(f, diag, damp);
  if (!ok) {
    if (o.convention == Convention::kReference) {
      Fail("GPTQ: the dampened Hessian ({}x{}) is not positive definite; increase dampening_frac (now {}) "
           "or the number of calibration samples", cols, cols, o.dampening_frac);
    }
    f.cholesky_failed = true;  // llm-compressor: warn and fall back to rounding (U = I)
    for (size_t i = 0; i < C; ++i) {
      f.u_diag[i] = 1.0f;
      std::fill(f.m.begin() + static_cast<std::ptrdiff_t>(i * C + i + 1),
                f.m.begin() + static_cast<std::ptrdiff_t>((i + 1) * C), 0.0f);
    }
  }
  return f;
}

double HessianQuadForm(const Factorization& f, const float* d, int64_t rows) {
  // tr(D H D^T) = <H, D^T D>: the Gram matrix D^T D is symmetric, so only its lower part is formed, one
  // panel of kPanel columns at a time (R C^2 / 2 flops instead of the R C^2 of D * H; a small buffer). H comes
  // from m's lower triangle.
  constexpr size_t kPanel = 512;
  const size_t C = static_cast<size_t>(f.cols);
  std::vector<float> gt(C * std::min(kPanel, C));
  std::vector<double> row_sum(C, 0.0);
  for (size_t b0 = 0; b0 < C; b0 += kPanel) {
    const size_t bw = std::min(kPanel, C - b0), n = C - b0;
    // gt[j][i] = sum_r D[r][b0 + j] D[r][b0 + i], j in [0, n), i in [0, bw)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(bw),
                static_cast<int>(rows), 1.0f, d + b0, static_cast<int>(C), d + b0, static_cast<int>(C), 0.0f,
                gt.data(), static_cast<int>(bw));
    ThreadPool::Global().ParallelFor(n, 64, [&](size_t j0, size_t j1) {
      for (size_t j = j0; j < j1; ++j) {
        const float* g = gt.data() + j * bw;
        const float* h = f.m.data() + (b0 + j) * C + b0;  // H[b0 + j][b0 + i], i <= j: the lower triangle
        double s = 0.0;
        const size_t iend = std::min(bw, j + 1);
        for (size_t i = 0; i < iend; ++i) {
          const double t = static_cast<double>(g[i]) * h[i];
          s += i == j ? t : 2.0 * t;  // each off-diagonal pair once for (j, i) and (i, j)
        }
        row_sum[b0 + j] += s;
      }
    });
  }
  double s = 0.0;
  for (double v : row_sum) s += v;
  return s;
}

Result Quantize(const float* w_in, const float* h_in, int64_t rows, int64_t cols, const Options& o) {
  Validate(rows, cols, o);
  const size_t C = static_cast<size_t>(cols);
  return Solve(w_in, rows, Factorize(std::vector<float>(h_in, h_in + C * C), cols, o), o);
}

Result Solve(const float* w_in, int64_t rows, const Factorization& f, const Options& o) {
  const int64_t cols = f.cols;
  Validate(rows, cols, o);
  QF_CHECK_MSG(f.permuted == (o.actorder != ActOrder::kNone) && f.dampening_frac == o.dampening_frac &&
                   f.solve_in_f64 == o.solve_in_f64,
               "GPTQ: factorization made with other options");
  const size_t R = static_cast<size_t>(rows), C = static_cast<size_t>(cols);
  const ParamSource source = SourceFor(o);
  const QParamRule rule = RuleFor(o.convention);
  const int64_t gs = o.group_size == -1 ? cols : std::min(o.group_size, cols);
  const int64_t groups = NumGroups(cols, o.group_size);
  const std::vector<int64_t>& perm = f.perm;

  Result res;
  res.rows = rows;
  res.cols = cols;
  res.groups = groups;
  res.group_size = gs;
  res.dead_columns = f.dead_columns;
  res.cholesky_failed = f.cholesky_failed;
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

  // 2. Reference static groups: from W after the dead-column fix, natural order.
  if (source == ParamSource::kUpfrontNatural && o.convention == Convention::kReference) {
    std::vector<float> wn(w_in, w_in + R * C);
    for (size_t r = 0; r < R; ++r) {
      for (size_t j = 0; j < C; ++j) {
        if (f.dead[j]) wn[r * C + j] = 0.0f;
      }
    }
    GroupParams(wn.data(), rows, cols, gs, nullptr, o, params);
  }
  if (source == ParamSource::kUpfrontPermuted) {
    GroupParams(w_in, rows, cols, gs, perm.data(), o, params);
  }

  // 3. The working copy in processing order, dead columns (W[:, j] = 0 where diag(H) == 0) zeroed.
  std::vector<float> w(R * C);
  ThreadPool::Global().ParallelFor(R, kRowGrain, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const float* src = w_in + r * C;
      float* dst = w.data() + r * C;
      for (size_t k = 0; k < C; ++k) {
        const size_t j = static_cast<size_t>(perm[k]);
        dst[k] = f.dead[j] ? 0.0f : src[j];
      }
    }
  });
  if (f.permuted) res.perm = perm;

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

  // 4. Column loop in blocks with lazy updates. Rows are independent given U, so each block's column loop
  // runs row-parallel on a private copy of the block; the update of later columns is one sgemm. U is the
  // strict upper triangle of f.m plus f.u_diag; the loop and the sgemm read nothing else.
  const float* u = f.m.data();
  res.codes.assign(R * C, 0);
  if (o.keep_wq) res.wq.assign(R * C, 0.0f);
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
          const float q = RoundDequant(Dequantize(code, p), o.dequant_round);
          const size_t orig = static_cast<size_t>(perm[static_cast<size_t>(k)]);
          res.codes[r * C + orig] = static_cast<uint8_t>(code);  // 0 .. 2^bits - 1, bits <= 8
          if (o.keep_wq) res.wq[r * C + orig] = q;
          const float* urow = u + static_cast<size_t>(k) * C;
          const float d = f.u_diag[static_cast<size_t>(k)];
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
                  u + static_cast<size_t>(b0) * C + static_cast<size_t>(b1), static_cast<int>(cols), 1.0f,
                  w.data() + b1, static_cast<int>(cols));
    }
  }
  for (double l : row_loss) res.loss += l;

  // 5. Outputs in original column order.
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
