#include "codecs/int/int_quant.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"

namespace qforge::codecs {
namespace {

// Work per ParallelFor chunk, in elements: large enough to amortise the dispatch.
constexpr int64_t kGrainElements = 1 << 16;

// One row of a float weight as f32: points into the tensor for F32, into `buf` otherwise.
const float* RowAsF32(const Tensor& w, int64_t row, std::vector<float>& buf) {
  const int64_t cols = w.dim(1);
  const std::byte* base = w.bytes() + static_cast<size_t>(row * cols) * Traits(w.dtype()).type_size;
  switch (w.dtype()) {
    case DType::kF32: return reinterpret_cast<const float*>(base);
    case DType::kBF16:
      buf.resize(static_cast<size_t>(cols));
      Bf16ToF32(reinterpret_cast<const uint16_t*>(base), buf.data(), static_cast<size_t>(cols));
      return buf.data();
    case DType::kF16:
      buf.resize(static_cast<size_t>(cols));
      F16ToF32(reinterpret_cast<const uint16_t*>(base), buf.data(), static_cast<size_t>(cols));
      return buf.data();
    default: QF_CHECK_MSG(false, "dtype {}", Name(w.dtype()));
  }
  return nullptr;
}

void CheckWeight(const Tensor& w, std::string_view name) {
  if (w.rank() != 2) Fail("{}: cannot quantize a rank-{} tensor {}; expected a 2-D Linear weight [out, in]", name,
                          w.rank(), ShapeToString(w.shape()));
  if (w.dtype() != DType::kF32 && w.dtype() != DType::kBF16 && w.dtype() != DType::kF16)
    Fail("{}: cannot quantize a {} tensor; expected F32, BF16 or F16", name, Name(w.dtype()));
  QF_CHECK_MSG(w.contiguous(), "{} is not contiguous", name);
}

size_t Grain(int64_t cols) { return static_cast<size_t>(std::max<int64_t>(1, kGrainElements / std::max<int64_t>(cols, 1))); }

detail::MinMax RunMinMax(const float* x, int64_t n, IntImpl impl) {
  return impl == IntImpl::kSimd ? detail::MinMaxSimd(x, n) : detail::MinMaxScalar(x, n);
}

void FailNonFinite(std::string_view name, int64_t row) {
  Fail("{}: row {} contains NaN or infinity; cannot quantize (is the checkpoint corrupt?)", name, row);
}

// Scale and zero point of one group from its observed extremes (FORMATS.md §2.7).
void GroupParams(float mn, float mx, const IntQuantSpec& spec, DType dt, float* scale, int8_t* zero) {
  const float lo = std::min(mn, 0.0f), hi = std::max(mx, 0.0f);
  const int qmin = spec.qmin(), qmax = spec.qmax();
  float s;
  if (spec.symmetric) {
    const float absmax = std::max(-lo, hi);
    s = RoundToDType(absmax / (static_cast<float>(qmax - qmin) / 2.0f), dt);
  } else {
    s = RoundToDType(RoundToDType(hi - lo, dt) / static_cast<float>(qmax - qmin), dt);
  }
  if (s == 0.0f) s = DTypeEpsilon(dt);
  *scale = s;
  if (!spec.symmetric) {
    float z = RoundToDType(static_cast<float>(qmin) - RoundToDType(lo / s, dt), dt);
    z = std::clamp(z, static_cast<float>(qmin), static_cast<float>(qmax));
    *zero = static_cast<int8_t>(std::nearbyint(z));
  }
}

}  // namespace

int64_t IntQuantSpec::NumGroups(int64_t cols) const {
  const int64_t g = GroupCols(cols);
  return g <= 0 ? 1 : std::max<int64_t>(1, (cols + g - 1) / g);
}

float DTypeEpsilon(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return 0.0078125f;             // 2^-7
    case DType::kF16: return 0.0009765625f;           // 2^-10
    case DType::kF32: return 1.1920928955078125e-7f;  // 2^-23
    default: QF_CHECK_MSG(false, "dtype {}", Name(dtype));
  }
  return 0;
}

float RoundToDType(float f, DType dtype) {
  switch (dtype) {
    case DType::kBF16: return RoundBf16(f);
    case DType::kF16: return RoundF16(f);
    default: return f;
  }
}

void CheckSpec(const IntQuantSpec& spec, int64_t rows, int64_t cols, std::string_view name) {
  if (spec.bits < kMinIntBits || spec.bits > kMaxIntBits)
    Fail("{}: num_bits {} is not supported; expected {}..{}", name, spec.bits, kMinIntBits, kMaxIntBits);
  if (spec.strategy == IntStrategy::kGroup && spec.group_size <= 0)
    Fail("{}: group size {} must be positive", name, spec.group_size);
  if (rows <= 0 || cols <= 0) Fail("{}: cannot quantize an empty tensor [{}, {}]", name, rows, cols);
}

QParams ComputeQParams(const Tensor& w, const IntQuantSpec& spec, std::string_view name, IntImpl impl) {
  CheckWeight(w, name);
  const int64_t rows = w.dim(0), cols = w.dim(1);
  CheckSpec(spec, rows, cols, name);
  QParams p;
  p.dtype = w.dtype();
  p.param_rows = spec.ParamRows(rows);
  p.groups = spec.NumGroups(cols);
  p.scales.assign(static_cast<size_t>(p.param_rows * p.groups), 0.0f);
  if (!spec.symmetric) p.zeros.assign(p.scales.size(), 0);
  const int64_t gcols = spec.GroupCols(cols);
  auto& pool = ThreadPool::Global();
  if (spec.strategy == IntStrategy::kTensor) {
    std::mutex mu;
    float mn = 0, mx = 0;
    pool.ParallelFor(static_cast<size_t>(rows), Grain(cols), [&](size_t b, size_t e) {
      std::vector<float> buf;
      float lmn = 0, lmx = 0;  // lo/hi include 0 anyway
      for (size_t r = b; r < e; ++r) {
        const auto m = RunMinMax(RowAsF32(w, static_cast<int64_t>(r), buf), cols, impl);
        if (!m.finite) FailNonFinite(name, static_cast<int64_t>(r));
        lmn = std::min(lmn, m.min);
        lmx = std::max(lmx, m.max);
      }
      std::lock_guard lock(mu);
      mn = std::min(mn, lmn);
      mx = std::max(mx, lmx);
    });
    int8_t z = 0;
    GroupParams(mn, mx, spec, p.dtype, &p.scales[0], &z);
    if (!spec.symmetric) p.zeros[0] = z;
    return p;
  }
  pool.ParallelFor(static_cast<size_t>(rows), Grain(cols), [&](size_t b, size_t e) {
    std::vector<float> buf;
    for (size_t r = b; r < e; ++r) {
      const float* x = RowAsF32(w, static_cast<int64_t>(r), buf);
      for (int64_t g = 0; g < p.groups; ++g) {
        const int64_t c0 = g * gcols, n = std::min(cols, c0 + gcols) - c0;
        const auto m = RunMinMax(x + c0, n, impl);
        if (!m.finite) FailNonFinite(name, static_cast<int64_t>(r));
        const size_t k = r * static_cast<size_t>(p.groups) + static_cast<size_t>(g);
        int8_t z = 0;
        GroupParams(m.min, m.max, spec, p.dtype, &p.scales[k], &z);
        if (!spec.symmetric) p.zeros[k] = z;
      }
    }
  });
  return p;
}

std::vector<int8_t> QuantizeWithParams(const Tensor& w, const IntQuantSpec& spec, const QParams& p,
                                       std::string_view name, IntImpl impl) {
  CheckWeight(w, name);
  const int64_t rows = w.dim(0), cols = w.dim(1);
  CheckSpec(spec, rows, cols, name);
  QF_CHECK(p.dtype == w.dtype() && p.param_rows == spec.ParamRows(rows) && p.groups == spec.NumGroups(cols));
  std::vector<int8_t> codes(static_cast<size_t>(rows * cols));
  const int64_t gcols = spec.GroupCols(cols);
  const bool asym = !spec.symmetric;
  ThreadPool::Global().ParallelFor(static_cast<size_t>(rows), Grain(cols), [&](size_t b, size_t e) {
    std::vector<float> buf;
    for (size_t r = b; r < e; ++r) {
      const int64_t row = static_cast<int64_t>(r);
      const float* x = RowAsF32(w, row, buf);
      int8_t* out = codes.data() + r * static_cast<size_t>(cols);
      for (int64_t g = 0; g < p.groups; ++g) {
        const int64_t c0 = g * gcols, n = std::min(cols, c0 + gcols) - c0;
        const float s = p.scale(row, g);
        const int zp = p.zero(row, g);
        if (impl == IntImpl::kSimd)
          detail::QuantizeSpanSimd(x + c0, n, s, zp, asym, p.dtype, spec.qmin(), spec.qmax(), out + c0);
        else
          detail::QuantizeSpanScalar(x + c0, n, s, zp, asym, p.dtype, spec.qmin(), spec.qmax(), out + c0);
      }
    }
  });
  return codes;
}

QuantizedMatrix QuantizeMatrix(const Tensor& w, const IntQuantSpec& spec, std::string_view name, IntImpl impl) {
  QuantizedMatrix q;
  q.params = ComputeQParams(w, spec, name, impl);
  q.codes = QuantizeWithParams(w, spec, q.params, name, impl);
  q.rows = w.dim(0);
  q.cols = w.dim(1);
  q.spec = spec;
  return q;
}

void DequantizeRow(const int8_t* codes, int64_t row, int64_t cols, const IntQuantSpec& spec, const QParams& p,
                   float* out) {
  const int64_t gcols = spec.GroupCols(cols);
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t g = c / gcols;
    const float diff = static_cast<float>(codes[c] - p.zero(row, g));  // |diff| <= 255: exact in every dtype
    out[c] = RoundToDType(diff * p.scale(row, g), p.dtype);
  }
}

Tensor DequantizeMatrix(const QuantizedMatrix& q) {
  Tensor t = Tensor::Zeros(q.params.dtype, {q.rows, q.cols});
  std::vector<float> row(static_cast<size_t>(q.cols));
  for (int64_t r = 0; r < q.rows; ++r) {
    DequantizeRow(q.codes.data() + r * q.cols, r, q.cols, q.spec, q.params, row.data());
    switch (q.params.dtype) {
      case DType::kF32: std::copy(row.begin(), row.end(), t.mutable_data<float>() + r * q.cols); break;
      case DType::kBF16: F32ToBf16(row.data(), t.mutable_data<uint16_t>() + r * q.cols, row.size()); break;
      case DType::kF16: F32ToF16(row.data(), t.mutable_data<uint16_t>() + r * q.cols, row.size()); break;
      default: QF_CHECK(false);
    }
  }
  return t;
}

namespace detail {

MinMax MinMaxScalar(const float* x, int64_t n) {
  MinMax m{0.0f, 0.0f, true};
  if (n <= 0) return m;
  m.min = m.max = x[0];
  float poison = 0.0f;  // x - x is 0 for finite x and NaN otherwise
  for (int64_t i = 0; i < n; ++i) {
    m.min = std::min(m.min, x[i]);
    m.max = std::max(m.max, x[i]);
    poison += x[i] - x[i];
  }
  m.finite = !std::isnan(poison);
  return m;
}

void QuantizeSpanScalar(const float* x, int64_t n, float s, int zp, bool asym, DType dt, int qmin, int qmax,
                        int8_t* out) {
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax), z = static_cast<float>(zp);
  for (int64_t i = 0; i < n; ++i) {
    float t = RoundToDType(x[i] / s, dt);
    if (asym) t = RoundToDType(t + z, dt);
    t = std::min(std::max(t, lo), hi);
    out[i] = static_cast<int8_t>(std::nearbyint(t));
  }
}

}  // namespace detail
}  // namespace qforge::codecs
