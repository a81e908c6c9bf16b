#include "pipeline/convert_calib.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "model/observer.h"
#include "pipeline/load_model.h"

namespace qforge::pipeline {

namespace {

// GGUF tensor name suffix of each LinearKind (model/observer.h order: q, k, v, o, gate, up, down).
constexpr std::array<std::string_view, model::kNumLinearKinds> kGgufLinear = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

// Σ x² per input column of every Linear, accumulated in double (llama-imatrix uses float; double is closer
// to the exact sum and the stored value is rounded to float once).
class SquareSumObserver final : public model::LinearObserver {
 public:
  explicit SquareSumObserver(int layers) : sums_(static_cast<size_t>(layers)), counts_(static_cast<size_t>(layers)) {}

  void OnLinear(int layer, model::LinearKind kind, const float* x, const float* /*y*/, int64_t n_tokens,
                int64_t in_features, int64_t /*out_features*/) override {
    const auto k = static_cast<size_t>(kind);
    std::vector<double>& s = sums_.at(static_cast<size_t>(layer))[k];
    if (s.empty()) s.assign(static_cast<size_t>(in_features), 0.0);
    QF_CHECK(static_cast<int64_t>(s.size()) == in_features);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* row = x + t * in_features;
      for (int64_t j = 0; j < in_features; ++j) s[static_cast<size_t>(j)] += double{row[j]} * double{row[j]};
    }
    counts_[static_cast<size_t>(layer)][k] += n_tokens;
  }

  void MoveInto(ImatrixStats& stats) const {
    for (size_t l = 0; l < sums_.size(); ++l) {
      for (size_t k = 0; k < kGgufLinear.size(); ++k) {
        const auto& s = sums_[l][k];
        if (s.empty()) continue;
        ImatrixStats::Entry e;
        e.sum2.assign(s.begin(), s.end());
        e.count = counts_[l][k];
        stats.entries.emplace(fmt::format("blk.{}.{}.weight", l, kGgufLinear[k]), std::move(e));
      }
    }
  }

 private:
  std::vector<std::array<std::vector<double>, model::kNumLinearKinds>> sums_;
  std::vector<std::array<int64_t, model::kNumLinearKinds>> counts_;
};

}  // namespace

ImatrixStats CollectImatrix(const std::string& model_path, const calib::CalibDataOptions& data) {
  LoadedModel m = LoadModel(model_path);
  const calib::CalibData samples = calib::LoadCalibData(data, *m.tokenizer);
  const model::Model& model = *m.model;
  ImatrixStats stats;
  stats.dataset = data.path;
  stats.chunks = static_cast<int64_t>(samples.samples.size());
  SquareSumObserver observer(model.num_layers());
  Progress progress("imatrix", static_cast<uint64_t>(samples.samples.size()), "samples");
  std::vector<float> a, b;
  for (const auto& s : samples.samples) {
    const auto n = static_cast<int64_t>(s.size());
    stats.chunk_size = std::max(stats.chunk_size, n);
    a.resize(static_cast<size_t>(n * model.hidden_size()));
    b.resize(a.size());
    model.Embed(s, a.data());
    for (int l = 0; l < model.num_layers(); ++l) {
      model.RunLayer(l, a.data(), b.data(), n, &observer);
      a.swap(b);
    }
    progress.Add(1);
  }
  progress.Finish();
  observer.MoveInto(stats);
  return stats;
}

}  // namespace qforge::pipeline
