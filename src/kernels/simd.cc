// Highway implementations of kernels/simd.h, compiled once per target and dispatched at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Highway before everything else that uses it, as foreach_target requires.
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/simd.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"

HWY_BEFORE_NAMESPACE();
namespace qforge::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Loads Lanes(DF) weights starting at p as floats.
struct LoadF32 {
  const float* base;
  HWY_INLINE hn::Vec<DF> operator()(DF d, int64_t i) const { return hn::LoadU(d, base + i); }
  HWY_INLINE float Scalar(int64_t i) const { return base[i]; }
};
struct LoadBf16 {
  const uint16_t* base;
  HWY_INLINE hn::Vec<DF> operator()(DF d, int64_t i) const {
    const hn::RebindToUnsigned<DF> du32;
    const hn::Rebind<uint16_t, DF> du16;
    const auto wide = hn::PromoteTo(du32, hn::LoadU(du16, base + i));
    return hn::BitCast(d, hn::ShiftLeft<16>(wide));
  }
  HWY_INLINE float Scalar(int64_t i) const { return Bf16ToF32(base[i]); }
};
struct LoadF16 {
  const uint16_t* base;
  HWY_INLINE hn::Vec<DF> operator()(DF d, int64_t i) const {
    const hn::Rebind<hwy::float16_t, DF> df16;
    return hn::PromoteTo(d, hn::LoadU(df16, reinterpret_cast<const hwy::float16_t*>(base + i)));
  }
  HWY_INLINE float Scalar(int64_t i) const { return F16ToF32(base[i]); }
};

// Four rows at a time share each load of x: four independent accumulator chains.
template <class RowLoader, typename T>
HWY_INLINE void Gemv(const T* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  const DF d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k_vec = k - k % n;
  int64_t r = 0;
  for (; r + 4 <= m; r += 4) {
    const RowLoader l0{w + r * ldw}, l1{w + (r + 1) * ldw}, l2{w + (r + 2) * ldw}, l3{w + (r + 3) * ldw};
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    for (int64_t i = 0; i < k_vec; i += n) {
      const auto xv = hn::LoadU(d, x + i);
      a0 = hn::MulAdd(l0(d, i), xv, a0);
      a1 = hn::MulAdd(l1(d, i), xv, a1);
      a2 = hn::MulAdd(l2(d, i), xv, a2);
      a3 = hn::MulAdd(l3(d, i), xv, a3);
    }
    float s0 = hn::GetLane(hn::SumOfLanes(d, a0)), s1 = hn::GetLane(hn::SumOfLanes(d, a1));
    float s2 = hn::GetLane(hn::SumOfLanes(d, a2)), s3 = hn::GetLane(hn::SumOfLanes(d, a3));
    for (int64_t i = k_vec; i < k; ++i) {
      s0 += l0.Scalar(i) * x[i];
      s1 += l1.Scalar(i) * x[i];
      s2 += l2.Scalar(i) * x[i];
      s3 += l3.Scalar(i) * x[i];
    }
    y[r] = s0;
    y[r + 1] = s1;
    y[r + 2] = s2;
    y[r + 3] = s3;
  }
  for (; r < m; ++r) {
    const RowLoader l0{w + r * ldw};
    auto a0 = hn::Zero(d);
    for (int64_t i = 0; i < k_vec; i += n) a0 = hn::MulAdd(l0(d, i), hn::LoadU(d, x + i), a0);
    float s0 = hn::GetLane(hn::SumOfLanes(d, a0));
    for (int64_t i = k_vec; i < k; ++i) s0 += l0.Scalar(i) * x[i];
    y[r] = s0;
  }
}

void GemvF32Impl(const float* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  Gemv<LoadF32>(w, ldw, m, x, k, y);
}
void GemvBf16Impl(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  Gemv<LoadBf16>(w, ldw, m, x, k, y);
}
void GemvF16Impl(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  Gemv<LoadF16>(w, ldw, m, x, k, y);
}

void WeightedSumRowsImpl(const float* rows, int64_t ld, int64_t n_rows, const float* p, int64_t k, float* out) {
  const DF d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k_vec = k - k % n;
  for (int64_t i = 0; i < k_vec; i += n) {
    auto acc = hn::LoadU(d, out + i);
    for (int64_t r = 0; r < n_rows; ++r) acc = hn::MulAdd(hn::Set(d, p[r]), hn::LoadU(d, rows + r * ld + i), acc);
    hn::StoreU(acc, d, out + i);
  }
  for (int64_t i = k_vec; i < k; ++i) {
    float acc = out[i];
    for (int64_t r = 0; r < n_rows; ++r) acc += p[r] * rows[r * ld + i];
    out[i] = acc;
  }
}

void RmsNormRowImpl(const float* x, const float* w, int64_t len, float eps, float* out) {
  // The mean of squares is summed in double from the float-rounded squares and the scale is formed in float:
  // ggml's rms_norm order (llama.cpp), so a GGUF model's normalised activations, and with them their int8
  // codes, are bit-identical to llama.cpp's (pipeline/convert_oracle_test). O(len) next to the O(len²)
  // products that follow, so the sum stays a scalar loop.
  double ss = 0;
  for (int64_t i = 0; i < len; ++i) ss += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(ss / static_cast<double>(len));
  const float scale = 1.0f / std::sqrt(mean + eps);
  const DF d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k_vec = len - len % n;
  const auto vs = hn::Set(d, scale);
  for (int64_t i = 0; i < k_vec; i += n) {
    hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(d, x + i), vs), hn::LoadU(d, w + i)), d, out + i);
  }
  for (int64_t i = k_vec; i < len; ++i) out[i] = x[i] * scale * w[i];
}

void SiluMulImpl(const float* g, const float* u, int64_t len, float* out) {
  const DF d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k_vec = len - len % n;
  const auto one = hn::Set(d, 1.0f);
  for (int64_t i = 0; i < k_vec; i += n) {
    const auto gv = hn::LoadU(d, g + i);
    const auto sig = hn::Div(one, hn::Add(one, hn::Exp(d, hn::Neg(gv))));
    hn::StoreU(hn::Mul(hn::Mul(gv, sig), hn::LoadU(d, u + i)), d, out + i);
  }
  for (int64_t i = k_vec; i < len; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void SoftmaxRowImpl(float* x, int64_t len) {
  if (len <= 0) return;
  const DF d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k_vec = len - len % n;
  float mx = x[0];
  if (k_vec > 0) {
    auto vmax = hn::LoadU(d, x);
    for (int64_t i = n; i < k_vec; i += n) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
    mx = std::max(mx, hn::GetLane(hn::MaxOfLanes(d, vmax)));
  }
  for (int64_t i = k_vec; i < len; ++i) mx = std::max(mx, x[i]);
  const auto vmx = hn::Set(d, mx);
  auto vsum = hn::Zero(d);
  for (int64_t i = 0; i < k_vec; i += n) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), vmx));
    vsum = hn::Add(vsum, e);
    hn::StoreU(e, d, x + i);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, vsum));
  for (int64_t i = k_vec; i < len; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const auto vinv = hn::Set(d, inv);
  for (int64_t i = 0; i < k_vec; i += n) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vinv), d, x + i);
  for (int64_t i = k_vec; i < len; ++i) x[i] *= inv;
}

template <class RowLoader>
HWY_INLINE void Widen(const uint16_t* src, float* dst, int64_t len) {
  const DF d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k_vec = len - len % n;
  const RowLoader l{src};
  for (int64_t i = 0; i < k_vec; i += n) hn::StoreU(l(d, i), d, dst + i);
  for (int64_t i = k_vec; i < len; ++i) dst[i] = l.Scalar(i);
}
void Bf16ToF32RowImpl(const uint16_t* src, float* dst, int64_t n) { Widen<LoadBf16>(src, dst, n); }
void F16ToF32RowImpl(const uint16_t* src, float* dst, int64_t n) { Widen<LoadF16>(src, dst, n); }

}  // namespace HWY_NAMESPACE
}  // namespace qforge::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qforge::kernels {

HWY_EXPORT(GemvF32Impl);
HWY_EXPORT(GemvBf16Impl);
HWY_EXPORT(GemvF16Impl);
HWY_EXPORT(WeightedSumRowsImpl);
HWY_EXPORT(RmsNormRowImpl);
HWY_EXPORT(SiluMulImpl);
HWY_EXPORT(SoftmaxRowImpl);
HWY_EXPORT(Bf16ToF32RowImpl);
HWY_EXPORT(F16ToF32RowImpl);

void GemvF32(const float* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  HWY_DYNAMIC_DISPATCH(GemvF32Impl)(w, ldw, m, x, k, y);
}
void GemvBf16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  HWY_DYNAMIC_DISPATCH(GemvBf16Impl)(w, ldw, m, x, k, y);
}
void GemvF16(const uint16_t* w, int64_t ldw, int64_t m, const float* x, int64_t k, float* y) {
  HWY_DYNAMIC_DISPATCH(GemvF16Impl)(w, ldw, m, x, k, y);
}
void WeightedSumRows(const float* rows, int64_t ld, int64_t n_rows, const float* p, int64_t k, float* out) {
  HWY_DYNAMIC_DISPATCH(WeightedSumRowsImpl)(rows, ld, n_rows, p, k, out);
}
void RmsNormRow(const float* x, const float* w, int64_t n, float eps, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNormRowImpl)(x, w, n, eps, out);
}
void SiluMul(const float* g, const float* u, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SiluMulImpl)(g, u, n, out);
}
void SoftmaxRow(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(SoftmaxRowImpl)(x, n); }
void Bf16ToF32Row(const uint16_t* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(Bf16ToF32RowImpl)(src, dst, n); }
void F16ToF32Row(const uint16_t* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(F16ToF32RowImpl)(src, dst, n); }

}  // namespace qforge::kernels
#endif  // HWY_ONCE
