// `qforge synth` on a tiny config: shapes, determinism, sharding, marking, tokenizer choice.
#include "hf/synth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/half.h"
#include "formats/safetensors/test_util.h"
#include "hf/checkpoint.h"
#include "hf/config.h"
#include "hf/model_summary.h"
#include "io/mapped_file.h"

namespace qforge::hf {
namespace {

using safetensors::testing::ReadBytes;
using safetensors::testing::ScratchDir;
namespace fs = std::filesystem;

ModelConfig Tiny(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.hidden_size = 64;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = type == "qwen3" ? 32 : 16;
  c.intermediate_size = 96;
  c.vocab_size = 300;
  c.max_position_embeddings = 256;
  c.attention_bias = type == "qwen2";
  c.qk_norm = type == "qwen3";
  c.tie_word_embeddings = type == "qwen2";
  return c;
}

SynthOptions Opts() {
  SynthOptions o;
  o.progress = false;
  o.seed = 5;
  return o;
}

TEST(HfSynth, RealShapesAreExact) {
  const ModelConfig l8 = SynthShapeConfig("llama-3.1-8b");
  EXPECT_EQ(l8.hidden_size, 4096);
  EXPECT_EQ(l8.num_layers, 32);
  EXPECT_EQ(l8.intermediate_size, 14336);
  EXPECT_EQ(l8.vocab_size, 128256);
  EXPECT_EQ(l8.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(l8.rope_scaling.factor, 8.0);
  EXPECT_FALSE(l8.tie_word_embeddings);
  const ModelConfig l1 = SynthShapeConfig("llama-3.2-1b");
  EXPECT_TRUE(l1.tie_word_embeddings);
  EXPECT_EQ(l1.rope_scaling.factor, 32.0);
  EXPECT_EQ(l1.head_dim, 64);
  const ModelConfig q = SynthShapeConfig("qwen2.5-0.5b");
  EXPECT_EQ(q.hidden_size, 896);
  EXPECT_EQ(q.num_kv_heads, 2);
  EXPECT_EQ(q.vocab_size, 151936);
  EXPECT_TRUE(q.attention_bias);
  EXPECT_TRUE(q.tie_word_embeddings);
  const ModelConfig m = SynthShapeConfig("mistral-7b");
  EXPECT_EQ(m.vocab_size, 32000);
  EXPECT_EQ(m.rope_theta, 10000.0);
  try {
    SynthShapeConfig("gpt-5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known shapes: llama-3.2-1b"), std::string::npos) << e.what();
  }
}

TEST(HfSynth, WritesAValidCheckpointForEachModelType) {
  for (const std::string type : {"llama", "mistral", "qwen2", "qwen3"}) {
    ScratchDir dir("synth-" + type);
    const std::string out = dir / "m";
    SynthOptions o = Opts();
    o.max_shard_bytes = 40'000;  // forces several shards
    o.tokenizer = SynthTokenizer::kByteLevel;
    WriteSyntheticModel(Tiny(type), io::Json::object(), o, out);
    const auto ck = Checkpoint::Open(out);  // validates every tensor against the config
    EXPECT_TRUE(ck->config().synthetic);
    EXPECT_EQ(ck->config().model_type, type);
    EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json")) << type;
    EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
    const ModelSummary s = Summarize(ck->tensors(), &ck->config(), "safetensors");
    EXPECT_TRUE(s.synthetic);
    EXPECT_NE(FormatSummaryText(s, false).find("synthetic:"), std::string::npos);
    ASSERT_EQ(s.by_dtype.size(), 1u);
    EXPECT_EQ(s.by_dtype[0].dtype, DType::kBF16);
    const Tensor norm = ck->tensors().Get("model.layers.1.input_layernorm.weight").ToF32();
    for (int64_t i = 0; i < norm.numel(); ++i) EXPECT_EQ(norm.data<float>()[i], 1.0f);
    if (type == "qwen2") {
      const Tensor bias = ck->tensors().Get("model.layers.0.self_attn.k_proj.bias").ToF32();
      EXPECT_EQ(bias.data<float>()[0], 0.0f);
    }
  }
}

TEST(HfSynth, WeightsAreNormalWithTheRequestedSpread) {
  ScratchDir dir("synth-stats");
  ModelConfig c = Tiny("llama");
  c.vocab_size = 4096;  // embedding of 262144 values
  WriteSyntheticModel(c, io::Json::object(), Opts(), dir / "m");
  const auto ck = Checkpoint::Open(dir / "m");
  const Tensor e = ck->tensors().Get("model.embed_tokens.weight").ToF32();
  double sum = 0, sq = 0, within1 = 0;
  const auto n = static_cast<double>(e.numel());
  for (int64_t i = 0; i < e.numel(); ++i) {
    const double v = e.data<float>()[i];
    sum += v;
    sq += v * v;
    within1 += std::fabs(v) < kSynthStdDev;
  }
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  // n = 262144: the standard error of the mean is 0.02/512 ~ 4e-5 and of the sd ~ 3e-5; bf16 rounding
  // (relative 2^-9) moves the sd by far less. Bands of ~10 standard errors:
  EXPECT_NEAR(mean, 0.0, 4e-4);
  EXPECT_NEAR(sd, kSynthStdDev, 3e-4);
  EXPECT_NEAR(within1 / n, 0.6827, 0.005);  // one-sigma mass of a normal
}

TEST(HfSynth, SameSeedSameBytesOtherSeedOtherBytes) {
  ScratchDir dir("synth-seed");
  SynthOptions o = Opts();
  WriteSyntheticModel(Tiny("mistral"), io::Json::object(), o, dir / "a");
  WriteSyntheticModel(Tiny("mistral"), io::Json::object(), o, dir / "b");
  o.seed = 6;
  WriteSyntheticModel(Tiny("mistral"), io::Json::object(), o, dir / "c");
  EXPECT_TRUE(ReadBytes(dir / "a/model.safetensors") == ReadBytes(dir / "b/model.safetensors"));
  EXPECT_FALSE(ReadBytes(dir / "a/model.safetensors") == ReadBytes(dir / "c/model.safetensors"));
}

TEST(HfSynth, TokenizerCopiedWhenItFitsElseByteLevel) {
  ScratchDir dir("synth-tok");
  ModelConfig c = Tiny("llama");
  c.vocab_size = 4096;  // bundled tokenizer has 2048 ids: fits
  WriteSyntheticModel(c, io::Json::object(), Opts(), dir / "copy");
  EXPECT_EQ(io::ReadTextFile(dir / "copy/tokenizer.json"),
            io::ReadTextFile(std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K/tokenizer.json"));
  EXPECT_EQ(ReadConfig(dir / "copy").bos_token_id, 1);  // the copied tokenizer's ids
  c.vocab_size = 1000;                                 // too small for the bundled tokenizer
  WriteSyntheticModel(c, io::Json::object(), Opts(), dir / "byte");
  const io::Json tok = io::ReadJsonFile(dir / "byte/tokenizer.json");
  EXPECT_EQ(tok["model"]["vocab"].size(), 1000u);
  EXPECT_EQ(tok["model"]["vocab"]["A"], 65);
  EXPECT_EQ(tok["model"]["vocab"]["\xC4\xA0"], 32);  // GPT-2 byte alphabet: space is U+0120
  EXPECT_EQ(tok["added_tokens"][1]["id"], 999);
  EXPECT_EQ(ReadConfig(dir / "byte").eos_token_id, 999);
}

TEST(HfSynth, ExistingOutputIsRefusedAndLayersAreChecked) {
  ScratchDir dir("synth-exists");
  fs::create_directories(dir / "m");
  EXPECT_THROW(WriteSyntheticModel(Tiny("llama"), io::Json::object(), Opts(), dir / "m"), Error);
  SynthOptions o = Opts();
  o.shape = "llama-3.2-1b";
  o.layers = 17;
  EXPECT_THROW(WriteSyntheticCheckpoint(o, dir / "x"), Error);
  EXPECT_FALSE(fs::exists(dir / "x"));
}

}  // namespace
}  // namespace qforge::hf
