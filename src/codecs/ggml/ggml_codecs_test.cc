// Codec table consistency, the FORMATS.md §9.1 test vectors (digests recorded from ggml_quantize_chunk),
// argument validation and thread-count independence. The full comparison with ggml is ggml_oracle_test.
#include "codecs/ggml/ggml_codecs.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "codecs/ggml/ggml_test_rows.h"
#include "codecs/ggml/sha256_for_test.h"
#include "core/error.h"

namespace qforge::codecs::ggml {
namespace {

using testing::Hex;
using testing::Sha256Hex;

TEST(GgmlCodecTable, MatchesDTypeTraits) {
  EXPECT_EQ(AllCodecs().size(), 13u);
  for (const Codec& c : AllCodecs()) {
    const DTypeTraits& t = Traits(c.dtype);
    EXPECT_EQ(c.block_size, t.block_size) << t.name;
    EXPECT_EQ(static_cast<int64_t>(c.block_bytes), t.type_size) << t.name;
    EXPECT_TRUE(HasGgmlCodec(c.dtype));
    EXPECT_EQ(FindCodec(c.dtype), &c);
  }
  EXPECT_FALSE(HasGgmlCodec(DType::kI32));
  EXPECT_EQ(FindCodec(DType::kF64), nullptr);
  EXPECT_EQ(RowBytes(DType::kQ4_K, 512), 288u);
  EXPECT_EQ(RowBytes(DType::kQ8_0, 96), 102u);
  EXPECT_EQ(RowBytes(DType::kBF16, 3), 6u);
}

std::vector<uint8_t> Quantize(DType t, const std::vector<float>& x, const float* imatrix) {
  std::vector<uint8_t> out(RowBytes(t, static_cast<int64_t>(x.size())));
  EXPECT_EQ(QuantizeRows(t, x.data(), out.data(), 1, static_cast<int64_t>(x.size()), imatrix), out.size());
  return out;
}

// FORMATS.md §9.1: SHA-256 of ggml_quantize_chunk(type, x, dst, 0, 1, 256, imatrix) for the vector row.
TEST(GgmlCodecVectors, Formats91DigestsWithoutImatrix) {
  const std::map<DType, std::pair<std::string, std::string>> want = {
      {DType::kQ8_0, {"4d1e81df3d9af856b41270cd2b89e745", "980e0ff094515bf9625026298620cfd47fb54407428cc8dd22b70ab27d770d80"}},
      {DType::kQ4_0, {"402ee046acf258bd1379df358be046ac", "88c8488e6dad049bff96e5017d28aae6657cd5cc6c8f1967a35df8c710409f8f"}},
      {DType::kQ4_1, {"ab2e40bad0369bf257bd1369ce258ae0", "44dfc6ef7d9aace164d404248ad2307d9c93fbc6059fcae92a06de8e98b44bac"}},
      {DType::kQ5_0, {"402aa4a52d6dc07c38f3bf6b26e2ae5a", "e319561b77f773cc29c3b6c71c4ca5600ded65a20c6f125134b096a953ae1466"}},
      {DType::kQ5_1, {"742a40baa4a52d6db07b37e3af6a26d2", "f59f042e3e821ad8992e95156837a15eed7b938e06693235611250e9ac0d0fc4"}},
      {DType::kQ2_K, {"22223344655588679978abbbcbedceff", "e6fed3a9dd888e1a74f540cfda6f8e77c4ccbf797733328d36f2dc6c5b830029"}},
      {DType::kQ3_K, {"86dc2bc6fd23d67923dc3986fc2bd6fd", "ca88ffe13afa9d199c3f016daf98c65293eb66ccee9b4fecc11d95e533e3ceec"}},
      {DType::kQ4_K, {"bc222b2e8890d8de888fd7df68ee78ff", "8ae4819f2b151aa3fcbcdf15a8fb517fc32d72a2dd7e010c73fa594c5c6929bd"}},
      {DType::kQ5_K, {"8d1e102e888fd7de88d0d8e1770f95ff", "d38015f7e8c3bb037e57f8ea5f83cfd3a65168a08d74a14756c6b719053cbcf9"}},
      {DType::kQ6_K, {"d258be38be24ae048b047af47ad05ad0", "c71109980061b915452cb3c9830746ea1f6393739cc2a9fc1307b4a8efa46454"}},
  };
  const std::vector<float> x = testing::VectorRow();
  for (const auto& [type, digests] : want) {
    const std::vector<uint8_t> q = Quantize(type, x, nullptr);
    EXPECT_EQ(Hex(q.data(), 16), digests.first) << Name(type);
    EXPECT_EQ(Sha256Hex(q.data(), q.size()), digests.second) << Name(type);
  }
}

TEST(GgmlCodecVectors, Formats91DigestsWithImatrix) {
  const std::map<DType, std::string> want = {
      {DType::kQ8_0, "980e0ff094515bf9625026298620cfd47fb54407428cc8dd22b70ab27d770d80"},
      {DType::kQ5_0, "52171b932760690eb471189156c97ce04bfb4daca1bc87fa3a3c811ceee35468"},
      {DType::kQ5_1, "cf93f16d420a9244a9c52a4b162ef4650a0c9276c8083fb0f5842874b97c5cdd"},
      {DType::kQ4_K, "c1a6b8097b5a48f4e183999f40f55aeffc4aba49611f2f2f70c63f35e9eb502f"},
      {DType::kQ5_K, "3198bff3461888793ee4fc1812a8d8a157afc55a56f0625092bad9c531bfca4c"},
      {DType::kQ6_K, "f06e6bcab363742a8fb13520595510e7531873c2a1f68b767a48a5d13786562f"},
  };
  const std::vector<float> x = testing::VectorRow();
  std::vector<float> im(256);
  for (int i = 0; i < 256; ++i) im[i] = static_cast<float>(1 + i % 7);
  for (const auto& [type, digest] : want)
    EXPECT_EQ(Sha256Hex(Quantize(type, x, im.data()).data(), RowBytes(type, 256)), digest) << Name(type);
}

TEST(GgmlCodecVectors, Formats91SmallBlocks) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16) / 16.0f;
  const std::vector<uint8_t> q8 = Quantize(DType::kQ8_0, x, nullptr);
  EXPECT_EQ(Hex(q8.data(), q8.size()), "082081899199a1a9b1b9c0c8d0d8e0e8f0f8000810182028303840474f575f676f77");
  const std::vector<uint8_t> q4 = Quantize(DType::kQ4_0, x, nullptr);
  EXPECT_EQ(Hex(q4.data(), q4.size()), "0030809191a2a2b3b3c4c4d5d5e6e6f7f7f8");
}

TEST(GgmlCodecErrors, RejectsBadTypesAndLengths) {
  std::vector<float> x(256, 1.f);
  std::vector<uint8_t> out(4096);
  EXPECT_THROW(QuantizeRows(DType::kI8, x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_THROW(QuantizeRows(DType::kQ4_K, x.data(), out.data(), 1, 128, nullptr), Error);
  EXPECT_THROW(QuantizeRows(DType::kQ8_0, x.data(), out.data(), 1, 33, nullptr), Error);
  EXPECT_THROW(QuantizeRows(DType::kQ8_0, x.data(), out.data(), -1, 32, nullptr), Error);
  EXPECT_THROW(RowBytes(DType::kQ6_K, 100), Error);
  EXPECT_THROW(RowBytes(DType::kQ8_0, -32), Error);
  EXPECT_THROW(QuantizeRows(DType::kQ4_K, x.data(), out.data(), INT64_MAX, 256, nullptr), Error);  // size overflow
  std::vector<float> y(256);
  EXPECT_THROW(DequantizeRow(DType::kQ2_K, out.data(), y.data(), 100), Error);
  EXPECT_THROW(DequantizeRow(DType::kU8, out.data(), y.data(), 32), Error);
  try {
    QuantizeRows(DType::kQ5_K, x.data(), out.data(), 1, 96, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of the Q5_K block size 256"), std::string::npos) << e.what();
  }
  EXPECT_EQ(QuantizeRows(DType::kQ4_0, x.data(), out.data(), 0, 256, nullptr), 0u);
}

// Many rows at once (split over the thread pool) give the same bytes as one row at a time.
TEST(GgmlCodecParallel, ManyRowsEqualRowByRow) {
  const testing::RowSet s = testing::RandomRows(256, 50, 7);  // 300 rows, > 1 task
  const std::vector<float> im = testing::RandomImatrix(256, 3);
  for (DType t : {DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
    for (const float* imatrix : {static_cast<const float*>(nullptr), im.data()}) {
      const size_t rb = RowBytes(t, 256);
      std::vector<uint8_t> all(rb * s.nrows()), one(rb);
      QuantizeRows(t, s.data.data(), all.data(), s.nrows(), 256, imatrix);
      for (int64_t r = 0; r < s.nrows(); ++r) {
        QuantizeRows(t, s.data.data() + r * 256, one.data(), 1, 256, imatrix);
        ASSERT_EQ(0, std::memcmp(one.data(), all.data() + r * rb, rb)) << Name(t) << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace qforge::codecs::ggml
