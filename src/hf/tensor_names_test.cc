#include "hf/tensor_names.h"

#include <gtest/gtest.h>

namespace qforge::hf {
namespace {

TEST(HfTensorNames, ParsesAndPrintsEveryRole) {
  const Role all[] = {Role::kEmbedding, Role::kAttnNorm, Role::kQ,       Role::kK,     Role::kV,
                      Role::kO,         Role::kQBias,    Role::kKBias,   Role::kVBias, Role::kQNorm,
                      Role::kKNorm,     Role::kMlpNorm,  Role::kGate,    Role::kUp,    Role::kDown,
                      Role::kFinalNorm, Role::kLmHead};
  for (Role r : all) {
    const int layer = IsLayerRole(r) ? 17 : -1;
    const std::string name = HfTensorName(r, layer);
    const auto parsed = ParseTensorName(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, (TensorName{r, layer})) << name;
  }
  EXPECT_EQ(HfTensorName(Role::kQ, 3), "model.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(HfTensorName(Role::kKBias, 0), "model.layers.0.self_attn.k_proj.bias");
  EXPECT_EQ(HfTensorName(Role::kMlpNorm, 1), "model.layers.1.post_attention_layernorm.weight");
  EXPECT_EQ(HfTensorName(Role::kLmHead), "lm_head.weight");
}

TEST(HfTensorNames, RejectsLookalikes) {
  for (const char* n : {"model.layers.x.self_attn.q_proj.weight", "model.layers.01.mlp.up_proj.weight",
                        "model.layers.-1.mlp.up_proj.weight", "model.layers.0.mlp.up_proj.weight_packed",
                        "model.layers.99999999999.mlp.up_proj.weight", "model.layers.0", "lm_head.bias",
                        "model.layers.0.self_attn.rotary_emb.inv_freq", "", "model.embed_tokens.weight.x"})
    EXPECT_FALSE(ParseTensorName(n).has_value()) << n;
}

TEST(HfTensorNames, ExpectedTensorsFollowTheConfig) {
  ModelConfig c;
  c.hidden_size = 8;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.head_dim = 4;
  c.intermediate_size = 16;
  c.vocab_size = 32;
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& e : ExpectedTensors(c)) out.push_back(e.name);
    return out;
  };
  EXPECT_EQ(names().size(), 1 + 2 * 9 + 1 + 1u);
  EXPECT_EQ(names()[1], "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(names().back(), "lm_head.weight");
  c.tie_word_embeddings = true;
  EXPECT_EQ(names().back(), "model.norm.weight");
  c.attention_bias = true;
  EXPECT_EQ(names().size(), 1 + 2 * 12 + 1u);
  EXPECT_EQ(names()[2], "model.layers.0.self_attn.q_proj.bias");
  c.attention_bias = false;
  c.qk_norm = true;
  EXPECT_EQ(names().size(), 1 + 2 * 11 + 1u);
  EXPECT_EQ(ExpectedShape(Role::kQNorm, c), (Shape{4}));
  EXPECT_EQ(ExpectedShape(Role::kO, c), (Shape{8, 8}));
  EXPECT_EQ(ExpectedShape(Role::kK, c), (Shape{4, 8}));
  EXPECT_EQ(ExpectedShape(Role::kDown, c), (Shape{8, 16}));
  EXPECT_EQ(ExpectedShape(Role::kEmbedding, c), (Shape{32, 8}));
}

}  // namespace
}  // namespace qforge::hf
