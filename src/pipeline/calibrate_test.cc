// The sequential calibration pipeline on a tiny random model: results equal an independent re-run of each
// step (Hessians from quantized upstream outputs), GPTQ beats RTN on its calibration objective, SmoothQuant
// keeps the function, and the compact code views compute the same logits as dense dequantized weights.
#include "pipeline/calibrate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/model.h"
#include "model/test_source.h"

namespace qforge::pipeline {
namespace {

using model::LinearKind;
namespace gptq = algorithms::gptq;

std::vector<std::vector<int32_t>> RandomSamples(int n, int len, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(vocab - 1));
  std::vector<std::vector<int32_t>> s(static_cast<size_t>(n));
  for (auto& v : s) {
    for (int i = 0; i < len; ++i) v.push_back(tok(rng));
  }
  return s;
}

CalibrateOptions GptqOptions() {
  CalibrateOptions o;
  codecs::IntQuantSpec spec;
  spec.bits = 4;
  spec.group_size = 16;
  o.gptq_spec = spec;
  o.gptq.block_size = 8;  // several blocks even on 32 columns
  o.log = [](const std::string&) {};
  return o;
}

// Accumulates the Hessian of one Linear's input over the samples, running layers 0..layer of `m`.
class OneInput final : public model::LinearObserver {
 public:
  OneInput(int layer, LinearKind kind, int64_t cols) : layer_(layer), kind_(kind), acc(cols, gptq::HessianPrecision::kF32) {}
  void OnLinear(int layer, LinearKind kind, const float* x, const float*, int64_t n, int64_t, int64_t) override {
    if (layer == layer_ && kind == kind_) acc.Add(x, n, 1);
  }
  int layer_;
  LinearKind kind_;
  gptq::HessianAccumulator acc;
};

std::vector<float> HessianOf(const model::Model& m, int layer, LinearKind kind,
                             const std::vector<std::vector<int32_t>>& samples) {
  OneInput obs(layer, kind, m.layer(layer)[kind].in_features());
  for (const auto& s : samples) {
    std::vector<float> h(s.size() * static_cast<size_t>(m.hidden_size()));
    m.Embed(s, h.data());
    for (int l = 0; l <= layer; ++l) m.RunLayer(l, h.data(), h.data(), static_cast<int64_t>(s.size()), &obs);
  }
  return obs.acc.Finalize();
}

TEST(Calibrate, SequentialGptqMatchesIndependentSteps) {
  const ModelConfig cfg = model::testing::TinyConfig();
  const auto src = model::testing::RandomModel(cfg, 5);
  const auto samples = RandomSamples(6, 20, cfg.vocab_size, 9);
  const CalibrateOptions o = GptqOptions();

  model::Model m(cfg, src);
  const CalibrationResult r = Calibrate(m, samples, o);
  ASSERT_EQ(r.linears.size(), 14u);
  EXPECT_EQ(r.samples, 6);
  EXPECT_EQ(r.tokens, 120);

  // Re-derive every Linear in dependency order on a fresh model: its Hessian comes from a model whose
  // earlier Linears (earlier layers, and earlier stages of the same layer) are already quantized.
  model::Model ref(cfg, src);
  double gptq_err = 0, rtn_err = 0;
  for (const CalibratedLinear& cl : r.linears) {
    const std::vector<float> h = HessianOf(ref, cl.layer, cl.kind, samples);
    const GptqLinearResult want = QuantizeLinearGptq(ref.layer(cl.layer)[cl.kind], h, *o.gptq_spec, o.gptq, cl.name);
    EXPECT_EQ(want.matrix->codes, cl.gptq.matrix->codes) << cl.name;
    EXPECT_EQ(want.matrix->params.scales, cl.gptq.matrix->params.scales) << cl.name;
    EXPECT_EQ(cl.hessian_samples, 6);
    const auto& q = *want.matrix;
    ref.SetLinear(cl.layer, cl.kind,
                  MakeRoundedDenseLinear(DequantizeToF32(q, want.g_idx), q.rows, q.cols, q.params.dtype, cl.name));
    for (int8_t c : q.codes) ASSERT_TRUE(c >= -8 && c <= 7);
    gptq_err += cl.gptq.rel_err;
    rtn_err += cl.gptq.rtn_rel_err;
  }
  // GPTQ minimises exactly this objective; on 14 Linears it must beat rounding clearly.
  EXPECT_LT(gptq_err, 0.9 * rtn_err);

  // The calibrated model (finished layers hold code views) computes what dense dequantized weights compute.
  const std::vector<int32_t> probe = samples[0];
  std::vector<float> a(probe.size() * static_cast<size_t>(cfg.vocab_size)), b(a.size());
  m.Forward(probe, a.data());
  ref.Forward(probe, b.data());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f * (1.0f + std::fabs(b[i])));
  EXPECT_NE(CalibrationReportJson(r, o).find("\"rel_output_error\""), std::string::npos);
}

TEST(Calibrate, SharedFactorizationGivesTheSameCodes) {
  const ModelConfig cfg = model::testing::TinyConfig();
  const auto src = model::testing::RandomModel(cfg, 12);
  const auto samples = RandomSamples(5, 18, cfg.vocab_size, 21);
  for (bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16 weights" : "f32 weights");
    CalibrateOptions o = GptqOptions();
    auto run = [&](const CalibrateOptions& opt) {
      model::Model m(cfg, src);
      if (bf16) m.ConvertLinearWeights(DType::kBF16);
      return Calibrate(m, samples, opt);
    };
    const CalibrationResult shared = run(o);
    o.share_factorization = false;
    const CalibrationResult own = run(o);
    ASSERT_EQ(shared.linears.size(), 14u);
    ASSERT_EQ(own.linears.size(), 14u);
    for (size_t i = 0; i < shared.linears.size(); ++i) {
      const auto& a = shared.linears[i];
      const auto& b = own.linears[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.gptq.matrix->codes, b.gptq.matrix->codes) << a.name;
      EXPECT_EQ(a.gptq.matrix->params.scales, b.gptq.matrix->params.scales) << a.name;
      EXPECT_EQ(a.gptq.loss, b.gptq.loss) << a.name;
      EXPECT_EQ(a.gptq.rel_err, b.gptq.rel_err) << a.name;
    }
    // bf16 weights: llm-compressor's in-loop rounding of the dequantized values to bf16 changes codes.
    o.round_to_model_dtype = false;
    const CalibrationResult unrounded = run(o);
    size_t differ = 0;
    for (size_t i = 0; i < own.linears.size(); ++i) {
      differ += own.linears[i].gptq.matrix->codes != unrounded.linears[i].gptq.matrix->codes;
    }
    if (bf16) {
      EXPECT_GT(differ, 0u);
    } else {
      EXPECT_EQ(differ, 0u);  // f32 weights: nothing to round
    }
  }
}

TEST(Calibrate, TargetsAndActorderGroup) {
  const ModelConfig cfg = model::testing::TinyConfig();
  const auto src = model::testing::RandomModel(cfg, 6);
  CalibrateOptions o = GptqOptions();
  o.gptq.actorder = gptq::ActOrder::kGroup;
  o.true_sequential = false;
  o.bf16_activations = true;
  o.is_target = [](const std::string& name) { return name.find("mlp.") != std::string::npos; };
  model::Model m(cfg, src);
  const CalibrationResult r = Calibrate(m, RandomSamples(4, 16, cfg.vocab_size, 3), o);
  ASSERT_EQ(r.linears.size(), 6u);  // gate/up/down of 2 layers
  for (const auto& cl : r.linears) {
    EXPECT_EQ(cl.name.find("mlp."), cl.name.find("model.layers.") + 15) << cl.name;
    EXPECT_EQ(cl.gptq.g_idx.size(), static_cast<size_t>(cl.gptq.matrix->cols)) << "actorder=group stores g_idx";
  }
  EXPECT_NE(r.Find("model.layers.1.mlp.down_proj"), nullptr);
  EXPECT_EQ(r.Find("model.layers.1.self_attn.q_proj"), nullptr);
}

TEST(Calibrate, SmoothQuantKeepsTheFunction) {
  const ModelConfig cfg = model::testing::TinyConfig();
  const auto src = model::testing::RandomModel(cfg, 8);
  const auto samples = RandomSamples(4, 16, cfg.vocab_size, 4);
  CalibrateOptions o;
  o.smoothquant_strength = 0.8;
  model::Model m(cfg, src), orig(cfg, src);
  const CalibrationResult r = Calibrate(m, samples, o);
  // 2 layers x (2 norms + q/k/v/gate/up).
  EXPECT_EQ(r.folded.size(), 14u);
  ASSERT_TRUE(r.folded.count("model.layers.0.input_layernorm.weight"));
  // The folded weights differ from the originals, the function does not (F32 model: only rounding).
  EXPECT_NE(r.folded.at("model.layers.1.mlp.gate_proj.weight").data<float>()[0],
            src.Get("model.layers.1.mlp.gate_proj.weight").data<float>()[0]);
  std::vector<float> a(samples[1].size() * static_cast<size_t>(cfg.vocab_size)), b(a.size());
  m.Forward(samples[1], a.data());
  orig.Forward(samples[1], b.data());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4f * (1.0f + std::fabs(b[i])));
  // The folded source serves the new tensors and falls back to the originals.
  auto folded = FoldedSource(src, r.folded);
  EXPECT_EQ(folded->Get("model.layers.0.input_layernorm.weight").data<float>()[3],
            r.folded.at("model.layers.0.input_layernorm.weight").data<float>()[3]);
  EXPECT_EQ(folded->Get("model.norm.weight").data<float>()[0], src.Get("model.norm.weight").data<float>()[0]);
  // Scales are llm-compressor's: s = r^a / (2 max|W|)^(1-a) on the first layer's attention input.
  // Check one channel through the fold of q_proj: W'[o][j] / W[o][j] = s_j.
  const float* wq0 = src.Get("model.layers.0.self_attn.q_proj.weight").data<float>();
  const float* wq1 = r.folded.at("model.layers.0.self_attn.q_proj.weight").data<float>();
  const float* g0 = src.Get("model.layers.0.input_layernorm.weight").data<float>();
  const float* g1 = r.folded.at("model.layers.0.input_layernorm.weight").data<float>();
  for (int j = 0; j < 4; ++j) EXPECT_NEAR((wq1[j] / wq0[j]) * (g1[j] / g0[j]), 1.0f, 1e-5f);
}

TEST(Calibrate, RequiresWork) {
  const ModelConfig cfg = model::testing::TinyConfig();
  const auto src = model::testing::RandomModel(cfg, 1);
  model::Model m(cfg, src);
  EXPECT_THROW(Calibrate(m, RandomSamples(1, 4, cfg.vocab_size, 1), CalibrateOptions{}), Error);
  EXPECT_THROW(Calibrate(m, {}, GptqOptions()), Error);
}

}  // namespace
}  // namespace qforge::pipeline
