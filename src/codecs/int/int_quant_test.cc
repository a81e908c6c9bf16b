// Round-to-nearest quantization: FORMATS.md §2.7/§2.8 worked examples, SIMD == scalar twin, and codes/scales
// against the IST-DASLab GPTQ reference's RTN baseline on the bundled model (../shared/golden/gptq), which
// for symmetric schemes equals compressed-tensors' quantizer bit for bit (see that README).
#include "codecs/int/int_quant.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "codecs/int/golden_util_test.h"
#include "codecs/int/pack_int32.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/safetensors/file.h"

namespace qforge::codecs {
namespace {

using testing::SharedPath;
using testing::Values;

Tensor Bf16Row(const std::vector<float>& v) {
  Tensor t = Tensor::Zeros(DType::kBF16, {1, static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<uint16_t>()[i] = F32ToBf16(v[i]);
  return t;
}

// FORMATS.md §2.8 "End-to-end W4A16 example": one bf16 group of 8.
TEST(IntQuant, Bf16WorkedExample) {
  const Tensor w = Bf16Row({0.75f, -0.30078125f, 0.050048828125f, 0.2001953125f, -0.73828125f, 0.10009765625f,
                            0.400390625f, -0.125f});
  for (IntImpl impl : {IntImpl::kScalar, IntImpl::kSimd}) {
    IntQuantSpec sym{4, true, IntStrategy::kGroup, 8};
    auto q = QuantizeMatrix(w, sym, "w", impl);
    EXPECT_EQ(F32ToBf16(q.params.scales[0]), 0x3DCD);
    EXPECT_EQ(q.codes, (std::vector<int8_t>{7, -3, 0, 2, -7, 1, 4, -1}));
    EXPECT_EQ(PackInt32(q.codes, 1, 8, 4, 1, "w")[0], 0x7C91A85Fu);
    IntQuantSpec asym{4, false, IntStrategy::kGroup, 8};
    auto a = QuantizeMatrix(w, asym, "w", impl);
    EXPECT_EQ(F32ToBf16(a.params.scales[0]), 0x3DCB);
    EXPECT_EQ(a.params.zeros, (std::vector<int8_t>{-1}));
    EXPECT_EQ(a.codes, (std::vector<int8_t>{7, -4, 0, 1, -8, 0, 3, -2}));
  }
}

TEST(IntQuant, ZeroGroupGetsEpsilonScale) {
  const Tensor w = Bf16Row({0, 0, 0, 0, 1, 2, 3, 4});
  auto q = QuantizeMatrix(w, {4, true, IntStrategy::kGroup, 4}, "w");
  EXPECT_EQ(q.params.scales[0], 0.0078125f);  // torch.finfo(bfloat16).eps
  EXPECT_EQ(q.codes[0], 0);
  auto a = QuantizeMatrix(w, {4, false, IntStrategy::kGroup, 4}, "w");
  EXPECT_EQ(a.params.zeros[0], -8);  // qmin - 0/eps
  EXPECT_EQ(a.codes[0], -8);
  EXPECT_EQ(DequantizeMatrix(a).ToF32().data<float>()[0], 0.0f);
}

TEST(IntQuant, RejectsNonFiniteAndBadSpecs) {
  Tensor w = Tensor::Zeros(DType::kF32, {2, 4});
  w.mutable_data<float>()[5] = NAN;
  EXPECT_THROW(QuantizeMatrix(w, {}, "w"), Error);
  w.mutable_data<float>()[5] = INFINITY;
  EXPECT_THROW(QuantizeMatrix(w, {4, true, IntStrategy::kChannel, 0}, "w", IntImpl::kScalar), Error);
  w.mutable_data<float>()[5] = 0;
  EXPECT_THROW(QuantizeMatrix(w, {9, true, IntStrategy::kChannel, 0}, "w"), Error);
  EXPECT_THROW(QuantizeMatrix(w, {4, true, IntStrategy::kGroup, 0}, "w"), Error);
  EXPECT_THROW(QuantizeMatrix(Tensor::Zeros(DType::kI8, {2, 4}), {}, "w"), Error);
}

Tensor RandomWeight(DType dt, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  Tensor t = Tensor::Zeros(dt, {rows, cols});
  for (int64_t i = 0; i < rows * cols; ++i) {
    float v = nd(rng);
    if (i % 97 == 5) v = 0.0f;  // exact zeros and repeated values exercise ties
    if (i % 89 == 7) v = 0.015625f * static_cast<float>(static_cast<int>(i % 13) - 6);
    switch (dt) {
      case DType::kF32: t.mutable_data<float>()[i] = v; break;
      case DType::kBF16: t.mutable_data<uint16_t>()[i] = F32ToBf16(v); break;
      default: t.mutable_data<uint16_t>()[i] = F32ToF16(v); break;
    }
  }
  return t;
}

// The SIMD kernels are the scalar twin, bit for bit: every dtype, strategy, symmetry and bit width, with odd
// lengths so the vector tails run.
TEST(IntQuant, SimdEqualsScalarTwin) {
  int cases = 0;
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    const Tensor w = RandomWeight(dt, 37, 200, 7 + static_cast<uint32_t>(dt));
    for (int bits = 2; bits <= 8; ++bits) {
      for (bool sym : {true, false}) {
        for (auto [st, g] : {std::pair{IntStrategy::kTensor, int64_t{0}}, {IntStrategy::kChannel, 0},
                             {IntStrategy::kGroup, 32}, {IntStrategy::kGroup, 64}, {IntStrategy::kGroup, 7}}) {
          SCOPED_TRACE(fmt::format("{} bits={} sym={} strategy={} g={}", Name(dt), bits, sym, static_cast<int>(st), g));
          const IntQuantSpec spec{bits, sym, st, g};
          auto a = QuantizeMatrix(w, spec, "w", IntImpl::kScalar);
          auto b = QuantizeMatrix(w, spec, "w", IntImpl::kSimd);
          ASSERT_EQ(a.params.scales, b.params.scales);
          ASSERT_EQ(a.params.zeros, b.params.zeros);
          ASSERT_EQ(a.codes, b.codes);
          for (int8_t c : a.codes) ASSERT_TRUE(c >= spec.qmin() && c <= spec.qmax());
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 7 * 2 * 5);
}

// Dequantization reproduces the weight within half a step (plus clamp loss at +absmax for symmetric).
TEST(IntQuant, RoundTripErrorIsBounded) {
  const Tensor w = RandomWeight(DType::kF32, 16, 256, 3);
  for (bool sym : {true, false}) {
    const IntQuantSpec spec{4, sym, IntStrategy::kGroup, 64};
    auto q = QuantizeMatrix(w, spec, "w");
    const Tensor d = DequantizeMatrix(q);
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < 256; ++c) {
        const float s = q.params.scale(r, c / 64);
        const float err = std::fabs(d.data<float>()[r * 256 + c] - w.data<float>()[r * 256 + c]);
        // Symmetric int4 clamps +absmax (7.5 steps) to 7: error up to one step; otherwise half a step.
        ASSERT_LE(err, (sym ? 1.0f : 0.5f) * s * (1 + 1e-5f)) << r << "," << c;
      }
  }
}

struct RtnGolden {
  const char* file;
  int bits;
  int64_t group;  // -1 = channel
  bool sym;
  int64_t expected_code_diffs;  // compressed-tensors vs the reference (README "Mapping ..." section)
};

// RTN on real bundled-model tensors against the reference's RTN baseline. Symmetric: identical codes and
// scales (0 differences, the README proves CT and the reference agree there). Asymmetric: CT rounds after
// adding the zero point, the reference before, so exact .5 ties at odd zero points differ by one: the
// README counts 62 such codes in w4_asym_g32 (numpy emulation of CT). Scales and zero points are identical.
TEST(IntQuant, RtnMatchesReferenceOnBundledModel) {
  const RtnGolden cases[] = {
      {"w4_sym_g128_L1_down_proj", 4, 128, true, 0},
      {"w4_sym_perchannel_L0_q_proj", 4, -1, true, 0},
      {"w8_sym_perchannel_L0_q_proj", 8, -1, true, 0},
      {"w4_asym_g32_L0_gate_proj", 4, 32, false, 62},
      {"w3_asym_g128_L1_down_proj", 3, 128, false, 21},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto f = safetensors::File::Open(SharedPath(fmt::format("golden/gptq/{}.safetensors", c.file)));
    const Tensor w = f->Get("W");
    const IntQuantSpec spec{c.bits, c.sym, c.group < 0 ? IntStrategy::kChannel : IntStrategy::kGroup,
                            c.group < 0 ? 0 : c.group};
    auto q = QuantizeMatrix(w, spec, c.file);
    const auto ref_codes = Values<int32_t>(f->Get("codes_rtn"));
    const auto ref_scale = Values<float>(f->Get("scale_rtn"));
    const auto ref_zero = Values<float>(f->Get("zero_rtn"));
    ASSERT_EQ(q.params.scales.size(), ref_scale.size());
    const int offset = 1 << (c.bits - 1);
    for (size_t i = 0; i < ref_scale.size(); ++i) {
      ASSERT_EQ(FloatBits(q.params.scales[i]), FloatBits(ref_scale[i])) << "scale " << i;
      const int zp = c.sym ? 0 : q.params.zeros[i];
      ASSERT_EQ(static_cast<float>(zp + offset), ref_zero[i]) << "zero " << i;
    }
    int64_t diffs = 0;
    for (size_t i = 0; i < ref_codes.size(); ++i) {
      const int ours = q.codes[i] + offset;
      if (ours == ref_codes[i]) continue;
      ++diffs;
      ASSERT_EQ(std::abs(ours - ref_codes[i]), 1) << i;
      // Only at a tie: x/s is exactly k + 0.5.
      const float t = w.data<float>()[i] / q.params.scales[i / static_cast<size_t>(w.dim(1)) * q.params.groups +
                                                           (i % static_cast<size_t>(w.dim(1))) / spec.GroupCols(w.dim(1))];
      ASSERT_EQ(t - std::floor(t), 0.5f) << i;
    }
    EXPECT_EQ(diffs, c.expected_code_diffs);
    const double agree = 1.0 - static_cast<double>(diffs) / static_cast<double>(ref_codes.size());
    // The acceptance bar (>= 99.9 %) is against compressed-tensors; for symmetric cases the reference IS
    // compressed-tensors' arithmetic, and for asymmetric ones every difference is a documented CT tie.
    if (c.sym) {
      EXPECT_GE(agree, 0.999);
    }
    RecordProperty(c.file, fmt::format("{:.4f}%", 100 * agree));
  }
}

}  // namespace
}  // namespace qforge::codecs
