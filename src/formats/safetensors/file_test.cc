#include "formats/safetensors/file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "core/error.h"
#include "formats/safetensors/test_util.h"
#include "formats/safetensors/writer.h"

namespace qforge::safetensors {
namespace {

using testing::Image;
using testing::ReadBytes;

const std::string kBundled = std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K/model.safetensors";

TEST(SafetensorsFile, ReadsTheBundledModel) {
  const auto f = File::Open(kBundled);
  ASSERT_EQ(f->tensors().size(), 20u);
  EXPECT_EQ(f->header_length(), 2160u);  // FORMATS.md §1.3 worked example
  EXPECT_EQ(f->tensors()[0].name, "lm_head.weight");
  const Tensor t = f->Get("lm_head.weight");
  EXPECT_EQ(t.dtype(), DType::kF32);
  EXPECT_EQ(t.shape(), (Shape{2048, 128}));
  EXPECT_EQ(static_cast<const void*>(t.bytes()), static_cast<const void*>(f->Bytes(f->tensors()[0]).data()));
  ASSERT_EQ(f->metadata().size(), 2u);
  EXPECT_EQ(f->metadata()[0], (std::pair<std::string, std::string>{"format", "pt"}));
  EXPECT_EQ(f->metadata()[1].first, "model.embed_tokens.weight");
  int64_t params = 0;
  for (const auto& ti : f->tensors()) params += NumElements(ti.shape);
  EXPECT_EQ(params, 656000);
  EXPECT_THROW(f->Get("model.embed_tokens.weight"), Error);
}

// Re-writing the bundled file with our writer (same metadata) gives the same bytes: tensor order, JSON
// layout and padding match the reference writer.
TEST(SafetensorsFile, RewritesTheBundledModelByteIdentical) {
  const auto f = File::Open(kBundled);
  std::vector<TensorSpec> specs;
  for (auto it = f->tensors().rbegin(); it != f->tensors().rend(); ++it)  // any input order
    specs.push_back({it->name, it->dtype, it->shape});
  io::MemorySink sink;
  WriteFile(sink, specs, [&](const TensorSpec& s, io::ByteSink& out) {
    const auto b = f->Bytes(*f->Find(s.name));
    out.Write(b.data(), b.size());
  }, f->metadata());
  const auto original = ReadBytes(kBundled);
  ASSERT_EQ(sink.bytes().size(), original.size());
  EXPECT_TRUE(sink.bytes() == original);
}

TEST(SafetensorsFile, RoundTripIsByteExactForEveryDtypeAndEdgeShapes) {
  std::vector<TensorSpec> specs = {
      {"w.bf16", DType::kBF16, {3, 5}}, {"a.f32", DType::kF32, {7}},     {"idx", DType::kI64, {2, 2}},
      {"mask", DType::kBool, {3}},      {"scalar", DType::kF64, {}},     {"empty", DType::kF16, {0, 4}},
      {"u8", DType::kU8, {5}},          {"i8", DType::kI8, {1, 1, 3}},   {"i32", DType::kI32, {2}},
      {"u16", DType::kU16, {1}},        {"i16", DType::kI16, {2}},       {"u32", DType::kU32, {1}},
      {"u64", DType::kU64, {1}},        {"z.f32", DType::kF32, {2, 3}}};
  std::mt19937 rng(7);
  std::map<std::string, std::vector<uint8_t>> data;
  for (const auto& s : specs) {
    auto& d = data[s.name];
    d.resize(SpecBytes(s));
    for (auto& b : d) b = static_cast<uint8_t>(rng());
  }
  auto produce = [&](const TensorSpec& s, io::ByteSink& out) { out.Write(data[s.name].data(), data[s.name].size()); };
  io::MemorySink first;
  WriteFile(first, specs, produce);
  const auto f = File::FromBytes(first.bytes(), "mem");
  EXPECT_EQ(f->header_length() % 8, 0u);
  EXPECT_EQ(f->metadata(), (Metadata{{"format", "pt"}}));
  // Reference order: U64, I64, F64, F32 (a, z), U32, I32, BF16, F16, U16, I16, I8, U8, BOOL.
  std::vector<std::string> order;
  for (const auto& t : f->tensors()) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"u64", "idx", "scalar", "a.f32", "z.f32", "u32", "i32", "w.bf16", "empty",
                                             "u16", "i16", "i8", "u8", "mask"}));
  for (const auto& t : f->tensors()) {
    const auto b = f->Bytes(t);
    EXPECT_TRUE(std::equal(b.begin(), b.end(), reinterpret_cast<const std::byte*>(data[t.name].data()),
                           reinterpret_cast<const std::byte*>(data[t.name].data() + data[t.name].size())))
        << t.name;
    EXPECT_EQ(f->Get(t.name).shape(), t.shape);
  }
  // Read -> write again: identical bytes.
  std::vector<TensorSpec> again;
  for (const auto& t : f->tensors()) again.push_back({t.name, t.dtype, t.shape});
  io::MemorySink second;
  WriteFile(second, again, [&](const TensorSpec& s, io::ByteSink& out) {
    const auto b = f->Bytes(*f->Find(s.name));
    out.Write(b.data(), b.size());
  });
  EXPECT_TRUE(first.bytes() == second.bytes());
}

TEST(SafetensorsFile, HeaderLayoutMatchesTheReferenceWriter) {
  io::MemorySink sink;
  WriteFile(sink, {{"b", DType::kF16, {2}}, {"a", DType::kF32, {1}}},
            [](const TensorSpec& s, io::ByteSink& out) { out.WriteZeros(SpecBytes(s)); });
  const std::string header(sink.bytes().begin() + 8, sink.bytes().end() - 8);
  std::string expect =
      "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
  expect.append((8 - expect.size() % 8) % 8, ' ');
  EXPECT_EQ(header, expect);
}

TEST(SafetensorsFile, AcceptsUnpaddedHeadersAndCopiesMisalignedTensors) {
  // safetensors 0.3 did not pad: the data buffer may start at any offset.
  const std::string h = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE((8 + h.size()) % 4, 0u);
  const auto f = File::FromBytes(Image(h, 8), "mem");
  const Tensor t = f->Get("x");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.bytes()) % 4, 0u);
  EXPECT_EQ(std::memcmp(t.bytes(), f->Bytes(f->tensors()[0]).data(), 8), 0);
}

TEST(SafetensorsFile, TensorViewsKeepTheFileAlive) {
  Tensor t;
  {
    const auto f = File::Open(kBundled);
    t = f->Get("model.norm.weight");
  }
  EXPECT_EQ(t.shape(), (Shape{128}));
  EXPECT_TRUE(std::isfinite(t.data<float>()[127]));
}

}  // namespace
}  // namespace qforge::safetensors
