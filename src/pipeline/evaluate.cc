#include "pipeline/evaluate.h"

#include <chrono>
#include <utility>

#include "core/error.h"
#include "io/mapped_file.h"
#include "pipeline/load_model.h"
#include "tokenizer/tokenizer.h"

namespace qforge::pipeline {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

EvaluateReport EvaluateTokens(const EvalModel& model, const EvalModel* base, std::span<const int32_t> tokens,
                              std::optional<int32_t> bos, const EvaluateOptions& options,
                              const EvaluateProgress& progress) {
  QF_CHECK(model.logits && model.n_vocab > 0);
  if (base && base->n_vocab != model.n_vocab)
    Fail("{}: vocabulary of {} entries, but the base model {} has {}; KL-divergence needs the same vocabulary",
         model.path, model.n_vocab, base->path, base->n_vocab);
  eval::WindowOptions windows;
  windows.n_ctx = options.n_ctx;
  windows.max_chunks = options.max_chunks;
  windows.score_all = options.score_all;
  windows.bos_id = bos;
  const std::string what = options.text_path.empty() ? std::string("text") : options.text_path;
  EvaluateReport report;
  report.model_path = model.path;
  report.text_path = options.text_path;
  report.n_vocab = model.n_vocab;
  report.n_text_tokens = static_cast<int64_t>(tokens.size());
  report.add_bos = bos.has_value();
  report.exact_base = options.exact_base;
  report.plan = eval::PlanWindows(report.n_text_tokens, windows, what.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  if (!base) {
    report.ppl = eval::Perplexity(tokens, model.n_vocab, model.logits, report.plan,
                                  [&](int64_t done, const eval::NllSums& so_far) {
                                    if (progress) progress(done, report.plan.n_chunk, so_far.Ppl());
                                  });
  } else {
    QF_CHECK(base->logits);
    report.base_path = base->path;
    eval::KldOptions kld_options;
    kld_options.exact_base = options.exact_base;
    eval::KldResult r = eval::KlDivergence(tokens, model.n_vocab, base->logits, model.logits, report.plan,
                                           kld_options, [&](int64_t done, const eval::KldResult& so_far) {
                                             if (progress) progress(done, report.plan.n_chunk, so_far.model.nll.Ppl());
                                           });
    report.ppl = std::move(r.model);
    report.base_ppl = std::move(r.base);
    report.kld = r.kld.Report();
  }
  report.eval_seconds = SecondsSince(t0);
  return report;
}

EvaluateReport Evaluate(const EvaluateOptions& options, const EvaluateProgress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  // Everything is validated before the (slow) forward passes start.
  const auto text_file = io::MappedFile::Open(options.text_path);
  if (text_file->size() > kMaxEvalTextBytes)
    Fail("{}: {} bytes of text; expected at most {}", options.text_path, text_file->size(), kMaxEvalTextBytes);
  const std::string_view text(reinterpret_cast<const char*>(text_file->data()), text_file->size());

  LoadedModel model = LoadModel(options.model_path);
  std::optional<LoadedModel> base;
  if (!options.base_path.empty()) base.emplace(LoadModel(options.base_path));
  const double load_seconds = SecondsSince(t0);

  // llama-perplexity: the whole text at once, BOS first iff the vocabulary adds it, no special-token parsing.
  // NOTE(EVAL→TOKENIZER): Tokenizer::Encode also matches control tokens ("<s>", "</s>") written in the text,
  // which llama.cpp's parse_special=false does not; texts containing them would tokenize differently.
  t0 = std::chrono::steady_clock::now();
  const tokenizer::Tokenizer& tok = *model.tokenizer;
  std::vector<int32_t> tokens;
  const std::optional<int32_t> bos = tok.add_bos() ? tok.bos_id() : std::nullopt;
  if (tok.add_bos() && !bos) Fail("{}: the vocabulary adds BOS but defines no BOS token", options.model_path);
  if (bos) tokens.push_back(*bos);
  const std::vector<int32_t> body = tok.Encode(text);
  tokens.insert(tokens.end(), body.begin(), body.end());
  if (base) {
    const tokenizer::Tokenizer& base_tok = *base->tokenizer;
    if (base_tok.vocab_size() != tok.vocab_size() || base_tok.bos_id() != tok.bos_id() ||
        base_tok.add_bos() != tok.add_bos())
      Fail("{}: tokenizer differs from the base model {} (vocabulary {} vs {} entries, BOS {} vs {}); "
           "KL-divergence compares the same token sequence, so both need the same tokenizer",
           options.model_path, options.base_path, tok.vocab_size(), base_tok.vocab_size(),
           tok.bos_id().value_or(-1), base_tok.bos_id().value_or(-1));
  }
  const double tokenize_seconds = SecondsSince(t0);

  const auto forward = [](const model::Model& m) {
    return [&m](std::span<const int32_t> window, float* logits) { m.Forward(window, logits); };
  };
  const EvalModel eval_model{options.model_path, forward(*model.model), model.model->vocab_size()};
  std::optional<EvalModel> eval_base;
  if (base) eval_base = EvalModel{options.base_path, forward(*base->model), base->model->vocab_size()};
  EvaluateReport report =
      EvaluateTokens(eval_model, eval_base ? &*eval_base : nullptr, tokens, bos, options, progress);
  report.load_seconds = load_seconds;
  report.tokenize_seconds = tokenize_seconds;
  return report;
}

}  // namespace qforge::pipeline
