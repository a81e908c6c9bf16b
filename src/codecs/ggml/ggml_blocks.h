// ggml block structs (FORMATS.md §6.2). All multi-byte fields little-endian; `half` = IEEE f16 bits.
//
//   type  QK   bytes  layout
//   Q4_0  32   18     [0,2) d  [2,18) qs[16]            element e<16: low nibble of qs[e], else high of qs[e-16]
//   Q4_1  32   20     [0,2) d  [2,4) m  [4,20) qs[16]
//   Q5_0  32   22     [0,2) d  [2,6) qh(u32)  [6,22) qs[16]      bit 4 of element e -> bit e of qh
//   Q5_1  32   24     [0,2) d  [2,4) m  [4,8) qh(u32)  [8,24) qs[16]
//   Q8_0  32   34     [0,2) d  [2,34) qs[32] (int8)
//   Q2_K  256  84     [0,16) scales[16] (lo4 scale, hi4 min)  [16,80) qs[64] (2 bit)  [80,82) d  [82,84) dmin
//   Q3_K  256  110    [0,32) hmask[32]  [32,96) qs[64]  [96,108) scales[12] (16 x 6 bit)  [108,110) d
//   Q4_K  256  144    [0,2) d  [2,4) dmin  [4,16) scales[12] (8 x (6 bit scale, 6 bit min))  [16,144) qs[128]
//   Q5_K  256  176    [0,2) d  [2,4) dmin  [4,16) scales[12]  [16,48) qh[32]  [48,176) qs[128]
//   Q6_K  256  210    [0,128) ql[128]  [128,192) qh[64]  [192,208) scales[16] (int8)  [208,210) d
//
// The structs hold only byte arrays and uint16_t/uint32_t-free fields, so they have no padding and can be
// overlaid on any byte buffer (alignment 1). Sizes are checked against the DType table in ggml_codecs_test.
#pragma once

#include <cstdint>
#include <cstring>

namespace qforge::codecs::ggml {

inline constexpr int kQk32 = 32;    // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0
inline constexpr int kQkK = 256;    // QK_K
inline constexpr int kKScaleSize = 12;  // K_SCALE_SIZE

// An unaligned little-endian f16 field.
struct Half {
  uint8_t b[2];
  uint16_t get() const { return static_cast<uint16_t>(b[0] | (b[1] << 8)); }
  void set(uint16_t v) {
    b[0] = static_cast<uint8_t>(v & 0xff);
    b[1] = static_cast<uint8_t>(v >> 8);
  }
};

struct BlockQ4_0 { Half d; uint8_t qs[kQk32 / 2]; };
struct BlockQ4_1 { Half d; Half m; uint8_t qs[kQk32 / 2]; };
struct BlockQ5_0 { Half d; uint8_t qh[4]; uint8_t qs[kQk32 / 2]; };
struct BlockQ5_1 { Half d; Half m; uint8_t qh[4]; uint8_t qs[kQk32 / 2]; };
struct BlockQ8_0 { Half d; int8_t qs[kQk32]; };
struct BlockQ2_K { uint8_t scales[kQkK / 16]; uint8_t qs[kQkK / 4]; Half d; Half dmin; };
struct BlockQ3_K { uint8_t hmask[kQkK / 8]; uint8_t qs[kQkK / 4]; uint8_t scales[kKScaleSize]; Half d; };
struct BlockQ4_K { Half d; Half dmin; uint8_t scales[kKScaleSize]; uint8_t qs[kQkK / 2]; };
struct BlockQ5_K { Half d; Half dmin; uint8_t scales[kKScaleSize]; uint8_t qh[kQkK / 8]; uint8_t qs[kQkK / 2]; };
struct BlockQ6_K { uint8_t ql[kQkK / 2]; uint8_t qh[kQkK / 4]; int8_t scales[kQkK / 16]; Half d; };

static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 1);
static_assert(sizeof(BlockQ4_1) == 20 && alignof(BlockQ4_1) == 1);
static_assert(sizeof(BlockQ5_0) == 22 && alignof(BlockQ5_0) == 1);
static_assert(sizeof(BlockQ5_1) == 24 && alignof(BlockQ5_1) == 1);
static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 1);
static_assert(sizeof(BlockQ2_K) == 84 && alignof(BlockQ2_K) == 1);
static_assert(sizeof(BlockQ3_K) == 110 && alignof(BlockQ3_K) == 1);
static_assert(sizeof(BlockQ4_K) == 144 && alignof(BlockQ4_K) == 1);
static_assert(sizeof(BlockQ5_K) == 176 && alignof(BlockQ5_K) == 1);
static_assert(sizeof(BlockQ6_K) == 210 && alignof(BlockQ6_K) == 1);

inline uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// 6-bit (scale, min) pair j of the Q4_K/Q5_K scales[12] array (FORMATS.md §6.3 table).
inline void GetScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// 6-bit scale j (0..63, not yet offset by -32) of the Q3_K scales[12] array.
inline int GetScaleQ3K(int j, const uint8_t* s) {
  const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return lo | (hi << 4);
}

// Packs 32 codes (0..31) into qs[16] and qh.
inline void Pack5(const uint8_t* L, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < kQk32 / 2; ++j) {
    const uint8_t q0 = L[j], q1 = L[j + kQk32 / 2];
    qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
    qh |= static_cast<uint32_t>((q0 & 0x10u) >> 4) << j;
    qh |= static_cast<uint32_t>((q1 & 0x10u) >> 4) << (j + kQk32 / 2);
  }
  StoreU32(qh_bytes, qh);
}

// Code of element j (0..31) from qs and qh.
inline int Unpack5(const uint8_t* qs, uint32_t qh, int j) {
  const int lo = j < kQk32 / 2 ? (qs[j] & 0x0F) : (qs[j - kQk32 / 2] >> 4);
  return lo | static_cast<int>(((qh >> j) & 1u) << 4);
}

// Packs 256 2-bit codes into qs[64]: for each 128-half h and l < 32, qs[32h + l] holds elements 128h + l,
// +32, +64, +96 at bit offsets 0, 2, 4, 6 (Q2_K, Q3_K).
inline void Pack2Bits(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQkK; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

// Packs 8 (scale, min) 6-bit pairs into the Q4_K/Q5_K scales[12] (inverse of GetScaleMinK4).
inline void PackScaleMinK4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = ls[j];
      q[j + 4] = lm[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Packs 16 6-bit values u_s (0..63) into the Q3_K scales[12] (inverse of GetScaleQ3K).
inline void PackScalesQ3K(const int* u, uint8_t* s) {
  std::memset(s, 0, kKScaleSize);
  for (int j = 0; j < 16; ++j) {
    const int l = u[j];
    if (j < 8) {
      s[j] = static_cast<uint8_t>(l & 0xF);
    } else {
      s[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
    }
    s[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
  }
}

}  // namespace qforge::codecs::ggml
