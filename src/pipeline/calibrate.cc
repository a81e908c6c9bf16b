#include "pipeline/calibrate.h"

#include <array>
#include <chrono>
#include <cstring>

#include "algorithms/smoothquant/smoothquant.h"
#include "calib/activation_range.h"
#include "core/error.h"
#include "core/half.h"
#include "core/progress.h"
#include "io/json_util.h"
#include "io/mapped_file.h"

namespace qforge::pipeline {
namespace gptq = algorithms::gptq;
namespace sq = algorithms::smoothquant;
using model::LinearKind;

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Linears that read the same input share one Hessian: 0 = q/k/v, 1 = o, 2 = gate/up, 3 = down.
constexpr int kNumInputGroups = 4;
int InputGroup(LinearKind k) {
  switch (k) {
    case LinearKind::kQ: case LinearKind::kK: case LinearKind::kV: return 0;
    case LinearKind::kO: return 1;
    case LinearKind::kGate: case LinearKind::kUp: return 2;
    case LinearKind::kDown: return 3;
  }
  return 0;
}
// The Linear whose observed input stands for its group (each input is seen once per forward).
bool IsRepresentative(LinearKind k) {
  return k == LinearKind::kQ || k == LinearKind::kO || k == LinearKind::kGate || k == LinearKind::kDown;
}

std::string ModuleName(int layer, LinearKind k) {
  return fmt::format("model.layers.{}.{}", layer, model::LinearModuleName(k));
}

DType ModelDType(DType t) { return t == DType::kBF16 || t == DType::kF16 ? t : DType::kF32; }

float RoundTo(float v, DType dt) { return codecs::RoundToDType(v, dt); }

Tensor FromF32(const float* v, Shape shape, DType dt) {
  Tensor t = Tensor::Zeros(dt, std::move(shape));
  const size_t n = static_cast<size_t>(t.numel());
  for (size_t i = 0; i < n; ++i) {
    if (dt == DType::kF32) t.mutable_data<float>()[i] = v[i];
    else if (dt == DType::kBF16) t.mutable_data<uint16_t>()[i] = F32ToBf16(v[i]);
    else t.mutable_data<uint16_t>()[i] = F32ToF16(v[i]);
  }
  return t;
}

// Calibration activations entering the current layer, one row block per sample.
class Activations {
 public:
  Activations(int64_t hidden, bool bf16) : hidden_(hidden), bf16_(bf16) {}
  void Add(const std::vector<float>& x, int64_t n) {
    len_.push_back(n);
    if (bf16_) {
      std::vector<uint16_t> b(x.size());
      for (size_t i = 0; i < x.size(); ++i) b[i] = F32ToBf16(x[i]);
      b16_.push_back(std::move(b));
    } else {
      f32_.push_back(x);
    }
  }
  size_t size() const { return len_.size(); }
  int64_t tokens(size_t i) const { return len_[i]; }
  // A float32 pointer to sample i (scratch is used for BF16 storage).
  float* Get(size_t i, std::vector<float>& scratch) {
    if (!bf16_) return f32_[i].data();
    scratch.resize(b16_[i].size());
    for (size_t k = 0; k < scratch.size(); ++k) scratch[k] = Bf16ToF32(b16_[i][k]);
    return scratch.data();
  }
  void Put(size_t i, const float* x) {
    if (!bf16_) return;  // updated in place
    for (size_t k = 0; k < b16_[i].size(); ++k) b16_[i][k] = F32ToBf16(x[k]);
  }
  uint64_t bytes() const {
    uint64_t n = 0;
    for (int64_t l : len_) n += static_cast<uint64_t>(l * hidden_) * (bf16_ ? 2 : 4);
    return n;
  }

 private:
  int64_t hidden_;
  bool bf16_;
  std::vector<int64_t> len_;
  std::vector<std::vector<float>> f32_;
  std::vector<std::vector<uint16_t>> b16_;
};

class StatsObserver final : public model::LinearObserver {
 public:
  std::array<std::unique_ptr<gptq::HessianAccumulator>, kNumInputGroups> hessian;
  std::unique_ptr<calib::ActivationRange> attn_range, mlp_range;

  void OnLinear(int, LinearKind kind, const float* x, const float*, int64_t n, int64_t, int64_t) override {
    if (!IsRepresentative(kind)) return;
    auto& acc = hessian[static_cast<size_t>(InputGroup(kind))];
    if (acc) acc->Add(x, n, 1);  // one sequence = one sample (FORMATS.md §3.1)
    if (kind == LinearKind::kQ && attn_range) attn_range->Update(x, n);
    if (kind == LinearKind::kGate && mlp_range) mlp_range->Update(x, n);
  }
};

class CalibrationRun {
 public:
  CalibrationRun(model::Model& m, const CalibrateOptions& o, CalibrationResult& r) : m_(m), o_(o), r_(r) {}

  // Runs layer l over every sample with `obs`, leaving the activations unchanged.
  void Observe(int l, Activations& acts, StatsObserver& obs) {
    std::vector<float> scratch, out;
    for (size_t i = 0; i < acts.size(); ++i) {
      const float* x = acts.Get(i, scratch);
      out.resize(static_cast<size_t>(acts.tokens(i) * m_.hidden_size()));
      m_.RunLayer(l, x, out.data(), acts.tokens(i), &obs);
    }
  }

  void Smooth(int l, Activations& acts) {
    const auto t0 = Clock::now();
    StatsObserver obs;
    obs.attn_range = std::make_unique<calib::ActivationRange>(m_.hidden_size());
    obs.mlp_range = std::make_unique<calib::ActivationRange>(m_.hidden_size());
    Observe(l, acts, obs);
    ReleaseMapped();
    model::LayerWeights& lw = m_.mutable_layer(l);
    const DType dt = ModelDType(lw[LinearKind::kQ].dtype());
    struct Mapping {
      std::vector<LinearKind> balance;
      std::vector<float>* norm;
      const char* norm_name;
      const calib::ActivationRange* range;
    };
    const Mapping maps[] = {
        {{LinearKind::kQ, LinearKind::kK, LinearKind::kV}, &lw.attn_norm, "input_layernorm", obs.attn_range.get()},
        {{LinearKind::kGate, LinearKind::kUp}, &lw.mlp_norm, "post_attention_layernorm", obs.mlp_range.get()}};
    for (const Mapping& mp : maps) {
      bool any_target = false;
      for (LinearKind k : mp.balance) any_target |= Targeted(l, k);
      if (!any_target) continue;  // llm-compressor skips a mapping only when all its layers are ignored
      std::vector<Tensor> dense;
      std::vector<sq::WeightView> views;
      for (LinearKind k : mp.balance) dense.push_back(lw[k].DenseF32());
      for (const Tensor& t : dense) views.push_back({t.data<float>(), t.dim(0), t.dim(1)});
      const std::vector<float> s = sq::ComputeScales(mp.range->Range(), views, *o_.smoothquant_strength);
      for (size_t b = 0; b < mp.balance.size(); ++b) {
        const LinearKind k = mp.balance[b];
        std::vector<float> w(dense[b].data<float>(), dense[b].data<float>() + dense[b].numel());
        sq::ScaleColumns(w.data(), dense[b].dim(0), dense[b].dim(1), s);
        const std::string name = ModuleName(l, k) + ".weight";
        std::unique_ptr<model::LinearWeight> nw = MakeRoundedDenseLinear(w, dense[b].dim(0), dense[b].dim(1), dt, name);
        if (!(o_.gptq_spec && Targeted(l, k))) {
          const Tensor f = nw->DenseF32();
          r_.folded[name] = FromF32(f.data<float>(), f.shape(), dt);
        }
        m_.SetLinear(l, k, std::move(nw));
      }
      sq::DivideNorm(*mp.norm, s);
      for (float& g : *mp.norm) g = RoundTo(g, dt);
      r_.folded[fmt::format("model.layers.{}.{}.weight", l, mp.norm_name)] =
          FromF32(mp.norm->data(), {static_cast<int64_t>(mp.norm->size())}, dt);
    }
    r_.smooth_seconds += Since(t0);
  }

  // Linears r_.linears[first..] (this layer's quantized ones) as code views (1 byte per weight, sharing the
  // result's codes) while no forward pass needs them: the dense copies are dropped during the solves.
  void Park(int l, size_t first) {
    for (size_t i = first; i < r_.linears.size(); ++i) {
      const CalibratedLinear& cl = r_.linears[i];
      m_.SetLinear(l, cl.kind, MakeCodesLinear(cl.gptq.matrix, cl.gptq.g_idx));
    }
  }
  // ... and as dense dequantized weights (model dtype) for a forward pass.
  void Unpark(int l, size_t first) {
    for (size_t i = first; i < r_.linears.size(); ++i) {
      const CalibratedLinear& cl = r_.linears[i];
      const codecs::QuantizedMatrix& q = *cl.gptq.matrix;
      m_.SetLinear(l, cl.kind, MakeRoundedDenseLinear(DequantizeToF32(q, cl.gptq.g_idx), q.rows, q.cols,
                                                        q.params.dtype, cl.name));
    }
  }

  void Gptq(int l, Activations& acts, size_t first) {
    static constexpr LinearKind kAll[] = {LinearKind::kQ, LinearKind::kK, LinearKind::kV, LinearKind::kO,
                                          LinearKind::kGate, LinearKind::kUp, LinearKind::kDown};
    std::vector<std::vector<LinearKind>> stages;
    if (o_.true_sequential) {
      stages = {{LinearKind::kQ, LinearKind::kK, LinearKind::kV}, {LinearKind::kO},
                {LinearKind::kGate, LinearKind::kUp}, {LinearKind::kDown}};
    } else {
      stages = {std::vector<LinearKind>(std::begin(kAll), std::end(kAll))};
    }
    for (const auto& stage : stages) {
      std::vector<LinearKind> kinds;
      for (LinearKind k : stage) {
        if (Targeted(l, k)) kinds.push_back(k);
      }
      if (kinds.empty()) continue;
      const auto t0 = Clock::now();
      StatsObserver obs;
      uint64_t hbytes = 0;
      for (LinearKind k : kinds) {
        auto& acc = obs.hessian[static_cast<size_t>(InputGroup(k))];
        if (!acc) {
          acc = std::make_unique<gptq::HessianAccumulator>(m_.layer(l)[k].in_features(), o_.hessian_precision);
          hbytes += acc->bytes();
        }
      }
      r_.peak_hessian_bytes = std::max(r_.peak_hessian_bytes, hbytes);
      Unpark(l, first);
      Observe(l, acts, obs);
      Park(l, first);
      r_.hessian_seconds += Since(t0);
      ReleaseMapped();
      // Shared: one factorisation per input group, freed after its last Linear. Unshared: one per Linear.
      std::array<std::unique_ptr<gptq::Factorization>, kNumInputGroups> shared;
      std::array<int, kNumInputGroups> remaining{};
      std::array<int64_t, kNumInputGroups> samples{};
      for (LinearKind k : kinds) {
        const size_t g = static_cast<size_t>(InputGroup(k));
        ++remaining[g];
        samples[g] = obs.hessian[g]->samples();
      }
      for (LinearKind k : kinds) {
        const size_t g = static_cast<size_t>(InputGroup(k));
        CalibratedLinear cl;
        cl.name = ModuleName(l, k);
        cl.layer = l;
        cl.kind = k;
        cl.hessian_samples = samples[g];
        const model::LinearWeight& w = m_.layer(l)[k];
        const auto tf = Clock::now();
        std::unique_ptr<gptq::Factorization> own;
        const gptq::Factorization* f = shared[g].get();
        if (o_.share_factorization && f == nullptr) {
          shared[g] = std::make_unique<gptq::Factorization>(
              gptq::Factorize(obs.hessian[g]->TakeFinalized(), w.in_features(), o_.gptq));
          f = shared[g].get();
        } else if (!o_.share_factorization) {
          own = std::make_unique<gptq::Factorization>(
              gptq::Factorize(obs.hessian[g]->Finalize(), w.in_features(), o_.gptq));
          f = own.get();
        }
        const double factor_s = Since(tf);
        r_.factor_seconds += factor_s;
        const Tensor w32 = w.DenseF32();  // a float32 copy (or an F32 model's mapped view)
        ReleaseMapped();                   // ... so a BF16 weight's mapped pages can go
        cl.gptq = QuantizeLinearGptq(w32, w.dtype(), *f, *o_.gptq_spec, o_.gptq, cl.name, o_.round_to_model_dtype);
        cl.gptq.seconds += factor_s;
        r_.solve_seconds += cl.gptq.seconds;
        if (--remaining[g] == 0) {
          shared[g].reset();
          obs.hessian[g].reset();
        }
        own.reset();
        m_.SetLinear(l, k, MakeCodesLinear(cl.gptq.matrix, cl.gptq.g_idx));  // parked until the next forward
        Log(fmt::format("layer {}/{} {}: GPTQ rel. output error {:.4g} (RTN {:.4g}), loss {:.4g}{}{}, {:.2f}s{}",
                        l + 1, m_.num_layers(), model::LinearModuleName(k), cl.gptq.rel_err, cl.gptq.rtn_rel_err,
                        cl.gptq.loss, cl.gptq.dead_columns ? fmt::format(", {} dead columns", cl.gptq.dead_columns) : "",
                        cl.gptq.cholesky_failed ? ", Hessian not positive definite: fell back to rounding" : "",
                        cl.gptq.seconds, factor_s > 0.0005 ? fmt::format(" (H factor {:.2f}s)", factor_s) : ""));
        r_.linears.push_back(std::move(cl));
      }
    }
  }

  // Recomputes layer l's outputs with its final weights; then keeps its quantized Linears as codes only.
  void Advance(int l, Activations& acts, size_t first_linear) {
    Unpark(l, first_linear);
    std::vector<float> scratch;
    for (size_t i = 0; i < acts.size(); ++i) {
      float* x = acts.Get(i, scratch);
      m_.RunLayer(l, x, x, acts.tokens(i), nullptr);
      acts.Put(i, x);
    }
    Park(l, first_linear);
    ReleaseMapped();
  }

  bool Targeted(int l, LinearKind k) const { return !o_.is_target || o_.is_target(ModuleName(l, k)); }

 private:
  void ReleaseMapped() const {
    if (o_.release_mapped_pages) io::ReleaseAllMappedPages();
  }

  void Log(const std::string& line) const {
    if (o_.log) {
      o_.log(line);
    } else {
      fmt::print(stderr, "{}\n", line);
    }
  }

  model::Model& m_;
  const CalibrateOptions& o_;
  CalibrationResult& r_;
};

class FoldedTensorSource final : public TensorSource {
 public:
  FoldedTensorSource(const TensorSource& base, const std::map<std::string, Tensor>& folded)
      : base_(base), folded_(folded) {}
  std::vector<std::string> Names() const override { return base_.Names(); }
  bool Has(std::string_view name) const override { return folded_.count(std::string(name)) || base_.Has(name); }
  Tensor Get(std::string_view name) const override {
    auto it = folded_.find(std::string(name));
    return it != folded_.end() ? it->second : base_.Get(name);
  }
  std::string Describe() const override { return base_.Describe() + " (SmoothQuant-folded)"; }

 private:
  const TensorSource& base_;
  const std::map<std::string, Tensor>& folded_;
};

}  // namespace

const CalibratedLinear* CalibrationResult::Find(const std::string& module_name) const {
  for (const CalibratedLinear& l : linears) {
    if (l.name == module_name) return &l;
  }
  return nullptr;
}

CalibrationResult Calibrate(model::Model& model, const std::vector<std::vector<int32_t>>& samples,
                            const CalibrateOptions& o) {
  if (!o.smoothquant_strength && !o.gptq_spec) Fail("calibration: neither SmoothQuant nor GPTQ was requested");
  if (samples.empty()) Fail("calibration: no calibration samples");
  const auto t0 = Clock::now();
  CalibrationResult r;
  Activations acts(model.hidden_size(), o.bf16_activations);
  for (const auto& s : samples) {
    if (s.empty()) Fail("calibration: an empty sample");
    std::vector<float> h(s.size() * static_cast<size_t>(model.hidden_size()));
    model.Embed(s, h.data());
    acts.Add(h, static_cast<int64_t>(s.size()));
    r.tokens += static_cast<int64_t>(s.size());
  }
  r.samples = static_cast<int64_t>(samples.size());
  r.activation_bytes = acts.bytes();
  if (o.release_mapped_pages) io::ReleaseAllMappedPages();  // embedding rows of the samples
  CalibrationRun run(model, o, r);
  Progress progress("calibrate", static_cast<uint64_t>(model.num_layers()), "layers");
  for (int l = 0; l < model.num_layers(); ++l) {
    const size_t first = r.linears.size();
    if (o.smoothquant_strength) run.Smooth(l, acts);
    if (o.gptq_spec) run.Gptq(l, acts, first);
    run.Advance(l, acts, first);
    progress.Add(1);
  }
  progress.Finish();
  r.total_seconds = Since(t0);
  return r;
}

std::string CalibrationReportJson(const CalibrationResult& r, const CalibrateOptions& o) {
  io::OrderedJson j;
  j["samples"] = r.samples;
  j["tokens"] = r.tokens;
  io::OrderedJson opt;
  if (o.smoothquant_strength) opt["smoothquant_strength"] = *o.smoothquant_strength;
  if (o.gptq_spec) {
    const auto& s = *o.gptq_spec;
    opt["bits"] = s.bits;
    opt["symmetric"] = s.symmetric;
    opt["group_size"] = s.strategy == codecs::IntStrategy::kGroup ? s.group_size : -1;
    static constexpr const char* kActorder[] = {"none", "static", "group"};
    opt["actorder"] = kActorder[static_cast<int>(o.gptq.actorder)];
    opt["dampening_frac"] = o.gptq.dampening_frac;
    opt["block_size"] = o.gptq.block_size;
    opt["convention"] = o.gptq.convention == gptq::Convention::kReference ? "ist-daslab" : "llm-compressor";
    opt["true_sequential"] = o.true_sequential;
    opt["hessian_precision"] = o.hessian_precision == gptq::HessianPrecision::kF64 ? "f64" : "f32";
  }
  j["options"] = opt;
  j["seconds"] = {{"total", r.total_seconds}, {"hessian", r.hessian_seconds}, {"gptq_solve", r.solve_seconds},
                  {"hessian_factor", r.factor_seconds},
                  {"smoothquant", r.smooth_seconds}};
  j["memory_bytes"] = {{"activations", r.activation_bytes}, {"peak_hessians", r.peak_hessian_bytes}};
  io::OrderedJson lin = io::OrderedJson::array();
  for (const CalibratedLinear& l : r.linears) {
    io::OrderedJson e;
    e["name"] = l.name;
    e["shape"] = {l.gptq.matrix->rows, l.gptq.matrix->cols};
    e["rel_output_error"] = l.gptq.rel_err;
    e["rtn_rel_output_error"] = l.gptq.rtn_rel_err;
    e["gptq_loss"] = l.gptq.loss;
    e["dead_columns"] = l.gptq.dead_columns;
    e["cholesky_failed"] = l.gptq.cholesky_failed;
    e["g_idx"] = !l.gptq.g_idx.empty();
    e["hessian_samples"] = l.hessian_samples;
    e["seconds"] = l.gptq.seconds;
    lin.push_back(std::move(e));
  }
  j["linears"] = std::move(lin);
  io::OrderedJson folded = io::OrderedJson::array();
  for (const auto& [name, t] : r.folded) folded.push_back(name);
  j["smoothquant_folded"] = std::move(folded);
  return j.dump(2) + "\n";
}

std::unique_ptr<TensorSource> FoldedSource(const TensorSource& base, const std::map<std::string, Tensor>& folded) {
  return std::make_unique<FoldedTensorSource>(base, folded);
}

}  // namespace qforge::pipeline
