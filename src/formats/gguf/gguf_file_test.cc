// GGUF reader: valid files built byte by byte (independently of the writer), every value type, and
// enumerated malformed files that must be rejected with a message naming the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"

namespace qforge::gguf {
namespace {

// Little-endian byte builder for hand-made GGUF files.
class Bytes {
 public:
  template <typename T> Bytes& Pod(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b_.insert(b_.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& U32(uint32_t v) { return Pod(v); }
  Bytes& U64(uint64_t v) { return Pod(v); }
  Bytes& I64(int64_t v) { return Pod(v); }
  Bytes& Str(const std::string& s) {
    U64(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& Raw(const std::vector<uint8_t>& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    return *this;
  }
  Bytes& PadTo(size_t align) {
    while (b_.size() % align) b_.push_back(0);
    return *this;
  }
  Bytes& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return U32(0x46554747).U32(version).U64(n_tensors).U64(n_kv);
  }
  // Tensor info: name, dims (ggml order), ggml type id, offset.
  Bytes& Info(const std::string& name, std::vector<int64_t> ne, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) I64(d);
    return U32(type).U64(offset);
  }
  std::vector<uint8_t>& v() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

std::string ParseError(std::vector<uint8_t> bytes) {
  try {
    File::FromBytes(std::move(bytes), "bad.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A valid file: one KV of each scalar type, a string, arrays, and two F32 tensors.
std::vector<uint8_t> ValidFile() {
  Bytes b;
  b.Header(2, 15);
  b.Str("u8").U32(0).Pod<uint8_t>(200);
  b.Str("i8").U32(1).Pod<int8_t>(-5);
  b.Str("u16").U32(2).Pod<uint16_t>(60000);
  b.Str("i16").U32(3).Pod<int16_t>(-30000);
  b.Str("u32").U32(4).Pod<uint32_t>(4000000000u);
  b.Str("i32").U32(5).Pod<int32_t>(-2000000000);
  b.Str("f32").U32(6).Pod<float>(1.5f);
  b.Str("bool").U32(7).Pod<uint8_t>(1);
  b.Str("str").U32(8).Str("llama");
  b.Str("u64").U32(10).Pod<uint64_t>(1ull << 40);
  b.Str("i64").U32(11).Pod<int64_t>(-(1ll << 40));
  b.Str("f64").U32(12).Pod<double>(0.25);
  b.Str("arr.i32").U32(9).U32(5).U64(3).Pod<int32_t>(1).Pod<int32_t>(-2).Pod<int32_t>(3);
  b.Str("arr.str").U32(9).U32(8).U64(2).Str("a").Str("bc");
  b.Str("arr.empty").U32(9).U32(6).U64(0);
  b.Info("a.weight", {4, 2}, 0, 0).Info("b", {3}, 0, 32);
  b.PadTo(32);
  for (int i = 0; i < 8; ++i) b.Pod<float>(static_cast<float>(i));
  for (int i = 0; i < 3; ++i) b.Pod<float>(-1.0f);
  b.PadTo(32);
  return b.v();
}

TEST(GgufFile, ReadsEveryValueTypeAndTensors) {
  auto f = File::FromBytes(ValidFile(), "ok.gguf");
  EXPECT_EQ(f->version(), 3u);
  ASSERT_EQ(f->kvs().size(), 15u);
  EXPECT_EQ(f->kvs()[0].key, "u8");
  EXPECT_EQ(*f->Kv("u8").As<uint8_t>(), 200);
  EXPECT_EQ(*f->Kv("i8").As<int8_t>(), -5);
  EXPECT_EQ(*f->Kv("u16").As<uint16_t>(), 60000);
  EXPECT_EQ(*f->Kv("i16").As<int16_t>(), -30000);
  EXPECT_EQ(f->GetU32("u32"), 4000000000u);
  EXPECT_EQ(*f->Kv("i32").As<int32_t>(), -2000000000);
  EXPECT_EQ(f->GetF32("f32"), 1.5f);
  EXPECT_EQ(f->FindBool("bool"), true);
  EXPECT_EQ(f->GetString("str"), "llama");
  EXPECT_EQ(*f->Kv("u64").As<uint64_t>(), 1ull << 40);
  EXPECT_EQ(*f->Kv("i64").ToInt64(), -(1ll << 40));
  EXPECT_EQ(*f->Kv("f64").ToDouble(), 0.25);
  EXPECT_EQ(*f->Kv("arr.i32").AsArray<int32_t>(), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(*f->Kv("arr.str").AsStringArray(), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(f->Kv("arr.empty").count(), 0u);
  // Strict typing: a UINT32 is not a FLOAT32, a STRING is not a UINT32.
  EXPECT_THROW(f->GetF32("u32"), Error);
  EXPECT_THROW(f->GetU32("str"), Error);
  EXPECT_THROW(f->GetU32("missing"), Error);
  EXPECT_FALSE(f->FindU32("missing").has_value());

  ASSERT_EQ(f->tensor_infos().size(), 2u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  EXPECT_EQ(f->Names(), (std::vector<std::string>{"a.weight", "b"}));
  Tensor a = f->Get("a.weight");
  EXPECT_EQ(a.shape(), (Shape{2, 4}));  // PyTorch order
  EXPECT_EQ(a.data<float>()[7], 7.0f);
  Tensor b = f->Get("b");
  EXPECT_EQ(b.shape(), (Shape{3}));
  EXPECT_EQ(b.data<float>()[2], -1.0f);
  EXPECT_THROW(f->Get("c"), Error);
}

TEST(GgufFile, AcceptsVersion2AndCustomAlignment) {
  Bytes b;
  b.Header(1, 1, 2).Str("general.alignment").U32(4).U32(64).Info("t", {2}, 1, 0).PadTo(64);
  b.Pod<uint16_t>(0x3c00).Pod<uint16_t>(0x4000);  // f16 1.0, 2.0
  auto f = File::FromBytes(b.v(), "v2.gguf");
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset(), 128u);  // 90 header bytes padded to 64
  EXPECT_EQ(f->Get("t").ToF32().data<float>()[1], 2.0f);
}

TEST(GgufFile, ReadsSharedStories260K) {
  auto f = File::Open(std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf");
  EXPECT_EQ(f->GetString("general.architecture"), "llama");
  EXPECT_EQ(f->GetU32("llama.block_count"), 5u);
  EXPECT_EQ(f->Kv("tokenizer.ggml.tokens").AsStringArray()->size(), 512u);
  EXPECT_EQ(f->tensor_infos().size(), 48u);
  EXPECT_EQ(f->Get("blk.0.ffn_down.weight").shape(), (Shape{64, 172}));
  EXPECT_EQ(f->data_offset(), 14176u);
}

// ---- Malformed files: each must be rejected with a message that names the problem. ----

struct BadCase {
  std::string name;
  std::function<std::vector<uint8_t>()> make;
  std::string expect;  // substring of the error
};

std::vector<BadCase> BadCases() {
  auto one_tensor = [](uint32_t type, std::vector<int64_t> ne, uint64_t offset, size_t data_bytes) {
    Bytes b;
    b.Header(1, 0).Info("t", std::move(ne), type, offset).PadTo(32);
    b.v().resize(b.v().size() + data_bytes);
    return b.v();
  };
  return {
      {"empty file", [] { return std::vector<uint8_t>{}; }, "truncated"},
      {"bad magic", [] { auto v = Bytes().Header(0, 0).v(); v[0] = 'X'; return v; }, "not a GGUF file"},
      {"version 1", [] { return Bytes().Header(0, 0, 1).v(); }, "version 1 is no longer supported"},
      {"version 4", [] { return Bytes().Header(0, 0, 4).v(); }, "unsupported GGUF version 4"},
      {"byte-swapped version", [] { return Bytes().Header(0, 0, 0x03000000).v(); }, "byte-swapped"},
      {"truncated counts", [] { auto v = Bytes().Header(0, 0).v(); v.resize(12); return v; }, "tensor count"},
      {"huge tensor count", [] { return Bytes().Header(uint64_t{1} << 40, 0).v(); }, "tensor count"},
      {"huge kv count", [] { return Bytes().Header(0, uint64_t{1} << 62).v(); }, "metadata count"},
      {"string longer than file", [] { return Bytes().Header(0, 1).U64(1000).v(); }, "truncated"},
      {"empty key", [] { return Bytes().Header(0, 1).Str("").U32(4).U32(1).v(); }, "empty key"},
      {"duplicate key",
       [] { return Bytes().Header(0, 2).Str("k").U32(4).U32(1).Str("k").U32(4).U32(2).v(); },
       "duplicate metadata key 'k'"},
      {"invalid value type", [] { return Bytes().Header(0, 1).Str("k").U32(13).U32(0).v(); }, "value type id 13"},
      {"array of arrays",
       [] { return Bytes().Header(0, 1).Str("k").U32(9).U32(9).U64(1).v(); }, "array of arrays"},
      {"array count beyond file",
       [] { return Bytes().Header(0, 1).Str("k").U32(9).U32(8).U64(uint64_t{1} << 29).v(); }, "truncated"},
      {"bool byte 2", [] { return Bytes().Header(0, 1).Str("k").U32(7).Pod<uint8_t>(2).v(); }, "BOOL byte 2"},
      {"alignment not UINT32",
       [] { return Bytes().Header(0, 1).Str("general.alignment").U32(5).Pod<int32_t>(32).v(); },
       "expected UINT32"},
      {"alignment not a power of two",
       [] { return Bytes().Header(0, 1).Str("general.alignment").U32(4).U32(48).v(); }, "power of two"},
      {"tensor name too long",
       [] { return Bytes().Header(1, 0).Info(std::string(64, 'x'), {1}, 0, 0).PadTo(32).U32(0).v(); },
       "at most 63"},
      {"duplicate tensor name",
       [] {
         auto b = Bytes().Header(2, 0).Info("t", {8}, 0, 0).Info("t", {8}, 0, 32).PadTo(32);
         b.v().resize(b.v().size() + 64);
         return b.v();
       },
       "duplicate tensor name 't'"},
      {"too many dims", [=] { return one_tensor(0, {1, 1, 1, 1, 1}, 0, 4); }, "5 dims"},
      {"negative dim", [=] { return one_tensor(0, {4, -1}, 0, 16); }, "negative dimension"},
      {"unknown ggml type", [=] { return one_tensor(16, {256}, 0, 1024); }, "ggml type id 16"},
      {"ne[0] not a block multiple", [=] { return one_tensor(8, {33}, 0, 68); }, "not a multiple of the block"},
      {"element count overflow",
       [=] { return one_tensor(0, {int64_t{1} << 40, int64_t{1} << 40}, 0, 0); }, "overflows"},
      {"non-zero first offset", [=] { return one_tensor(0, {4}, 32, 64); }, "expected 0"},
      {"non-sequential offsets",
       [] {
         auto b = Bytes().Header(2, 0).Info("a", {4}, 0, 0).Info("b", {4}, 0, 16).PadTo(32);
         b.v().resize(b.v().size() + 64);
         return b.v();
       },
       "tensor 'b' has data offset 16; expected 32"},
      {"data beyond end of file", [=] { return one_tensor(0, {64}, 0, 255); }, "truncated"},
  };
}

TEST(GgufFile, RejectsMalformedFiles) {
  const auto cases = BadCases();
  EXPECT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    const std::string err = ParseError(c.make());
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.name << ": got '" << err << "'";
    EXPECT_NE(err.find("bad.gguf"), std::string::npos) << c.name << ": message must name the file";
  }
}

TEST(GgufFile, EveryTruncationOfAValidFileIsRejected) {
  const auto good = ValidFile();
  // Cutting anywhere before the end of the last tensor's data must fail cleanly (no crash, no UB).
  const size_t data_end = good.size() - 20;  // tensor b ends 20 bytes before the padded end
  for (size_t n = 0; n < data_end; ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(ParseError(cut), "") << "prefix of " << n << " bytes was accepted";
  }
  EXPECT_EQ(ParseError(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(data_end))), "");
}

}  // namespace
}  // namespace qforge::gguf
