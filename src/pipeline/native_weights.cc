#include "pipeline/native_weights.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "codecs/int/pack_int32.h"
#include "core/error.h"
#include "formats/compressed_tensors/layout.h"
#include "formats/compressed_tensors/quant_config.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/safetensors/checkpoint.h"
#include "io/mapped_file.h"
#include "model/quantized_linear.h"
#include "pipeline/load_w8a8.h"

namespace qforge::pipeline {
namespace {

std::string Prefix(int layer, model::LinearKind k) {
  return fmt::format("model.layers.{}.{}", layer, model::LinearModuleName(k));
}

bool Ignored(const compressed_tensors::QuantizationConfig& c, const std::string& prefix) {
  return std::find(c.ignore.begin(), c.ignore.end(), prefix) != c.ignore.end();
}

// A native Linear for one decoded compressed-tensors weight, or nullptr where no kernel fits.
std::unique_ptr<model::LinearWeight> FromDecoded(const compressed_tensors::DecodedLinear& d,
                                                 const compressed_tensors::ConfigGroup& g, std::string* kind) {
  if (!d.args.symmetric || !d.g_idx.empty() || !d.zeros.empty()) return nullptr;
  if (g.input_activations) {
    // W8A8 (vLLM semantics: dynamic per-token int8 activations): pipeline/w8a8_linear. Other activation
    // schemes keep the dense path.
    const bool act_int8 = g.input_activations->num_bits == 8 && g.input_activations->type == "int" &&
                          g.input_activations->dynamic && g.input_activations->strategy == "token" &&
                          g.input_activations->symmetric;
    if (!act_int8 || d.args.num_bits != 8) return nullptr;
    if (!IsW8A8Group(g) && (d.groups != 1 || d.scales.size() != static_cast<size_t>(d.out))) return nullptr;
    *kind = "W8A8";
    return W8A8FromDecoded(d, d.prefix);
  }
  if (d.scales.size() != static_cast<size_t>(d.out * d.groups)) return nullptr;  // per-tensor scale
  if (d.in % d.groups != 0) return nullptr;
  const int64_t group = d.in / d.groups;
  if (d.args.num_bits == 4 && d.in % 8 == 0 && group % 8 == 0) {
    const auto words = codecs::PackInt32(d.codes, d.out, d.in, 4, 1, d.prefix);
    Tensor packed = Tensor::Zeros(DType::kI32, {d.out, d.in / 8});
    std::copy(words.begin(), words.end(), packed.mutable_data<uint32_t>());
    *kind = "W4A16";
    return model::MakeW4A16Linear(std::move(packed), d.scales, d.out, d.in, group, d.prefix);
  }
  if (d.args.num_bits != 8) return nullptr;
  Tensor codes = Tensor::Zeros(DType::kI8, {d.out, d.in});
  std::copy(d.codes.begin(), d.codes.end(), codes.mutable_data<int8_t>());
  *kind = "W8A16";
  return model::MakeW8A16Linear(std::move(codes), d.scales, d.out, d.in, group, d.prefix);
}

}  // namespace

std::string NativeSummary(const NativeWeightsReport& r) {
  std::string parts;
  for (const auto& [k, n] : r.kinds) parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", k, n);
  return fmt::format("{} of {} Linears native{}", r.replaced, r.replaced + r.kept_dense,
                     parts.empty() ? "" : " (" + parts + ")");
}

model::LinearProvider CompressedTensorsLinearProvider(const std::string& dir, NativeWeightsReport* report) {
  auto config = compressed_tensors::ReadQuantizationConfig(dir);
  if (!config) return {};
  std::shared_ptr<const TensorSource> raw = safetensors::OpenCheckpoint(dir);
  auto cfg = std::make_shared<const compressed_tensors::QuantizationConfig>(std::move(*config));
  return [raw, cfg, dir, report](const std::string& name, int64_t, int64_t) -> std::unique_ptr<model::LinearWeight> {
    constexpr std::string_view kSuffix = ".weight";
    if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      return nullptr;
    }
    const std::string prefix = name.substr(0, name.size() - kSuffix.size());
    // Quantized Linears (pack- or int-quantized) carry a <prefix>.weight_scale; dense ones do not.
    if (Ignored(*cfg, prefix) || !raw->Has(compressed_tensors::PartName(prefix, compressed_tensors::kWeightScale))) {
      ++report->kept_dense;
      return nullptr;
    }
    const auto& group = compressed_tensors::GroupForModule(*cfg, prefix, dir);
    if (!group.weights) {
      ++report->kept_dense;
      return nullptr;
    }
    std::string kind;
    auto w = FromDecoded(compressed_tensors::DecodeLinear(*raw, *cfg, prefix), group, &kind);
    // The stored tensors have been copied: their mapped pages need not stay resident (peak memory ≈ the
    // quantized size instead of twice it).
    for (std::string_view part : {compressed_tensors::kWeight, compressed_tensors::kWeightPacked,
                                  compressed_tensors::kWeightScale}) {
      const std::string n = compressed_tensors::PartName(prefix, part);
      if (raw->Has(n)) {
        const Tensor t = raw->Get(n);
        io::ReleaseMappedPages(t.bytes(), t.nbytes());
      }
    }
    if (!w) {
      ++report->kept_dense;
      return nullptr;
    }
    ++report->replaced;
    ++report->kinds[kind];
    return w;
  };
}

NativeWeightsReport UseNativeQuantizedWeights(LoadedModel& m) {
  NativeWeightsReport rep;
  std::map<std::string, int> kinds;
  const int layers = m.model->num_layers();
  if (m.format == "gguf") {
    // Block types are already native (model::Model keeps them quantized). F16 / BF16 weights get llama.cpp's
    // activation rounding, so a GGUF evaluates as llama.cpp evaluates it.
    auto visit = [&](const std::string& name, auto&& set) {
      const Tensor t = m.tensors->Get(name);
      if (Traits(t.dtype()).is_quantized) {
        ++kinds[std::string(Name(t.dtype()))];
        ++rep.replaced;
      } else if (t.dtype() == DType::kF16 || t.dtype() == DType::kBF16) {
        set(model::MakeRoundedActivationLinear(t, name));
        ++kinds[std::string(Name(t.dtype())) + " (activations rounded)"];
        ++rep.replaced;
      } else {
        ++rep.kept_dense;
      }
    };
    for (int l = 0; l < layers; ++l) {
      for (int k = 0; k < model::kNumLinearKinds; ++k) {
        const auto kind = static_cast<model::LinearKind>(k);
        visit(Prefix(l, kind) + ".weight", [&](auto w) { m.model->SetLinear(l, kind, std::move(w)); });
      }
    }
    const std::string head = m.tensors->Has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight";
    visit(head, [&](auto w) { m.model->SetLmHead(std::move(w)); });
  } else if (m.format == "hf") {
    // compressed-tensors Linears are made native while the model is built (CompressedTensorsLinearProvider).
    rep.summary = "dense checkpoint (no quantization_config)";
    return rep;
  }
  rep.kinds = std::move(kinds);
  rep.summary = NativeSummary(rep);
  return rep;
}

}  // namespace qforge::pipeline
