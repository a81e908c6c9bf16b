// GGUF writer: the worked bytes of FORMATS.md §5.1 (written by ggml's C API), and a byte-exact
// read → write round trip of the shared stories260K.gguf.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"

namespace qforge::gguf {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(GgufWriter, MatchesGgmlWorkedExample) {
  Writer w;
  w.Add("general.architecture", Value::String("llama"));
  w.AddTensor("a.weight", DType::kF32, {4, 2});
  w.AddTensor("b", DType::kF32, {3});
  io::MemorySink sink;
  w.Write(sink, [](size_t i, const TensorInfo&, io::ByteSink& s) {
    if (i == 0) {
      for (int k = 0; k < 8; ++k) s.WritePod<float>(static_cast<float>(k));
    } else {
      for (int k = 0; k < 3; ++k) s.WritePod<float>(-1.0f);
    }
  });
  const auto& b = sink.bytes();
  ASSERT_EQ(b.size(), 224u);  // FORMATS.md §5.1: file size 224
  EXPECT_EQ(w.FileSize(), 224u);
  // Header: magic, version 3, 2 tensors, 1 KV.
  const std::vector<uint8_t> head = {0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(std::equal(head.begin(), head.end(), b.begin()));
  // "a.weight" info at 0x45, "b" info at 0x75 with offset 32, padding 0x96..0x9F, data at 0xA0.
  EXPECT_EQ(b[0x45], 8);
  EXPECT_EQ(std::string(b.begin() + 0x4d, b.begin() + 0x55), "a.weight");
  EXPECT_EQ(std::string(b.begin() + 0x7d, b.begin() + 0x7e), "b");
  EXPECT_EQ(b[0x8e], 32);  // offset of b
  for (size_t i = 0x96; i < 0xA0; ++i) EXPECT_EQ(b[i], 0) << i;
  float f;
  std::memcpy(&f, &b[0xA0 + 7 * 4], 4);
  EXPECT_EQ(f, 7.0f);
  std::memcpy(&f, &b[0xC0], 4);
  EXPECT_EQ(f, -1.0f);

  // And it reads back.
  auto r = File::FromBytes(sink.Take(), "mem.gguf");
  EXPECT_EQ(r->GetString("general.architecture"), "llama");
  EXPECT_EQ(r->Get("a.weight").shape(), (Shape{2, 4}));
}

TEST(GgufWriter, HeaderOnlyFileIsPaddedTo96Bytes) {
  Writer w;
  w.Add("general.architecture", Value::String("llama"));
  io::MemorySink sink;
  w.Write(sink, nullptr);
  EXPECT_EQ(sink.bytes().size(), 96u);  // FORMATS.md §5.1: 69 bytes of header padded to 96
}

TEST(GgufWriter, RoundTripsStories260KByteExact) {
  const std::string path = std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf";
  const auto original = ReadAll(path);
  auto f = File::Open(path);
  Writer w = WriterFromFile(*f);
  io::MemorySink sink;
  w.Write(sink, CopyTensorsFrom(*f));
  ASSERT_EQ(sink.bytes().size(), original.size());
  EXPECT_TRUE(sink.bytes() == original);
}

TEST(GgufWriter, AllValueTypesRoundTrip) {
  Writer w;
  w.Add("u8", Value::Scalar<uint8_t>(7));
  w.Add("i16", Value::Scalar<int16_t>(-7));
  w.Add("u64", Value::Scalar<uint64_t>(1ull << 50));
  w.Add("f64", Value::Scalar<double>(-0.5));
  w.Add("b", Value::Scalar<bool>(true));
  w.Add("s", Value::String("héllo"));
  w.Add("af", Value::Array(std::vector<float>{1.f, 2.f}));
  w.Add("ab", Value::Array(std::vector<bool>{true, false}));
  w.Add("as", Value::StringArray({"x", "", "yz"}));
  w.Set("u8", Value::Scalar<uint8_t>(9));  // set = remove + append
  w.Add("general.alignment", Value::Scalar<uint32_t>(16));
  w.AddTensor("t", DType::kF16, {3});
  io::MemorySink sink;
  w.Write(sink, [](size_t, const TensorInfo&, io::ByteSink& s) { s.WriteZeros(6); });
  EXPECT_EQ(sink.bytes().size(), w.FileSize());
  EXPECT_EQ(sink.bytes().size() % 16, 0u);
  auto r = File::FromBytes(sink.Take(), "mem.gguf");
  ASSERT_EQ(r->kvs().size(), w.kvs().size());
  for (size_t i = 0; i < w.kvs().size(); ++i) {
    EXPECT_EQ(r->kvs()[i].key, w.kvs()[i].key);
    EXPECT_TRUE(r->kvs()[i].value == w.kvs()[i].value) << w.kvs()[i].key;
  }
  EXPECT_EQ(r->kvs().back().key, "general.alignment");
  EXPECT_EQ(r->kvs()[8].key, "u8");
  EXPECT_EQ(r->alignment(), 16u);
  EXPECT_EQ(r->Kv("as").Describe(), "ARRAY[STRING] x3 [\"x\", \"\", \"yz\"]");
}

}  // namespace
}  // namespace qforge::gguf
