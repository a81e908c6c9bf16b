#include "model/test_source.h"

#include <fmt/format.h>

namespace qforge::model::testing {

ModelConfig TinyConfig() {
  ModelConfig c;
  c.model_type = "llama";
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.intermediate_size = 48;
  c.vocab_size = 61;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000;
  return c;
}

MemorySource RandomModel(const ModelConfig& c, uint32_t seed) {
  MemorySource s;
  std::mt19937 rng(seed);
  auto add = [&](const std::string& name, Shape shape, float lo, float hi) {
    Tensor t = Tensor::Zeros(DType::kF32, shape);
    std::uniform_real_distribution<float> u(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = u(rng);
    s.tensors()[name] = std::move(t);
  };
  const int64_t hs = c.hidden_size, is = c.intermediate_size;
  add("model.embed_tokens.weight", {c.vocab_size, hs}, -1, 1);
  add("model.norm.weight", {hs}, 0.5, 1.5);
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, hs}, -0.3f, 0.3f);
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = fmt::format("model.layers.{}.", l);
    add(p + "input_layernorm.weight", {hs}, 0.5, 1.5);
    add(p + "post_attention_layernorm.weight", {hs}, 0.5, 1.5);
    add(p + "self_attn.q_proj.weight", {c.q_dim(), hs}, -0.3f, 0.3f);
    add(p + "self_attn.k_proj.weight", {c.kv_dim(), hs}, -0.3f, 0.3f);
    add(p + "self_attn.v_proj.weight", {c.kv_dim(), hs}, -0.3f, 0.3f);
    add(p + "self_attn.o_proj.weight", {hs, c.q_dim()}, -0.3f, 0.3f);
    add(p + "mlp.gate_proj.weight", {is, hs}, -0.3f, 0.3f);
    add(p + "mlp.up_proj.weight", {is, hs}, -0.3f, 0.3f);
    add(p + "mlp.down_proj.weight", {hs, is}, -0.3f, 0.3f);
    if (c.attention_bias) {
      add(p + "self_attn.q_proj.bias", {c.q_dim()}, -0.2f, 0.2f);
      add(p + "self_attn.k_proj.bias", {c.kv_dim()}, -0.2f, 0.2f);
      add(p + "self_attn.v_proj.bias", {c.kv_dim()}, -0.2f, 0.2f);
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {c.head_dim}, 0.5, 1.5);
      add(p + "self_attn.k_norm.weight", {c.head_dim}, 0.5, 1.5);
    }
  }
  return s;
}

}  // namespace qforge::model::testing
