// Highway decoders for Q8_0, Q4_0, Q4_K and Q6_K, compiled for every Highway target and dispatched at the
// row level. Each performs exactly the scalar twin's f32 operations (int -> float, then the same products
// and differences in the same order, no FMA), so results are bit-identical to DequantizeRow<T>.
#include "codecs/ggml/fp_strict.h"

#include <cstdint>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codecs/ggml/dequantize_simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/quant_math.h"

HWY_BEFORE_NAMESPACE();
namespace qforge::codecs::ggml {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 16 float lanes, so a vector never straddles a 16-element sub-block (Q6_K) and divides 32.
using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;
using DU8 = hn::Rebind<uint8_t, DF>;
using DI8 = hn::Rebind<int8_t, DF>;

void DequantQ8_0(const void* src, float* HWY_RESTRICT dst, int64_t n) {
  const DF df;
  const DI8 di8;
  const DI di;
  const size_t N = hn::Lanes(df);
  const auto* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < n / kQk32; ++b, dst += kQk32) {
    const auto d = hn::Set(df, FromHalf(x[b].d.get()));
    for (size_t j = 0; j < kQk32; j += N) {
      const auto q = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(di8, x[b].qs + j)));
      hn::StoreU(hn::Mul(q, d), df, dst + j);
    }
  }
}

void DequantQ4_0(const void* src, float* HWY_RESTRICT dst, int64_t n) {
  const DF df;
  const DU8 du8;
  const DI di;
  const size_t N = hn::Lanes(df);
  const auto* x = static_cast<const BlockQ4_0*>(src);
  const auto k15 = hn::Set(di, 15), k8 = hn::Set(di, 8);
  for (int64_t b = 0; b < n / kQk32; ++b, dst += kQk32) {
    const auto d = hn::Set(df, FromHalf(x[b].d.get()));
    for (size_t j = 0; j < kQk32 / 2; j += N) {
      const auto v = hn::PromoteTo(di, hn::LoadU(du8, x[b].qs + j));
      const auto lo = hn::ConvertTo(df, hn::Sub(hn::And(v, k15), k8));
      const auto hi = hn::ConvertTo(df, hn::Sub(hn::ShiftRight<4>(v), k8));
      hn::StoreU(hn::Mul(lo, d), df, dst + j);
      hn::StoreU(hn::Mul(hi, d), df, dst + kQk32 / 2 + j);
    }
  }
}

void DequantQ4_K(const void* src, float* HWY_RESTRICT dst, int64_t n) {
  const DF df;
  const DU8 du8;
  const DI di;
  const size_t N = hn::Lanes(df);
  const auto* x = static_cast<const BlockQ4_K*>(src);
  const auto k15 = hn::Set(di, 15);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = FromHalf(x[b].d.get()), min = FromHalf(x[b].dmin.get());
    for (int c = 0; c < 4; ++c, dst += 64) {
      uint8_t sc, m;
      GetScaleMinK4(2 * c, x[b].scales, &sc, &m);
      const auto d1 = hn::Set(df, d * static_cast<float>(sc)), m1 = hn::Set(df, min * static_cast<float>(m));
      GetScaleMinK4(2 * c + 1, x[b].scales, &sc, &m);
      const auto d2 = hn::Set(df, d * static_cast<float>(sc)), m2 = hn::Set(df, min * static_cast<float>(m));
      const uint8_t* q = x[b].qs + 32 * c;
      for (size_t l = 0; l < 32; l += N) {
        const auto v = hn::PromoteTo(di, hn::LoadU(du8, q + l));
        const auto lo = hn::ConvertTo(df, hn::And(v, k15));
        const auto hi = hn::ConvertTo(df, hn::ShiftRight<4>(v));
        hn::StoreU(hn::Sub(hn::Mul(d1, lo), m1), df, dst + l);
        hn::StoreU(hn::Sub(hn::Mul(d2, hi), m2), df, dst + 32 + l);
      }
    }
  }
}

void DequantQ6_K(const void* src, float* HWY_RESTRICT dst, int64_t n) {
  const DF df;
  const DU8 du8;
  const DI di;
  const size_t N = hn::Lanes(df);
  const auto* x = static_cast<const BlockQ6_K*>(src);
  const auto k15 = hn::Set(di, 15), k3 = hn::Set(di, 3), k32 = hn::Set(di, 32);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = FromHalf(x[b].d.get());
    for (int h = 0; h < 2; ++h, dst += 128) {
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      const int8_t* sc = x[b].scales + 8 * h;
      for (size_t l = 0; l < 32; l += N) {
        const size_t is = l / 16;
        const auto vl0 = hn::PromoteTo(di, hn::LoadU(du8, ql + l));
        const auto vl1 = hn::PromoteTo(di, hn::LoadU(du8, ql + 32 + l));
        const auto vh = hn::PromoteTo(di, hn::LoadU(du8, qh + l));
        const auto q1 = hn::Sub(hn::Or(hn::And(vl0, k15), hn::ShiftLeft<4>(hn::And(vh, k3))), k32);
        const auto q2 = hn::Sub(hn::Or(hn::And(vl1, k15), hn::ShiftLeft<4>(hn::And(hn::ShiftRight<2>(vh), k3))), k32);
        const auto q3 = hn::Sub(hn::Or(hn::ShiftRight<4>(vl0), hn::ShiftLeft<4>(hn::And(hn::ShiftRight<4>(vh), k3))), k32);
        const auto q4 = hn::Sub(hn::Or(hn::ShiftRight<4>(vl1), hn::ShiftLeft<4>(hn::ShiftRight<6>(vh))), k32);
        const auto s1 = hn::Set(df, d * static_cast<float>(sc[is]));
        const auto s2 = hn::Set(df, d * static_cast<float>(sc[is + 2]));
        const auto s3 = hn::Set(df, d * static_cast<float>(sc[is + 4]));
        const auto s4 = hn::Set(df, d * static_cast<float>(sc[is + 6]));
        hn::StoreU(hn::Mul(s1, hn::ConvertTo(df, q1)), df, dst + l);
        hn::StoreU(hn::Mul(s2, hn::ConvertTo(df, q2)), df, dst + 32 + l);
        hn::StoreU(hn::Mul(s3, hn::ConvertTo(df, q3)), df, dst + 64 + l);
        hn::StoreU(hn::Mul(s4, hn::ConvertTo(df, q4)), df, dst + 96 + l);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace qforge::codecs::ggml
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qforge::codecs::ggml {

HWY_EXPORT(DequantQ8_0);
HWY_EXPORT(DequantQ4_0);
HWY_EXPORT(DequantQ4_K);
HWY_EXPORT(DequantQ6_K);

void DequantizeRowQ8_0Simd(const void* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(DequantQ8_0)(src, dst, n); }
void DequantizeRowQ4_0Simd(const void* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(DequantQ4_0)(src, dst, n); }
void DequantizeRowQ4_KSimd(const void* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(DequantQ4_K)(src, dst, n); }
void DequantizeRowQ6_KSimd(const void* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(DequantQ6_K)(src, dst, n); }

}  // namespace qforge::codecs::ggml
#endif  // HWY_ONCE
