// The forward pass on random tiny models: prefill vs KV-cache decoding, layer-at-a-time hooks, weight
// layouts (GGUF interleaved Q/K rows), biases, q/k norms, BF16 weights. Real-model checks are in
// tinystories_test.cc and pipeline/load_model_oracle_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/half.h"
#include "model/model.h"
#include "model/session.h"
#include "model/test_source.h"

namespace qforge::model {
namespace {

using testing::MemorySource;
using testing::RandomModel;
using testing::TinyConfig;

// Same math, different summation order/grouping (GEMM vs GEMV, one token vs many): float rounding only.
constexpr float kOrderAbsTol = 2e-5f;

const std::vector<int32_t> kTokens = {1, 17, 5, 60, 33, 2, 9, 9, 41, 0, 12};

std::vector<float> Logits(const Model& m, const std::vector<int32_t>& tokens) {
  std::vector<float> out(tokens.size() * static_cast<size_t>(m.vocab_size()));
  m.Forward(tokens, out.data());
  return out;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

void CheckPrefillEqualsDecode(const ModelConfig& c) {
  MemorySource src = RandomModel(c, 7);
  Model m(c, src);
  const auto prefill = Logits(m, kTokens);
  Session s(m, 32);
  std::vector<float> step(static_cast<size_t>(m.vocab_size())), all;
  // First 3 tokens as one chunk, then one at a time: both cache paths.
  std::vector<float> chunk(3 * static_cast<size_t>(m.vocab_size()));
  s.Eval(std::span(kTokens).first(3), chunk.data(), /*all_logits=*/true);
  all = chunk;
  for (size_t t = 3; t < kTokens.size(); ++t) {
    s.Eval(std::span(kTokens).subspan(t, 1), step.data());
    all.insert(all.end(), step.begin(), step.end());
  }
  EXPECT_EQ(s.position(), static_cast<int64_t>(kTokens.size()));
  EXPECT_LT(MaxAbsDiff(prefill, all), kOrderAbsTol);
  // Not trivially constant: logits vary across positions.
  EXPECT_GT(MaxAbsDiff(std::vector<float>(prefill.begin(), prefill.begin() + 61),
                       std::vector<float>(prefill.begin() + 61, prefill.begin() + 122)),
            1e-2f);
}

TEST(Model, PrefillEqualsKvCacheDecodeLlama) { CheckPrefillEqualsDecode(TinyConfig()); }

TEST(Model, PrefillEqualsKvCacheDecodeQwen2BiasAndQwen3QkNorm) {
  ModelConfig c = TinyConfig();
  c.attention_bias = true;
  CheckPrefillEqualsDecode(c);
  c.attention_bias = false;
  c.qk_norm = true;
  c.head_dim = 16;  // qwen3: head_dim independent of hidden/heads
  CheckPrefillEqualsDecode(c);
}

TEST(Model, ContextFullThrows) {
  const ModelConfig c = TinyConfig();
  MemorySource src = RandomModel(c, 1);
  Model m(c, src);
  Session s(m, 4);
  std::vector<float> logits(static_cast<size_t>(m.vocab_size()));
  s.Eval(std::span(kTokens).first(4), logits.data());
  EXPECT_THROW(s.Eval(std::span(kTokens).first(1), logits.data()), Error);
}

TEST(Model, BadTokenAndMissingOrMisshapenTensorsThrow) {
  const ModelConfig c = TinyConfig();
  MemorySource src = RandomModel(c, 1);
  Model m(c, src);
  std::vector<float> logits(static_cast<size_t>(m.vocab_size()));
  const std::vector<int32_t> bad = {61};
  EXPECT_THROW(m.Forward(bad, logits.data()), Error);
  MemorySource missing = RandomModel(c, 1);
  missing.tensors().erase("model.layers.1.mlp.up_proj.weight");
  EXPECT_THROW(Model(c, missing), Error);
  MemorySource wrong = RandomModel(c, 1);
  wrong.tensors()["model.layers.0.self_attn.k_proj.weight"] = Tensor::Zeros(DType::kF32, {8, 32});
  EXPECT_THROW(Model(c, wrong), Error);
  ModelConfig no_tie = c;
  MemorySource untied = RandomModel(c, 1);
  untied.tensors().erase("lm_head.weight");
  EXPECT_THROW(Model(no_tie, untied), Error);
  ModelConfig tie = c;
  tie.tie_word_embeddings = true;
  EXPECT_NO_THROW(Model(tie, untied));
}

TEST(Model, GgufInterleavedQkRowsGiveSameLogits) {
  // Permute q/k rows as the GGUF converter does (FORMATS.md §5.6) and flip rope_interleaved: same model.
  const ModelConfig c = TinyConfig();
  MemorySource hf = RandomModel(c, 3);
  MemorySource gguf = RandomModel(c, 3);
  for (int l = 0; l < c.num_layers; ++l) {
    for (auto [proj, heads] : {std::pair<const char*, int64_t>{"q_proj", c.num_heads}, {"k_proj", c.num_kv_heads}}) {
      const std::string name = "model.layers." + std::to_string(l) + ".self_attn." + proj + ".weight";
      const Tensor& src = hf.tensors()[name];
      Tensor dst = Tensor::Zeros(DType::kF32, src.shape());
      const int64_t d = c.head_dim, cols = src.dim(1);
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = 0; i < d; ++i) {
          const int64_t from = h * d + (i % 2) * (d / 2) + i / 2;
          std::copy_n(src.data<float>() + from * cols, cols, dst.mutable_data<float>() + (h * d + i) * cols);
        }
      }
      gguf.tensors()[name] = std::move(dst);
    }
  }
  ModelConfig gc = c;
  gc.rope_interleaved = true;
  const auto a = Logits(Model(c, hf), kTokens);
  const auto b = Logits(Model(gc, gguf), kTokens);
  EXPECT_LT(MaxAbsDiff(a, b), kOrderAbsTol);
  // Without the flag the permuted model differs (the test can fail).
  EXPECT_GT(MaxAbsDiff(a, Logits(Model(c, gguf), kTokens)), 1e-3f);
}

TEST(Model, Bf16WeightsEqualF32OfSameValues) {
  const ModelConfig c = TinyConfig();
  MemorySource f32 = RandomModel(c, 5);
  MemorySource bf16;
  for (auto& [name, t] : f32.tensors()) {
    Tensor b = Tensor::Zeros(DType::kBF16, t.shape());
    Tensor r = Tensor::Zeros(DType::kF32, t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      b.mutable_data<uint16_t>()[i] = F32ToBf16(t.data<float>()[i]);
      r.mutable_data<float>()[i] = Bf16ToF32(b.data<uint16_t>()[i]);
    }
    bf16.tensors()[name] = std::move(b);
    t = std::move(r);
  }
  EXPECT_LT(MaxAbsDiff(Logits(Model(c, f32), kTokens), Logits(Model(c, bf16), kTokens)), kOrderAbsTol);
}

class RecordingObserver : public LinearObserver {
 public:
  void OnLinear(int layer, LinearKind kind, const float* x, const float* y, int64_t n, int64_t in,
                int64_t out) override {
    calls.push_back({layer, kind, n, in, out});
    x_sum += x[0];
    y_sum += y[n * out - 1];
  }
  struct Call {
    int layer;
    LinearKind kind;
    int64_t n, in, out;
  };
  std::vector<Call> calls;
  double x_sum = 0, y_sum = 0;
};

TEST(Model, LayerAtATimeWithObserverEqualsForward) {
  const ModelConfig c = TinyConfig();
  MemorySource src = RandomModel(c, 9);
  Model m(c, src);
  const int64_t n = static_cast<int64_t>(kTokens.size());
  std::vector<float> h(static_cast<size_t>(n * c.hidden_size)), h2(h.size());
  m.Embed(kTokens, h.data());
  RecordingObserver obs;
  for (int l = 0; l < m.num_layers(); ++l) {
    m.RunLayer(l, h.data(), h2.data(), n, &obs);
    h.swap(h2);
  }
  std::vector<float> logits(static_cast<size_t>(n * c.vocab_size));
  m.Head(h.data(), n, logits.data());
  EXPECT_EQ(logits, Logits(m, kTokens));  // Forward is exactly this path
  ASSERT_EQ(obs.calls.size(), static_cast<size_t>(kNumLinearKinds * c.num_layers));
  EXPECT_EQ(obs.calls[0].kind, LinearKind::kQ);
  EXPECT_EQ(obs.calls[3].kind, LinearKind::kO);
  EXPECT_EQ(obs.calls[3].in, c.q_dim());
  EXPECT_EQ(obs.calls[6].kind, LinearKind::kDown);
  EXPECT_EQ(obs.calls[6].in, c.intermediate_size);
  EXPECT_EQ(obs.calls[7].layer, 1);
  EXPECT_EQ(obs.calls[7].n, n);

  // Replacing a Linear changes the output; replacing it with its own dense copy does not.
  auto logits_before = Logits(m, kTokens);
  m.SetLinear(1, LinearKind::kDown, MakeDenseLinear(m.layer(1)[LinearKind::kDown].DenseF32(), "copy"));
  EXPECT_EQ(Logits(m, kTokens), logits_before);
  Tensor zero = Tensor::Zeros(DType::kF32, {c.hidden_size, c.intermediate_size});
  m.SetLinear(1, LinearKind::kDown, MakeDenseLinear(zero, "zero"));
  EXPECT_GT(MaxAbsDiff(Logits(m, kTokens), logits_before), 1e-3f);
}

}  // namespace
}  // namespace qforge::model
