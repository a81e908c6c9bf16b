// HF checkpoint directories: the bundled model (tied embeddings stored only as lm_head.weight), the
// summary `qforge inspect` prints, and config/tensor mismatches.
#include "hf/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "formats/safetensors/checkpoint.h"
#include "formats/safetensors/test_util.h"
#include "formats/safetensors/writer.h"
#include "hf/config.h"
#include "hf/model_summary.h"
#include "hf/tensor_names.h"
#include "io/mapped_file.h"

namespace qforge::hf {
namespace {

using safetensors::testing::ScratchDir;
namespace fs = std::filesystem;

const std::string kBundled = std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K";

TEST(HfCheckpoint, BundledModelResolvesTiedEmbeddingUnderBothNames) {
  const auto ck = Checkpoint::Open(kBundled);
  EXPECT_EQ(ck->config().model_type, "llama");
  const TensorSource& t = ck->tensors();
  EXPECT_TRUE(t.Has("lm_head.weight"));
  EXPECT_TRUE(t.Has("model.embed_tokens.weight"));
  EXPECT_EQ(t.Get("model.embed_tokens.weight").bytes(), t.Get("lm_head.weight").bytes());
  EXPECT_EQ(t.Names().size(), 20u);  // stored tensors only
  EXPECT_FALSE(t.Has("model.layers.2.mlp.up_proj.weight"));
}

TEST(HfCheckpoint, SummaryOfTheBundledModel) {
  const auto ck = Checkpoint::Open(kBundled);
  const ModelSummary s = Summarize(ck->tensors(), &ck->config(), "safetensors");
  EXPECT_EQ(s.architecture, "llama");
  EXPECT_EQ(s.num_layers, 2);
  // 2048*128 (tied embedding, once) + 2 * (4*128... per layer) + 128: the sum over the file's 20 tensors.
  EXPECT_EQ(s.num_parameters, 656000u);
  EXPECT_EQ(s.total_bytes, 2624000u);
  ASSERT_EQ(s.by_dtype.size(), 1u);
  EXPECT_EQ(s.by_dtype[0].dtype, DType::kF32);
  EXPECT_EQ(s.tied, std::optional<bool>(true));
  EXPECT_FALSE(s.synthetic);
  const std::string text = FormatSummaryText(s, true);
  EXPECT_NE(text.find("656,000"), std::string::npos) << text;
  EXPECT_NE(text.find("tied embeddings: yes"), std::string::npos) << text;
  EXPECT_NE(text.find("q_proj"), std::string::npos) << text;
  const auto j = SummaryToJson(s, true);
  EXPECT_EQ(j["num_parameters"], 656000);
  EXPECT_EQ(j["tied_embeddings"], true);
  EXPECT_EQ(j["tensors"].size(), 20u);
}

TEST(HfCheckpoint, SummaryWithoutConfigInfersFromNames) {
  const auto src = safetensors::OpenCheckpoint(kBundled + "/model.safetensors");
  const ModelSummary s = Summarize(*src, nullptr, "safetensors");
  EXPECT_EQ(s.architecture, "unknown");
  EXPECT_EQ(s.num_layers, 2);
  EXPECT_EQ(s.num_parameters, 656000u);
  EXPECT_EQ(s.tied, std::optional<bool>(true));
}

// A copy of the bundled model with an edited config.json.
std::string ErrorWithConfig(const std::function<void(io::Json&)>& edit) {
  ScratchDir dir("ckpt");
  fs::copy_file(kBundled + "/model.safetensors", dir / "model.safetensors");
  io::Json j = io::ReadJsonFile(kBundled + "/config.json");
  edit(j);
  std::ofstream(dir / "config.json") << j.dump();
  try {
    Checkpoint::Open(dir.path());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HfCheckpoint, ConfigThatDoesNotMatchTheTensors) {
  EXPECT_NE(ErrorWithConfig([](io::Json& j) { j["intermediate_size"] = 512; })
                .find("tensor 'model.layers.0.mlp.gate_proj.weight' has shape [384, 128]; config.json implies [512, 128]"),
            std::string::npos);
  EXPECT_NE(ErrorWithConfig([](io::Json& j) { j["num_hidden_layers"] = 3; })
                .find("tensor 'model.layers.2.self_attn.q_proj.weight' is missing"),
            std::string::npos);
  EXPECT_NE(ErrorWithConfig([](io::Json& j) { j["num_hidden_layers"] = 1; })
                .find("belongs to layer 1, but config.json has num_hidden_layers = 1"),
            std::string::npos);
  EXPECT_NE(ErrorWithConfig([](io::Json& j) { j["tie_word_embeddings"] = false; })
                .find("tensor 'model.embed_tokens.weight' is missing"),
            std::string::npos);
  EXPECT_NE(ErrorWithConfig([](io::Json& j) { j["model_type"] = "phi3"; })
                .find("supported model types: llama, mistral, qwen2, qwen3"),
            std::string::npos);
  EXPECT_EQ(ErrorWithConfig([](io::Json&) {}), "(no error)");
}

TEST(HfCheckpoint, TiedEmbeddingStoredUnderTheEmbeddingName) {
  // transformers >= 4.40 keeps model.embed_tokens.weight and drops lm_head.weight.
  ScratchDir dir("tied-embed");
  const auto src = safetensors::OpenCheckpoint(kBundled);
  std::vector<safetensors::TensorSpec> specs;
  for (const auto& n : src->Names()) {
    const Tensor t = src->Get(n);
    specs.push_back({n == "lm_head.weight" ? std::string("model.embed_tokens.weight") : n, t.dtype(), t.shape()});
  }
  safetensors::WriteCheckpoint(dir.path(), specs, safetensors::kDefaultMaxShardBytes,
                               [&](const safetensors::TensorSpec& s, io::ByteSink& out) {
                                 const std::string n = s.name == "model.embed_tokens.weight" ? "lm_head.weight" : s.name;
                                 safetensors::WriteTensorBytes(src->Get(n), out);
                               });
  fs::copy_file(kBundled + "/config.json", dir / "config.json");
  const auto ck = Checkpoint::Open(dir.path());
  EXPECT_TRUE(ck->tensors().Has("lm_head.weight"));
  EXPECT_EQ(std::memcmp(ck->tensors().Get("lm_head.weight").bytes(), src->Get("lm_head.weight").bytes(), 1 << 20), 0);
  EXPECT_EQ(Summarize(ck->tensors(), &ck->config(), "safetensors").num_parameters, 656000u);
}

}  // namespace
}  // namespace qforge::hf
