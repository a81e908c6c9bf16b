// IEEE binary16 (f16) and bfloat16 (bf16) <-> f32 conversion. f32 -> f16/bf16 rounds to nearest, ties to
// even; NaN stays NaN (quiet), infinities and subnormals are exact. Bit patterns travel as uint16_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qforge {

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float BitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float Bf16ToF32(uint16_t h) { return BitsToFloat(static_cast<uint32_t>(h) << 16); }

inline uint16_t F32ToBf16(float f) {
  uint32_t u = FloatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);

// Rounds a float to the nearest bf16 / f16 value and returns it as float (used to emulate PyTorch
// arithmetic in a narrow dtype: every op evaluated in f32 then rounded).
inline float RoundBf16(float f) { return Bf16ToF32(F32ToBf16(f)); }
inline float RoundF16(float f) { return F16ToF32(F32ToF16(f)); }

// Bulk conversions.
void F16ToF32(const uint16_t* src, float* dst, size_t n);
void Bf16ToF32(const uint16_t* src, float* dst, size_t n);
void F32ToF16(const float* src, uint16_t* dst, size_t n);
void F32ToBf16(const float* src, uint16_t* dst, size_t n);

}  // namespace qforge
