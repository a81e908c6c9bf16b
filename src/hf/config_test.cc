// config.json parsing for the four supported model types, with fixtures modeled on the published configs.
#include "hf/config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace qforge::hf {
namespace {

ModelConfig Parse(const std::string& text) { return ParseConfig(io::ParseJson(text, "config.json"), "config.json"); }

std::string ErrorOf(const std::string& text) {
  try {
    Parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// meta-llama/Llama-3.2-1B
constexpr const char* kLlama32 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
  "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

// mistralai/Mistral-7B-v0.1
constexpr const char* kMistral = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
  "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000})";

// Qwen/Qwen2.5-0.5B
constexpr const char* kQwen2 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2",
  "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

// Qwen/Qwen3-0.6B (head_dim 128 != 1024 / 16)
constexpr const char* kQwen3 = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
  "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
  "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936})";

TEST(HfConfig, Llama32WithLlama3RopeScaling) {
  const ModelConfig c = Parse(kLlama32);
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_layers, 16);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.intermediate_size, 8192);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_id, 128001);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_FALSE(c.synthetic);
}

TEST(HfConfig, MistralDerivesHeadDim) {
  const ModelConfig c = Parse(kMistral);
  EXPECT_EQ(c.model_type, "mistral");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kNone);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
}

TEST(HfConfig, Qwen2HasAttentionBias) {
  const ModelConfig c = Parse(kQwen2);
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.hidden_size, 896);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_TRUE(c.attention_bias);  // hard-wired in Qwen2Attention, not a config key
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qk_norm);
}

TEST(HfConfig, Qwen3HasQkNormAndExplicitHeadDim) {
  const ModelConfig c = Parse(kQwen3);
  EXPECT_EQ(c.model_type, "qwen3");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.q_dim(), 2048);
  EXPECT_EQ(c.kv_dim(), 1024);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.rope_theta, 1e6);  // integer in the file
  EXPECT_EQ(c.eos_token_id, 151645);
}

TEST(HfConfig, BundledModel) {
  const ModelConfig c = ReadConfig(std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(HfConfig, EosListKeepsTheFirst) {
  io::Json j = io::ParseJson(kLlama32, "c");
  j["eos_token_id"] = {128001, 128008, 128009};
  EXPECT_EQ(ParseConfig(j, "c").eos_token_id, 128001);
}

TEST(HfConfig, WrittenConfigParsesBackToTheSameValues) {
  for (const char* text : {kLlama32, kMistral, kQwen2, kQwen3}) {
    ModelConfig a = Parse(text);
    a.synthetic = true;
    const io::Json j = ConfigToJson(a);
    EXPECT_EQ(j[kSyntheticKey], true);
    const ModelConfig b = ParseConfig(io::ParseJson(io::DumpPythonStyle(j), "w"), "w");
    EXPECT_EQ(b.model_type, a.model_type);
    EXPECT_EQ(b.hidden_size, a.hidden_size);
    EXPECT_EQ(b.head_dim, a.head_dim);
    EXPECT_EQ(b.num_kv_heads, a.num_kv_heads);
    EXPECT_EQ(b.rope_theta, a.rope_theta);
    EXPECT_EQ(b.rope_scaling.type, a.rope_scaling.type);
    EXPECT_EQ(b.rope_scaling.factor, a.rope_scaling.factor);
    EXPECT_EQ(b.rms_norm_eps, a.rms_norm_eps);
    EXPECT_EQ(b.tie_word_embeddings, a.tie_word_embeddings);
    EXPECT_EQ(b.attention_bias, a.attention_bias);
    EXPECT_EQ(b.qk_norm, a.qk_norm);
    EXPECT_EQ(b.bos_token_id, a.bos_token_id);
    EXPECT_TRUE(b.synthetic);
  }
}

// Hostile configs: each gives a one-line error with the file name and the problem.
TEST(HfConfigHostile, EnumeratedCases) {
  auto edit = [](const char* base, auto&& fn) {
    io::Json j = io::ParseJson(base, "c");
    fn(j);
    return j.dump();
  };
  struct Case { const char* name; std::string text; const char* fragment; };
  const std::vector<Case> cases = {
      {"unsupported model_type", edit(kMistral, [](io::Json& j) { j["model_type"] = "gpt2"; }),
       "model_type \"gpt2\" is not supported; supported model types: llama, mistral, qwen2, qwen3"},
      {"missing required field", edit(kMistral, [](io::Json& j) { j.erase("hidden_size"); }),
       "required field \"hidden_size\" is missing"},
      {"missing model_type", edit(kMistral, [](io::Json& j) { j.erase("model_type"); }),
       "required field \"model_type\" is missing"},
      {"wrong JSON type", edit(kMistral, [](io::Json& j) { j["num_hidden_layers"] = "32"; }),
       "field \"num_hidden_layers\" must be an integer, found string"},
      {"float where int", edit(kMistral, [](io::Json& j) { j["vocab_size"] = 32000.5; }),
       "field \"vocab_size\" must be an integer, found number"},
      {"bool of wrong type", edit(kMistral, [](io::Json& j) { j["tie_word_embeddings"] = 1; }),
       "field \"tie_word_embeddings\" must be true or false"},
      {"zero layers", edit(kMistral, [](io::Json& j) { j["num_hidden_layers"] = 0; }),
       "\"num_hidden_layers\" = 0 is out of range"},
      {"huge hidden", edit(kMistral, [](io::Json& j) { j["hidden_size"] = int64_t{1} << 40; }),
       "\"hidden_size\" = 1099511627776 is out of range"},
      {"kv heads not dividing", edit(kMistral, [](io::Json& j) { j["num_key_value_heads"] = 5; }),
       "not a multiple of num_key_value_heads = 5"},
      {"hidden not divisible", edit(kMistral, [](io::Json& j) { j["num_attention_heads"] = 24; }),
       "hidden_size = 4096 is not a multiple of num_attention_heads = 24"},
      {"unknown rope type", edit(kLlama32, [](io::Json& j) { j["rope_scaling"]["rope_type"] = "yarn"; }),
       "rope type \"yarn\" is not supported"},
      {"llama3 rope missing factor", edit(kLlama32, [](io::Json& j) { j["rope_scaling"].erase("low_freq_factor"); }),
       "required field \"low_freq_factor\" is missing"},
      {"rope_scaling wrong type", edit(kLlama32, [](io::Json& j) { j["rope_scaling"] = "llama3"; }),
       "field \"rope_scaling\" must be an object or null"},
      {"negative eps", edit(kMistral, [](io::Json& j) { j["rms_norm_eps"] = -1; }), "\"rms_norm_eps\" = -1"},
      {"not an object", "[1]", "config is a JSON array; expected an object"},
      {"invalid JSON", "{\"model_type\": ", "invalid JSON"},
  };
  for (const auto& c : cases) {
    const std::string msg = ErrorOf(c.text);
    EXPECT_NE(msg.find(c.fragment), std::string::npos) << c.name << ": got \"" << msg << "\"";
    EXPECT_EQ(msg.rfind("config.json", 0), 0u) << c.name << ": " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name;
  }
}

}  // namespace
}  // namespace qforge::hf
