// The bundled TinyStories-656K HF model through LoadModel: coherent greedy text, prefill logits equal
// KV-cache decoding logits, and load errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "model/generate.h"
#include "model/session.h"
#include "pipeline/load_model.h"

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
