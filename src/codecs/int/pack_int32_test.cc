// Packing against compressed-tensors' own pack_to_int32 / unpack_from_int32 outputs
// (../shared/golden/compressed_tensors, generated from CT 0.18.0; see its README).
#include "codecs/int/pack_int32.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "codecs/int/golden_util_test.h"
#include "core/error.h"
#include "formats/safetensors/file.h"

namespace qforge::codecs {
namespace {

using testing::SharedPath;
using testing::Values;

TEST(PackInt32, WorkedExampleInt4) {  // README example_int4 and FORMATS.md §2.8 table
  const std::vector<int8_t> codes = {-8, -7, 0, 1, 2, 3, 4, 7, 5};
  EXPECT_EQ(PackInt32(codes, 1, 9, 4, 1, "x"), (std::vector<uint32_t>{0xfcba9810u, 0x0000000du}));
  EXPECT_EQ(PackInt32(codes, 9, 1, 4, 0, "x"), (std::vector<uint32_t>{0xfcba9810u, 0x0000000du}));
  EXPECT_EQ(PackInt32(std::vector<int8_t>{-8, 7, 0, 1, -1, 3, -4, 2}, 1, 8, 4, 1, "x")[0], 0xA4B798F0u);
  EXPECT_EQ(PackInt32(std::vector<int8_t>{5, -6, 0, 0, 0, 0, 0, 0}, 1, 8, 4, 1, "x")[0], 0x8888882Du);
  EXPECT_EQ(PackInt32(std::vector<int8_t>{-128, 127, 0, 1}, 1, 4, 8, 1, "x")[0], 0x8180FF00u);
  EXPECT_EQ(PackInt32(std::vector<int8_t>{-8, 7, 0, 1, 2, 3, 4, 5, -1}, 9, 1, 4, 0, "x"),
            (std::vector<uint32_t>{0xDCBA98F0u, 0x00000007u}));
  // int3 straddles words: the current (>= 0.17) layout from the README.
  EXPECT_EQ(PackInt32(std::vector<int8_t>{-4, -3, -2, -1, 0, 1, 2, 3, -4, -3, -2}, 1, 11, 3, 1, "x"),
            (std::vector<uint32_t>{0x88fac688u, 0x0u}));
  EXPECT_EQ(UnpackInt32(std::vector<uint32_t>{0xfcba9810u, 0x0000000du}, 1, 9, 4, 1, "x"), codes);
}

TEST(PackInt32, GoldenFileExampleInt4) {
  auto f = safetensors::File::Open(SharedPath("golden/compressed_tensors/example_int4.safetensors"));
  for (const auto& t : f->tensors()) {
    if (t.dtype != DType::kI32) continue;
    const auto words = Values<uint32_t>(f->Get(t.name));
    ASSERT_EQ(words.size(), 2u) << t.name;
    EXPECT_EQ(words[0], 0xfcba9810u) << t.name;
    EXPECT_EQ(words[1], 0x0000000du) << t.name;
  }
}

// Every pack_int{b} file: 6 shapes x 2 dims, words identical and both unpackers' outputs equal the codes.
TEST(PackInt32, MatchesCompressedTensorsGolden) {
  const char* kShapes[] = {"1x1", "3x9", "5x32", "16x130", "33x7", "128x384"};
  int checked = 0;
  for (int b = 1; b <= 8; ++b) {
    auto f = safetensors::File::Open(SharedPath(fmt::format("golden/compressed_tensors/pack_int{}.safetensors", b)));
    for (const char* s : kShapes) {
      const Tensor ct = f->Get(fmt::format("{}.codes", s));
      const int64_t rows = ct.dim(0), cols = ct.dim(1);
      const auto codes = Values<int8_t>(ct);
      for (int dim = 0; dim <= 1; ++dim) {
        SCOPED_TRACE(fmt::format("b={} shape={} dim={}", b, s, dim));
        const Tensor ref = f->Get(fmt::format("{}.packed_dim{}", s, dim));
        EXPECT_EQ(ref.shape(), PackedShape(rows, cols, b, dim));
        const auto ref_words = Values<uint32_t>(ref);
        EXPECT_EQ(PackInt32(codes, rows, cols, b, dim, "golden"), ref_words);
        EXPECT_EQ(UnpackInt32(ref_words, rows, cols, b, dim, "golden"), codes);
        EXPECT_EQ(Values<int8_t>(f->Get(fmt::format("{}.unpacked_dim{}", s, dim))), codes);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 8 * 6 * 2);
}

// The legacy (<= 0.16/0.17.1) layout differs for b = 3, 5, 6, 7: our packer must NOT produce it (we match
// current compressed-tensors), except where the README says both coincide (3x9 int3 is one identical word).
TEST(PackInt32, DiffersFromLegacyLayoutWhereDocumented) {
  auto f = safetensors::File::Open(SharedPath("golden/compressed_tensors/pack_legacy_ct0.17.1.safetensors"));
  const auto codes = Values<int8_t>(f->Get("int3.128x384.codes"));
  const auto legacy = f->Get("int3.128x384.packed_dim1");
  EXPECT_EQ(legacy.shape(), (Shape{128, 39}));
  EXPECT_EQ(PackedShape(128, 384, 3, 1), (Shape{128, 36}));
  const auto small = Values<int8_t>(f->Get("int3.3x9.codes"));
  EXPECT_EQ(PackInt32(small, 3, 9, 3, 1, "x"), Values<uint32_t>(f->Get("int3.3x9.packed_dim1")));
}

TEST(PackInt32, RejectsOutOfRangeCodes) {
  EXPECT_THROW(PackInt32(std::vector<int8_t>{8}, 1, 1, 4, 1, "w"), Error);
  EXPECT_THROW(PackInt32(std::vector<int8_t>{-9}, 1, 1, 4, 0, "w"), Error);
  EXPECT_THROW(PackInt32(std::vector<int8_t>{2}, 1, 1, 2, 1, "w"), Error);
  EXPECT_NO_THROW(PackInt32(std::vector<int8_t>{-128, 127}, 1, 2, 8, 1, "w"));
  try {
    PackInt32(std::vector<int8_t>{0, 0, 0, 9}, 2, 2, 4, 1, "layer.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer.weight: code 9 at [1, 1]"), std::string::npos) << e.what();
  }
}

TEST(PackInt32, UnpackRejectsWrongShape) {
  // 9 int4 codes need 2 words per row; the reference would pad or truncate silently.
  EXPECT_THROW(UnpackInt32(std::vector<uint32_t>{0, 0, 0}, 1, 9, 4, 1, "w"), Error);
  EXPECT_THROW(UnpackInt32(std::vector<uint32_t>{0}, 1, 9, 4, 1, "w"), Error);
  EXPECT_NO_THROW(UnpackInt32(std::vector<uint32_t>{0, 0}, 1, 9, 4, 1, "w"));
}

}  // namespace
}  // namespace qforge::codecs
