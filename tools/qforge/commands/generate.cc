// `qforge generate MODEL -p TEXT -n N`: text continuation (greedy by default; --temp/--top-k/--top-p/--seed
// sample), streamed to stdout; timings and tokens/s to stderr.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "command.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/generate.h"
#include "pipeline/load_model.h"

namespace qforge::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt;
  int64_t n = 64;
  float temp = 0.0f, top_p = 1.0f;
  int64_t top_k = 0;
  uint64_t seed = 0;
  int64_t random_prompt = 0;
  bool no_bos = false, ignore_eos = false;
  std::string weights = "native";
};

std::function<int()> SetupGenerate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  app.add_option("model", a->model, "HF model directory or .gguf file")->required();
  app.add_option("-p,--prompt", a->prompt, "Prompt text (BOS is prepended when the tokenizer adds it)");
  app.add_option("-n,--n-tokens", a->n, "Tokens to generate")->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  app.add_option("--temp", a->temp, "Sampling temperature; 0 = greedy")->check(CLI::Range(0.0f, 100.0f));
  app.add_option("--top-k", a->top_k, "Sample among the k most likely tokens (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", a->top_p, "Nucleus sampling mass in (0, 1]")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--seed", a->seed, "Random seed for sampling");
  app.add_option("--random-prompt", a->random_prompt,
                 "Benchmark: use N pseudo-random token ids (after BOS) as the prompt instead of -p")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  app.add_option("--weights", a->weights, "Re-store Linear weights at load as f32, bf16 or f16 (default: native)")
      ->check(CLI::IsMember({"native", "f32", "bf16", "f16"}));
  app.add_flag("--no-bos", a->no_bos, "Do not prepend BOS");
  app.add_flag("--ignore-eos", a->ignore_eos, "Keep generating after the end-of-sequence token");
  return [a] {
    const auto t0 = std::chrono::steady_clock::now();
    pipeline::LoadedModel m = pipeline::LoadModel(a->model);
    if (a->weights != "native") {
      m.model->ConvertLinearWeights(a->weights == "f32" ? DType::kF32 : a->weights == "bf16" ? DType::kBF16 : DType::kF16);
    }
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<int32_t> prompt;
    const auto bos = m.tokenizer->bos_id();
    if (bos && !a->no_bos && (m.tokenizer->add_bos() || a->prompt.empty())) prompt.push_back(*bos);
    if (a->random_prompt > 0) {
      std::mt19937_64 rng(a->seed);
      for (int64_t i = 0; i < a->random_prompt; ++i) {
        prompt.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(std::min(m.model->vocab_size(), m.tokenizer->vocab_size()))));
      }
    } else {
      const auto ids = m.tokenizer->Encode(a->prompt);
      prompt.insert(prompt.end(), ids.begin(), ids.end());
    }
    if (prompt.empty()) Fail("empty prompt and the tokenizer has no BOS token; pass -p TEXT");
    model::Sampler sampler({a->temp, a->top_k, a->top_p, a->seed});
    if (a->random_prompt == 0) fmt::print("{}", a->prompt);
    std::fflush(stdout);
    std::vector<int32_t> so_far;
    std::string printed;
    const auto r = model::Generate(
        *m.model, prompt, a->n, sampler, a->ignore_eos ? std::nullopt : m.tokenizer->eos_id(), [&](int32_t tok) {
          // Decode the whole continuation and print what is new, so multi-token characters come out whole.
          // Ids the tokenizer lacks (random-weight models with a smaller tokenizer) print as [id].
          if (tok >= m.tokenizer->vocab_size()) {
            fmt::print("[{}]", tok);
            so_far.clear();
            printed.clear();
            return;
          }
          so_far.push_back(tok);
          const std::string text = m.tokenizer->Decode(so_far);
          if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
            fmt::print("{}", text.substr(printed.size()));
            std::fflush(stdout);
            printed = text;
          }
        });
    fmt::print("\n");
    std::fflush(stdout);
    fmt::print(stderr,
               "model: {} ({}, {} layers, hidden {}, {} weights), threads: {}, load {:.2f} s\n"
               "prefill: {} tokens in {:.3f} s = {:.1f} tokens/s\n"
               "decode:  {} tokens in {:.3f} s = {:.1f} tokens/s\n",
               a->model, m.format, m.config.num_layers, m.config.hidden_size,
               Name(m.model->layer(0)[model::LinearKind::kQ].dtype()), ThreadPool::Global().num_threads(),
               load_s, r.prompt_tokens, r.prefill_seconds, r.PrefillTokensPerSecond(),
               r.tokens.size() > 1 ? r.tokens.size() - 1 : 0, r.decode_seconds, r.DecodeTokensPerSecond());
    if (!m.native_summary.empty() && a->weights == "native") fmt::print(stderr, "weights: {}\n", m.native_summary);
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(generate, "generate", 40, "Generate text from a model (greedy or sampled), printing tokens/s",
               SetupGenerate);
}  // namespace qforge::cli
