// VecDotRef (float decode + double sum) and VecDotGeneric (portable integer code) of vec_dot.h.
// Element order of each block type: ggml_blocks.h and the decoders in codecs/ggml/*.cc.
#include <cstring>
#include <vector>

#include "codecs/ggml/dot/vec_dot.h"
#include "codecs/ggml/fp_strict.h"
#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_codecs.h"
#include "codecs/ggml/quant_math.h"
#include "core/error.h"

namespace qforge::codecs::ggml {
namespace {

int32_t Dot32(const int8_t* q, const int8_t* a, int n) {
  int32_t s = 0;
  for (int j = 0; j < n; ++j) s += static_cast<int32_t>(q[j]) * a[j];
  return s;
}

// The f16 field at p (little-endian, any alignment).
float HalfAt(const uint8_t* p) { return FromHalf(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

// ------------------------------------------------------------------------------------- 32-element types
// Codes of one 32-element block as int8 (offset applied for the _0 types, raw for the _1 types).
void Codes32(DType t, const uint8_t* blk, int8_t* q) {
  switch (t) {
    case DType::kQ8_0: std::memcpy(q, blk + 2, 32); break;
    case DType::kQ4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(blk);
      for (int j = 0; j < 16; ++j) {
        q[j] = static_cast<int8_t>((b->qs[j] & 0xF) - 8);
        q[j + 16] = static_cast<int8_t>((b->qs[j] >> 4) - 8);
      }
      break;
    }
    case DType::kQ4_1: {
      const auto* b = reinterpret_cast<const BlockQ4_1*>(blk);
      for (int j = 0; j < 16; ++j) {
        q[j] = static_cast<int8_t>(b->qs[j] & 0xF);
        q[j + 16] = static_cast<int8_t>(b->qs[j] >> 4);
      }
      break;
    }
    case DType::kQ5_0: {
      const auto* b = reinterpret_cast<const BlockQ5_0*>(blk);
      const uint32_t qh = LoadU32(b->qh);
      for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(Unpack5(b->qs, qh, j) - 16);
      break;
    }
    case DType::kQ5_1: {
      const auto* b = reinterpret_cast<const BlockQ5_1*>(blk);
      const uint32_t qh = LoadU32(b->qh);
      for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(Unpack5(b->qs, qh, j));
      break;
    }
    default: QF_CHECK_MSG(false, "Codes32 {}", Name(t));
  }
}

float Dot32Types(DType t, const uint8_t* w, const uint8_t* a, int64_t k) {
  const size_t wb = Traits(t).type_size;
  const bool one = t == DType::kQ4_1 || t == DType::kQ5_1;
  float sum = 0.0f;
  int8_t q[32];
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t* blk = w + b * wb;
    Codes32(t, blk, q);
    if (one) {
      const auto* act = reinterpret_cast<const BlockQ8_1Act*>(a) + b;
      sum += (HalfAt(blk) * FromHalf(act->d)) * static_cast<float>(Dot32(q, act->qs, 32)) + HalfAt(blk + 2) * FromHalf(act->s);
    } else {
      const uint8_t* act = a + b * 34;
      sum += static_cast<float>(Dot32(q, reinterpret_cast<const int8_t*>(act + 2), 32)) * (HalfAt(blk) * HalfAt(act));
    }
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------- k-quants
// One 256-element block as codes q[256] (int8), integer sub-block scales and mins, so that
//   w[i] = d · scale[i / sub] · q[i] − dmin · min[i / sub]      (Q6_K and Q3_K: no min term)
struct KBlock {
  int8_t q[256];
  int32_t scale[16];
  int32_t min[16];
  int sub;  // sub-block length: 16 or 32
  float d, dmin;
};

void DecodeK(DType t, const uint8_t* blk, KBlock* o) {
  switch (t) {
    case DType::kQ2_K: {
      const auto* b = reinterpret_cast<const BlockQ2_K*>(blk);
      o->sub = 16;
      o->d = FromHalf(b->d.get());
      o->dmin = FromHalf(b->dmin.get());
      for (int j = 0; j < 16; ++j) {
        o->scale[j] = b->scales[j] & 0xF;
        o->min[j] = b->scales[j] >> 4;
      }
      for (int h = 0; h < 2; ++h)
        for (int s = 0; s < 4; ++s)
          for (int l = 0; l < 32; ++l) o->q[128 * h + 32 * s + l] = static_cast<int8_t>((b->qs[32 * h + l] >> (2 * s)) & 3);
      break;
    }
    case DType::kQ3_K: {
      const auto* b = reinterpret_cast<const BlockQ3_K*>(blk);
      o->sub = 16;
      o->d = FromHalf(b->d.get());
      o->dmin = 0;
      for (int j = 0; j < 16; ++j) {
        o->scale[j] = GetScaleQ3K(j, b->scales) - 32;
        o->min[j] = 0;
      }
      for (int h = 0; h < 2; ++h)
        for (int s = 0; s < 4; ++s)
          for (int l = 0; l < 32; ++l) {
            const int lo = (b->qs[32 * h + l] >> (2 * s)) & 3;
            const bool hi = (b->hmask[l] >> (4 * h + s)) & 1;
            o->q[128 * h + 32 * s + l] = static_cast<int8_t>(lo - (hi ? 0 : 4));
          }
      break;
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool five = t == DType::kQ5_K;
      const uint8_t* dd = blk;
      const uint8_t* scales = blk + 4;
      const uint8_t* qh = five ? blk + 16 : nullptr;
      const uint8_t* qs = five ? blk + 48 : blk + 16;
      o->sub = 32;
      o->d = HalfAt(dd);
      o->dmin = HalfAt(dd + 2);
      for (int j = 0; j < 8; ++j) {
        uint8_t sc, mn;
        GetScaleMinK4(j, scales, &sc, &mn);
        o->scale[j] = sc;
        o->min[j] = mn;
      }
      for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
          int lo = qs[32 * c + l] & 0xF, hi = qs[32 * c + l] >> 4;
          if (five) {
            lo |= ((qh[l] >> (2 * c)) & 1) << 4;
            hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
          }
          o->q[64 * c + l] = static_cast<int8_t>(lo);
          o->q[64 * c + 32 + l] = static_cast<int8_t>(hi);
        }
      break;
    }
    case DType::kQ6_K: {
      const auto* b = reinterpret_cast<const BlockQ6_K*>(blk);
      o->sub = 16;
      o->d = FromHalf(b->d.get());
      o->dmin = 0;
      for (int j = 0; j < 16; ++j) {
        o->scale[j] = b->scales[j];
        o->min[j] = 0;
      }
      for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = b->ql + 64 * h;
        const uint8_t* qh = b->qh + 32 * h;
        int8_t* q = o->q + 128 * h;
        for (int l = 0; l < 32; ++l) {
          q[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
          q[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
          q[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
          q[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
      }
      break;
    }
    default: QF_CHECK_MSG(false, "DecodeK {}", Name(t));
  }
}

float DotKTypes(DType t, const uint8_t* w, const uint8_t* a, int64_t k) {
  const size_t wb = Traits(t).type_size;
  const auto* act = reinterpret_cast<const BlockQ8_KAct*>(a);
  float sum = 0.0f;
  KBlock kb;
  for (int64_t b = 0; b < k / 256; ++b) {
    DecodeK(t, w + b * wb, &kb);
    const BlockQ8_KAct& y = act[b];
    int32_t sumi = 0, summ = 0;
    const int subs = 256 / kb.sub;
    for (int j = 0; j < subs; ++j) {
      sumi += kb.scale[j] * Dot32(kb.q + j * kb.sub, y.qs + j * kb.sub, kb.sub);
      int32_t bs = 0;
      for (int g = j * kb.sub / 16; g < (j + 1) * kb.sub / 16; ++g) bs += y.bsums[g];
      summ += kb.min[j] * bs;
    }
    sum += (kb.d * y.d) * static_cast<float>(sumi) - (kb.dmin * y.d) * static_cast<float>(summ);
  }
  return sum;
}

bool IsKType(DType t) {
  return t == DType::kQ2_K || t == DType::kQ3_K || t == DType::kQ4_K || t == DType::kQ5_K || t == DType::kQ6_K;
}

}  // namespace

double VecDotRef(DType t, const void* w_row, const void* a_row, int64_t k) {
  const ActFormat f = ActFormatFor(t);
  std::vector<float> w(static_cast<size_t>(k)), a(static_cast<size_t>(k));
  DequantizeRowRef(t, w_row, w.data(), k);
  DequantizeActRow(f, a_row, k, a.data());
  double s = 0;
  for (int64_t i = 0; i < k; ++i) s += static_cast<double>(w[static_cast<size_t>(i)]) * a[static_cast<size_t>(i)];
  return s;
}

float VecDotGeneric(DType t, const void* w_row, const void* a_row, int64_t k) {
  (void)ActFormatFor(t);  // throws for types without a dot product
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* a = static_cast<const uint8_t*>(a_row);
  return IsKType(t) ? DotKTypes(t, w, a, k) : Dot32Types(t, w, a, k);
}

}  // namespace qforge::codecs::ggml
