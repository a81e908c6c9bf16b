// `qforge eval`: perplexity of MODEL on a text by llama-perplexity's protocol (FORMATS.md §8), and with a
// BASE model the KL-divergence / top-1 / Δp statistics of llama-perplexity --kl-divergence, on the same
// windows. Loading goes through LoadModel (HF dir, GGUF file, compressed-tensors dir); the protocol and the
// statistics are eval/ (pure math on logits).
//
// Tokenization is llama-perplexity's: the whole text at once with MODEL's tokenizer, BOS prepended iff the
// vocabulary adds BOS; the same token ids are fed to BASE.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "eval/kl_divergence.h"
#include "eval/perplexity.h"
#include "eval/windows.h"

namespace qforge::pipeline {

inline constexpr uint64_t kMaxEvalTextBytes = uint64_t{1} << 30;  // 1 GiB of text: far above any eval set

struct EvaluateOptions {
  std::string model_path;
  std::string text_path;
  std::string base_path;     // empty: perplexity only
  int64_t n_ctx = 512;       // --ctx
  int64_t max_chunks = -1;   // --chunks; −1 = all
  bool score_all = false;    // --full
  bool exact_base = false;   // KLD from the base's f32 log-probs instead of llama.cpp's u16 base encoding
};

struct EvaluateReport {
  std::string model_path, base_path, text_path;
  int64_t n_vocab = 0;
  int64_t n_text_tokens = 0;   // the whole text, BOS included
  bool add_bos = false;
  eval::WindowPlan plan;
  eval::PerplexityResult ppl;                    // MODEL
  std::optional<eval::PerplexityResult> base_ppl;  // BASE, plain (exact) scoring
  std::optional<eval::KldReport> kld;            // MODEL against BASE
  bool exact_base = false;
  double load_seconds = 0, tokenize_seconds = 0, eval_seconds = 0;
};

// After each window: windows done, windows planned, running PPL of MODEL.
using EvaluateProgress = std::function<void(int64_t done, int64_t total, double running_ppl)>;

EvaluateReport Evaluate(const EvaluateOptions& options, const EvaluateProgress& progress = {});

// The part after loading and tokenizing, for tests with synthetic logits: one model as the protocol sees it.
struct EvalModel {
  std::string path;
  eval::LogitsFn logits;
  int64_t n_vocab = 0;  // logits per position
};
// `bos`: the id that replaces each window's first token (set iff the vocabulary adds BOS). Fills everything
// but the paths of the text and the timings of loading/tokenizing.
EvaluateReport EvaluateTokens(const EvalModel& model, const EvalModel* base, std::span<const int32_t> tokens,
                              std::optional<int32_t> bos, const EvaluateOptions& options,
                              const EvaluateProgress& progress = {});

}  // namespace qforge::pipeline
