// The bundled TinyStories-656K HF model through LoadModel: coherent greedy text, prefill logits equal
// KV-cache decoding logits, and load errors.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/generate.h"
#include "model/session.h"
#include "pipeline/load_model.h"
#include "pipeline/quantize.h"
#include "recipe/recipe.h"

namespace qforge::pipeline {
namespace {

const std::string kTinyStories = std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K";
// Prefill (GEMM, batched attention) vs one-token steps (GEMV): float summation order only. Logits of this
// model are O(10); 1e-4 is ~10 float ulps of them.
constexpr float kPrefillVsDecodeAbsTol = 1e-4f;

TEST(LoadModel, TinyStoriesGreedyContinuationIsEnglish) {
  LoadedModel m = LoadModel(kTinyStories);
  EXPECT_EQ(m.format, "hf");
  ASSERT_TRUE(m.tokenizer->bos_id().has_value());
  std::vector<int32_t> prompt = {*m.tokenizer->bos_id()};
  const auto text_ids = m.tokenizer->Encode("Once upon a time");
  prompt.insert(prompt.end(), text_ids.begin(), text_ids.end());
  model::Sampler greedy({});
  const auto r = model::Generate(*m.model, prompt, 40, greedy, m.tokenizer->eos_id());
  const std::string text = m.tokenizer->Decode(r.tokens);
  SCOPED_TRACE(text);
  int common = 0;
  for (const char* w : {" the ", " was ", " a ", " and ", " to ", " she ", " he ", " her ", " his "}) {
    common += text.find(w) != std::string::npos;
  }
  EXPECT_GE(common, 3);  // random weights produce no such words
  EXPECT_GE(r.tokens.size(), 20u);
}

TEST(LoadModel, TinyStoriesPrefillEqualsKvCacheDecode) {
  LoadedModel m = LoadModel(kTinyStories);
  const auto ids = m.tokenizer->EncodeWithSpecial("Lily saw a big red ball in the park. She wanted to play.");
  const int64_t n = static_cast<int64_t>(ids.size()), v = m.model->vocab_size();
  ASSERT_GE(n, 10);
  std::vector<float> prefill(static_cast<size_t>(n * v)), step(static_cast<size_t>(v));
  m.model->Forward(ids, prefill.data());
  model::Session s(*m.model, n);
  float max_diff = 0;
  for (int64_t t = 0; t < n; ++t) {
    s.Eval(std::span(ids).subspan(static_cast<size_t>(t), 1), step.data());
    for (int64_t i = 0; i < v; ++i) max_diff = std::max(max_diff, std::abs(step[i] - prefill[t * v + i]));
  }
  EXPECT_LT(max_diff, kPrefillVsDecodeAbsTol);
}

TEST(LoadModel, BadPathsThrow) {
  EXPECT_THROW(LoadModel("/nonexistent/model"), Error);
  EXPECT_THROW(LoadModel(std::string(QFORGE_REPO_DIR) + "/models"), Error);                 // no config.json
  EXPECT_THROW(LoadModel(kTinyStories + "/config.json"), Error);                            // not GGUF
}

}  // namespace
}  // namespace qforge::pipeline

namespace qforge::pipeline {
namespace {

// compressed-tensors checkpoints load with native kernels built straight from the packed tensors
// (pipeline/native_weights.h), and give the logits of the dense path: W4A16 / W8A16 use the same decoded
// weights (float summation order only: kernels sum per group, the dense path per row); W8A8 runs the same
// int8 kernel on both paths (the dense path swaps it in after loading), so its logits are identical.
TEST(LoadModel, CompressedTensorsRunNativelyWithTheDenseLogits) {
  // Logits O(10), k ≤ 512 terms per product: a few float ulps of the sums, propagated through 2 layers.
  constexpr float kNativeVsDenseAbsTol = 2e-4f;
  struct Case {
    const char* preset;
    const char* summary;
  };
  for (const Case& c : {Case{"W4A16", "14 of 15 Linears native (W4A16 14)"},
                        Case{"W8A16", "14 of 15 Linears native (W8A16 14)"},
                        Case{"W8A8", "14 of 15 Linears native (W8A8 14)"}}) {
    SCOPED_TRACE(c.preset);
    const std::string out = (std::filesystem::temp_directory_path() /
                             fmt::format("qforge_load_model_test_{}_{}", ::getpid(), c.preset)).string();
    std::filesystem::remove_all(out);
    QuantizeOptions o;
    o.model_dir = kTinyStories;
    o.out_dir = out;
    o.recipe = recipe::RecipeFromScheme(recipe::Preset(c.preset), {"lm_head"});
    o.progress = false;
    QuantizeModel(o);
    const LoadedModel native = LoadModel(out);
    LoadOptions dense_options;
    dense_options.native_weights = false;
    const LoadedModel dense = LoadModel(out, dense_options);
    EXPECT_EQ(native.native_summary, c.summary);
    EXPECT_EQ(native.model->layer(0)[model::LinearKind::kQ].dtype(), std::string(c.preset) == "W4A16" ? DType::kI32 : DType::kI8);
    const std::vector<int32_t> tokens = {1, 415, 1646, 263, 931, 1892, 727, 471};
    const int64_t v = native.model->vocab_size();
    std::vector<float> a(tokens.size() * static_cast<size_t>(v)), b(a.size());
    native.model->Forward(tokens, a.data());
    dense.model->Forward(tokens, b.data());
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    EXPECT_LE(worst, kNativeVsDenseAbsTol);
    std::filesystem::remove_all(out);
  }
}

}  // namespace
}  // namespace qforge::pipeline
