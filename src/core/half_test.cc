#include "core/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace qforge {
namespace {

// Oracle for f16: the compiler's own _Float16 conversions (IEEE round-to-nearest-even), code no one
// here wrote.
uint16_t OracleF32ToF16(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}
float OracleF16ToF32(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return static_cast<float>(h);
}

// Oracle for bf16: pick the nearer of the two truncation neighbours in double arithmetic, ties to even.
uint16_t OracleF32ToBf16(float f) {
  if (std::isnan(f)) return 0x7fc0;
  const uint32_t u = FloatBits(f);
  const uint16_t lo = static_cast<uint16_t>(u >> 16);
  const uint16_t hi = static_cast<uint16_t>(lo + 1);
  const double x = f, a = Bf16ToF32(lo);
  if (static_cast<uint32_t>(lo) << 16 == u) return lo;
  // hi may be +-inf (0x7f80/0xff80) when lo is the largest finite value: its distance is measured to
  // the IEEE "next" value 2^128 as round-to-nearest defines overflow.
  const double b = ((hi & 0x7fff) == 0x7f80) ? std::copysign(std::ldexp(1.0, 128), x) : Bf16ToF32(hi);
  const double da = std::fabs(x - a), db = std::fabs(b - x);
  if (da < db) return lo;
  if (db < da) return hi;
  return (lo & 1) ? hi : lo;
}

bool SameFloat(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || FloatBits(a) == FloatBits(b);
}

TEST(Half, AllF16ValuesDecodeLikeCompiler) {
  for (uint32_t u = 0; u < 65536; ++u) {
    const float got = F16ToF32(static_cast<uint16_t>(u));
    ASSERT_TRUE(SameFloat(got, OracleF16ToF32(static_cast<uint16_t>(u)))) << std::hex << u;
  }
}

TEST(Half, AllF16ValuesRoundTrip) {
  for (uint32_t u = 0; u < 65536; ++u) {
    const uint16_t h = static_cast<uint16_t>(u);
    const uint16_t back = F32ToF16(F16ToF32(h));
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
      EXPECT_EQ(back & 0x7c00, 0x7c00);
      EXPECT_NE(back & 0x3ff, 0) << std::hex << u;  // still NaN
    } else {
      ASSERT_EQ(back, h) << std::hex << u;
    }
  }
}

TEST(Half, AllBf16ValuesRoundTrip) {
  for (uint32_t u = 0; u < 65536; ++u) {
    const uint16_t h = static_cast<uint16_t>(u);
    const float f = Bf16ToF32(h);
    EXPECT_EQ(FloatBits(f), u << 16);
    const uint16_t back = F32ToBf16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(Bf16ToF32(back))) << std::hex << u;
    } else {
      ASSERT_EQ(back, h) << std::hex << u;
    }
  }
}

// Midpoints between all adjacent f16 / bf16 values exercise every tie; random f32 bit patterns the rest.
TEST(Half, F32ToF16MatchesCompilerOnTiesAndRandom) {
  for (uint32_t u = 0; u < 65535; ++u) {
    const float a = F16ToF32(static_cast<uint16_t>(u)), b = F16ToF32(static_cast<uint16_t>(u + 1));
    if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) continue;
    const float mid = static_cast<float>((static_cast<double>(a) + b) / 2);
    for (float f : {a, b, mid, std::nextafter(mid, a), std::nextafter(mid, b)})
      ASSERT_EQ(F32ToF16(f), OracleF32ToF16(f)) << f;
  }
  std::mt19937 rng(1234);
  for (int i = 0; i < 2'000'000; ++i) {
    const float f = BitsToFloat(rng());
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToF16(f), OracleF32ToF16(f)) << std::hex << FloatBits(f);
  }
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);     // rounds to +inf
  EXPECT_EQ(F32ToF16(65519.0f), 0x7bff);     // largest finite
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // tie with 0 -> even (0)
  EXPECT_EQ(F32ToF16(std::ldexp(3.0f, -26)), 0x0001);  // above the tie
}

TEST(Half, F32ToBf16MatchesOracleOnTiesAndRandom) {
  for (uint32_t u = 0; u < 65535; ++u) {
    const uint32_t base = u << 16;
    for (uint32_t low : {0u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      const float f = BitsToFloat(base | low);
      if (std::isnan(f)) continue;
      ASSERT_EQ(F32ToBf16(f), OracleF32ToBf16(f)) << std::hex << (base | low);
    }
  }
  std::mt19937 rng(99);
  for (int i = 0; i < 2'000'000; ++i) {
    const float f = BitsToFloat(rng());
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(f))));
      continue;
    }
    ASSERT_EQ(F32ToBf16(f), OracleF32ToBf16(f)) << std::hex << FloatBits(f);
  }
}

TEST(Half, NanPayloadThatWouldTruncateToInfStaysNan) {
  const float nan = BitsToFloat(0x7f800001u);
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(nan))));
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(nan))));
}

}  // namespace
}  // namespace qforge
