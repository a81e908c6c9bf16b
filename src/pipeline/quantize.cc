#include "pipeline/quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include "algorithms/rtn.h"
#include "core/error.h"
#include "hf/tensor_names.h"
#include "pipeline/quantize_calibrated.h"

namespace qforge::pipeline {
namespace {

constexpr std::string_view kLinearClass = "Linear";

std::string ModuleOf(const std::string& weight_name) {
  return weight_name.substr(0, weight_name.size() - std::string_view(".weight").size());
}

bool AnyMatch(const std::vector<std::string>& patterns, const std::string& module) {
  for (const auto& p : patterns)
    if (recipe::MatchesPattern(p, module, kLinearClass)) return true;
  return false;
}

std::string HumanBytes(uint64_t b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace

exporter::CtExportPlan PlanQuantization(const hf::Checkpoint& ckpt, const recipe::Modifier& m) {
  const ModelConfig& cfg = ckpt.config();
  exporter::CtExportPlan plan;
  plan.schemes = m.schemes;
  std::vector<std::vector<recipe::LinearShape>> targeted(m.schemes.size());
  // Fused vLLM layers: the shards of qkv_proj and gate_up_proj must share one scheme (or all stay dense).
  std::map<std::pair<int, int>, std::pair<std::string, int>> fused;  // (layer, fusion) -> (first module, scheme)
  bool lm_head_stored = false;
  for (const auto& name : ckpt.tensors().Names()) {
    const auto tn = hf::ParseTensorName(name);
    if (!tn || !hf::IsLinearRole(tn->role)) continue;
    if (tn->role == hf::Role::kLmHead) lm_head_stored = true;
    const std::string module = ModuleOf(name);
    int scheme = -1;
    for (size_t i = 0; i < m.schemes.size() && scheme < 0; ++i)
      if (AnyMatch(m.schemes[i].targets, module)) scheme = static_cast<int>(i);
    if (scheme < 0) continue;  // not targeted: stays dense and is not listed in ignore
    if (AnyMatch(m.ignore, module)) {
      plan.ignore.push_back(module);
      scheme = -1;
    } else if (tn->role == hf::Role::kLmHead && cfg.tie_word_embeddings) {
      Fail("{}: lm_head is tied to the embeddings (tie_word_embeddings) and embeddings are never quantized; "
           "add lm_head to ignore", ckpt.dir());
    }
    const int fusion = (tn->role == hf::Role::kQ || tn->role == hf::Role::kK || tn->role == hf::Role::kV) ? 0
                       : (tn->role == hf::Role::kGate || tn->role == hf::Role::kUp)                    ? 1
                                                                                                     : -1;
    if (fusion >= 0) {
      auto [it, inserted] = fused.try_emplace({tn->layer, fusion}, module, scheme);
      if (!inserted && it->second.second != scheme)
        Fail("{} and {} are fused into one layer by vLLM ({}) and must be quantized alike; adjust targets/ignore "
             "so that both are quantized with the same scheme or both ignored", it->second.first, module,
             fusion == 0 ? "qkv_proj" : "gate_up_proj");
    }
    if (scheme < 0) continue;
    const Tensor w = ckpt.tensors().Get(name);
    plan.quantize[name] = {module, static_cast<size_t>(scheme)};
    targeted[static_cast<size_t>(scheme)].push_back({module, w.dim(1)});
  }
  // A tied lm_head that is not stored is still a Linear module of the model.
  if (!lm_head_stored && cfg.tie_word_embeddings) {
    for (const auto& s : m.schemes)
      if (AnyMatch(s.targets, "lm_head")) {
        plan.ignore.push_back("lm_head");
        break;
      }
  }
  // Module registration order, like compressed-tensors' from_pretrained walk (lm_head last).
  std::map<std::string, size_t> order;
  for (const auto& e : hf::ExpectedTensors(cfg)) order.emplace(ModuleOf(e.name), order.size());
  auto rank = [&](const std::string& mod) { auto it = order.find(mod); return it == order.end() ? order.size() : it->second; };
  std::stable_sort(plan.ignore.begin(), plan.ignore.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  for (size_t i = 0; i < m.schemes.size(); ++i) recipe::CheckGroupSize(*m.schemes[i].weights, targeted[i]);
  if (plan.quantize.empty())
    Fail("{}: no Linear matches the recipe's targets (after ignore); nothing to quantize", ckpt.dir());
  return plan;
}

std::unique_ptr<algorithms::LinearQuantizer> MakeQuantizer(const recipe::Recipe& r, const hf::Checkpoint& ckpt) {
  for (const auto& m : r.modifiers)
    if (m.kind == recipe::ModifierKind::kSmoothQuant)
      Fail("recipe: SmoothQuantModifier needs calibration data (QuantizeModel with --calib FILE)");
  const recipe::Modifier& m = r.WeightModifier();
  switch (m.kind) {
    case recipe::ModifierKind::kQuantization: return std::make_unique<algorithms::RtnQuantizer>();
    case recipe::ModifierKind::kGptq:
      Fail("recipe: GPTQModifier needs calibration data (QuantizeModel with --calib FILE)");
    case recipe::ModifierKind::kSmoothQuant: break;
  }
  QF_CHECK(false);
  (void)ckpt;
  return nullptr;
}

QuantizeReport QuantizeModel(const QuantizeOptions& o) {
  if (o.format != "compressed-tensors")
    Fail("--format {}: not supported by quantize; expected compressed-tensors (GGUF: use `qforge convert`)", o.format);
  const auto t0 = std::chrono::steady_clock::now();
  auto ckpt = hf::Checkpoint::Open(o.model_dir);
  const recipe::Modifier& m = o.recipe.WeightModifier();
  for (const auto& s : m.schemes) {
    recipe::Validate(s, "recipe");
    exporter::CheckWritable(s);
  }
  const bool calibrated = NeedsCalibration(o.recipe);
  std::unique_ptr<algorithms::LinearQuantizer> rtn;
  if (!calibrated) rtn = MakeQuantizer(o.recipe, *ckpt);
  exporter::CtExportPlan plan = PlanQuantization(*ckpt, m);
  // The written args record GPTQ's column order; compressed-tensors allows actorder only with group strategy
  // (channel-wise GPTQ processes columns in static order too, which needs no g_idx).
  if (m.kind == recipe::ModifierKind::kGptq) {
    for (auto& s : plan.schemes) {
      const std::string a = EffectiveActorder(m, *s.weights);
      s.weights->actorder = s.weights->strategy == recipe::Strategy::kGroup ? std::optional<std::string>(a) : std::nullopt;
    }
  }
  QuantizeReport r;
  exporter::CtExportOptions eo;
  eo.out_dir = o.out_dir;
  eo.overwrite = o.overwrite;
  eo.max_shard_bytes = o.max_shard_bytes;
  eo.progress = o.progress;
  std::unique_ptr<CalibratedQuantization> cal;
  if (calibrated) {
    if (!o.overwrite && std::filesystem::exists(o.out_dir))  // fail before the (long) calibration
      Fail("{}: output directory already exists; choose another path or pass --force to replace it", o.out_dir);
    cal = RunCalibration(*ckpt, o.recipe, plan, o.calib, o.log);
    eo.source = cal->source.get();
    eo.extra_files.emplace_back(kCalibrationReportFile, cal->report_json);
    r.calibration_report = fmt::format("{}/{}", o.out_dir, kCalibrationReportFile);
    r.calib_samples = cal->result.samples;
    r.calib_tokens = cal->result.tokens;
    r.gptq_linears = static_cast<int64_t>(cal->result.linears.size());
    r.smoothquant_folded = static_cast<int64_t>(cal->result.folded.size());
    r.calibration_seconds = cal->result.total_seconds;
  }
  algorithms::LinearQuantizer& quantizer = cal ? *cal->quantizer : *rtn;
  r.quantizer = std::string(quantizer.name());
  if (cal && cal->options.smoothquant_strength)
    r.quantizer = fmt::format("smoothquant {} + {}", *cal->options.smoothquant_strength, r.quantizer);
  r.linears_ignored = static_cast<int64_t>(plan.ignore.size());
  r.stats = exporter::WriteCompressedTensors(*ckpt, plan, quantizer, o.recipe, eo);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.out_dir = o.out_dir;
  return r;
}

std::string FormatQuantizeReport(const QuantizeReport& r) {
  const auto& s = r.stats;
  const double qbits = s.quantized_params ? 8.0 * static_cast<double>(s.quantized_out_bytes) / static_cast<double>(s.quantized_params) : 0;
  const double allbits = s.total_params ? 8.0 * static_cast<double>(s.bytes_out) / static_cast<double>(s.total_params) : 0;
  std::string out = fmt::format("wrote {} ({}, {:.1f}s)\n", r.out_dir, r.quantizer, r.seconds);
  out += fmt::format("  Linear weights quantized: {} ({} parameters); targeted but ignored: {}; other tensors kept: {}\n",
                     s.tensors_quantized, s.quantized_params, r.linears_ignored, s.tensors_dense);
  out += fmt::format("  quantized weights: {} -> {} ({:.3f} bits per weight incl. scales)\n", HumanBytes(s.quantized_in_bytes),
                     HumanBytes(s.quantized_out_bytes), qbits);
  out += fmt::format("  model: {} -> {} ({:.2f}x smaller, {:.3f} bits per parameter overall)\n", HumanBytes(s.bytes_in),
                     HumanBytes(s.bytes_out), s.bytes_out ? static_cast<double>(s.bytes_in) / static_cast<double>(s.bytes_out) : 0.0,
                     allbits);
  if (!r.calibration_report.empty())
    out += fmt::format("  calibration: {} samples, {} tokens, {} Linears by GPTQ, {} tensors folded by SmoothQuant, "
                       "{:.1f}s; per-Linear report {}\n", r.calib_samples, r.calib_tokens, r.gptq_linears,
                       r.smoothquant_folded, r.calibration_seconds, r.calibration_report);
  if (r.seconds > 0)
    out += fmt::format("  throughput: {:.3f} GB of input weights per second\n", static_cast<double>(s.bytes_in) / 1e9 / r.seconds);
  return out;
}

}  // namespace qforge::pipeline
