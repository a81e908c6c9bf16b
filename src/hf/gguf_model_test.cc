// GGUF ↔ HF: the name table, ConfigFromGguf on the shared stories260K.gguf (llama.cpp's own test model),
// and the HF-named view of its tensors.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "formats/gguf/gguf_writer.h"
#include "io/byte_sink.h"
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

// A minimal llama GGUF (head_dim 64, theta 500000) whose rope_freqs.weight holds `factors`.
std::shared_ptr<const gguf::File> RopeFile(const std::vector<float>& factors, uint32_t original_context = 0) {
  gguf::Writer w;
  w.Add("general.architecture", gguf::Value::String("llama"));
  w.Add("llama.block_count", gguf::Value::Scalar<uint32_t>(1));
  w.Add("llama.embedding_length", gguf::Value::Scalar<uint32_t>(128));
  w.Add("llama.feed_forward_length", gguf::Value::Scalar<uint32_t>(64));
  w.Add("llama.attention.head_count", gguf::Value::Scalar<uint32_t>(2));
  w.Add("llama.rope.freq_base", gguf::Value::Scalar<float>(500000.0f));
  w.Add("llama.attention.layer_norm_rms_epsilon", gguf::Value::Scalar<float>(1e-5f));
  if (original_context) w.Add("llama.rope.scaling.original_context_length", gguf::Value::Scalar(original_context));
  w.AddTensor("token_embd.weight", DType::kF32, {128, 4});
  w.AddTensor(std::string(kGgufRopeFreqs), DType::kF32, {static_cast<int64_t>(factors.size())});
  io::MemorySink sink;
  w.Write(sink, [&](size_t i, const gguf::TensorInfo& t, io::ByteSink& s) {
    if (i == 1) {
      s.Write(factors.data(), factors.size() * sizeof(float));
    } else {
      s.WriteZeros(t.nbytes);
    }
  });
  return gguf::File::FromBytes(sink.Take(), "rope.gguf");
}

// Two float32 computations of the same llama3 factors (different but equivalent parameters) differ by rounding.
constexpr double kFactorTol = 1e-5;

// convert_hf_to_gguf.py's llama3 factors, in float32 (head_dim 64, theta 500000).
std::vector<float> Llama3Factors(float factor, float low, float high, float original) {
  std::vector<float> out;
  for (int i = 0; i < 64; i += 2) {
    const float freq = 1.0f / std::pow(500000.0f, static_cast<float>(i) / 64.0f);
    const float wavelen = 2.0f * static_cast<float>(M_PI) / freq;
    if (wavelen < original / high) {
      out.push_back(1.0f);
    } else if (wavelen > original / low) {
      out.push_back(factor);
    } else {
      const float smooth = (original / wavelen - low) / (high - low);
      out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return out;
}

TEST(GgufModel, RopeFreqsBecomeLlama3Scaling) {
  ModelConfig c = ConfigFromGguf(*RopeFile(Llama3Factors(32, 1, 4, 8192)));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  // Only L/low and L/high are in the factors: (16384, 2, 8) comes back as the equivalent (8192, 1, 4) ...
  c = ConfigFromGguf(*RopeFile(Llama3Factors(8, 2, 8, 16384)));
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  // ... unless the file names the original context.
  c = ConfigFromGguf(*RopeFile(Llama3Factors(8, 2, 8, 16384), 16384));
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 2.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 16384);
  // Bands with a single smooth wavelength (1 < f < 16) or none do not determine low/high; any scaling with the
  // same factors will do.
  for (const auto& [low, high, original] : {std::tuple{1.0f, 2.0f, 4096.0f}, {1.0f, 1.2f, 4096.0f},
                                             {2.0f, 3.0f, 16384.0f}, {1.0f, 4.0f, 2048.0f}}) {
    SCOPED_TRACE(fmt::format("low {} high {} original {}", low, high, original));
    const std::vector<float> want = Llama3Factors(16, low, high, original);
    c = ConfigFromGguf(*RopeFile(want));
    ASSERT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
    const std::vector<float> got =
        Llama3Factors(static_cast<float>(c.rope_scaling.factor), static_cast<float>(c.rope_scaling.low_freq_factor),
                      static_cast<float>(c.rope_scaling.high_freq_factor),
                      static_cast<float>(c.rope_scaling.original_max_position_embeddings));
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], kFactorTol * want[i]) << i;
  }
}

TEST(GgufModel, RopeFreqsOtherShapes) {
  EXPECT_EQ(ConfigFromGguf(*RopeFile(std::vector<float>(32, 1.0f))).rope_scaling.type, RopeScalingType::kNone);
  const ModelConfig lin = ConfigFromGguf(*RopeFile(std::vector<float>(32, 4.0f)));
  EXPECT_EQ(lin.rope_scaling.type, RopeScalingType::kLinear);
  EXPECT_EQ(lin.rope_scaling.factor, 4.0);
  std::vector<float> odd = Llama3Factors(32, 1, 4, 8192);
  odd[2] = 1.5f;  // a short wavelength scaled: no llama3 curve does that
  try {
    ConfigFromGguf(*RopeFile(odd));
    ADD_FAILURE() << "not a llama3 curve";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not follow llama3 rope scaling"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ConfigFromGguf(*RopeFile(std::vector<float>(16, 1.0f))), Error);  // not head_dim / 2 values
  std::vector<float> negative(32, 1.0f);
  negative[5] = -1.0f;
  EXPECT_THROW(ConfigFromGguf(*RopeFile(negative)), Error);
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
