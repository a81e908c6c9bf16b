// GGUF ↔ HF: the name table, ConfigFromGguf on the shared stories260K.gguf (llama.cpp's own test model),
// and the HF-named view of its tensors.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "formats/gguf/gguf_writer.h"
#include "hf/gguf_model.h"

namespace qforge::hf {
namespace {

std::string Stories260K() { return std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf"; }

TEST(GgufModel, NameTableRoundTrips) {
  EXPECT_EQ(GgufTensorName(Role::kEmbedding), "token_embd.weight");
  EXPECT_EQ(GgufTensorName(Role::kQ, 3), "blk.3.attn_q.weight");
  EXPECT_EQ(GgufTensorName(Role::kO, 0), "blk.0.attn_output.weight");
  EXPECT_EQ(GgufTensorName(Role::kMlpNorm, 12), "blk.12.ffn_norm.weight");
  EXPECT_EQ(GgufTensorNameFromHf("model.layers.7.mlp.down_proj.weight"), "blk.7.ffn_down.weight");
  EXPECT_EQ(GgufTensorNameFromHf("lm_head.weight"), "output.weight");
  EXPECT_EQ(GgufTensorNameFromHf("model.norm.weight"), "output_norm.weight");
  EXPECT_FALSE(GgufTensorNameFromHf("model.rotary_emb.inv_freq").has_value());
  for (int r = 0; r <= static_cast<int>(Role::kLmHead); ++r) {
    const Role role = static_cast<Role>(r);
    const int layer = IsLayerRole(role) ? 11 : -1;
    const auto back = ParseGgufTensorName(GgufTensorName(role, layer));
    ASSERT_TRUE(back.has_value()) << RoleName(role);
    EXPECT_EQ(*back, (TensorName{role, layer}));
  }
  EXPECT_FALSE(ParseGgufTensorName("blk.01.attn_q.weight").has_value());
  EXPECT_FALSE(ParseGgufTensorName("blk.x.attn_q.weight").has_value());
  EXPECT_FALSE(ParseGgufTensorName("rope_freqs.weight").has_value());
}

TEST(GgufModel, ConfigFromStories260K) {
  auto f = gguf::File::Open(Stories260K());
  const ModelConfig c = ConfigFromGguf(*f);
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_FLOAT_EQ(static_cast<float>(c.rms_norm_eps), 1e-5f);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_TRUE(c.rope_interleaved);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
}

TEST(GgufModel, HfNamedTensorsOfStories260K) {
  auto src = HfNamedTensors(gguf::File::Open(Stories260K()));
  const auto names = src->Names();
  ASSERT_EQ(names.size(), 48u);
  EXPECT_EQ(names[0], "model.embed_tokens.weight");
  EXPECT_TRUE(src->Has("model.layers.4.mlp.down_proj.weight"));
  EXPECT_EQ(src->Get("model.layers.4.mlp.down_proj.weight").shape(), (Shape{64, 172}));
  EXPECT_EQ(src->Get("model.layers.0.self_attn.k_proj.weight").shape(), (Shape{32, 64}));
  EXPECT_EQ(src->Get("lm_head.weight").shape(), (Shape{512, 64}));
  EXPECT_FALSE(src->Has("blk.0.attn_q.weight"));
  EXPECT_THROW(src->Get("model.layers.5.mlp.up_proj.weight"), Error);
}

// Rewrites stories260K with one change and expects HfNamedTensors/ConfigFromGguf to reject it.
std::string ErrorAfter(const std::function<void(gguf::Writer&)>& edit, bool drop_last_tensor = false) {
  auto f = gguf::File::Open(Stories260K());
  gguf::Writer w;
  for (const auto& kv : f->kvs()) w.Add(kv.key, kv.value);
  const auto& infos = f->tensor_infos();
  for (size_t i = 0; i + (drop_last_tensor ? 1 : 0) < infos.size(); ++i) {
    w.AddTensor(infos[i].name, infos[i].type, infos[i].ne);
  }
  edit(w);
  io::MemorySink sink;
  w.Write(sink, gguf::CopyTensorsFrom(*f));
  try {
    HfNamedTensors(gguf::File::FromBytes(sink.Take(), "edited.gguf"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GgufModel, RejectsInconsistentFiles) {
  EXPECT_EQ(ErrorAfter([](gguf::Writer&) {}), "");
  EXPECT_NE(ErrorAfter([](gguf::Writer&) {}, true).find("'blk.4.ffn_norm.weight'"), std::string::npos);
  EXPECT_NE(ErrorAfter([](gguf::Writer& w) { w.Set("llama.block_count", gguf::Value::Scalar<int32_t>(5)); })
                .find("has type INT32; expected UINT32"),
            std::string::npos);
  EXPECT_NE(ErrorAfter([](gguf::Writer& w) { w.Set("llama.feed_forward_length", gguf::Value::Scalar<uint32_t>(100)); })
                .find("has shape"),
            std::string::npos);
  EXPECT_NE(ErrorAfter([](gguf::Writer& w) { w.Set("llama.block_count", gguf::Value::Scalar<uint32_t>(4)); })
                .find("block_count is 4"),
            std::string::npos);
  EXPECT_NE(ErrorAfter([](gguf::Writer& w) { w.Set("general.architecture", gguf::Value::String("gptj")); })
                .find("supports llama"),
            std::string::npos);
  EXPECT_NE(ErrorAfter([](gguf::Writer& w) { w.Remove("llama.attention.layer_norm_rms_epsilon"); })
                .find("is missing"),
            std::string::npos);
}

}  // namespace
}  // namespace qforge::hf
