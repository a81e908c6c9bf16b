// `qforge convert --calib`: the collected importance matrix follows llama-imatrix's definition (checked on
// layer 0's q/k/v, whose input is computable by hand: RMSNorm of the token embeddings), it changes the
// quantized tensors, and --calib gives the same file as --imatrix of the imatrix it saved (same statistics).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "calib/calib_data.h"
#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "hf/checkpoint.h"
#include "hf/synth.h"
#include "io/mapped_file.h"
#include "pipeline/convert.h"
#include "pipeline/convert_calib.h"
#include "pipeline/convert_imatrix.h"
#include "tokenizer/tokenizer.h"

namespace qforge::pipeline {
namespace {

namespace fs = std::filesystem;

// Relative agreement of two float computations of a mean of squares over ~100 tokens (different order,
// double vs float accumulation).
constexpr double kMeanSquareTol = 1e-4;

constexpr const char* kText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
    "friends. One day, she saw a big red ball near the tree. She ran to get it, but a small dog took it first. "
    "Lily laughed and chased the dog around the tree until they were both tired. Then they sat down together "
    "and looked at the clouds. The sun was warm and the birds sang. Lily's mom called her home for dinner, and "
    "she waved goodbye to the dog. That night she dreamed of balls, dogs and sunny days in the park.";

class ConvertCalib : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("QFORGE_PROGRESS", "0", 1);
    dir_ = new std::string(fmt::format("{}/qforge_convert_calib_{}", fs::temp_directory_path().string(), ::getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    ModelConfig c;
    c.model_type = "llama";
    c.architecture = "LlamaForCausalLM";
    c.hidden_size = 256;  // rows of 256: Q4_K / Q6_K, which use the importance matrix
    c.num_layers = 2;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 64;
    c.intermediate_size = 256;
    c.vocab_size = 2048;
    c.max_position_embeddings = 512;
    c.rms_norm_eps = 1e-5;
    c.torch_dtype = "bfloat16";
    hf::SynthOptions s;
    s.seed = 3;
    s.progress = false;
    s.tokenizer = hf::SynthTokenizer::kCopy;
    hf::WriteSyntheticModel(c, io::Json::object(), s, Path("hf"));
    std::ofstream(Path("calib.txt")) << kText;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& f) { return fmt::format("{}/{}", *dir_, f); }
  static ConvertOptions Options(const std::string& out) {
    ConvertOptions o;
    o.input = Path("hf");
    o.output = Path(out);
    o.type = "Q4_K_M";
    o.calib_samples = 4;
    o.calib_seq_len = 32;
    return o;
  }
  static calib::CalibDataOptions Data() {
    calib::CalibDataOptions d;
    d.path = Path("calib.txt");
    d.num_samples = 4;
    d.seq_len = 32;
    return d;
  }
  static std::string* dir_;
};
std::string* ConvertCalib::dir_ = nullptr;

std::vector<uint8_t> Bytes(const std::string& path) {
  const auto m = io::MappedFile::Open(path);
  const auto* p = reinterpret_cast<const uint8_t*>(m->data());
  return {p, p + m->size()};
}

TEST_F(ConvertCalib, StatisticsFollowLlamaImatrixDefinition) {
  const ImatrixStats stats = CollectImatrix(Path("hf"), Data());
  ASSERT_EQ(stats.entries.size(), 2u * 7u);  // 7 Linears per layer, output.weight not collected
  const auto tok = tokenizer::Tokenizer::FromHfDir(Path("hf"));
  const calib::CalibData data = calib::LoadCalibData(Data(), *tok);
  int64_t tokens = 0;
  for (const auto& s : data.samples) tokens += static_cast<int64_t>(s.size());
  ASSERT_GT(tokens, 32);
  EXPECT_EQ(stats.chunks, static_cast<int64_t>(data.samples.size()));
  for (const auto& [name, e] : stats.entries) {
    EXPECT_EQ(e.count, tokens) << name;
    EXPECT_EQ(e.sum2.size(), 256u) << name;  // hidden = intermediate = 256
  }
  // Layer 0's q/k/v input: RMSNorm(embedding) * input_layernorm (synth norms are 1).
  const auto ck = hf::Checkpoint::Open(Path("hf"));
  const Tensor embed = ck->tensors().Get("model.embed_tokens.weight").ToF32();
  const Tensor norm = ck->tensors().Get("model.layers.0.input_layernorm.weight").ToF32();
  std::vector<double> want(256, 0.0);
  for (const auto& s : data.samples) {
    for (int32_t t : s) {
      const float* x = embed.data<float>() + static_cast<int64_t>(t) * 256;
      double ms = 0;
      for (int j = 0; j < 256; ++j) ms += double{x[j]} * x[j];
      const double inv = 1.0 / std::sqrt(ms / 256 + 1e-5);
      for (int j = 0; j < 256; ++j) {
        const double y = x[j] * inv * norm.data<float>()[j];
        want[j] += y * y;
      }
    }
  }
  const Imatrix im = ImatrixFromStats(stats, "x");
  for (const char* w : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
    const auto& got = im.weights.at(w);
    for (int j = 0; j < 256; ++j) {
      const double mean = want[j] / static_cast<double>(tokens);
      EXPECT_NEAR(got[j], mean, kMeanSquareTol * mean) << w << " column " << j;
    }
  }
}

TEST_F(ConvertCalib, CalibEqualsImatrixOfTheSameStatisticsAndChangesTheOutput) {
  ConvertOptions with = Options("calib.gguf");
  with.calib = Path("calib.txt");
  with.imatrix_out = Path("imatrix.gguf");
  const ConvertReport r = Convert(with);
  EXPECT_EQ(r.imatrix_used, 2 * 7);
  ConvertOptions from_file = Options("imatrix-file.gguf");
  from_file.imatrix = Path("imatrix.gguf");
  Convert(from_file);
  EXPECT_TRUE(Bytes(Path("calib.gguf")) == Bytes(Path("imatrix-file.gguf")));

  // The saved file is llama-imatrix's GGUF form.
  const auto im = gguf::File::Open(Path("imatrix.gguf"));
  EXPECT_EQ(im->GetString("general.type"), "imatrix");
  ASSERT_NE(im->FindTensor("blk.1.ffn_down.weight.in_sum2"), nullptr);
  EXPECT_EQ(im->FindTensor("blk.1.ffn_down.weight.counts")->ne, (std::vector<int64_t>{1, 1}));

  Convert(Options("plain.gguf"));
  const auto a = gguf::File::Open(Path("calib.gguf"));
  const auto b = gguf::File::Open(Path("plain.gguf"));
  EXPECT_EQ(a->GetString("quantize.imatrix.file"), Path("imatrix.gguf"));
  int differ = 0, quantized = 0;
  for (const auto& t : a->tensor_infos()) {
    const gguf::TensorInfo* u = b->FindTensor(t.name);
    ASSERT_NE(u, nullptr);
    ASSERT_EQ(t.type, u->type);
    if (!Traits(t.type).is_quantized || t.name.rfind("blk.", 0) != 0) continue;
    ++quantized;
    const auto x = a->TensorData(t), y = b->TensorData(*u);
    differ += std::memcmp(x.data(), y.data(), x.size()) != 0;
  }
  EXPECT_EQ(quantized, 14);
  EXPECT_EQ(differ, quantized);  // every imatrix-guided Linear changed
}

TEST_F(ConvertCalib, RefusesConflictingOptions) {
  ConvertOptions o = Options("x.gguf");
  o.calib = Path("calib.txt");
  o.imatrix = Path("imatrix.gguf");
  EXPECT_THROW(Convert(o), Error);
  o.imatrix.clear();
  o.type = "F16";
  EXPECT_THROW(Convert(o), Error);
  ConvertOptions p = Options("y.gguf");
  p.imatrix_out = Path("out.gguf");
  EXPECT_THROW(Convert(p), Error);
  EXPECT_FALSE(fs::exists(Path("x.gguf")));
}

}  // namespace
}  // namespace qforge::pipeline
