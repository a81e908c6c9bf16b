#include "core/dtype.h"

#include <gtest/gtest.h>

#include <set>

namespace qforge {
namespace {

TEST(DType, TableIsConsistent) {
  std::set<std::string_view> names, st_names;
  std::set<int32_t> gguf_ids;
  for (const auto& t : AllDTypes()) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
    if (!t.safetensors_name.empty()) {
      EXPECT_TRUE(st_names.insert(t.safetensors_name).second);
    }
    if (t.gguf_id >= 0) {
      EXPECT_TRUE(gguf_ids.insert(t.gguf_id).second) << t.name;
    }
    EXPECT_GT(t.block_size, 0);
    EXPECT_GT(t.type_size, 0);
    EXPECT_EQ(DTypeFromName(t.name), t.dtype);
  }
}

// Block sizes and ggml ids as published in ggml.h / ggml.c type_traits (FORMATS.md §6.2).
TEST(DType, GgmlBlockLayoutsMatchPublishedSizes) {
  struct Row { DType t; int64_t block, bytes; int32_t id; };
  for (const Row& r : {Row{DType::kQ4_0, 32, 18, 2}, Row{DType::kQ4_1, 32, 20, 3}, Row{DType::kQ5_0, 32, 22, 6},
                       Row{DType::kQ5_1, 32, 24, 7}, Row{DType::kQ8_0, 32, 34, 8}, Row{DType::kQ2_K, 256, 84, 10},
                       Row{DType::kQ3_K, 256, 110, 11}, Row{DType::kQ4_K, 256, 144, 12},
                       Row{DType::kQ5_K, 256, 176, 13}, Row{DType::kQ6_K, 256, 210, 14},
                       Row{DType::kBF16, 1, 2, 30}, Row{DType::kF16, 1, 2, 1}, Row{DType::kF32, 1, 4, 0}}) {
    EXPECT_EQ(Traits(r.t).block_size, r.block) << Name(r.t);
    EXPECT_EQ(Traits(r.t).type_size, r.bytes) << Name(r.t);
    EXPECT_EQ(Traits(r.t).gguf_id, r.id) << Name(r.t);
    EXPECT_EQ(DTypeFromGgufId(r.id), r.t);
  }
}

TEST(DType, ByteSizeChecksBlocksAndOverflow) {
  EXPECT_EQ(ByteSize(DType::kF32, 10), 40u);
  EXPECT_EQ(ByteSize(DType::kQ4_K, 512), 288u);
  EXPECT_FALSE(ByteSize(DType::kQ4_K, 100).has_value());
  EXPECT_FALSE(ByteSize(DType::kF64, UINT64_MAX / 4).has_value());
  EXPECT_EQ(DTypeFromSafetensorsName("BF16"), DType::kBF16);
  EXPECT_FALSE(DTypeFromSafetensorsName("Q4_K").has_value());
  EXPECT_FALSE(DTypeFromSafetensorsName("F8_E4M3").has_value());
}

}  // namespace
}  // namespace qforge
