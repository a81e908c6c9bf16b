// Highway SIMD element kernels of int_quant.h, dispatched once per span (a row group) to the best target.
// They must equal the scalar twins in int_quant.cc bit for bit: f32 division is correctly rounded on every
// target, bf16 rounding is done with the same integer trick as core/half.h, Round() is half-to-even.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codecs/int/int_quant_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>

#include "hwy/highway.h"

#include "codecs/int/int_quant.h"

HWY_BEFORE_NAMESPACE();
namespace qforge::codecs::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

MinMax MinMaxImpl(const float* x, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  if (n < lanes) return MinMaxScalar(x, n);
  auto vmin = hn::LoadU(d, x), vmax = vmin, poison = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(d, x + i);
    vmin = hn::Min(vmin, v);
    vmax = hn::Max(vmax, v);
    poison = hn::Add(poison, hn::Sub(v, v));
  }
  MinMax m{hn::GetLane(hn::MinOfLanes(d, vmin)), hn::GetLane(hn::MaxOfLanes(d, vmax)), true};
  float p = hn::GetLane(hn::SumOfLanes(d, poison));
  for (; i < n; ++i) {
    m.min = std::min(m.min, x[i]);
    m.max = std::max(m.max, x[i]);
    p += x[i] - x[i];
  }
  m.finite = !std::isnan(p);
  return m;
}

// Rounds f32 lanes to the nearest bf16 (ties to even), for finite inputs; same arithmetic as F32ToBf16.
template <class D, class V>
HWY_INLINE V RoundBf16Lanes(D d, V v) {
  const hn::RebindToUnsigned<D> du;
  auto u = hn::BitCast(du, v);
  const auto lsb = hn::And(hn::ShiftRight<16>(u), hn::Set(du, 1u));
  u = hn::Add(u, hn::Add(hn::Set(du, 0x7fffu), lsb));
  u = hn::And(u, hn::Set(du, 0xffff0000u));
  return hn::BitCast(d, u);
}

void QuantizeSpanImpl(const float* x, int64_t n, float s, int zp, bool asym, DType dt, int qmin, int qmax,
                      int8_t* out) {
  if (dt != DType::kF32 && dt != DType::kBF16) return QuantizeSpanScalar(x, n, s, zp, asym, dt, qmin, qmax, out);
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vs = hn::Set(d, s), vz = hn::Set(d, static_cast<float>(zp));
  const auto vlo = hn::Set(d, static_cast<float>(qmin)), vhi = hn::Set(d, static_cast<float>(qmax));
  const bool bf16 = dt == DType::kBF16;
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    auto t = hn::Div(hn::LoadU(d, x + i), vs);
    if (bf16) t = RoundBf16Lanes(d, t);
    if (asym) {
      t = hn::Add(t, vz);
      if (bf16) t = RoundBf16Lanes(d, t);
    }
    t = hn::Min(hn::Max(t, vlo), vhi);
    const auto q = hn::ConvertTo(di, hn::Round(t));
    hn::StoreU(hn::DemoteTo(d8, q), d8, out + i);
  }
  if (i < n) QuantizeSpanScalar(x + i, n - i, s, zp, asym, dt, qmin, qmax, out + i);
}

}  // namespace HWY_NAMESPACE
}  // namespace qforge::codecs::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qforge::codecs::detail {
HWY_EXPORT(MinMaxImpl);
HWY_EXPORT(QuantizeSpanImpl);

MinMax MinMaxSimd(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(MinMaxImpl)(x, n); }
void QuantizeSpanSimd(const float* x, int64_t n, float s, int zp, bool asym, DType dt, int qmin, int qmax,
                      int8_t* out) {
  HWY_DYNAMIC_DISPATCH(QuantizeSpanImpl)(x, n, s, zp, asym, dt, qmin, qmax, out);
}
}  // namespace qforge::codecs::detail
#endif  // HWY_ONCE
