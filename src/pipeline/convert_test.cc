// qforge convert without llama.cpp: importance-matrix files, compressed-tensors → GGUF lossless block
// conversion (values compared with the checkpoint's own dequantization), requantization notes, bad types.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "codecs/ggml/ggml_codecs.h"
#include "core/half.h"
#include "core/error.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "formats/safetensors/checkpoint.h"
#include "formats/safetensors/writer.h"
#include "hf/gguf_model.h"
#include "io/atomic_file.h"
#include "io/json_util.h"
#include "pipeline/convert.h"
#include "pipeline/convert_imatrix.h"
#include "pipeline/quantize.h"
#include "recipe/recipe.h"

namespace qforge::pipeline {
namespace {

namespace fs = std::filesystem;
const std::string kTinyStories = std::string(QFORGE_SHARED_DIR) + "/models/TinyStories-656K";
const std::string kStories260K = std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf";

class TempDir {
 public:
  TempDir() : path_(fmt::format("{}/qforge_convert_{}_{}", fs::temp_directory_path().string(), ::getpid(), counter_++)) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& f) const { return fmt::format("{}/{}", path_, f); }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(ConvertImatrix, ReadsLegacyAndGgufForms) {
  TempDir tmp;
  {
    std::ofstream f(tmp / "im.dat", std::ios::binary);
    auto i32 = [&](int32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    i32(1);
    const std::string name = "blk.0.ffn_down.weight";
    i32(static_cast<int32_t>(name.size()));
    f.write(name.data(), static_cast<std::streamsize>(name.size()));
    i32(4);  // ncall
    i32(2);  // nval
    const float vals[2] = {8.0f, 2.0f};
    f.write(reinterpret_cast<const char*>(vals), 8);
    i32(10);  // last chunk
    i32(4);
    f.write("wiki", 4);
  }
  const Imatrix legacy = ReadImatrix(tmp / "im.dat");
  ASSERT_EQ(legacy.weights.size(), 1u);
  EXPECT_EQ(legacy.weights.at("blk.0.ffn_down.weight"), (std::vector<float>{2.0f, 0.5f}));
  EXPECT_EQ(legacy.dataset, "wiki");
  EXPECT_EQ(legacy.chunks, 10);

  gguf::Writer w;
  w.Add("general.type", gguf::Value::String("imatrix"));
  w.Add("imatrix.chunk_count", gguf::Value::Scalar<uint32_t>(7));
  w.AddTensor("blk.1.attn_q.weight.counts", DType::kF32, {1, 1});
  w.AddTensor("blk.1.attn_q.weight.in_sum2", DType::kF32, {3, 1});
  gguf::WriteFile(tmp / "im.gguf", w, [](size_t i, const gguf::TensorInfo&, io::ByteSink& s) {
    if (i == 0) {
      s.WritePod<float>(2.0f);
    } else {
      for (float v : {2.0f, 4.0f, 6.0f}) s.WritePod<float>(v);
    }
  });
  const Imatrix g = ReadImatrix(tmp / "im.gguf");
  EXPECT_EQ(g.weights.at("blk.1.attn_q.weight"), (std::vector<float>{1.0f, 2.0f, 3.0f}));
  EXPECT_EQ(g.chunks, 7);

  {
    std::ofstream f(tmp / "bad.dat", std::ios::binary);
    const int32_t n = 1 << 30;
    f.write(reinterpret_cast<const char*>(&n), 4);
  }
  EXPECT_THROW(ReadImatrix(tmp / "bad.dat"), Error);
}

// TinyStories with its weights rounded to BF16 (torch_dtype bfloat16), so that compressed-tensors scales
// are stored in BF16 — exactly representable in ggml's f16 block scales, the precondition for lossless
// conversion (F32 scales generally are not).
void WriteBf16TinyStories(const std::string& dir) {
  fs::create_directories(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(kTinyStories + "/" + f, dir + "/" + f);
  }
  io::Json config = io::ReadJsonFile(kTinyStories + "/config.json");
  config["torch_dtype"] = "bfloat16";
  std::ofstream(dir + "/config.json") << io::DumpPythonStyle(config) << "\n";
  const auto src = safetensors::OpenCheckpoint(kTinyStories);
  std::vector<safetensors::TensorSpec> specs;
  for (const auto& n : src->Names()) specs.push_back({n, DType::kBF16, src->Get(n).shape()});
  safetensors::WriteCheckpoint(dir, specs, uint64_t{1} << 40, [&](const safetensors::TensorSpec& s, io::ByteSink& sink) {
    const Tensor t = src->Get(s.name).ToF32();
    std::vector<uint16_t> h(static_cast<size_t>(t.numel()));
    F32ToBf16(t.data<float>(), h.data(), h.size());
    sink.Write(h.data(), h.size() * 2);
  });
}

// Quantizes TinyStories (BF16) with a compressed-tensors preset, converts it to GGUF and compares every Linear's
// GGUF values (decoded by ggml's decoder, q/k rows un-permuted) with the checkpoint's dequantization.
void CheckCtConversion(const std::string& preset, DType want_type, bool lossless) {
  TempDir tmp;
  WriteBf16TinyStories(tmp / "bf16");
  QuantizeOptions q;
  q.model_dir = tmp / "bf16";
  q.out_dir = tmp / "ct";
  q.recipe = recipe::RecipeFromScheme(recipe::Preset(preset), {"lm_head"});
  q.progress = false;
  QuantizeModel(q);

  ConvertOptions o;
  o.input = tmp / "ct";
  o.output = tmp / "out.gguf";
  o.type = "Q4_K_M";
  const ConvertReport r = Convert(o);
  EXPECT_EQ(r.input_format, "compressed-tensors");
  std::string notes;
  for (const auto& n : r.notes) notes += n + "\n";
  SCOPED_TRACE(notes);
  const auto ct = compressed_tensors::OpenDequantized(tmp / "ct");
  auto f = gguf::File::Open(o.output);
  const ModelConfig c = hf::ConfigFromGguf(*f);
  int checked = 0;
  for (const auto& info : f->tensor_infos()) {
    const auto tn = hf::ParseGgufTensorName(info.name);
    if (!tn || !hf::IsLinearRole(tn->role) || tn->role == hf::Role::kLmHead) continue;
    SCOPED_TRACE(info.name);
    if (!lossless) {
      EXPECT_NE(info.type, DType::kQ4_0);
      continue;
    }
    ASSERT_EQ(info.type, want_type);
    const Tensor want = ct->Get(hf::HfTensorName(tn->role, tn->layer)).ToF32();
    const int64_t rows = want.dim(0), cols = want.dim(1);
    const int64_t heads = tn->role == hf::Role::kQ ? c.num_heads : tn->role == hf::Role::kK ? c.num_kv_heads : 0;
    std::vector<float> row(static_cast<size_t>(cols));
    const size_t row_bytes = codecs::RowBytes(info.type, cols);
    for (int64_t r2 = 0; r2 < rows; ++r2) {
      codecs::DequantizeRow(info.type, f->TensorData(info).data() + r2 * row_bytes, row.data(), cols);
      int64_t src = r2;
      if (heads) {
        const int64_t d = rows / heads, h = r2 / d, i = r2 % d;
        src = h * d + (i % 2) * (d / 2) + i / 2;
      }
      // ggml decodes exactly code·scale; compressed-tensors' dequantization rounds that product to the
      // model dtype (BF16). So the GGUF value rounded to BF16 must be the checkpoint's value, bit for bit.
      for (int64_t i = 0; i < cols; ++i) {
        ASSERT_EQ(FloatBits(RoundBf16(row[static_cast<size_t>(i)])), FloatBits(want.data<float>()[src * cols + i]))
            << "row " << r2 << " column " << i;
      }
    }
    ++checked;
  }
  if (lossless) {
    EXPECT_EQ(checked, 2 * 7);
    EXPECT_EQ(r.copied, 2 * 7);
  } else {
    bool said = false;
    for (const auto& n : r.notes) said |= n.find("dequantized and requantized (asymmetric") != std::string::npos;
    EXPECT_TRUE(said);
  }
}

TEST(ConvertCompressedTensors, W4A16IsLosslessQ4_0) { CheckCtConversion("W4A16", DType::kQ4_0, true); }
TEST(ConvertCompressedTensors, W8A16IsLosslessQ8_0) { CheckCtConversion("W8A16", DType::kQ8_0, true); }
TEST(ConvertCompressedTensors, AsymmetricIsRequantized) { CheckCtConversion("W4A16_ASYM", DType::kQ4_K, false); }

TEST(Convert, RequantizingAGgufCopiesTensorsAlreadyInTheTargetType) {
  TempDir tmp;
  ConvertOptions o;
  o.input = kStories260K;
  o.output = tmp / "q8.gguf";
  o.type = "Q8_0";
  const ConvertReport a = Convert(o);
  EXPECT_EQ(a.input_format, "gguf");
  EXPECT_EQ(a.quantized, 32);  // 37 weights; the 5 ffn_down (172 columns) fall back to F16
  EXPECT_EQ(a.fallbacks, 5);
  ConvertOptions o2 = o;
  o2.input = o.output;
  o2.output = tmp / "q8b.gguf";
  const ConvertReport b = Convert(o2);
  EXPECT_EQ(b.copied, 32);
  bool warned = false;
  for (const auto& n : b.notes) warned |= n.find("warning: requantizing") != std::string::npos;
  EXPECT_TRUE(warned);
  // Same tensors byte for byte.
  auto fa = gguf::File::Open(o.output), fb = gguf::File::Open(o2.output);
  for (const auto& t : fa->tensor_infos()) {
    const auto x = fa->TensorData(t), y = fb->TensorData(*fb->FindTensor(t.name));
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name;
  }
  EXPECT_EQ(fb->GetU32("general.file_type"), 7u);
  EXPECT_EQ(fb->GetU32("general.quantization_version"), 2u);
  EXPECT_EQ(fb->kvs().back().key, "general.file_type");  // set last, like llama-quantize
}

// TinyStories-656K was trained with byte_fallback but has no <0xNN> tokens: llama.cpp aborts on text outside its
// vocabulary (convert_oracle_test shows it), so convert says so; stories260K has all 256 byte tokens.
TEST(Convert, WarnsWhenLlamaCppHasNoTokenForSomeBytes) {
  TempDir tmp;
  const auto warning = [](const ConvertReport& r) {
    for (const auto& n : r.notes)
      if (n.find("no token for") != std::string::npos) return n;
    return std::string();
  };
  ConvertOptions o;
  o.input = kTinyStories;
  o.output = tmp / "ts.gguf";
  o.type = "Q8_0";
  const std::string ts = warning(Convert(o));
  EXPECT_NE(ts.find("of the 256 bytes"), std::string::npos) << ts;
  EXPECT_NE(ts.find("aborts"), std::string::npos) << ts;
  EXPECT_TRUE(fs::exists(o.output));  // a warning, not a refusal
  o.input = kStories260K;
  o.output = tmp / "s260.gguf";
  EXPECT_EQ(warning(Convert(o)), "");
}

// GGUF in: every input key survives in order (llama-quantize's gguf_set_kv copy), general.name is replaced in
// place by --name, split.* keys are dropped, general.quantization_version / general.file_type move last.
TEST(Convert, GgufInputKeepsItsMetadata) {
  TempDir tmp;
  const auto src = gguf::File::Open(kStories260K);
  gguf::Writer w;
  for (const auto& kv : src->kvs()) w.Add(kv.key, kv.value);
  w.Add("tokenizer.chat_template", gguf::Value::String("{{ messages }}"));
  w.Add("general.license", gguf::Value::String("mit"));
  w.Add("split.count", gguf::Value::Scalar<uint16_t>(1));
  w.Add("custom.array", gguf::Value::Array<int32_t>(std::vector<int32_t>{1, -2, 3}));
  for (const auto& t : src->tensor_infos()) w.AddTensor(t.name, t.type, t.ne);
  {
    io::AtomicFile out(tmp / "in.gguf");
    w.Write(out, gguf::CopyTensorsFrom(*src));
    out.Commit();
  }
  for (const std::string type : {"F16", "Q4_K_M"}) {
    SCOPED_TRACE(type);
    ConvertOptions o;
    o.input = tmp / "in.gguf";
    o.output = tmp / (type + ".gguf");
    o.type = type;
    o.name = "renamed";
    const ConvertReport r = Convert(o);
    const auto f = gguf::File::Open(o.output);
    std::vector<std::string> want;
    for (const auto& kv : w.kvs()) {
      if (kv.key != "split.count" && kv.key != "general.file_type" && kv.key != "general.quantization_version")
        want.push_back(kv.key);
    }
    if (!w.Find("general.name")) want.push_back("general.name");  // stories260K has none: --name adds it
    want.push_back("general.quantization_version");
    want.push_back("general.file_type");
    std::vector<std::string> got;
    for (const auto& kv : f->kvs()) got.push_back(kv.key);
    EXPECT_EQ(got, want);
    for (const auto& kv : f->kvs()) {
      if (kv.key == "general.name") {
        ASSERT_NE(kv.value.AsString(), nullptr);
        EXPECT_EQ(*kv.value.AsString(), "renamed");
      } else if (kv.key == "general.file_type") {
        EXPECT_EQ(kv.value.As<uint32_t>(), r.file_type);
      } else if (kv.key != "general.quantization_version") {
        EXPECT_TRUE(kv.value == *w.Find(kv.key)) << kv.key;
      }
    }
  }
}

// llama-quantize's overrides win over the mix rule for output.weight (Q4_K_M: Q6_K, which falls back to Q8_0 for
// stories260K's 64-wide rows) and token_embd.weight (Q4_K -> fallback Q5_0); they only apply to mixes.
TEST(Convert, PureAndTensorTypeOverrides) {
  TempDir tmp;
  ConvertOptions o;
  o.input = kStories260K;
  o.output = tmp / "pure.gguf";
  o.type = "Q4_K_M";
  o.pure = true;
  o.output_tensor_type = "F16";
  o.token_embedding_type = "Q8_0";
  Convert(o);
  auto f = gguf::File::Open(o.output);
  EXPECT_EQ(f->FindTensor("output.weight")->type, DType::kF16);
  EXPECT_EQ(f->FindTensor("token_embd.weight")->type, DType::kQ8_0);
  ConvertOptions mix = o;
  mix.output = tmp / "mix.gguf";
  mix.pure = false;
  mix.output_tensor_type.clear();
  mix.token_embedding_type.clear();
  Convert(mix);
  auto g = gguf::File::Open(mix.output);
  EXPECT_EQ(g->FindTensor("output.weight")->type, DType::kQ8_0) << "Q4_K_M's own rule (Q6_K, 64-wide fallback)";
  EXPECT_EQ(g->FindTensor("token_embd.weight")->type, DType::kQ5_0) << "Q4_K falls back to Q5_0";
  o.token_embedding_type = "Q9_X";
  EXPECT_THROW(Convert(o), Error);
  mix.type = "F16";
  mix.pure = true;
  EXPECT_THROW(Convert(mix), Error);
}

TEST(Convert, RejectsUnknownTypeBeforeReadingTheModel) {
  ConvertOptions o;
  o.input = "/nonexistent";
  o.output = "/nonexistent/x.gguf";
  o.type = "Q4_K_X";
  try {
    Convert(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q4_K_M"), std::string::npos) << e.what();
  }
  o.type = "F16";
  o.imatrix = "x.dat";
  EXPECT_THROW(Convert(o), Error);
}

}  // namespace
}  // namespace qforge::pipeline
