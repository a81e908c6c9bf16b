// Real-client agreement: stories260K.gguf through LoadModel vs llama.cpp (node-llama-cpp 3.21.1, CPU) run
// at test time by tests/oracle/llama_logprobs.mjs — per-token log-probabilities of several prompts (as
// llama.cpp tokenizes them) and the greedy continuation from BOS, token for token.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "model/generate.h"
#include "pipeline/load_model.h"

namespace qforge::pipeline {
namespace {

const std::string kModel = std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf";
const std::string kOracleDir = std::string(QFORGE_REPO_DIR) + "/tests/oracle";
// Issue acceptance: our log-probabilities equal llama.cpp's within 1e-4 absolute. Both compute in F32 (the
// oracle runs with an F32 KV cache; llama.cpp's default F16 cache alone moves them by ~1e-2); measured
// max difference 2.1e-5, from float summation order.
constexpr double kLogProbAbsTol = 1e-4;
// Tokens llama.cpp gives probability so small that float32 p underflows are reported as -1e30; skip them.
constexpr double kUnderflowLogProb = -1e29;
constexpr int kGreedyTokens = 64;

const std::vector<std::string> kPrompts = {
    "Once upon a time, there was a little girl named Lily.",
    "The cat sat on the mat and looked at the big red ball.",
    "Tom and his mom went to the park. They saw a dog",
    "One day, a bird flew",
};

nlohmann::json RunOracle() {
  if (!std::filesystem::exists(kOracleDir + "/node_modules/node-llama-cpp")) {
    ADD_FAILURE() << "node-llama-cpp is not installed in " << kOracleDir << " (run scripts/install-oracles.sh)";
    return {};
  }
  const std::string req_path =
      (std::filesystem::temp_directory_path() / ("qforge_llama_req_" + std::to_string(::getpid()) + ".json")).string();
  {
    std::ofstream req(req_path);
    req << nlohmann::json{{"prompts", kPrompts}, {"greedy_from_bos", kGreedyTokens}}.dump();
  }
  const std::string cmd = "cd '" + kOracleDir + "' && node llama_logprobs.mjs '" + kModel + "' '" + req_path + "'";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0) << cmd;
  }
  std::filesystem::remove(req_path);
  return nlohmann::json::parse(out);
}

class Stories260KOracle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    oracle_ = new nlohmann::json(RunOracle());
    model_ = new LoadedModel(LoadModel(kModel));
  }
  static void TearDownTestSuite() {
    delete oracle_;
    delete model_;
  }
  static nlohmann::json* oracle_;
  static LoadedModel* model_;
};
nlohmann::json* Stories260KOracle::oracle_ = nullptr;
LoadedModel* Stories260KOracle::model_ = nullptr;

TEST_F(Stories260KOracle, PerTokenLogProbsMatchLlamaCpp) {
  ASSERT_TRUE(oracle_->contains("prompts"));
  const auto& m = *model_->model;
  const int64_t v = m.vocab_size();
  ASSERT_EQ((*oracle_)["n_vocab"].get<int64_t>(), v);
  double worst = 0;
  int64_t compared = 0;
  for (const auto& p : (*oracle_)["prompts"]) {
    const auto tokens = p["tokens"].get<std::vector<int32_t>>();
    SCOPED_TRACE(p["text"].get<std::string>());
    // Our tokenizer should agree with llama.cpp's (BOS + text).
    EXPECT_EQ(std::vector<int32_t>(tokens.begin() + 1, tokens.end()),
              model_->tokenizer->Encode(p["text"].get<std::string>()));
    std::vector<float> logits(tokens.size() * static_cast<size_t>(v));
    m.Forward(tokens, logits.data());
    for (size_t t = 0; t < tokens.size(); ++t) {
      const float* row = logits.data() + t * static_cast<size_t>(v);
      double mx = row[0];
      for (int64_t i = 1; i < v; ++i) mx = std::max<double>(mx, row[i]);
      double sum = 0;
      for (int64_t i = 0; i < v; ++i) sum += std::exp(row[i] - mx);
      const double lse = mx + std::log(sum);
      const auto& want = p["logprobs"][t];
      for (int64_t i = 0; i < v; ++i) {
        const double w = want[static_cast<size_t>(i)].get<double>();
        if (w < kUnderflowLogProb) continue;
        const double d = std::abs((row[i] - lse) - w);
        worst = std::max(worst, d);
        ++compared;
        ASSERT_LE(d, kLogProbAbsTol) << "position " << t << " token " << i;
      }
    }
  }
  EXPECT_GT(compared, 10000);
  std::printf("[ oracle ] max |log p - log p_llama.cpp| = %.3g over %lld values\n", worst,
              static_cast<long long>(compared));
}

TEST_F(Stories260KOracle, GreedyFromBosMatchesLlamaCppTokenForToken) {
  ASSERT_TRUE(oracle_->contains("greedy"));
  const auto want = (*oracle_)["greedy"].get<std::vector<int32_t>>();
  ASSERT_EQ(want.size(), static_cast<size_t>(kGreedyTokens));
  const std::vector<int32_t> bos = {(*oracle_)["bos"].get<int32_t>()};
  model::Sampler greedy({});
  const auto got = model::Generate(*model_->model, bos, kGreedyTokens, greedy, std::nullopt);
  EXPECT_EQ(got.tokens, want);
  std::printf("[ oracle ] greedy: %s\n", model_->tokenizer->Decode(got.tokens).c_str());
}

}  // namespace
}  // namespace qforge::pipeline
