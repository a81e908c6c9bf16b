// Bit-exactness against ggml itself: our reference quantizers vs ggml_quantize_chunk, and our decoders
// (scalar and SIMD) vs ggml's to_float, on random, model and awkward rows, with and without an imatrix.
// Requires the oracle library (tests/oracle); a missing library fails the test, it is never skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codecs/ggml/ggml_codecs.h"
#include "codecs/ggml/ggml_oracle_lib.h"
#include "codecs/ggml/ggml_test_rows.h"
#include "core/dtype.h"

namespace qforge::codecs::ggml {
namespace {

using testing::GgmlOracle;
using testing::RowSet;

GgmlOracle& Oracle() {
  static GgmlOracle* oracle = new GgmlOracle();  // never unloaded: ggml keeps global state
  return *oracle;
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

struct Tally {
  int64_t rows = 0, bytes = 0, bad_rows = 0, decoded_rows = 0;
  void Add(const Tally& o) {
    rows += o.rows, bytes += o.bytes, bad_rows += o.bad_rows, decoded_rows += o.decoded_rows;
  }
};

// Quantizes `set` with ggml and with us; counts rows whose bytes differ. Also decodes ggml's bytes with
// ggml's to_float and with our scalar and SIMD decoders and requires identical float bits.
Tally CompareSet(const Codec& codec, const RowSet& set, const float* imatrix) {
  GgmlOracle& g = Oracle();
  const int type_id = Traits(codec.dtype).gguf_id;
  const int64_t n = set.n_per_row, nrows = set.nrows();
  const size_t row_bytes = RowBytes(codec.dtype, n);
  std::vector<uint8_t> ours(row_bytes * nrows + 1, 0xAB), theirs(row_bytes * nrows + 1, 0xAB);
  g.quantize_init(type_id);
  const size_t got_theirs = g.quantize_chunk(type_id, set.data.data(), theirs.data(), 0, nrows, n, imatrix);
  const size_t got_ours = QuantizeRows(codec.dtype, set.data.data(), ours.data(), nrows, n, imatrix);
  EXPECT_EQ(got_theirs, row_bytes * nrows);
  EXPECT_EQ(got_ours, got_theirs);
  EXPECT_EQ(ours.back(), 0xAB) << "wrote past the end";
  Tally t;
  for (int64_t r = 0; r < nrows; ++r) {
    const uint8_t* a = ours.data() + r * row_bytes;
    const uint8_t* b = theirs.data() + r * row_bytes;
    ++t.rows;
    t.bytes += static_cast<int64_t>(row_bytes);
    if (std::memcmp(a, b, row_bytes) != 0) {
      if (t.bad_rows++ < 3) {
        size_t i = 0;
        while (a[i] == b[i]) ++i;
        ADD_FAILURE() << Name(codec.dtype) << " " << set.name << " n=" << n << (imatrix ? " imatrix" : "")
                      << ": row " << r << " differs first at byte " << i << " (block "
                      << i / codec.block_bytes << ", offset " << i % codec.block_bytes << "): ours "
                      << int(a[i]) << " ggml " << int(b[i]);
      }
    }
  }
  // Decoders on ggml's bytes.
  const GgmlOracle::TypeTraits* tr = g.get_type_traits(type_id);
  EXPECT_NE(tr, nullptr);
  if (!tr || !tr->to_float) return t;
  std::vector<float> want(n), ref(n), simd(n);
  int64_t bad_decode = 0;
  for (int64_t r = 0; r < nrows; ++r) {
    const uint8_t* q = theirs.data() + r * row_bytes;
    tr->to_float(q, want.data(), n);
    DequantizeRowRef(codec.dtype, q, ref.data(), n);
    DequantizeRow(codec.dtype, q, simd.data(), n);
    ++t.decoded_rows;
    if (std::memcmp(want.data(), ref.data(), n * sizeof(float)) != 0 ||
        std::memcmp(want.data(), simd.data(), n * sizeof(float)) != 0)
      ++bad_decode;
  }
  EXPECT_EQ(bad_decode, 0) << Name(codec.dtype) << " " << set.name << ": decoded rows differ from ggml's to_float";
  return t;
}

TEST(GgmlOracle, LibraryLoadsAndTraitsMatchOurTable) {
  GgmlOracle& g = Oracle();  // throws (fails) when the library is missing
  for (const Codec& c : AllCodecs()) {
    const DTypeTraits& t = Traits(c.dtype);
    const GgmlOracle::TypeTraits* tr = g.get_type_traits(t.gguf_id);
    ASSERT_NE(tr, nullptr);
    EXPECT_EQ(Lower(tr->type_name), Lower(t.name));
    EXPECT_EQ(tr->blck_size, t.block_size);
    EXPECT_EQ(tr->type_size, static_cast<size_t>(t.type_size));
    EXPECT_EQ(tr->is_quantized, t.is_quantized);
    if (c.dtype != DType::kF32) {  // ggml has no f32 to_float
      EXPECT_NE(tr->to_float, nullptr) << t.name;
    }
  }
}

class GgmlOracleTest : public ::testing::TestWithParam<DType> {};

TEST_P(GgmlOracleTest, BytesEqualGgmlQuantizeChunk) {
  const Codec& codec = *FindCodec(GetParam());
  // Row lengths: 512 for every type; the 32-element types also 96 (not a multiple of 256) and the
  // model's own 128- and 384-element rows.
  std::vector<RowSet> sets;
  sets.push_back(testing::RandomRows(512, 4, 1234));
  sets.push_back(testing::AwkwardRows(512, 99));
  sets.push_back(testing::ModelRows(testing::ModelPath(), 512, 5));
  if (codec.block_size == 32) {
    sets.push_back(testing::RandomRows(96, 2, 77));
    sets.push_back(testing::AwkwardRows(96, 5));
    sets.push_back(testing::ModelRows(testing::ModelPath(), 128, 9));
    sets.push_back(testing::ModelRows(testing::ModelPath(), 384, 7));
  }
  const std::vector<float> vec = testing::VectorRow();
  sets.push_back(RowSet{"formats-9.1", 256, vec});
  Tally plain, weighted;
  for (const RowSet& s : sets) {
    const Tally a = CompareSet(codec, s, nullptr);
    const std::vector<float> im = testing::RandomImatrix(s.n_per_row, 4242 + static_cast<uint32_t>(s.n_per_row));
    const Tally b = CompareSet(codec, s, im.data());
    plain.Add(a);
    weighted.Add(b);
  }
  // The FORMATS.md §9.1 imatrix v_i = 1 + (i mod 7).
  std::vector<float> im91(256);
  for (int i = 0; i < 256; ++i) im91[i] = static_cast<float>(1 + i % 7);
  const Tally c = CompareSet(codec, RowSet{"formats-9.1", 256, vec}, im91.data());
  weighted.Add(c);
  std::printf("[ oracle ] %-5s no imatrix: %lld rows / %lld bytes, %lld mismatched; imatrix: %lld rows / "
              "%lld bytes, %lld mismatched; decoded vs to_float: %lld rows\n",
              std::string(Name(codec.dtype)).c_str(), (long long)plain.rows, (long long)plain.bytes,
              (long long)plain.bad_rows, (long long)weighted.rows, (long long)weighted.bytes,
              (long long)weighted.bad_rows, (long long)(plain.decoded_rows + weighted.decoded_rows));
  EXPECT_EQ(plain.bad_rows, 0);
  EXPECT_EQ(weighted.bad_rows, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, GgmlOracleTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                                           DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                                           DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const ::testing::TestParamInfo<DType>& info) { return std::string(Name(info.param)); });

// Special float values for the element types (F16 NaN canonicalisation, BF16 rounding and subnormals).
TEST(GgmlOracle, FloatTypesOnSpecialValues) {
  std::vector<float> v = {0.f, -0.f, 1.f, -1.f, 65504.f, 65520.f, 1e30f, -1e30f, 6e-8f, 3e-8f, 1e-45f, -1e-40f,
                          1.00048828125f, 1.0009765625f, 3.14159265f, 1.0f / 3.0f};
  const float inf = std::numeric_limits<float>::infinity();
  v.push_back(inf);
  v.push_back(-inf);
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  v.push_back(-std::numeric_limits<float>::quiet_NaN());
  uint32_t snan_bits = 0x7f800001u;
  float snan;
  std::memcpy(&snan, &snan_bits, 4);
  v.push_back(snan);
  for (uint32_t bits : {0x3f808000u, 0x3f818000u, 0x00400000u, 0x007fffffu, 0x38800000u, 0x33000000u, 0x33000001u})
    v.push_back([&] { float f; std::memcpy(&f, &bits, 4); return f; }());
  for (DType t : {DType::kF16, DType::kBF16, DType::kF32}) {
    const RowSet s{"special", static_cast<int64_t>(v.size()), v};
    const Tally a = CompareSet(*FindCodec(t), s, nullptr);
    EXPECT_EQ(a.bad_rows, 0) << Name(t);
  }
}

}  // namespace
}  // namespace qforge::codecs::ggml
