// The Highway decoders equal their scalar twins bit for bit, on every compiled and supported target, on
// quantized real data and on random block bytes (every code, scale and sign pattern).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "codecs/ggml/ggml_codecs.h"
#include "codecs/ggml/ggml_test_rows.h"
#include "hwy/targets.h"

namespace qforge::codecs::ggml {
namespace {

// Random bytes for `nblocks` blocks, with every f16 field forced to a finite value (so no NaN payloads).
std::vector<uint8_t> RandomBlocks(const Codec& c, int64_t nblocks, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(c.block_bytes * nblocks);
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  for (int64_t k = 0; k < nblocks; ++k) {
    uint8_t* blk = b.data() + k * c.block_bytes;
    auto finite = [&](size_t off) { blk[off + 1] = static_cast<uint8_t>(blk[off + 1] & 0x3f); };  // exp < 31
    switch (c.dtype) {
      case DType::kQ8_0: case DType::kQ4_0: finite(0); break;
      case DType::kQ4_K: finite(0); finite(2); break;
      case DType::kQ6_K: finite(208); break;
      default: break;
    }
  }
  return b;
}

TEST(GgmlSimd, DecodersEqualScalarTwinOnEveryTarget) {
  int targets_run = 0, codecs_checked = 0;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    ++targets_run;
    std::printf("[ simd ] target %s\n", hwy::TargetName(target));
    for (const Codec& c : AllCodecs()) {
      if (!c.dequantize_simd) continue;
      ++codecs_checked;
      const int64_t n = 16 * 256;
      std::vector<uint8_t> inputs[2] = {RandomBlocks(c, n / c.block_size, 11), {}};
      const testing::RowSet rows = testing::RandomRows(n, 1, 5);
      inputs[1].resize(RowBytes(c.dtype, n));
      QuantizeRows(c.dtype, rows.data.data(), inputs[1].data(), 1, n, nullptr);
      for (const auto& q : inputs) {
        std::vector<float> a(n), b(n);
        c.dequantize_ref(q.data(), a.data(), n);
        c.dequantize_simd(q.data(), b.data(), n);
        ASSERT_EQ(0, std::memcmp(a.data(), b.data(), n * sizeof(float)))
            << Name(c.dtype) << " on " << hwy::TargetName(target);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);  // back to the real CPU
  EXPECT_GE(targets_run, 1);
  EXPECT_EQ(codecs_checked, 4 * targets_run);  // Q8_0, Q4_0, Q4_K, Q6_K
}

}  // namespace
}  // namespace qforge::codecs::ggml
