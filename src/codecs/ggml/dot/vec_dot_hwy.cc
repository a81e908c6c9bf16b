// Highway-dispatched GGUF dot products (vec_dot.h). x86 targets (AVX2, AVX3, AVX3_DL) run 256-bit integer
// kernels for Q8_0, Q4_0, Q4_K, Q5_K and Q6_K: weight codes are unpacked in registers, multiplied with the
// int8 activations as unsigned × signed bytes (vpdpbusd with VNNI, vpmaddubsw + vpmaddwd otherwise), the
// sub-block scales applied to the exact int32 sums, and each block's sum converted to float once. Up to four
// tokens share one unpacked weight block. Every other target and type runs VecDotGeneric. All paths are
// checked against VecDotRef on every compiled target (vec_dot_test.cc).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codecs/ggml/dot/vec_dot_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#if HWY_ARCH_X86
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "codecs/ggml/dot/vec_dot.h"
#include "codecs/ggml/ggml_blocks.h"
#include "core/half.h"

HWY_BEFORE_NAMESPACE();
namespace qforge::codecs::ggml {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL
#pragma GCC push_options
#pragma GCC target("avx512vnni")
#define QFORGE_DOT_POP 1
#define QFORGE_DOT_X86 1
// Σ of 4 adjacent u8 × s8 products per int32 lane.
HWY_INLINE __m256i DotU8S8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
#elif HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
#define QFORGE_DOT_X86 1
// vpmaddubsw: |pair sum| ≤ 2 · 128 · 127 < 2^15 for every operand range used here (no saturation).
HWY_INLINE __m256i DotU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
#endif

#ifdef QFORGE_DOT_X86
// acc + scale × (u · s) for sub-block scales: vpmaddubsw then vpmaddwd with the 16-bit scales (2 µops; with
// VNNI, vpdpbusd + vpmulld would be 3). Codes ≤ 63 and scales ≤ 127 in magnitude: no saturation, and the
// int32 lanes hold ≤ 2 · 16002 · 127.
HWY_INLINE __m256i DotScaled(__m256i acc, __m256i u, __m256i s, __m256i scale) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale));
}
// Scale s0 for the first 16 bytes of a 32-byte vector, s1 for the last 16.
HWY_INLINE __m256i ScaleVec(int s0, int s1) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(s1)), _mm_set1_epi16(static_cast<int16_t>(s0)));
}
HWY_INLINE __m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// AVX-512 (BW): two 32-byte halves per instruction — the k-quant kernels pair adjacent sub-blocks, whose
// activations are contiguous, so one 64-byte activation load feeds both.
#define QFORGE_DOT_512 1
HWY_INLINE __m512i Join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
HWY_INLINE __m512i Load64(const void* p) { return _mm512_loadu_si512(p); }
HWY_INLINE __m512i DotScaled512(__m512i acc, __m512i u, __m512i s, __m512i scale) {
  return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), scale));
}
// (The masked extract avoids GCC 12's warning about the undefined upper half of the unmasked one.)
HWY_INLINE __m256i Fold(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_maskz_extracti64x4_epi64(0xFF, v, 1));
}
#endif
// F16C (part of every x86 target used here).
HWY_INLINE float HalfAt(const uint8_t* p) { return _cvtsh_ss(static_cast<uint16_t>(p[0] | (p[1] << 8))); }
HWY_INLINE float HSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// ------------------------------------------------------------------------- Q8_0 and Q4_0 × Q8_0 blocks
// acc[t] += d_w · d_a · Σ w · a for one 32-element block whose signed codes are in `w`.
template <int NT>
HWY_INLINE void BlockQ8(__m256i w, float dw, const uint8_t* const* a, int64_t b, __m256* acc) {
  const __m256i aw = _mm256_sign_epi8(w, w);  // |w| as unsigned bytes
  for (int t = 0; t < NT; ++t) {
    const uint8_t* ab = a[t] + b * 34;
    const __m256i p = DotU8S8(aw, _mm256_sign_epi8(Load32(ab + 2), w));
    acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * HalfAt(ab)), _mm256_cvtepi32_ps(p), acc[t]);
  }
}

template <int NT>
void RowQ8_0(const uint8_t* w, const uint8_t* const* a, int64_t nb, float* out) {
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) BlockQ8<NT>(Load32(w + b * 34 + 2), HalfAt(w + b * 34), a, b, acc);
  for (int t = 0; t < NT; ++t) out[t] = HSum(acc[t]);
}

template <int NT>
void RowQ4_0(const uint8_t* w, const uint8_t* const* a, int64_t nb, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0xF), eight = _mm256_set1_epi8(8);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * 18;
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    // elements 0..15: low nibbles; 16..31: high nibbles.
    const __m256i codes = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), m4);
    BlockQ8<NT>(_mm256_sub_epi8(codes, eight), HalfAt(blk), a, b, acc);
  }
  for (int t = 0; t < NT; ++t) out[t] = HSum(acc[t]);
}

// ------------------------------------------------------------------------------- k-quants × Q8_K blocks
HWY_INLINE const BlockQ8_KAct& ActK(const uint8_t* row, int64_t b) {
  return reinterpret_cast<const BlockQ8_KAct*>(row)[b];
}

// The eight 6-bit scales and mins of a Q4_K/Q5_K block (GetScaleMinK4 for j = 0..7) as 16-bit lanes, with word
// operations: bytes 0-3 hold scales 0-3 (+ bits 4-5 of scales 4-7 in their top bits), bytes 4-7 mins 0-3
// (+ bits 4-5 of mins 4-7), bytes 8-11 the low nibbles of scales 4-7 (low) and mins 4-7 (high).
HWY_INLINE void UnpackScaleMinK4(const uint8_t* q, __m128i* sc, __m128i* mn) {
  uint32_t u[3];
  std::memcpy(u, q, sizeof u);
  const uint32_t s_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t s_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  *sc = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(s_hi), static_cast<int>(s_lo)));
  *mn = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(m_hi), static_cast<int>(m_lo)));
}

// Σ_g scale_g · bsums_g as int32 lanes, scale16 = one 16-bit factor per 16-element group of the Q8_K block.
HWY_INLINE __m256i GroupSums(__m256i scale16, const BlockQ8_KAct& y) { return _mm256_madd_epi16(scale16, Load32(y.bsums)); }

// Q4_K and Q5_K: 8 sub-blocks of 32; chunk c of 64 elements = low nibbles of qs[32c..] (sub-block 2c) and
// high nibbles (2c + 1); Q5_K adds bit 2c / 2c+1 of qh[l] as bit 4. The mins term Σ_j min_j · Σ a over
// sub-block j uses the activation's 16-element sums (two per sub-block).
template <int NT, bool kFive>
void RowQ45K(const uint8_t* w, const uint8_t* const* a, int64_t nb, float* out) {
  constexpr size_t kBytes = kFive ? 176 : 144;
  const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
#ifdef QFORGE_DOT_512
  // Lane selectors: 16-bit lanes 0-15 take scale 2c, lanes 16-31 scale 2c + 1.
  __m512i pick[4];
  for (int c = 0; c < 4; ++c) pick[c] = _mm512_mask_set1_epi16(_mm512_set1_epi16(static_cast<int16_t>(2 * c)), 0xFFFF0000u, static_cast<int16_t>(2 * c + 1));
#endif
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * kBytes;
    const float d = HalfAt(blk), dmin = HalfAt(blk + 2);
    __m128i sc, mn;
    UnpackScaleMinK4(blk + 4, &sc, &mn);
    const __m256i mins16 = _mm256_set_m128i(_mm_unpackhi_epi16(mn, mn), _mm_unpacklo_epi16(mn, mn));
    const uint8_t* qs = blk + (kFive ? 48 : 16);
    const __m256i qh = kFive ? Load32(blk + 16) : _mm256_setzero_si256();
#ifdef QFORGE_DOT_512
    const __m512i sc512 = _mm512_castsi128_si512(sc);
    __m512i wide[NT];
    for (int t = 0; t < NT; ++t) wide[t] = _mm512_setzero_si512();
#else
    alignas(16) int16_t scs[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(scs), sc);
#endif
    __m256i isum[NT];
    for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = Load32(qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if (kFive) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
#ifdef QFORGE_DOT_512
      // Elements 64c .. 64c+63: low nibbles (sub-block 2c) then high nibbles (2c + 1), as in the activations.
      const __m512i codes = Join(lo, hi);
      const __m512i scale = _mm512_permutexvar_epi16(pick[c], sc512);
      for (int t = 0; t < NT; ++t) wide[t] = DotScaled512(wide[t], codes, Load64(ActK(a[t], b).qs + 64 * c), scale);
#else
      const __m256i s_lo = _mm256_set1_epi16(scs[2 * c]), s_hi = _mm256_set1_epi16(scs[2 * c + 1]);
      for (int t = 0; t < NT; ++t) {
        const int8_t* aq = ActK(a[t], b).qs + 64 * c;
        isum[t] = DotScaled(isum[t], lo, Load32(aq), s_lo);
        isum[t] = DotScaled(isum[t], hi, Load32(aq + 32), s_hi);
      }
#endif
    }
    for (int t = 0; t < NT; ++t) {
#ifdef QFORGE_DOT_512
      isum[t] = Fold(wide[t]);
#endif
      const BlockQ8_KAct& y = ActK(a[t], b);
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(isum[t]), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * y.d), _mm256_cvtepi32_ps(GroupSums(mins16, y)), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t] = HSum(acc[t]);
}

// Q6_K: 16 sub-blocks of 16 with int8 scales; codes 0..63 (the offset 32 folded out with the Q8_K bsums).
template <int NT>
void RowQ6K(const uint8_t* w, const uint8_t* const* a, int64_t nb, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
#ifdef QFORGE_DOT_512
  // Lane selectors for sub-blocks j .. j+3 (j = 0, 4, 8, 12): 16-bit lane i takes scale j + i / 8.
  __m512i pick[4];
  for (int p = 0; p < 4; ++p) {
    alignas(64) int16_t idx[32];
    for (int i = 0; i < 32; ++i) idx[i] = static_cast<int16_t>(4 * p + i / 8);
    pick[p] = _mm512_load_si512(idx);
  }
#endif
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(w + b * sizeof(BlockQ6_K));
    const float d = _cvtsh_ss(blk->d.get());
    const int8_t* sc = blk->scales;
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    __m256i isum[NT];
    for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
#ifdef QFORGE_DOT_512
    const __m512i sc512 = _mm512_castsi256_si512(sc16);
    __m512i wide[NT];
    for (int t = 0; t < NT; ++t) wide[t] = _mm512_setzero_si512();
#endif
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = Load32(blk->ql + 64 * h), ql1 = Load32(blk->ql + 64 * h + 32);
      const __m256i qh = Load32(blk->qh + 32 * h);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
#ifdef QFORGE_DOT_512
      // q[0], q[1] = elements 128h + [0, 64) (sub-blocks 8h .. 8h+3); q[2], q[3] = 128h + [64, 128).
      for (int p = 0; p < 2; ++p) {
        const __m512i codes = Join(q[2 * p], q[2 * p + 1]);
        const __m512i scale = _mm512_permutexvar_epi16(pick[2 * h + p], sc512);
        for (int t = 0; t < NT; ++t) {
          wide[t] = DotScaled512(wide[t], codes, Load64(ActK(a[t], b).qs + 128 * h + 64 * p), scale);
        }
      }
#else
      for (int s = 0; s < 4; ++s) {
        const int j = 8 * h + 2 * s;  // sub-blocks j, j + 1 = elements 128h + 32s + [0, 16), [16, 32)
        const __m256i scale = ScaleVec(sc[j], sc[j + 1]);
        for (int t = 0; t < NT; ++t) {
          isum[t] = DotScaled(isum[t], q[s], Load32(ActK(a[t], b).qs + 128 * h + 32 * s), scale);
        }
      }
#endif
    }
    for (int t = 0; t < NT; ++t) {
#ifdef QFORGE_DOT_512
      isum[t] = Fold(wide[t]);
#endif
      const BlockQ8_KAct& y = ActK(a[t], b);
      const __m256i total = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(GroupSums(sc16, y), 5));  // − 32 Σ sc·bsum
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(total), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t] = HSum(acc[t]);
}

using RowFn = void (*)(const uint8_t*, const uint8_t* const*, int64_t, float*);

template <int NT>
RowFn RowKernel(DType type) {
  switch (type) {
    case DType::kQ8_0: return RowQ8_0<NT>;
    case DType::kQ4_0: return RowQ4_0<NT>;
    case DType::kQ4_K: return RowQ45K<NT, false>;
    case DType::kQ5_K: return RowQ45K<NT, true>;
    case DType::kQ6_K: return RowQ6K<NT>;
    default: return nullptr;
  }
}
#endif  // QFORGE_DOT_X86

bool HasSimdImpl(DType type) {
#ifdef QFORGE_DOT_X86
  return RowKernel<1>(type) != nullptr;
#else
  (void)type;
  return false;
#endif
}

void DotRowsImpl(DType type, const uint8_t* w, size_t row_bytes, int64_t k, const uint8_t* a, size_t a_bytes,
                 int64_t n, int64_t r0, int64_t r1, float* y, int64_t ldy) {
#ifdef QFORGE_DOT_X86
  if (RowKernel<1>(type) != nullptr) {
#ifdef QFORGE_DOT_512
    constexpr int kTile = 8;  // 32 vector registers: 8 tokens share each unpacked weight block
#else
    constexpr int kTile = 4;
#endif
    RowFn fn[kTile + 1] = {};
    fn[1] = RowKernel<1>(type);
    fn[2] = RowKernel<2>(type);
    fn[3] = RowKernel<3>(type);
    fn[4] = RowKernel<4>(type);
#ifdef QFORGE_DOT_512
    fn[5] = RowKernel<5>(type);
    fn[6] = RowKernel<6>(type);
    fn[7] = RowKernel<7>(type);
    fn[8] = RowKernel<8>(type);
#endif
    const int64_t nb = k / Traits(type).block_size;
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* wr = w + static_cast<size_t>(r) * row_bytes;
      for (int64_t t = 0; t < n; t += kTile) {
        const int nt = static_cast<int>(std::min<int64_t>(kTile, n - t));
        const uint8_t* rows[kTile];
        float out[kTile];
        for (int i = 0; i < nt; ++i) rows[i] = a + static_cast<size_t>(t + i) * a_bytes;
        fn[nt](wr, rows, nb, out);
        for (int i = 0; i < nt; ++i) y[(t + i) * ldy + r] = out[i];
      }
    }
    return;
  }
#endif
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t t = 0; t < n; ++t)
      y[t * ldy + r] = VecDotGeneric(type, w + static_cast<size_t>(r) * row_bytes, a + static_cast<size_t>(t) * a_bytes, k);
}

int64_t DotTargetImpl() { return HWY_TARGET; }

#undef QFORGE_DOT_512
#ifdef QFORGE_DOT_POP
#pragma GCC pop_options
#undef QFORGE_DOT_POP
#endif
#undef QFORGE_DOT_X86

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace qforge::codecs::ggml
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <vector>

#include "codecs/ggml/ggml_codecs.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace qforge::codecs::ggml {

HWY_EXPORT(HasSimdImpl);
HWY_EXPORT(DotRowsImpl);
HWY_EXPORT(DotTargetImpl);

bool GgufDotHasSimd(DType t) { return HWY_DYNAMIC_DISPATCH(HasSimdImpl)(t); }
std::string GgufDotTarget() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(DotTargetImpl)()); }

void GgufDotRows(DType t, const void* w, int64_t k, const void* a, int64_t n, int64_t r0, int64_t r1, float* y,
                 int64_t ldy) {
  const ActFormat f = ActFormatFor(t);
  HWY_DYNAMIC_DISPATCH(DotRowsImpl)(t, static_cast<const uint8_t*>(w), RowBytes(t, k), k,
                                    static_cast<const uint8_t*>(a), ActRowBytes(f, k), n, r0, r1, y, ldy);
}

void GgufMatMul(DType t, const void* w, int64_t m, int64_t k, const float* x, int64_t n, float* y, int64_t ldy) {
  QF_CHECK(m >= 0 && n >= 0 && k > 0 && ldy >= m);
  const ActFormat f = ActFormatFor(t);
  QF_CHECK_MSG(k % Traits(t).block_size == 0 && k % ActBlockSize(f) == 0, "row length {} for {}", k, Name(t));
  if (m == 0 || n == 0) return;
  const size_t a_bytes = ActRowBytes(f, k);
  std::vector<uint32_t> act((static_cast<size_t>(n) * a_bytes + 3) / 4);  // 4-byte aligned for Q8_K's float d
  auto* a = reinterpret_cast<uint8_t*>(act.data());
  auto& pool = ThreadPool::Global();
  pool.ParallelFor(static_cast<size_t>(n), 16, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) QuantizeActRow(f, x + t * static_cast<size_t>(k), k, a + t * a_bytes);
  });
  const size_t row_bytes = RowBytes(t, k);
  // Few tokens: ≥ 32 KB of weight rows per chunk, so both threads get many chunks and balance. Many tokens:
  // fewer, larger chunks (each row is reused by every token inside the kernel).
  const auto grain = static_cast<size_t>(std::clamp<int64_t>(
      static_cast<int64_t>((32 * 1024) / std::max<size_t>(row_bytes, 1)), 4, std::max<int64_t>(4, m / 8)));
  pool.ParallelFor(static_cast<size_t>(m), grain, [&](size_t r0, size_t r1) {
    HWY_DYNAMIC_DISPATCH(DotRowsImpl)(t, static_cast<const uint8_t*>(w), row_bytes, k, a, a_bytes, n,
                                      static_cast<int64_t>(r0), static_cast<int64_t>(r1), y, ldy);
  });
}

}  // namespace qforge::codecs::ggml
#endif  // HWY_ONCE
