#include "core/tensor.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/half.h"

namespace qforge {
namespace {

TEST(Tensor, ZerosAreAlignedContiguousAndOwned) {
  Tensor t = Tensor::Zeros(DType::kF32, {3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.bytes()) % kBufferAlignment, 0u);
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_EQ(t.strides(), (std::vector<int64_t>{5, 1}));
  EXPECT_TRUE(t.contiguous());
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
  t.mutable_data<float>()[7] = 2.5f;
  Tensor r = t.Rows(1, 2);
  EXPECT_EQ(r.shape(), (Shape{1, 5}));
  EXPECT_EQ(r.data<float>()[2], 2.5f);
}

TEST(Tensor, BlockTypeStridesCountBlocks) {
  Tensor t = Tensor::Zeros(DType::kQ8_0, {4, 64});
  EXPECT_EQ(t.nbytes(), 4u * 2 * 34);
  EXPECT_EQ(t.strides(), (std::vector<int64_t>{2, 1}));
}

TEST(Tensor, ToF32ConvertsHalfTypes) {
  uint16_t bf[3] = {F32ToBf16(1.5f), F32ToBf16(-2.0f), F32ToBf16(0.15625f)};
  Tensor v(DType::kBF16, {3}, bf);
  Tensor f = v.ToF32();
  EXPECT_EQ(f.data<float>()[0], 1.5f);
  EXPECT_EQ(f.data<float>()[1], -2.0f);
  EXPECT_EQ(f.data<float>()[2], 0.15625f);
  Tensor i = Tensor::Zeros(DType::kI32, {2});
  EXPECT_THROW(i.ToF32(), Error);
}

TEST(Tensor, ShapeToString) { EXPECT_EQ(ShapeToString({2048, 128}), "[2048, 128]"); }

TEST(TensorDeathTest, MutatingABorrowedViewIsABug) {
  float x[2] = {1, 2};
  Tensor v(DType::kF32, {2}, x);
  EXPECT_DEATH(v.mutable_data<float>(), "CHECK failed");
}

}  // namespace
}  // namespace qforge
