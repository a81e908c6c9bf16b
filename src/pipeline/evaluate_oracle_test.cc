// Acceptance of `qforge eval` (issue 3 item 4): stories260K.gguf on wiki.test.raw, ctx 512, against the
// perplexity llama-perplexity reports for the same settings, recomputed at test time from llama.cpp's own
// forward pass by tests/oracle/perplexity.mjs (node-llama-cpp 3.21.1, CPU; same protocol, FORMATS.md §8).
//
// CI runs a few windows (kDefaultChunks); the full 100-window comparison is run by hand:
//   QFORGE_EVAL_ORACLE_CHUNKS=100 build/src/pipeline/pipeline_oracle_test --gtest_filter='EvalOracle.*'
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/log_softmax.h"
#include "io/mapped_file.h"
#include "pipeline/convert.h"
#include "pipeline/llama_logits_oracle.h"
#include "pipeline/evaluate.h"
#include "pipeline/load_model.h"

namespace qforge::pipeline {
namespace {

const std::string kModel = std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf";
const std::string kText = std::string(QFORGE_SHARED_DIR) + "/data/wiki.test.raw";
const std::string kOracleDir = std::string(QFORGE_REPO_DIR) + "/tests/oracle";
constexpr int64_t kCtx = 512;
// The oracle decodes ~1 window/s on one core (its per-token probability maps dominate); 3 windows keep each
// test at ~5 s and still score 765 tokens (full mode: 1533) from 3 different windows.
constexpr int64_t kDefaultChunks = 3;
// Against llama.cpp's f32 forward pass (F32 KV cache, no flash attention) only the oracle's float32 softmax
// differs (~1e-6 relative in log p); measured agreement is ~4e-7 relative in PPL.
constexpr double kF32PplRelTol = 1e-5;
// The error estimate is a difference of nearly equal sums: it inherits ~100× the relative noise of the PPL.
constexpr double kF32ErrRelTol = 1e-3;

int64_t Chunks() {
  const char* env = std::getenv("QFORGE_EVAL_ORACLE_CHUNKS");
  return env ? std::atoll(env) : kDefaultChunks;
}

// Issue acceptance: equal to 4 significant digits, i.e. within half a unit of the 4th significant digit.
double FourDigitTolerance(double value) { return 0.5 * std::pow(10.0, std::floor(std::log10(value)) - 3); }

nlohmann::json RunOracle(int64_t chunks, bool full, const std::string& attention) {
  if (!std::filesystem::exists(kOracleDir + "/node_modules/node-llama-cpp")) {
    ADD_FAILURE() << "node-llama-cpp is not installed in " << kOracleDir << " (run scripts/install-oracles.sh)";
    return {};
  }
  const std::string cmd = "cd '" + kOracleDir + "' && node perplexity.mjs --model '" + kModel + "' --text '" +
                          kText + "' --ctx " + std::to_string(kCtx) + " --chunks " + std::to_string(chunks) +
                          " --attention " + attention + (full ? " --full" : "");
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0) << cmd;
  }
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

EvaluateReport RunOurs(int64_t chunks, bool full) {
  EvaluateOptions options;
  options.model_path = kModel;
  options.text_path = kText;
  options.n_ctx = kCtx;
  options.max_chunks = chunks;
  options.score_all = full;
  return Evaluate(options);
}

// Window layout and token ids as llama.cpp produced them.
void ExpectSameWindows(const EvaluateReport& r, const nlohmann::json& oracle) {
  EXPECT_EQ(r.n_text_tokens, oracle["n_tokens"].get<int64_t>());
  EXPECT_EQ(r.add_bos, oracle["add_bos"].get<bool>());
  EXPECT_EQ(r.plan.n_chunk, oracle["n_chunk"].get<int64_t>());
  EXPECT_EQ(r.plan.first, oracle["first"].get<int64_t>());
  EXPECT_EQ(static_cast<int64_t>(r.ppl.nll.count), oracle["count"].get<int64_t>());
  const LoadedModel m = LoadModel(kModel);
  const auto file = io::MappedFile::Open(kText);
  const auto body =
      m.tokenizer->Encode(std::string_view(reinterpret_cast<const char*>(file->data()), file->size()));
  const auto& expected = oracle["tokens"];
  ASSERT_GE(body.size() + 1, expected.size());
  ASSERT_EQ(expected[0].get<int32_t>(), m.tokenizer->bos_id().value_or(-1));
  for (size_t i = 1; i < expected.size(); ++i)  // token 0 is BOS on both sides
    ASSERT_EQ(body[i - 1], expected[i].get<int32_t>()) << "first tokenization difference at token " << i;
}

void Print(const char* what, const EvaluateReport& r, const nlohmann::json& oracle) {
  const double ours = r.ppl.nll.Ppl(), theirs = oracle["ppl"].get<double>();
  std::printf("[eval oracle] %s, %lld windows x %lld (%llu tokens scored): qforge PPL %.6f +/- %.5f, "
              "llama.cpp %.6f +/- %.5f (rel. diff %.2e); qforge eval %.2fs, tokenize %.2fs\n",
              what, static_cast<long long>(r.plan.n_chunk), static_cast<long long>(kCtx),
              static_cast<unsigned long long>(r.ppl.nll.count), ours, r.ppl.nll.PplError(), theirs,
              oracle["ppl_err"].get<double>(), std::fabs(ours - theirs) / theirs, r.eval_seconds,
              r.tokenize_seconds);
}

// What llama-perplexity prints: llama.cpp's defaults (F16 KV cache, CPU flash attention). Our forward pass
// computes attention in f32, so agreement is to the 4 significant digits (measured: 2.7e-4 relative on
// 4 windows, 1.5e-4 on all 1580 windows), not to the last bit.
TEST(EvalOracle, Stories260KWikiPerplexityEqualsLlamaPerplexityToFourDigits) {
  const int64_t chunks = Chunks();
  const nlohmann::json oracle = RunOracle(chunks, false, "default");
  ASSERT_TRUE(oracle.is_object() && oracle.contains("ppl")) << "oracle output unusable";
  const EvaluateReport r = RunOurs(chunks, false);
  ExpectSameWindows(r, oracle);
  const double theirs = oracle["ppl"].get<double>();
  EXPECT_NEAR(r.ppl.nll.Ppl(), theirs, FourDigitTolerance(theirs));
  Print("llama.cpp defaults, second half", r, oracle);
}

// The same protocol against llama.cpp's f32 attention: proves the windowing, scoring and statistics exact.
void CompareWithF32Oracle(bool full) {
  const int64_t chunks = Chunks();
  const nlohmann::json oracle = RunOracle(chunks, full, "f32");
  ASSERT_TRUE(oracle.is_object() && oracle.contains("ppl")) << "oracle output unusable";
  const EvaluateReport r = RunOurs(chunks, full);
  ExpectSameWindows(r, oracle);
  const double theirs = oracle["ppl"].get<double>();
  EXPECT_NEAR(r.ppl.nll.Ppl(), theirs, theirs * kF32PplRelTol);
  const double err = oracle["ppl_err"].get<double>();
  EXPECT_NEAR(r.ppl.nll.PplError(), err, err * kF32ErrRelTol);
  ASSERT_EQ(r.ppl.running_ppl.size(), oracle["running"].size());
  for (size_t k = 0; k < r.ppl.running_ppl.size(); ++k) {
    const double t = oracle["running"][k].get<double>();
    EXPECT_NEAR(r.ppl.running_ppl[k], t, t * kF32PplRelTol) << "after window " << k + 1;
  }
  Print(full ? "f32 attention, all tokens" : "f32 attention, second half", r, oracle);
}

TEST(EvalOracle, Stories260KWikiSecondHalfMatchesF32AttentionTightly) { CompareWithF32Oracle(false); }

TEST(EvalOracle, Stories260KWikiFullScoringMatchesF32AttentionTightly) { CompareWithF32Oracle(true); }

// `qforge eval` on quantized GGUFs we write (stories260K → Q8_0 / Q4_K_M / Q5_K_M), against llama.cpp's
// perplexity on the same windows from its raw logits (qforge_llama_logits, F32 KV cache). Activation
// quantization makes both sides flip int8 codes at different tokens (convert_oracle_test), so PPL cannot agree
// to the F32 test's 1e-5: llama.cpp's own portable (sse42) build differs from its AVX build by up to 2.2e-3
// relative here (measured). qforge must stay within kCrossBuildFactor × that spread (largest over the three
// files; flips are random, so one side's sum can land further out), and never beyond kQuantPplRelTol — a
// tenth of the 2% that separates Q8_0 from Q4_K_M on this model, so a wrong type or scale still fails.
TEST(EvalOracle, QuantizedGgufPerplexityWithinLlamaCppsOwnSpread) {
  constexpr double kCrossBuildFactor = 2.0;
  constexpr double kQuantPplRelTol = 5e-3;
  const std::string dir = fmt::format("{}/qforge_eval_quant_oracle_{}", std::filesystem::temp_directory_path().string(),
                                      ::getpid());
  std::filesystem::create_directories(dir);
  ::setenv("QFORGE_PROGRESS", "0", 1);
  const int64_t chunks = Chunks();
  const LoadedModel m = LoadModel(kModel);
  const auto file = io::MappedFile::Open(kText);
  std::vector<int32_t> tokens = m.tokenizer->Encode(std::string_view(reinterpret_cast<const char*>(file->data()), file->size()));
  tokens.insert(tokens.begin(), *m.tokenizer->bos_id());  // stories260K adds BOS (ExpectSameWindows checks it)
  struct Row {
    std::string type;
    double qforge, native, portable;
    std::string native_cpu, portable_cpu;
  };
  std::vector<Row> rows;
  double spread = 0;
  for (const std::string type : {"Q8_0", "Q4_K_M", "Q5_K_M"}) {
    ConvertOptions o;
    o.input = kModel;
    o.output = fmt::format("{}/{}.gguf", dir, type);
    o.type = type;
    Convert(o);
    EvaluateOptions e;
    e.model_path = o.output;
    e.text_path = kText;
    e.n_ctx = kCtx;
    e.max_chunks = chunks;
    const EvaluateReport r = Evaluate(e);
    Row row{type, r.ppl.nll.Ppl(), 0, 0, "", ""};
    for (const bool portable : {false, true}) {
      double nll = 0;
      int64_t count = 0;
      for (int64_t k = 0; k < r.plan.n_chunk; ++k) {
        std::vector<int32_t> w(tokens.begin() + k * kCtx, tokens.begin() + (k + 1) * kCtx);
        w[0] = *m.tokenizer->bos_id();
        const auto l = testing::RunLlamaLogits(o.output, w, dir, portable ? testing::PortableCpuFor(row.native_cpu) : "");
        (portable ? row.portable_cpu : row.native_cpu) = l.cpu;
        for (int64_t p = r.plan.first; p + 1 < kCtx; ++p, ++count) {
          nll += eval::TokenNll({l.row(static_cast<size_t>(p)), static_cast<size_t>(l.n_vocab)},
                                w[static_cast<size_t>(p + 1)]);  // llama-perplexity's arithmetic
        }
      }
      ASSERT_EQ(count, static_cast<int64_t>(r.ppl.nll.count));
      (portable ? row.portable : row.native) = std::exp(nll / static_cast<double>(count));
    }
    ASSERT_NE(row.native_cpu, row.portable_cpu);
    spread = std::max(spread, std::fabs(row.portable - row.native) / row.native);
    rows.push_back(row);
  }
  for (const Row& row : rows) {
    const double gap = std::fabs(row.qforge - row.native) / row.native;
    std::printf("[eval oracle] stories260K %s, %lld windows: qforge PPL %.4f, llama.cpp %s %.4f (rel. %.2e), "
                "llama.cpp %s %.4f (rel. %.2e)\n", row.type.c_str(), static_cast<long long>(chunks), row.qforge,
                row.native_cpu.c_str(), row.native, gap, row.portable_cpu.c_str(), row.portable,
                std::fabs(row.portable - row.native) / row.native);
    EXPECT_LE(gap, std::min(kQuantPplRelTol, std::max(kCrossBuildFactor * spread, 1e-5))) << row.type;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qforge::pipeline
