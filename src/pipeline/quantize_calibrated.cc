#include "pipeline/quantize_calibrated.h"

#include <fmt/format.h>

#include <set>

#include "algorithms/rtn.h"
#include "core/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace qforge::pipeline {
namespace {

constexpr std::string_view kLinearClass = "Linear";
constexpr double kDefaultSmoothingStrength = 0.5;  // llm-compressor's SmoothQuantModifier default

const recipe::Modifier* FindModifier(const recipe::Recipe& r, recipe::ModifierKind kind) {
  for (const auto& m : r.modifiers)
    if (m.kind == kind) return &m;
  return nullptr;
}

bool MatchesAny(const std::vector<std::string>& patterns, const std::string& module) {
  for (const auto& p : patterns)
    if (recipe::MatchesPattern(p, module, kLinearClass)) return true;
  return false;
}

// The pipeline folds exactly Llama's two mappings; a recipe may spell them out, nothing else.
void CheckMappings(const recipe::Modifier& sq) {
  if (sq.mappings.empty()) return;
  struct Known {
    const char* norm;
    std::vector<std::string> balance;
  };
  const Known known[] = {{"model.layers.0.input_layernorm",
                          {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
                           "model.layers.0.self_attn.v_proj"}},
                         {"model.layers.0.post_attention_layernorm",
                          {"model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"}}};
  constexpr char kSupported[] =
      "supported: [[\"re:.*q_proj\", \"re:.*k_proj\", \"re:.*v_proj\"], \"re:.*input_layernorm\"] and "
      "[[\"re:.*gate_proj\", \"re:.*up_proj\"], \"re:.*post_attention_layernorm\"] (both, llm-compressor's "
      "Llama default)";
  bool seen[2] = {false, false};
  for (const auto& [balance, smooth] : sq.mappings) {
    int which = -1;
    for (int k = 0; k < 2; ++k)
      if (recipe::MatchesPattern(smooth, known[k].norm, "")) which = k;
    if (which < 0) Fail("recipe: SmoothQuantModifier mapping onto '{}' is not supported; {}", smooth, kSupported);
    for (const auto& b : known[which].balance)
      if (!MatchesAny(balance, b))
        Fail("recipe: SmoothQuantModifier mapping onto '{}' must balance {}; {}", smooth, b, kSupported);
    seen[which] = true;
  }
  if (!seen[0] || !seen[1]) Fail("recipe: SmoothQuantModifier mappings must list both Llama mappings; {}", kSupported);
}

// GPTQ codes computed by the calibration; Linears it did not see (lm_head) are rounded to nearest.
class CalibratedGptqQuantizer final : public algorithms::LinearQuantizer {
 public:
  CalibratedGptqQuantizer(const CalibrationResult& r, std::function<void(const std::string&)> log)
      : r_(r), log_(std::move(log)) {}
  std::string_view name() const override { return "gptq"; }
  codecs::QuantizedMatrix Quantize(const std::string& module, const Tensor& weight,
                                   const codecs::IntQuantSpec& spec) override {
    const CalibratedLinear* cl = Lookup(module, weight, spec);
    return cl ? *cl->gptq.matrix : rtn_.Quantize(module, weight, spec);
  }
  codecs::QParams Params(const std::string& module, const Tensor& weight, const codecs::IntQuantSpec& spec) override {
    const CalibratedLinear* cl = Lookup(module, weight, spec);
    return cl ? cl->gptq.matrix->params : rtn_.Params(module, weight, spec);
  }
  std::vector<int32_t> GIdx(const std::string& module) override {
    const CalibratedLinear* cl = r_.Find(module);
    return cl ? cl->gptq.g_idx : std::vector<int32_t>{};
  }

 private:
  const CalibratedLinear* Lookup(const std::string& module, const Tensor& weight, const codecs::IntQuantSpec& spec) {
    const CalibratedLinear* cl = r_.Find(module);
    if (!cl) {
      if (warned_.insert(module).second) {
        const std::string line = fmt::format("{}: outside the decoder layers, not calibrated; rounded to nearest", module);
        if (log_) log_(line);
        else fmt::print(stderr, "{}\n", line);
      }
      return nullptr;
    }
    const codecs::QuantizedMatrix& q = *cl->gptq.matrix;
    QF_CHECK_MSG(q.rows == weight.dim(0) && q.cols == weight.dim(1) && q.spec.bits == spec.bits &&
                     q.spec.symmetric == spec.symmetric && q.spec.strategy == spec.strategy &&
                     q.spec.GroupCols(q.cols) == spec.GroupCols(q.cols),
                 "{}: GPTQ result does not match the planned scheme", module);
    return cl;
  }

  const CalibrationResult& r_;
  std::function<void(const std::string&)> log_;
  algorithms::RtnQuantizer rtn_;
  std::set<std::string> warned_;
};

}  // namespace

bool NeedsCalibration(const recipe::Recipe& r) {
  return FindModifier(r, recipe::ModifierKind::kGptq) || FindModifier(r, recipe::ModifierKind::kSmoothQuant);
}

std::string EffectiveActorder(const recipe::Modifier& gptq, const recipe::QuantArgs& w) {
  const std::string a = gptq.actorder ? *gptq.actorder : w.actorder ? *w.actorder : "weight";
  if (a == "group" && w.strategy != recipe::Strategy::kGroup)
    Fail("recipe: actorder group needs group-wise weights (weight_g_idx maps columns to groups); use actorder "
         "static (weight) for {} weights", recipe::StrategyName(w.strategy));
  return a;
}

CalibrateOptions CalibrateOptionsFor(const recipe::Recipe& r, const exporter::CtExportPlan& plan) {
  CalibrateOptions o;
  if (const recipe::Modifier* sq = FindModifier(r, recipe::ModifierKind::kSmoothQuant)) {
    CheckMappings(*sq);
    for (const auto& ig : sq->ignore)
      if (!recipe::MatchesPattern(ig, "lm_head", kLinearClass))
        Fail("recipe: SmoothQuantModifier ignore '{}' is not supported (qforge smooths every decoder layer whose "
             "Linears are quantized); drop it, or ignore those Linears in the quantization modifier", ig);
    o.smoothquant_strength = sq->smoothing_strength.value_or(kDefaultSmoothingStrength);
  }
  if (const recipe::Modifier* g = FindModifier(r, recipe::ModifierKind::kGptq)) {
    QF_CHECK(!plan.schemes.empty());
    const recipe::QuantArgs& w = *plan.schemes[0].weights;
    for (const auto& s : plan.schemes) {
      const recipe::QuantArgs& a = *s.weights;
      if (a.num_bits != w.num_bits || a.type != w.type || a.symmetric != w.symmetric || a.strategy != w.strategy ||
          a.group_size != w.group_size)
        Fail("recipe: GPTQModifier with config groups of different weight schemes is not supported; give all "
             "groups the same weights arguments (or quantize separately)");
    }
    o.gptq_spec = exporter::IntSpecFor(w);
    const std::string actorder = EffectiveActorder(*g, w);
    o.gptq.actorder = actorder == "group" ? algorithms::gptq::ActOrder::kGroup : algorithms::gptq::ActOrder::kStatic;
    if (g->block_size) o.gptq.block_size = *g->block_size;
    if (g->dampening_frac) o.gptq.dampening_frac = *g->dampening_frac;
  }
  o.is_target = [&plan](const std::string& module) { return plan.quantize.count(module + ".weight") > 0; };
  return o;
}

std::unique_ptr<CalibratedQuantization> RunCalibration(const hf::Checkpoint& ckpt, const recipe::Recipe& r,
                                                       const exporter::CtExportPlan& plan,
                                                       const calib::CalibDataOptions& data,
                                                       std::function<void(const std::string&)> log) {
  if (data.path.empty())
    Fail("{}: {} needs calibration data: pass --calib FILE (plain UTF-8 text, or JSON lines with a \"text\" "
         "field; not your evaluation text), e.g. --calib data/tinystories_sample.txt; optionally --calib-samples N "
         "--seq-len L --seed S",
         ckpt.dir(),
         FindModifier(r, recipe::ModifierKind::kGptq) ? "GPTQ (--algo gptq / GPTQModifier)"
                                                      : "SmoothQuant (--smoothquant / SmoothQuantModifier)");
  auto out = std::make_unique<CalibratedQuantization>();
  out->options = CalibrateOptionsFor(r, plan);
  out->options.log = log;
  auto tok = tokenizer::Tokenizer::FromHfDir(ckpt.dir());
  out->data_stats = calib::LoadCalibData(data, *tok);
  const std::string line = fmt::format(
      "calibration: {} samples of <= {} tokens ({} tokens) from {} ({} windows available)",
      out->data_stats.samples.size(), data.seq_len, out->data_stats.total_tokens(), data.path,
      out->data_stats.windows_available);
  if (log) log(line);
  else fmt::print(stderr, "{}\n", line);
  {
    model::Model m(ckpt.config(), ckpt.tensors());
    out->result = Calibrate(m, out->data_stats.samples, out->options);
  }
  out->options.is_target = nullptr;  // refers to `plan`, which the result may outlive
  out->data_stats.samples.clear();
  out->data_stats.samples.shrink_to_fit();
  out->report_json = CalibrationReportJson(out->result, out->options);
  out->source = FoldedSource(ckpt.tensors(), out->result.folded);
  if (out->options.gptq_spec) {
    out->quantizer = std::make_unique<CalibratedGptqQuantizer>(out->result, log);
  } else {
    out->quantizer = std::make_unique<algorithms::RtnQuantizer>();
  }
  return out;
}

}  // namespace qforge::pipeline
