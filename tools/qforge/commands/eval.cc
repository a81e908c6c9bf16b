// `qforge eval MODEL --text FILE [--ctx 512] [--chunks N] [--full] [--base BASE] [--exact-base] [--json]`:
// perplexity by llama-perplexity's protocol, and with --base the KL-divergence statistics of
// llama-perplexity --kl-divergence (FORMATS.md §8). Tables go to stdout (or JSON with --json), progress to
// stderr.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <optional>

#include "command.h"
#include "core/progress.h"
#include "pipeline/evaluate.h"

namespace qforge::cli {
namespace {

nlohmann::ordered_json EstimateJson(const eval::Estimate& e) { return {{"value", e.value}, {"error", e.error}}; }

nlohmann::ordered_json SpreadJson(const eval::Spread& s, bool quartiles) {
  nlohmann::ordered_json j = {{"mean", s.mean.value}, {"mean_error", s.mean.error}, {"max", s.max},
                              {"p99_9", s.p99_9},     {"p99", s.p99},               {"p95", s.p95},
                              {"p90", s.p90}};
  if (quartiles) j["p75"] = s.p75;
  j["median"] = s.median;
  if (quartiles) j["p25"] = s.p25;
  j["p10"] = s.p10;
  j["p5"] = s.p5;
  j["p1"] = s.p1;
  j["p0_1"] = s.p0_1;
  j["min"] = s.min;
  return j;
}

nlohmann::ordered_json ReportJson(const pipeline::EvaluateReport& r) {
  nlohmann::ordered_json j;
  j["model"] = r.model_path;
  j["text"] = r.text_path;
  j["n_vocab"] = r.n_vocab;
  j["text_tokens"] = r.n_text_tokens;
  j["add_bos"] = r.add_bos;
  j["ctx"] = r.plan.n_ctx;
  j["chunks"] = r.plan.n_chunk;
  j["first_scored_position"] = r.plan.first + 1;
  j["scored_tokens"] = r.ppl.nll.count;
  j["ppl"] = r.ppl.nll.Ppl();
  j["ppl_error"] = r.ppl.nll.PplError();
  j["running_ppl"] = r.ppl.running_ppl;
  if (r.base_ppl) {
    j["base"] = r.base_path;
    j["base_ppl"] = r.base_ppl->nll.Ppl();
    j["base_ppl_error"] = r.base_ppl->nll.PplError();
  }
  if (r.kld) {
    const eval::KldReport& k = *r.kld;
    nlohmann::ordered_json kl;
    kl["base_log_probs"] = r.exact_base ? "f32" : "u16 (llama-perplexity base file encoding)";
    kl["tokens"] = k.count;
    kl["ppl"] = EstimateJson(k.ppl);
    kl["ppl_base"] = EstimateJson(k.ppl_base);
    kl["cor_ln_ppl"] = k.cor_ln_ppl;
    kl["ln_ppl_ratio"] = EstimateJson(k.ln_ppl_ratio);
    kl["ppl_ratio"] = EstimateJson(k.ppl_ratio);
    kl["ppl_diff"] = EstimateJson(k.ppl_diff);
    kl["kld"] = SpreadJson(k.kld, false);
    kl["delta_p"] = SpreadJson(k.dp, true);
    kl["rms_delta_p"] = EstimateJson(k.rms_dp);
    kl["same_top_p"] = EstimateJson(k.same_top);
    j["kl_divergence"] = std::move(kl);
  }
  j["seconds"] = {{"load", r.load_seconds}, {"tokenize", r.tokenize_seconds}, {"eval", r.eval_seconds}};
  return j;
}

void PrintSpread(const char* name, const eval::Spread& s, double scale, const char* unit, bool quartiles) {
  const auto line = [&](const char* what, double v) {
    fmt::print("{:<8} {:<6} {:11.6f}{}\n", what, name, v * scale, unit);
  };
  fmt::print("Mean     {:<6} {:11.6f}{} ± {:.6f}{}\n", name, s.mean.value * scale, unit, s.mean.error * scale, unit);
  line("Maximum", s.max);
  line("99.9%", s.p99_9);
  line("99.0%", s.p99);
  line("95.0%", s.p95);
  line("90.0%", s.p90);
  if (quartiles) line("75.0%", s.p75);
  line("Median", s.median);
  if (quartiles) line("25.0%", s.p25);
  line("10.0%", s.p10);
  line("5.0%", s.p5);
  line("1.0%", s.p1);
  line("0.1%", s.p0_1);
  line("Minimum", s.min);
}

void PrintReport(const pipeline::EvaluateReport& r) {
  fmt::print("model    {}\n", r.model_path);
  if (!r.base_path.empty()) fmt::print("base     {}\n", r.base_path);
  fmt::print("text     {} ({} tokens{})\n", r.text_path, r.n_text_tokens, r.add_bos ? ", BOS first" : "");
  fmt::print("windows  {} × {} tokens{}, scoring positions {}..{} ({} per window, {} tokens)\n", r.plan.n_chunk,
             r.plan.n_ctx, r.add_bos ? " (BOS first)" : "", r.plan.first + 1, r.plan.n_ctx - 1,
             r.plan.scored_per_chunk, r.ppl.nll.count);
  fmt::print("time     load {:.2f}s, tokenize {:.2f}s, eval {:.2f}s\n\n", r.load_seconds, r.tokenize_seconds,
             r.eval_seconds);
  fmt::print("PPL        = {:.4f} +/- {:.5f}\n", r.ppl.nll.Ppl(), r.ppl.nll.PplError());
  if (r.base_ppl) fmt::print("PPL(base)  = {:.4f} +/- {:.5f}\n", r.base_ppl->nll.Ppl(), r.base_ppl->nll.PplError());
  if (!r.kld) return;
  const eval::KldReport& k = *r.kld;
  fmt::print("\nKL-divergence statistics ({} tokens; base log-probs {}):\n", k.count,
             r.exact_base ? "f32" : "u16-encoded as in llama-perplexity's base file");
  fmt::print("Mean PPL(Q)                   : {:10.6f} ± {:10.6f}\n", k.ppl.value, k.ppl.error);
  fmt::print("Mean PPL(base)                : {:10.6f} ± {:10.6f}\n", k.ppl_base.value, k.ppl_base.error);
  fmt::print("Cor(ln(PPL(Q)), ln(PPL(base))): {:6.2f}%\n", 100 * k.cor_ln_ppl);
  fmt::print("Mean ln(PPL(Q)/PPL(base))     : {:10.6f} ± {:10.6f}\n", k.ln_ppl_ratio.value, k.ln_ppl_ratio.error);
  fmt::print("Mean PPL(Q)/PPL(base)         : {:10.6f} ± {:10.6f}\n", k.ppl_ratio.value, k.ppl_ratio.error);
  fmt::print("Mean PPL(Q)-PPL(base)         : {:10.6f} ± {:10.6f}\n\n", k.ppl_diff.value, k.ppl_diff.error);
  PrintSpread("KLD", k.kld, 1.0, "", false);
  fmt::print("\n");
  PrintSpread("Δp", k.dp, 100.0, "%", true);
  fmt::print("RMS Δp            : {:.3f} ± {:.3f} %\n", 100 * k.rms_dp.value, 100 * k.rms_dp.error);
  fmt::print("Same top p        : {:.3f} ± {:.3f} %\n", 100 * k.same_top.value, 100 * k.same_top.error);
}

std::function<int()> SetupEval(CLI::App& app) {
  auto options = std::make_shared<pipeline::EvaluateOptions>();
  auto json = std::make_shared<bool>(false);
  app.add_option("model", options->model_path, "Model: HF directory, GGUF file or compressed-tensors directory")
      ->required();
  app.add_option("--text", options->text_path, "Text file to score (e.g. wikitext-2-raw/wiki.test.raw)")
      ->required();
  app.add_option("--ctx,-c", options->n_ctx, "Window length in tokens")->capture_default_str();
  app.add_option("--chunks", options->max_chunks, "Evaluate at most N windows (default: all)");
  app.add_flag("--full", options->score_all, "Score every token of a window, not only the second half");
  app.add_option("--base", options->base_path,
                 "Base model: adds KL-divergence, top-1 agreement and Δp of MODEL against it");
  app.add_flag("--exact-base", options->exact_base,
               "KL-divergence from the base's f32 log-probs instead of llama-perplexity's u16 encoding");
  app.add_flag("--json", *json, "Print the report as JSON");
  return [options, json] {
    std::optional<Progress> progress;
    const pipeline::EvaluateReport report =
        pipeline::Evaluate(*options, [&](int64_t done, int64_t total, double running_ppl) {
          if (!progress) progress.emplace("eval", static_cast<uint64_t>(total), "windows");
          progress->SetLabel(fmt::format("eval PPL {:.4f}", running_ppl));
          progress->Set(static_cast<uint64_t>(done));
        });
    if (progress) progress->Finish();
    if (*json)
      fmt::print("{}\n", ReportJson(report).dump(2));
    else
      PrintReport(report);
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(eval, "eval", 60, "Perplexity (llama.cpp protocol) and KL-divergence against a base model",
               SetupEval);
}  // namespace qforge::cli
