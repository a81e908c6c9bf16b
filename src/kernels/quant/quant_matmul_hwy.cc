// Highway implementations of kernels/quant/quant_matmul.h, compiled once per target (AVX3_DL included, for
// VNNI) and dispatched once per row tile. Target intrinsics only where Highway 1.0.3 lacks the op (int8
// dot products); each such path is checked against the scalar twin on every target (quant_matmul_test.cc).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL  // Debian's Highway 1.0.3 builds the VNNI target only on request.
#endif
// GCC 12 reports the deliberately undefined upper halves in its own AVX-512 extract intrinsics
// (_mm256_undefined_pd) as uninitialized once they are inlined here: a known false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant/quant_matmul_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Highway before everything else that uses it, as foreach_target requires.
#include "hwy/highway.h"
#include "kernels/quant/quant_matmul.h"

#if HWY_ARCH_X86
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

HWY_BEFORE_NAMESPACE();
namespace qforge::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DU = hn::RebindToUnsigned<DF>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;

int64_t LanesF32Impl() { return static_cast<int64_t>(hn::Lanes(DF())); }

// ---------------------------------------------------------------------------------------------------- W4A16
// xp is x permuted per token so that one vector of packed words lines up with one vector of activations per
// nibble: in block b of B = 8L elements, xp[b·B + j·L + w] = x[b·B + 8w + j] (w: word lane, j: nibble).
// Nibbles are decoded in registers (shift, and, convert) and FMA'd unscaled into per-group accumulators for R
// rows × NT tokens; each group then adds s · acc. The code offset is folded out once per group:
//   Σ_i s (nib_i − 8) x_i = s · Σ_i nib_i x_i − 8 s · xsum_g      (xsum: [n, groups] group sums of x)
template <int R, int NT>
HWY_INLINE void W4Block(const float* xp, const float* xsum, int64_t k, const uint32_t* packed, int64_t words,
                        const float* scales, int64_t groups, int64_t group, int64_t r, float* y, int64_t m) {
  const DF df;
  const DU du;
  const DI di;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df)), B = 8 * L, bpg = group / B;
  const auto mask = hn::Set(du, 0xFu);
  VF acc[R][NT];
  float corr[R][NT];
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t) {
      acc[q][t] = hn::Zero(df);
      corr[q][t] = 0.0f;
    }
  for (int64_t g = 0; g < groups; ++g) {
    VF ga[R][NT];
    for (int q = 0; q < R; ++q)
      for (int t = 0; t < NT; ++t) ga[q][t] = hn::Zero(df);
    for (int64_t b = g * bpg; b < (g + 1) * bpg; ++b) {
      hn::Vec<DU> wv[R];
      for (int q = 0; q < R; ++q) wv[q] = hn::LoadU(du, packed + (r + q) * words + b * L);
      for (int j = 0; j < 8; ++j) {
        VF xv[NT];
        for (int t = 0; t < NT; ++t) xv[t] = hn::LoadU(df, xp + t * k + b * B + j * L);
        for (int q = 0; q < R; ++q) {
          const auto nib = j == 7 ? hn::ShiftRight<28>(wv[q]) : hn::And(hn::ShiftRightSame(wv[q], 4 * j), mask);
          const VF c = hn::ConvertTo(df, hn::BitCast(di, nib));
          for (int t = 0; t < NT; ++t) ga[q][t] = hn::MulAdd(c, xv[t], ga[q][t]);
        }
      }
    }
    for (int q = 0; q < R; ++q) {
      const float sv = scales[(r + q) * groups + g];
      const VF s = hn::Set(df, sv);
      for (int t = 0; t < NT; ++t) {
        acc[q][t] = hn::MulAdd(s, ga[q][t], acc[q][t]);
        corr[q][t] += sv * xsum[t * groups + g];
      }
    }
  }
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t)
      y[t * m + r + q] = hn::GetLane(hn::SumOfLanes(df, acc[q][t])) - 8.0f * corr[q][t];
}

#undef QFORGE_W4_LUT  // foreach_target re-includes this file once per target
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// 16 float lanes: one vpermps looks a nibble up in a 16-entry table, since it reads only the low 4 bits of
// each 32-bit index. Per row and group the table holds s · (c − 8) for c = 0..15, so each nibble plane
// costs a shift, a lookup and the FMAs (no mask, no convert, no per-group correction):
//   y = Σ_g Σ_{i ∈ g} (s_g · code_i) · x_i
#define QFORGE_W4_LUT 1
template <int R, int NT>
HWY_INLINE void W4LutBlock(const float* xp, int64_t k, const uint32_t* packed, int64_t words, const float* scales,
                           int64_t groups, int64_t group, int64_t r, float* y, int64_t m) {
  constexpr int64_t L = 16, B = 8 * L;
  const int64_t bpg = group / B;
  const __m512 codes = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  __m512 acc[R][NT];
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t) acc[q][t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512 tab[R];
    for (int q = 0; q < R; ++q) tab[q] = _mm512_mul_ps(_mm512_set1_ps(scales[(r + q) * groups + g]), codes);
    for (int64_t b = g * bpg; b < (g + 1) * bpg; ++b) {
      __m512i wv[R];
      for (int q = 0; q < R; ++q) wv[q] = _mm512_loadu_si512(packed + (r + q) * words + b * L);
      for (int j = 0; j < 8; ++j) {
        __m512 xv[NT];
        for (int t = 0; t < NT; ++t) xv[t] = _mm512_loadu_ps(xp + t * k + b * B + j * L);
        for (int q = 0; q < R; ++q) {
          // (srl by a count register: srli needs an immediate once unoptimized, as in the ASan build.)
          const __m512i idx = j == 0 ? wv[q] : _mm512_srl_epi32(wv[q], _mm_cvtsi32_si128(4 * j));
          const __m512 c = _mm512_permutexvar_ps(idx, tab[q]);
          for (int t = 0; t < NT; ++t) acc[q][t] = _mm512_fmadd_ps(c, xv[t], acc[q][t]);
        }
      }
    }
  }
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t) y[t * m + r + q] = _mm512_reduce_add_ps(acc[q][t]);
}
#endif

template <int NT>
HWY_INLINE void W4Tokens(const float* xp, const float* xsum, int64_t k, const uint32_t* packed, const float* scales,
                         int64_t group, int64_t r0, int64_t r1, float* y, int64_t m) {
  const int64_t words = k / 8, groups = k / group;
  int64_t r = r0;
#ifdef QFORGE_W4_LUT
  // Rows per register tile. One token: 8 rows, i.e. 8 weight streams in flight; 6 rows (no spills) computed
  // faster from cache but streamed from DRAM at 60% of the 8-row speed (qforge bench, same run).
  constexpr int R = NT == 1 ? 8 : NT == 2 ? 4 : 2;
  (void)xsum;
  for (; r + R <= r1; r += R) W4LutBlock<R, NT>(xp, k, packed, words, scales, groups, group, r, y, m);
  for (; r < r1; ++r) W4LutBlock<1, NT>(xp, k, packed, words, scales, groups, group, r, y, m);
#else
  // Rows per register tile: the R·NT group and total accumulators must fit the register file.
  constexpr int R = NT == 1 ? 8 : NT == 2 ? 4 : 2;
  for (; r + R <= r1; r += R) W4Block<R, NT>(xp, xsum, k, packed, words, scales, groups, group, r, y, m);
  for (; r < r1; ++r) W4Block<1, NT>(xp, xsum, k, packed, words, scales, groups, group, r, y, m);
#endif
}

// Rows [r0, r1) for all n tokens (xp: n permuted rows of k; xsum: [n, k/group]; y: [n, m]).
void W4TileImpl(const float* xp, const float* xsum, int64_t n, int64_t k, const uint32_t* packed,
                const float* scales, int64_t group, int64_t r0, int64_t r1, float* y, int64_t m) {
  // Row blocks small enough that their packed words stay in L2 while every token tile passes over them.
  constexpr int64_t kRowBlock = 64;
  const int64_t groups = k / group;
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = std::min(r1, rb + kRowBlock);
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
      W4Tokens<4>(xp + t * k, xsum + t * groups, k, packed, scales, group, rb, re, y + t * m, m);
    }
    switch (n - t) {
      case 3: W4Tokens<3>(xp + t * k, xsum + t * groups, k, packed, scales, group, rb, re, y + t * m, m); break;
      case 2: W4Tokens<2>(xp + t * k, xsum + t * groups, k, packed, scales, group, rb, re, y + t * m, m); break;
      case 1: W4Tokens<1>(xp + t * k, xsum + t * groups, k, packed, scales, group, rb, re, y + t * m, m); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------- W8A16
template <int R, int NT>
HWY_INLINE void W8Block(const float* x, int64_t k, const int8_t* w, const float* scales, int64_t groups,
                        int64_t group, int64_t r, float* y, int64_t m) {
  const DF df;
  const DI di;
  const hn::Rebind<int8_t, DI> d8;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df));
  VF acc[R][NT];
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t) acc[q][t] = hn::Zero(df);
  for (int64_t g = 0; g < groups; ++g) {
    VF s[R];
    for (int q = 0; q < R; ++q) s[q] = hn::Set(df, scales[(r + q) * groups + g]);
    for (int64_t i = g * group; i < (g + 1) * group; i += L) {
      VF xv[NT];
      for (int t = 0; t < NT; ++t) xv[t] = hn::LoadU(df, x + t * k + i);
      for (int q = 0; q < R; ++q) {
        const VF c = hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, w + (r + q) * k + i))), s[q]);
        for (int t = 0; t < NT; ++t) acc[q][t] = hn::MulAdd(c, xv[t], acc[q][t]);
      }
    }
  }
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t) y[t * m + r + q] = hn::GetLane(hn::SumOfLanes(df, acc[q][t]));
}

template <int NT>
HWY_INLINE void W8Tokens(const float* x, int64_t k, const int8_t* w, const float* scales, int64_t group,
                         int64_t r0, int64_t r1, float* y, int64_t m) {
  const int64_t groups = k / group;
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) W8Block<4, NT>(x, k, w, scales, groups, group, r, y, m);
  for (; r < r1; ++r) W8Block<1, NT>(x, k, w, scales, groups, group, r, y, m);
}

void W8TileImpl(const float* x, int64_t n, int64_t k, const int8_t* w, const float* scales, int64_t group,
                int64_t r0, int64_t r1, float* y, int64_t m) {
  constexpr int64_t kRowBlock = 32;
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = std::min(r1, rb + kRowBlock);
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) W8Tokens<4>(x + t * k, k, w, scales, group, rb, re, y + t * m, m);
    switch (n - t) {
      case 3: W8Tokens<3>(x + t * k, k, w, scales, group, rb, re, y + t * m, m); break;
      case 2: W8Tokens<2>(x + t * k, k, w, scales, group, rb, re, y + t * m, m); break;
      case 1: W8Tokens<1>(x + t * k, k, w, scales, group, rb, re, y + t * m, m); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------------- activation quantization
float QuantizeActivationImpl(const float* x, int64_t k, int8_t* q) {
  const DF df;
  const DI di;
  const hn::Rebind<int8_t, DI> d8;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df)), kv = k - k % L;
  auto vmax = hn::Zero(df);
  for (int64_t i = 0; i < kv; i += L) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(df, x + i)));
  float absmax = kv > 0 ? hn::GetLane(hn::MaxOfLanes(df, vmax)) : 0.0f;
  for (int64_t i = kv; i < k; ++i) absmax = std::max(absmax, std::fabs(x[i]));
  if (absmax == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(k));
    return 0.0f;
  }
  const float inv = 127.0f / absmax;
  const auto vinv = hn::Set(df, inv);
  // Round is round-half-to-even; DemoteTo saturates to [−128, 127] like the twin's clamp.
  for (int64_t i = 0; i < kv; i += L) {
    const auto r = hn::Round(hn::Mul(hn::LoadU(df, x + i), vinv));
    hn::StoreU(hn::DemoteTo(d8, hn::ConvertTo(di, r)), d8, q + i);
  }
  for (int64_t i = kv; i < k; ++i) q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(x[i] * inv), -128.0f, 127.0f));
  return absmax / 127.0f;
}

// --------------------------------------------------------------------------------------------- int8 GEMM
// acc[t, r] = Σ a[t, i] · w[r, i] for tokens [0, n) and rows [r0, r1), in 4×4 register tiles.
// Preconditions: a ∈ [−127, 127] (QuantizeActivationI8 never yields −128), k ≤ kMaxW8A8K.
#undef QFORGE_I8_PACKED  // foreach_target re-includes this file once per target
#undef QFORGE_I8_PLAIN
#if HWY_TARGET == HWY_AVX3_DL
// Highway 1.0.3's AVX3_DL target string names avxvnni but not avx512vnni (its CPU detection requires VNNI):
// add it for the int8 code below.
#pragma GCC push_options
#pragma GCC target("avx512vnni")
#define QFORGE_POP_VNNI 1
// vpdpbusd multiplies unsigned by signed bytes: a + 128 (a XOR 0x80) times w, minus 128 · Σw afterwards.
constexpr int64_t kI8Vec = 64;
struct I8Acc {
  __m512i v;
  HWY_INLINE void Zero() { v = _mm512_setzero_si512(); }
  HWY_INLINE int32_t Sum() const {
    // (GCC 12 warns about _mm512_reduce_add_epi32's undefined upper half; the masked extract has none.)
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_maskz_extracti64x4_epi64(0xFF, v, 1));
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
  }
};
HWY_INLINE __m512i LoadA(const int8_t* p) {
  return _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_set1_epi8(static_cast<char>(0x80)));
}
HWY_INLINE __m512i LoadW(const int8_t* p) { return _mm512_loadu_si512(p); }
HWY_INLINE void Dot(I8Acc& acc, __m512i a, __m512i w) { acc.v = _mm512_dpbusd_epi32(acc.v, a, w); }
constexpr bool kBiased = true;

// Many tokens: a 32-row × 8-token register tile with no horizontal sums. Each block of 32 weight rows is
// repacked once into the VNNI layout pk[i/4][row][i%4] (i < k4 = k − k%4) with the bias on the weight side,
// u = w + 128 (w XOR 0x80) as the unsigned operand, and every 4-byte group of a token's activations is
// broadcast as the signed operand:  Σ_i u·a = Σ_i w·a + 128·Σ_i a, so acc = dot − 128·Σ_{i<k4} a[t, i].
// |dot| ≤ k · 255 · 128 < 2^31 for k ≤ kMaxW8A8K; a may be any int8. GCC 12 copies the accumulators of the
// vpdpbusd builtin around the loop (and spills them), so the instruction is inline asm on named registers.
constexpr int64_t kPackRows = 32;
constexpr int kPackTokens = 8;
#define QF_VNNI_STEP(u)                                                                               \
  if constexpr (TN > (u)) {                                                                           \
    int32_t x;                                                                                        \
    std::memcpy(&x, at + (u) * k + i, 4);                                                             \
    const __m512i xv = _mm512_set1_epi32(x);                                                          \
    __asm__("vpdpbusd %[x], %[w], %[c]" : [c] "+v"(c0_##u) : [w] "v"(w0), [x] "v"(xv));               \
    __asm__("vpdpbusd %[x], %[w], %[c]" : [c] "+v"(c1_##u) : [w] "v"(w1), [x] "v"(xv));               \
  }

// Writes acc (or, with y, the W8A8 floats (s_t · s_w) · acc) for rows [r, r + 32) and tokens [t0, t0 + TN).
struct PackedOut {
  const int8_t* a;
  int64_t k, k4, m;
  const int32_t* a_sums;    // Σ_i a[t, i] over the whole row
  const int8_t* tail_w;     // w[r + q, k4 + j] at [j · 32 + q]
  int32_t* acc;             // int32 output, or with y the floats (s_t[t] · w_scales[r]) · acc
  const float *s_t, *w_scales;
  float* y;
};

HWY_INLINE void PackedStore(const PackedOut& o, int64_t t, int64_t r, __m512i c0, __m512i c1) {
  const int8_t* at = o.a + t * o.k;
  int32_t head_sum = o.a_sums[t];
  for (int64_t i = o.k4; i < o.k; ++i) head_sum -= at[i];
  __m512i v[2] = {c0, c1};
  for (int h = 0; h < 2; ++h) {
    __m512i s = _mm512_sub_epi32(v[h], _mm512_set1_epi32(128 * head_sum));
    for (int64_t j = 0; j < o.k - o.k4; ++j) {
      const auto* tw = reinterpret_cast<const __m128i*>(o.tail_w + j * kPackRows + 16 * h);
      const __m512i wt = _mm512_cvtepi8_epi32(_mm_loadu_si128(tw));
      s = _mm512_add_epi32(s, _mm512_mullo_epi32(wt, _mm512_set1_epi32(at[o.k4 + j])));
    }
    const int64_t at_out = t * o.m + r + 16 * h;
    if (o.y != nullptr) {
      // The twin's epilogue, lane by lane: (s_t · s_w) · float(acc), each product rounded to float.
      const __m512 sc = _mm512_mul_ps(_mm512_set1_ps(o.s_t[t]), _mm512_loadu_ps(o.w_scales + r + 16 * h));
      _mm512_storeu_ps(o.y + at_out, _mm512_mul_ps(sc, _mm512_cvtepi32_ps(s)));
    } else {
      _mm512_storeu_si512(o.acc + at_out, s);
    }
  }
}

template <int TN>
HWY_NOINLINE void PackedTile(const uint8_t* pk, const PackedOut& o, int64_t t0, int64_t r) {
  const int64_t k = o.k, k4 = o.k4;
  const int8_t* at = o.a + t0 * k;
  __m512i c0_0 = _mm512_setzero_si512(), c0_1 = c0_0, c0_2 = c0_0, c0_3 = c0_0, c0_4 = c0_0, c0_5 = c0_0,
          c0_6 = c0_0, c0_7 = c0_0, c1_0 = c0_0, c1_1 = c0_0, c1_2 = c0_0, c1_3 = c0_0, c1_4 = c0_0,
          c1_5 = c0_0, c1_6 = c0_0, c1_7 = c0_0;
  for (int64_t i = 0; i < k4; i += 4) {
    const __m512i w0 = _mm512_loadu_si512(pk + i * kPackRows), w1 = _mm512_loadu_si512(pk + i * kPackRows + 64);
    QF_VNNI_STEP(0) QF_VNNI_STEP(1) QF_VNNI_STEP(2) QF_VNNI_STEP(3)
    QF_VNNI_STEP(4) QF_VNNI_STEP(5) QF_VNNI_STEP(6) QF_VNNI_STEP(7)
  }
  const __m512i c0[8] = {c0_0, c0_1, c0_2, c0_3, c0_4, c0_5, c0_6, c0_7};
  const __m512i c1[8] = {c1_0, c1_1, c1_2, c1_3, c1_4, c1_5, c1_6, c1_7};
  for (int u = 0; u < TN; ++u) PackedStore(o, t0 + u, r, c0[u], c1[u]);
}
#undef QF_VNNI_STEP

// Repacks bytes [i, i + 64) of 16 rows (stride k): out[64·j + 4·q + b] = w[q, i + 4j + b] XOR 0x80, a 16 × 16
// transpose of 4-byte groups (unpack 32 → unpack 64 → two 128-bit lane shuffles). Gathers were ~10× slower.
HWY_INLINE void Transpose16x16Dwords(const int8_t* base, int64_t k, int64_t i, uint8_t* out) {
  __m512i t[16], u[16];
  for (int q = 0; q < 16; q += 2) {
    const __m512i r0 = _mm512_loadu_si512(base + q * k + i), r1 = _mm512_loadu_si512(base + (q + 1) * k + i);
    t[q] = _mm512_unpacklo_epi32(r0, r1);      // lane L: r0.d(4L), r1.d(4L), r0.d(4L+1), r1.d(4L+1)
    t[q + 1] = _mm512_unpackhi_epi32(r0, r1);  // lane L: r0.d(4L+2), r1.d(4L+2), r0.d(4L+3), r1.d(4L+3)
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + c], lane L: rows 4g..4g+3 of dword 4L + c
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  const __m512i bias = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  for (int c = 0; c < 4; ++c) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
    _mm512_storeu_si512(out + (c + 0) * 128, _mm512_xor_si512(_mm512_shuffle_i32x4(v0, v2, 0x88), bias));
    _mm512_storeu_si512(out + (c + 4) * 128, _mm512_xor_si512(_mm512_shuffle_i32x4(v0, v2, 0xDD), bias));
    _mm512_storeu_si512(out + (c + 8) * 128, _mm512_xor_si512(_mm512_shuffle_i32x4(v1, v3, 0x88), bias));
    _mm512_storeu_si512(out + (c + 12) * 128, _mm512_xor_si512(_mm512_shuffle_i32x4(v1, v3, 0xDD), bias));
  }
}

// Rows [r0, r0 + 32·blocks) for all n tokens.
HWY_INLINE void PackedRows(const int8_t* a, int64_t n, int64_t k, const int8_t* w, const int32_t* a_sums,
                           int64_t r0, int64_t blocks, int32_t* acc, const float* s_t, const float* w_scales,
                           float* y, int64_t m) {
  const int64_t k4 = k - k % 4;
  std::vector<uint8_t> pk(static_cast<size_t>(std::max<int64_t>(k4, 4) * kPackRows));
  std::vector<int8_t> tail_w(static_cast<size_t>(4 * kPackRows));
  const PackedOut o{a, k, k4, m, a_sums, tail_w.data(), acc, s_t, w_scales, y};
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r = r0 + b * kPackRows;
    for (int64_t h = 0; h < kPackRows / 16; ++h) {
      const int8_t* base = w + (r + 16 * h) * k;
      int64_t i = 0;
      for (; i + 64 <= k4; i += 64) Transpose16x16Dwords(base, k, i, pk.data() + i * kPackRows + 64 * h);
      for (; i < k4; i += 4) {
        for (int64_t q = 0; q < 16; ++q) {
          uint32_t v;
          std::memcpy(&v, base + q * k + i, 4);
          v ^= 0x80808080u;
          std::memcpy(pk.data() + i * kPackRows + 64 * h + 4 * q, &v, 4);
        }
      }
    }
    for (int64_t q = 0; q < kPackRows; ++q)
      for (int64_t j = 0; j < k - k4; ++j) tail_w[static_cast<size_t>(j * kPackRows + q)] = w[(r + q) * k + k4 + j];
    using TileFn = void (*)(const uint8_t*, const PackedOut&, int64_t, int64_t);
    static constexpr TileFn kTail[kPackTokens] = {nullptr,        &PackedTile<1>, &PackedTile<2>, &PackedTile<3>,
                                                  &PackedTile<4>, &PackedTile<5>, &PackedTile<6>, &PackedTile<7>};
    int64_t t = 0;
    for (; t + kPackTokens <= n; t += kPackTokens) PackedTile<8>(pk.data(), o, t, r);
    if (t < n) kTail[n - t](pk.data(), o, t, r);
  }
}
#define QFORGE_I8_PACKED 1
#elif HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
// maddubs(|w|, sign(a, w)): |w| ≤ 128 as u8, |a| ≤ 127, so each 16-bit pair sum ≤ 32512 never saturates.
constexpr int64_t kI8Vec = 32;
struct I8Acc {
  __m256i v;
  HWY_INLINE void Zero() { v = _mm256_setzero_si256(); }
  HWY_INLINE int32_t Sum() const {
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
  }
};
HWY_INLINE __m256i LoadA(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
HWY_INLINE __m256i LoadW(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
HWY_INLINE void Dot(I8Acc& acc, __m256i a, __m256i w) {
  const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
  acc.v = _mm256_add_epi32(acc.v, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}
constexpr bool kBiased = false;
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
constexpr int64_t kI8Vec = 16;
struct I8Acc {
  __m128i v;
  HWY_INLINE void Zero() { v = _mm_setzero_si128(); }
  HWY_INLINE int32_t Sum() const {
    const __m128i s2 = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4E));
    return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
  }
};
HWY_INLINE __m128i LoadA(const int8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
HWY_INLINE __m128i LoadW(const int8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
HWY_INLINE void Dot(I8Acc& acc, __m128i a, __m128i w) {
  const __m128i p = _mm_maddubs_epi16(_mm_abs_epi8(w), _mm_sign_epi8(a, w));
  acc.v = _mm_add_epi32(acc.v, _mm_madd_epi16(p, _mm_set1_epi16(1)));
}
constexpr bool kBiased = false;
#else
#define QFORGE_I8_PLAIN 1
#endif

// acc_out[t · m + r], or with y the W8A8 floats (s_t[t] · w_scales[r]) · acc (the twin's epilogue).
struct I8Out {
  int32_t* acc;
  const float *s_t, *w_scales;
  float* y;
  HWY_INLINE void Put(int64_t t, int64_t r, int64_t m, int32_t v) const {
    if (y != nullptr) {
      y[t * m + r] = (s_t[t] * w_scales[r]) * static_cast<float>(v);
    } else {
      acc[t * m + r] = v;
    }
  }
};

#ifndef QFORGE_I8_PLAIN
template <int R, int NT>
HWY_INLINE void I8Block(const int8_t* a, int64_t k, const int8_t* w, const int32_t* row_sums, int64_t r,
                        const I8Out& out, int64_t m) {
  I8Acc acc[R][NT];
  for (int q = 0; q < R; ++q)
    for (int t = 0; t < NT; ++t) acc[q][t].Zero();
  const int64_t kv = k - k % kI8Vec;
  for (int64_t i = 0; i < kv; i += kI8Vec) {
    decltype(LoadA(a)) av[NT];
    for (int t = 0; t < NT; ++t) av[t] = LoadA(a + t * k + i);
    for (int q = 0; q < R; ++q) {
      const auto wv = LoadW(w + (r + q) * k + i);
      for (int t = 0; t < NT; ++t) Dot(acc[q][t], av[t], wv);
    }
  }
  for (int q = 0; q < R; ++q) {
    const int8_t* wr = w + (r + q) * k;
    // The biased sum covers [0, kv) only: subtract 128 · Σ_{i<kv} w = 128 · (rowsum − Σ_{i≥kv} w).
    int32_t tail_w = 0;
    for (int64_t i = kv; i < k; ++i) tail_w += wr[i];
    for (int t = 0; t < NT; ++t) {
      int32_t s = acc[q][t].Sum();
      if (kBiased) s -= 128 * (row_sums[r + q] - tail_w);
      for (int64_t i = kv; i < k; ++i) s += static_cast<int32_t>(a[t * k + i]) * wr[i];
      out.Put(t, r + q, m, s);
    }
  }
}
#endif

// Tokens at or above which the AVX3_DL kernel repacks 32-row weight blocks (PackedRows): below it the
// repacking would cost about as much as the products.
constexpr int64_t kPackedMinTokens = 16;

// Rows [r0, r1) for all n tokens: int32 sums into acc, or (y != null) the W8A8 floats (s_t · s_w) · acc.
// a_sums[t] = Σ_i a[t, i] (used by the packed AVX3_DL kernel).
void GemmI8TileImpl(const int8_t* a, int64_t n, int64_t k, const int8_t* w, const int32_t* row_sums,
                    const int32_t* a_sums, int64_t r0, int64_t r1, int32_t* acc, const float* s_t,
                    const float* w_scales, float* y, int64_t m) {
#ifdef QFORGE_I8_PLAIN
  (void)row_sums;
  (void)a_sums;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      int32_t s = 0;
      for (int64_t i = 0; i < k; ++i) s += static_cast<int32_t>(a[t * k + i]) * w[r * k + i];
      I8Out{acc, s_t, w_scales, y}.Put(t, r, m, s);
    }
  }
#else
#ifdef QFORGE_I8_PACKED
  if (n >= kPackedMinTokens) {
    const int64_t blocks = (r1 - r0) / kPackRows;
    PackedRows(a, n, k, w, a_sums, r0, blocks, acc, s_t, w_scales, y, m);
    r0 += blocks * kPackRows;  // leftover rows: the dot-product kernel below
  }
#else
  (void)a_sums;
#endif
  // Row blocks whose weights stay in L2 while all token tiles pass over them.
  const int64_t row_block = std::max<int64_t>(4, (384 * 1024 / std::max<int64_t>(k, 1)) / 4 * 4);
  for (int64_t rb = r0; rb < r1; rb += row_block) {
    const int64_t re = std::min(r1, rb + row_block);
    auto out_at = [&](int64_t t) {  // the outputs seen from token t on
      return I8Out{acc == nullptr ? nullptr : acc + t * m, s_t == nullptr ? nullptr : s_t + t, w_scales,
                   y == nullptr ? nullptr : y + t * m};
    };
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
      int64_t r = rb;
      const I8Out o = out_at(t);
      for (; r + 4 <= re; r += 4) I8Block<4, 4>(a + t * k, k, w, row_sums, r, o, m);
      for (; r < re; ++r) I8Block<1, 4>(a + t * k, k, w, row_sums, r, o, m);
    }
    for (; t < n; ++t) {
      int64_t r = rb;
      const I8Out o = out_at(t);
      for (; r + 4 <= re; r += 4) I8Block<4, 1>(a + t * k, k, w, row_sums, r, o, m);
      for (; r < re; ++r) I8Block<1, 1>(a + t * k, k, w, row_sums, r, o, m);
    }
  }
#endif
}

// ------------------------------------------------------------------------------------------- peak loops
double Int8PeakLoopImpl(int64_t iters) {
#ifdef QFORGE_I8_PLAIN
  volatile int32_t sink = 0;
  int32_t s[8] = {};
  for (int64_t it = 0; it < iters; ++it)
    for (int u = 0; u < 8; ++u) s[u] += static_cast<int32_t>(it & 7) * (u + 1);
  for (int u = 0; u < 8; ++u) sink = sink + s[u];
  return 2.0 * 8.0 * static_cast<double>(iters);
#else
  // 12 independent accumulators hide the instruction latency; inputs never leave registers.
  constexpr int kChains = 12;
  alignas(64) int8_t buf_a[kI8Vec], buf_w[kI8Vec];
  for (int64_t i = 0; i < kI8Vec; ++i) {
    buf_a[i] = static_cast<int8_t>(i % 7 - 3);
    buf_w[i] = static_cast<int8_t>(i % 5 - 2);
  }
  const auto av = LoadA(buf_a);
  const auto wv = LoadW(buf_w);
  I8Acc acc[kChains];
  for (auto& c : acc) c.Zero();
  for (int64_t it = 0; it < iters; ++it) {
    for (int c = 0; c < kChains; ++c) Dot(acc[c], av, wv);  // builtins: never folded across iterations
  }
  int32_t total = 0;
  for (auto& c : acc) total += c.Sum();
  volatile int32_t sink = total;
  (void)sink;
  return 2.0 * static_cast<double>(kI8Vec) * kChains * static_cast<double>(iters);
#endif
}

double F32FmaPeakLoopImpl(int64_t iters) {
  const DF df;
  constexpr int kChains = 12;
  VF acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = hn::Set(df, static_cast<float>(c));
  volatile float va = 0.999f, vb = 1e-3f;  // run-time values: the chains cannot be precomputed
  const auto a = hn::Set(df, va), b = hn::Set(df, vb);
  for (int64_t it = 0; it < iters; ++it) {
    // Float FMA is not reassociated without -ffast-math, so every iteration's FMAs are executed.
    for (int c = 0; c < kChains; ++c) acc[c] = hn::MulAdd(acc[c], a, b);
  }
  float total = 0;
  for (int c = 0; c < kChains; ++c) total += hn::GetLane(acc[c]);
  volatile float sink = total;
  (void)sink;
  return 2.0 * static_cast<double>(hn::Lanes(df)) * kChains * static_cast<double>(iters);
}

#ifdef QFORGE_POP_VNNI
#pragma GCC pop_options
#undef QFORGE_POP_VNNI
#endif

// Σ p[i] with four vector accumulators: enough loads in flight that DRAM, not the core, is the limit.
float StreamSumImpl(const float* p, int64_t n) {
  const DF df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df));
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    a0 = hn::Add(a0, hn::LoadU(df, p + i));
    a1 = hn::Add(a1, hn::LoadU(df, p + i + L));
    a2 = hn::Add(a2, hn::LoadU(df, p + i + 2 * L));
    a3 = hn::Add(a3, hn::LoadU(df, p + i + 3 * L));
  }
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < n; ++i) s += p[i];
  return s;
}

int64_t CurrentTargetImpl() { return HWY_TARGET; }

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace qforge::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "core/error.h"
#include "core/thread_pool.h"

namespace qforge::kernels {

HWY_EXPORT(LanesF32Impl);
HWY_EXPORT(W4TileImpl);
HWY_EXPORT(W8TileImpl);
HWY_EXPORT(QuantizeActivationImpl);
HWY_EXPORT(GemmI8TileImpl);
HWY_EXPORT(Int8PeakLoopImpl);
HWY_EXPORT(F32FmaPeakLoopImpl);
HWY_EXPORT(CurrentTargetImpl);
HWY_EXPORT(StreamSumImpl);

namespace {

// Output rows per ParallelFor chunk, a multiple of the 8-row register tile. Few tokens: ≥ 64 KB of weights
// per chunk (many chunks balance the load). Many tokens: a quarter of a thread's share, a multiple of the
// packed int8 kernel's 32-row blocks; the row blocks inside the kernels (L2-sized) reuse every activation
// tile, so larger chunks gain nothing.
size_t RowGrain(int64_t m, int64_t k_bytes, int64_t n) {
  const auto threads = static_cast<int64_t>(ThreadPool::Global().num_threads());
  // (About 4 chunks per thread either way: a busy core then delays only its current chunk.)
  const int64_t rows = n >= 16 ? (m + 4 * threads - 1) / (4 * threads)
                               : std::max<int64_t>(16, (64 * 1024) / std::max<int64_t>(k_bytes, 1));
  const int64_t multiple = n >= 16 ? 32 : 8;
  return static_cast<size_t>(std::max<int64_t>(1, std::min<int64_t>(m, (rows + multiple - 1) / multiple * multiple)));
}

// Scalar fallback for shapes the vector kernel does not tile (k or group not a multiple of 8 lanes × 8).
void W4Scalar(const float* x, int64_t n, int64_t k, const uint32_t* packed, const float* scales, int64_t group,
              int64_t r0, int64_t r1, float* y, int64_t m) {
  const int64_t words = k / 8, groups = k / group;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      float acc = 0;
      for (int64_t i = 0; i < k; ++i) {
        const int code = static_cast<int>((packed[r * words + i / 8] >> (4 * (i % 8))) & 0xFu) - 8;
        acc += scales[r * groups + i / group] * static_cast<float>(code) * x[t * k + i];
      }
      y[t * m + r] = acc;
    }
  }
}

void W8Scalar(const float* x, int64_t n, int64_t k, const int8_t* w, const float* scales, int64_t group, int64_t r0,
              int64_t r1, float* y, int64_t m) {
  const int64_t groups = k / group;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      float acc = 0;
      for (int64_t i = 0; i < k; ++i) acc += scales[r * groups + i / group] * w[r * k + i] * x[t * k + i];
      y[t * m + r] = acc;
    }
  }
}

}  // namespace

void MatMulW4A16(const float* x, int64_t n, int64_t k, const uint32_t* packed, const float* scales, int64_t group,
                 int64_t m, float* y) {
  QF_CHECK(n >= 0 && m >= 0 && k > 0 && group > 0 && k % 8 == 0 && group % 8 == 0 && k % group == 0);
  if (n == 0 || m == 0) return;
  const int64_t lanes = HWY_DYNAMIC_DISPATCH(LanesF32Impl)(), block = 8 * lanes;
  const size_t grain = RowGrain(m, k / 2, n);
  if (k % block != 0 || group % block != 0) {
    ThreadPool::Global().ParallelFor(static_cast<size_t>(m), grain, [&](size_t r0, size_t r1) {
      W4Scalar(x, n, k, packed, scales, group, static_cast<int64_t>(r0), static_cast<int64_t>(r1), y, m);
    });
    return;
  }
  // Permute each token's activations to the nibble-major order the kernel reads, and sum them per group
  // (see W4Block).
  const int64_t groups = k / group;
  std::vector<float> xp(static_cast<size_t>(n * k)), xsum(static_cast<size_t>(n * groups));
  for (int64_t t = 0; t < n; ++t) {
    const float* src = x + t * k;
    float* dst = xp.data() + t * k;
    for (int64_t b = 0; b < k; b += block)
      for (int64_t w = 0; w < lanes; ++w)
        for (int64_t j = 0; j < 8; ++j) dst[b + j * lanes + w] = src[b + 8 * w + j];
    for (int64_t g = 0; g < groups; ++g) {
      float s = 0;
      for (int64_t i = g * group; i < (g + 1) * group; ++i) s += src[i];
      xsum[static_cast<size_t>(t * groups + g)] = s;
    }
  }
  ThreadPool::Global().ParallelFor(static_cast<size_t>(m), grain, [&](size_t r0, size_t r1) {
    HWY_DYNAMIC_DISPATCH(W4TileImpl)(xp.data(), xsum.data(), n, k, packed, scales, group, static_cast<int64_t>(r0),
                                     static_cast<int64_t>(r1), y, m);
  });
}

void MatMulW8A16(const float* x, int64_t n, int64_t k, const int8_t* w, const float* scales, int64_t group,
                 int64_t m, float* y) {
  QF_CHECK(n >= 0 && m >= 0 && k > 0 && group > 0 && k % group == 0);
  if (n == 0 || m == 0) return;
  const int64_t lanes = HWY_DYNAMIC_DISPATCH(LanesF32Impl)();
  const bool vec = group % lanes == 0;
  ThreadPool::Global().ParallelFor(static_cast<size_t>(m), RowGrain(m, k, n), [&](size_t r0, size_t r1) {
    if (vec) {
      HWY_DYNAMIC_DISPATCH(W8TileImpl)(x, n, k, w, scales, group, static_cast<int64_t>(r0),
                                       static_cast<int64_t>(r1), y, m);
    } else {
      W8Scalar(x, n, k, w, scales, group, static_cast<int64_t>(r0), static_cast<int64_t>(r1), y, m);
    }
  });
}

float QuantizeActivationI8(const float* x, int64_t k, int8_t* q) {
  return HWY_DYNAMIC_DISPATCH(QuantizeActivationImpl)(x, k, q);
}

std::vector<int32_t> Int8RowSums(const int8_t* w, int64_t m, int64_t k) {
  std::vector<int32_t> sums(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) {
    int32_t s = 0;
    for (int64_t i = 0; i < k; ++i) s += w[r * k + i];
    sums[static_cast<size_t>(r)] = s;
  }
  return sums;
}

void GemmI8(const int8_t* a, int64_t n, int64_t k, const int8_t* w, const int32_t* row_sums, int64_t m,
            int32_t* acc) {
  QF_CHECK(n >= 0 && m >= 0 && k > 0 && k <= kMaxW8A8K);
  if (n == 0 || m == 0) return;
  const std::vector<int32_t> a_sums = Int8RowSums(a, n, k);
  ThreadPool::Global().ParallelFor(static_cast<size_t>(m), RowGrain(m, k, n), [&](size_t r0, size_t r1) {
    HWY_DYNAMIC_DISPATCH(GemmI8TileImpl)(a, n, k, w, row_sums, a_sums.data(), static_cast<int64_t>(r0),
                                         static_cast<int64_t>(r1), acc, nullptr, nullptr, nullptr, m);
  });
}

void MatMulW8A8(const float* x, int64_t n, int64_t k, const int8_t* w, const float* w_scales,
                const int32_t* row_sums, int64_t m, float* y) {
  QF_CHECK(n >= 0 && m >= 0 && k > 0 && k <= kMaxW8A8K);
  if (n == 0 || m == 0) return;
  std::vector<int8_t> a(static_cast<size_t>(n * k));
  std::vector<float> s(static_cast<size_t>(n));
  std::vector<int32_t> a_sums(static_cast<size_t>(n));
  ThreadPool::Global().ParallelFor(static_cast<size_t>(n), 8, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const int64_t ti = static_cast<int64_t>(t);
      s[t] = QuantizeActivationI8(x + ti * k, k, a.data() + ti * k);
      int32_t sum = 0;
      for (int64_t i = 0; i < k; ++i) sum += a[t * static_cast<size_t>(k) + static_cast<size_t>(i)];
      a_sums[t] = sum;
    }
  });
  // The epilogue (s_t · s_w) · acc runs inside the tiles: no [n, m] int32 buffer.
  ThreadPool::Global().ParallelFor(static_cast<size_t>(m), RowGrain(m, k, n), [&](size_t r0, size_t r1) {
    HWY_DYNAMIC_DISPATCH(GemmI8TileImpl)(a.data(), n, k, w, row_sums, a_sums.data(), static_cast<int64_t>(r0),
                                         static_cast<int64_t>(r1), nullptr, s.data(), w_scales, y, m);
  });
}

std::string QuantKernelTarget() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CurrentTargetImpl)()); }

std::vector<int64_t> QuantKernelTargets() {
  std::vector<int64_t> out;
  for (int64_t t = hwy::SupportedTargets() & HWY_TARGETS; t != 0; t &= t - 1) out.push_back(t & ~(t - 1));
  return out;
}

float StreamSum(const float* p, int64_t n) { return HWY_DYNAMIC_DISPATCH(StreamSumImpl)(p, n); }

double Int8PeakLoop(int64_t iters) { return HWY_DYNAMIC_DISPATCH(Int8PeakLoopImpl)(iters); }
double F32FmaPeakLoop(int64_t iters) { return HWY_DYNAMIC_DISPATCH(F32FmaPeakLoopImpl)(iters); }

}  // namespace qforge::kernels
#endif  // HWY_ONCE
