#include "pipeline/load_w8a8.h"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "core/error.h"
#include "formats/compressed_tensors/layout.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/safetensors/checkpoint.h"
#include "model/observer.h"
#include "pipeline/w8a8_linear.h"

namespace qforge::pipeline {
namespace ct = compressed_tensors;
namespace {

bool IsDynamicInt8Token(const std::optional<ct::QuantizationArgs>& a) {
  return a && a->type == "int" && a->num_bits == 8 && a->symmetric && a->dynamic && a->strategy == "token";
}

bool IsInt8SymWeights(const std::optional<ct::QuantizationArgs>& a) {
  return a && a->type == "int" && a->num_bits == 8 && a->symmetric && (a->strategy == "channel" || a->strategy == "tensor");
}

}  // namespace

bool IsW8A8Group(const ct::ConfigGroup& g) { return IsDynamicInt8Token(g.input_activations) && IsInt8SymWeights(g.weights); }

std::unique_ptr<model::LinearWeight> W8A8FromDecoded(ct::DecodedLinear d, const std::string& where) {
  auto q = std::make_shared<codecs::QuantizedMatrix>();
  q->rows = d.out;
  q->cols = d.in;
  q->spec.bits = 8;
  q->spec.symmetric = true;
  q->spec.strategy = codecs::IntStrategy::kChannel;
  q->params.dtype = d.scale_dtype;
  q->params.groups = 1;
  q->params.param_rows = d.out;
  if (d.scales.size() == 1) {
    q->params.scales.assign(static_cast<size_t>(d.out), d.scales[0]);  // tensor scale: same for every row
  } else if (static_cast<int64_t>(d.scales.size()) == d.out) {
    q->params.scales = std::move(d.scales);
  } else {
    Fail("{}: {} has {} weight scales; expected 1 or {} for a W8A8 Linear", where, d.prefix, d.scales.size(), d.out);
  }
  q->codes = std::move(d.codes);
  return MakeW8A8Linear(std::move(q));
}

int ApplyW8A8Linears(model::Model& model, const std::string& dir) {
  const auto cfg = ct::ReadQuantizationConfig(dir);
  if (!cfg) return 0;
  bool any = false;
  for (const auto& g : cfg->groups) any |= IsDynamicInt8Token(g.input_activations) && IsInt8SymWeights(g.weights);
  if (!any) return 0;
  const std::unique_ptr<TensorSource> raw = safetensors::OpenCheckpoint(dir);
  static constexpr model::LinearKind kKinds[] = {model::LinearKind::kQ,    model::LinearKind::kK,
                                                 model::LinearKind::kV,    model::LinearKind::kO,
                                                 model::LinearKind::kGate, model::LinearKind::kUp,
                                                 model::LinearKind::kDown};
  int replaced = 0;
  for (int l = 0; l < model.num_layers(); ++l) {
    for (model::LinearKind k : kKinds) {
      const std::string prefix = fmt::format("model.layers.{}.{}", l, model::LinearModuleName(k));
      const std::string wname = ct::PartName(prefix, ct::kWeight);
      // int-quantized: an I8 <p>.weight with a <p>.weight_scale beside it (dense Linears have neither).
      if (!raw->Has(ct::PartName(prefix, ct::kWeightScale)) || !raw->Has(wname) ||
          raw->Get(wname).dtype() != DType::kI8)
        continue;
      const ct::ConfigGroup& g = ct::GroupForModule(*cfg, prefix, raw->Describe());
      if (!IsDynamicInt8Token(g.input_activations) || !IsInt8SymWeights(g.weights)) continue;
      model.SetLinear(l, k, W8A8FromDecoded(ct::DecodeLinear(*raw, *cfg, prefix), raw->Describe()));
      ++replaced;
    }
  }
  return replaced;
}

}  // namespace qforge::pipeline
