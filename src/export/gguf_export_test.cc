// GGUF export: metadata types and order, tensor order, the llama Q/K permutation (checked against the
// inverse formula of FORMATS.md §5.6 on llama.cpp's own stories260K.gguf), F16 conversion, vocabulary
// keys, refusal of an unknown BPE pre-tokenizer, Llama-3 rope factors and their way back
// (HF rope_scaling → rope_freqs.weight → ConfigFromGguf → the same inverse frequencies).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "export/gguf_export.h"
#include "export/gguf_vocab.h"
#include "hf/checkpoint.h"
#include "hf/gguf_model.h"
#include "hf/synth.h"
#include "hf/tensor_names.h"
#include "kernels/rope.h"

namespace qforge::exporter {
namespace {

std::string Stories260K() { return std::string(QFORGE_SHARED_DIR) + "/models/stories260K/stories260K.gguf"; }
std::string TinyStoriesDir() { return std::string(QFORGE_SHARED_DIR) + "/models/TinyStories-656K"; }

std::shared_ptr<const gguf::File> ExportToMemory(const ModelConfig& c, const TensorSource& src,
                                                 const tokenizer::Vocab& vocab, DType type) {
  const auto plan = PlanGgufTensors(c, type);
  const gguf::Writer w = BuildGgufWriter(c, vocab, plan, {"test", type == DType::kF32 ? 0u : 1u, {}});
  io::MemorySink sink;
  w.Write(sink, MakeGgufTensorProducer(src, c, plan, nullptr));
  return gguf::File::FromBytes(sink.Take(), "exported.gguf");
}

// HF-layout view of a GGUF llama file: q/k rows un-permuted with the inverse formula of §5.6,
//   HF_row[h·d + j] = GGUF_row[h·d + 2j],  HF_row[h·d + d/2 + j] = GGUF_row[h·d + 2j + 1].
class UnpermutedSource final : public TensorSource {
 public:
  UnpermutedSource(std::unique_ptr<TensorSource> base, const ModelConfig& c) : base_(std::move(base)), c_(c) {}
  std::vector<std::string> Names() const override { return base_->Names(); }
  bool Has(std::string_view n) const override { return base_->Has(n); }
  std::string Describe() const override { return fmt::format("unpermuted {}", base_->Describe()); }
  Tensor Get(std::string_view name) const override {
    Tensor t = base_->Get(name);
    const auto tn = hf::ParseTensorName(name);
    if (!tn || (tn->role != hf::Role::kQ && tn->role != hf::Role::kK)) return t;
    const int64_t heads = tn->role == hf::Role::kQ ? c_.num_heads : c_.num_kv_heads;
    const int64_t rows = t.dim(0), cols = t.dim(1), d = rows / heads;
    Tensor out = Tensor::Zeros(DType::kF32, t.shape());
    const float* g = t.data<float>();
    float* h = out.mutable_data<float>();
    for (int64_t hd = 0; hd < heads; ++hd) {
      for (int64_t j = 0; j < d / 2; ++j) {
        std::memcpy(h + (hd * d + j) * cols, g + (hd * d + 2 * j) * cols, cols * 4);
        std::memcpy(h + (hd * d + d / 2 + j) * cols, g + (hd * d + 2 * j + 1) * cols, cols * 4);
      }
    }
    return out;
  }

 private:
  std::unique_ptr<TensorSource> base_;
  ModelConfig c_;
};

TEST(GgufVocab, BytesWithoutLlamaCppTokenFollowsItsLookup) {
  // llama.cpp looks a byte up as "<0xNN>", then as the one-byte string; a byte with neither is missing.
  tokenizer::Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "a", "<0x62>", "<0x0A>", "\xC3", "<0x0a>", "b c"};  // "<0x0a>": wrong case, not a match
  std::vector<uint8_t> want;
  for (int b = 0; b < 256; ++b)
    if (b != 'a' && b != 0x62 && b != 0x0A && b != 0xC3) want.push_back(static_cast<uint8_t>(b));
  EXPECT_EQ(BytesWithoutLlamaCppToken(v), want);
  for (int b = 0; b < 256; ++b) v.tokens.push_back(fmt::format("<0x{:02X}>", b));
  EXPECT_TRUE(BytesWithoutLlamaCppToken(v).empty());
  v.tokens = {"a"};
  v.model = "gpt2";  // byte-level BPE: not this lookup
  EXPECT_TRUE(BytesWithoutLlamaCppToken(v).empty());
  // The bundled stories260K has all 256 byte tokens.
  EXPECT_TRUE(BytesWithoutLlamaCppToken(VocabFromGguf(*gguf::File::Open(Stories260K()))).empty());
}

TEST(GgufExport, Stories260KThroughHfLayoutIsByteIdentical) {
  auto f = gguf::File::Open(Stories260K());
  ModelConfig c = hf::ConfigFromGguf(*f);
  const tokenizer::Vocab vocab = VocabFromGguf(*f);
  // HF layout in, permutation applied by the exporter: must give back llama.cpp's exact rows.
  c.rope_interleaved = false;
  UnpermutedSource hf_layout(hf::HfNamedTensors(f), c);
  auto out = ExportToMemory(c, hf_layout, vocab, DType::kF32);
  ASSERT_EQ(out->tensor_infos().size(), f->tensor_infos().size());
  for (const auto& info : f->tensor_infos()) {
    const gguf::TensorInfo* o = out->FindTensor(info.name);
    ASSERT_NE(o, nullptr) << info.name;
    EXPECT_EQ(o->ne, info.ne) << info.name;
    EXPECT_EQ(o->type, info.type) << info.name;
    const auto a = f->TensorData(info), b = out->TensorData(*o);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << info.name;
  }
  // GGUF input (already interleaved): no second permutation.
  const ModelConfig gc = hf::ConfigFromGguf(*f);
  auto again = ExportToMemory(gc, *hf::HfNamedTensors(f), vocab, DType::kF32);
  const auto a = f->TensorData(*f->FindTensor("blk.3.attn_q.weight"));
  const auto b = again->TensorData(*again->FindTensor("blk.3.attn_q.weight"));
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));

  // Tokenizer and hyper-parameter KVs carry the same values with llama.cpp's types.
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                          "tokenizer.ggml.model", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id", "llama.context_length", "llama.embedding_length",
                          "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
                          "llama.block_count", "llama.rope.dimension_count",
                          "llama.attention.layer_norm_rms_epsilon", "general.architecture"}) {
    ASSERT_NE(out->Find(key), nullptr) << key;
    EXPECT_TRUE(*out->Find(key) == f->Kv(key)) << key << ": " << out->Find(key)->Describe() << " vs "
                                                << f->Kv(key).Describe();
  }
  EXPECT_EQ(out->GetString("tokenizer.ggml.pre"), "default");
  EXPECT_EQ(out->FindF32("llama.rope.freq_base"), 10000.0f);
  EXPECT_EQ(out->GetU32("llama.vocab_size"), 512u);
  EXPECT_EQ(out->GetU32("general.file_type"), 0u);
  EXPECT_EQ(out->Find("general.quantization_version"), nullptr);  // nothing quantized
}

TEST(GgufExport, TensorOrderIsLlamaQuantizeOrder) {
  ModelConfig c = hf::ConfigFromGguf(*gguf::File::Open(Stories260K()));
  c.num_layers = 11;
  c.tie_word_embeddings = false;
  c.rope_interleaved = false;  // HF layout: q/k get permuted
  const auto plan = PlanGgufTensors(c, DType::kF16);
  ASSERT_EQ(plan.size(), 3u + 9u * 11u);
  EXPECT_EQ(plan[0].gguf_name, "output.weight");
  EXPECT_EQ(plan[1].gguf_name, "output_norm.weight");
  EXPECT_EQ(plan[2].gguf_name, "token_embd.weight");
  const std::vector<std::string> layer0 = {"attn_k", "attn_norm", "attn_output", "attn_q", "attn_v",
                                           "ffn_down", "ffn_gate", "ffn_norm", "ffn_up"};
  for (size_t i = 0; i < layer0.size(); ++i) EXPECT_EQ(plan[3 + i].gguf_name, fmt::format("blk.0.{}.weight", layer0[i]));
  EXPECT_EQ(plan[3 + 9 * 2].gguf_name, "blk.2.attn_k.weight");  // numeric, not "blk.10" after "blk.1"
  EXPECT_EQ(plan[3 + 9 * 10].gguf_name, "blk.10.attn_k.weight");
  EXPECT_EQ(plan[1].type, DType::kF32);  // norms stay F32
  EXPECT_EQ(plan[0].type, DType::kF16);
  EXPECT_EQ(plan[3 + 3].permute_heads, 8);   // attn_q: n_head
  EXPECT_EQ(plan[3 + 0].permute_heads, 4);   // attn_k: n_head_kv
  EXPECT_EQ(plan[3 + 4].permute_heads, 0);   // attn_v
}

TEST(GgufExport, TinyStoriesF16) {
  auto ck = hf::Checkpoint::Open(TinyStoriesDir());
  const ModelConfig& c = ck->config();
  tokenizer::Vocab vocab;
  vocab.model = "llama";
  for (int i = 0; i < 2048; ++i) {
    vocab.tokens.push_back(fmt::format("t{}", i));
    vocab.scores.push_back(-static_cast<float>(i));
  }
  vocab.bos_id = 1;
  vocab.add_bos = true;
  auto out = ExportToMemory(c, ck->tensors(), vocab, DType::kF16);
  EXPECT_EQ(out->FindTensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(out->Kv("llama.embedding_length").type(), gguf::ValueType::kUint32);
  EXPECT_EQ(out->Kv("llama.attention.layer_norm_rms_epsilon").type(), gguf::ValueType::kFloat32);
  EXPECT_EQ(out->Kv("tokenizer.ggml.add_bos_token").type(), gguf::ValueType::kBool);
  EXPECT_EQ(out->Kv("tokenizer.ggml.token_type").element_type(), gguf::ValueType::kInt32);
  EXPECT_EQ(out->Find("tokenizer.ggml.eos_token_id"), nullptr);  // not known → not written
  // F16 values are the round-to-nearest-even of the HF values; k rows are permuted (d = 16, 4 kv heads).
  const Tensor hf_k = ck->tensors().Get("model.layers.1.self_attn.k_proj.weight").ToF32();
  const Tensor gg_k = out->Get("blk.1.attn_k.weight");
  ASSERT_EQ(gg_k.dtype(), DType::kF16);
  const int64_t cols = 128, d = 16;
  for (int64_t r : {0, 1, 2, 15, 17, 63}) {
    const int64_t h = r / d, i = r % d, src = h * d + (i % 2) * (d / 2) + i / 2;
    for (int64_t k = 0; k < cols; k += 31) {
      EXPECT_EQ(gg_k.data<uint16_t>()[r * cols + k], F32ToF16(hf_k.data<float>()[src * cols + k])) << r << "," << k;
    }
  }
  EXPECT_EQ(out->Get("blk.0.attn_norm.weight").dtype(), DType::kF32);
}

TEST(GgufExport, VocabKeys) {
  tokenizer::Vocab v;
  v.model = "gpt2";
  v.tokens = {"a", "b", "ab"};
  v.merges = {"a b"};
  gguf::Writer w;
  try {
    AddVocabKvs(w, v, 3);
    ADD_FAILURE() << "an unknown pre-tokenizer must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pre-tokenizer is not recognized"), std::string::npos) << e.what();
  }
  v.pre = "llama-bpe";
  v.eos_id = 2;
  AddVocabKvs(w, v, 5);  // padded to the embedding rows
  const auto* tokens = w.Find("tokenizer.ggml.tokens")->AsStringArray();
  ASSERT_EQ(tokens->size(), 5u);
  EXPECT_EQ((*tokens)[4], "[PAD4]");
  EXPECT_EQ(w.Find("tokenizer.ggml.token_type")->AsArray<int32_t>()->at(4), tokenizer::kTokenUnused);
  EXPECT_EQ(w.Find("tokenizer.ggml.scores"), nullptr);  // BPE: no scores
  EXPECT_EQ(*w.Find("tokenizer.ggml.pre")->AsString(), "llama-bpe");
  EXPECT_EQ(*w.Find("tokenizer.ggml.eos_token_id")->As<uint32_t>(), 2u);
  gguf::Writer w2;
  v.merges.clear();
  EXPECT_THROW(AddVocabKvs(w2, v, 3), Error);
  v.merges = {"a b"};
  EXPECT_THROW(AddVocabKvs(w2, v, 2), Error);  // more tokens than embedding rows
}

TEST(GgufExport, Llama3RopeFactors) {
  ModelConfig c;
  c.model_type = "llama";
  c.head_dim = 128;
  c.rope_theta = 500000.0;
  c.rope_scaling.type = RopeScalingType::kLlama3;
  c.rope_scaling.factor = 8.0;
  const auto f = Llama3RopeFreqFactors(c);
  ASSERT_EQ(f.size(), 64u);
  EXPECT_EQ(f[0], 1.0f);   // short wavelengths unscaled
  EXPECT_EQ(f[63], 8.0f);  // long wavelengths divided by the factor
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
  // In the smooth band: wavelength between 8192/4 and 8192/1.
  int smooth = 0;
  for (float x : f) smooth += (x > 1.0f && x < 8.0f);
  EXPECT_GT(smooth, 0);
}

// Zero weights of every tensor a config expects (the rope round trip needs shapes, not values).
class ZeroSource final : public TensorSource {
 public:
  explicit ZeroSource(const ModelConfig& c) {
    for (const auto& e : hf::ExpectedTensors(c)) shapes_[e.name] = e.shape;
  }
  std::vector<std::string> Names() const override {
    std::vector<std::string> n;
    for (const auto& [k, v] : shapes_) n.push_back(k);
    return n;
  }
  bool Has(std::string_view n) const override { return shapes_.count(std::string(n)) != 0; }
  Tensor Get(std::string_view n) const override { return Tensor::Zeros(DType::kF32, shapes_.at(std::string(n))); }
  std::string Describe() const override { return "zeros"; }

 private:
  std::map<std::string, Shape> shapes_;
};

// Real Llama-3.x rope settings (head_dim, theta, llama3 factor/low/high/original context) at toy width: the
// GGUF keeps them only as rope_freqs.weight; ConfigFromGguf must rebuild a scaling with the same frequencies.
TEST(GgufExport, Llama3RopeScalingSurvivesGguf) {
  for (const char* shape : {"llama-3.2-1b", "llama-3.1-8b"}) {
    SCOPED_TRACE(shape);
    ModelConfig c = hf::SynthShapeConfig(shape);
    c.num_heads = 2;
    c.num_kv_heads = 1;
    c.hidden_size = 2 * c.head_dim;
    c.num_layers = 1;
    c.intermediate_size = 64;
    c.vocab_size = 8;
    tokenizer::Vocab vocab;
    vocab.model = "llama";
    for (int i = 0; i < 8; ++i) {
      vocab.tokens.push_back(fmt::format("t{}", i));
      vocab.scores.push_back(0.0f);
    }
    const auto out = ExportToMemory(c, ZeroSource(c), vocab, DType::kF32);
    ASSERT_NE(out->FindTensor(hf::kGgufRopeFreqs), nullptr);
    const ModelConfig back = hf::ConfigFromGguf(*out);
    EXPECT_EQ(back.rope_scaling.type, RopeScalingType::kLlama3);
    EXPECT_EQ(back.rope_scaling.factor, c.rope_scaling.factor);
    EXPECT_EQ(back.rope_scaling.low_freq_factor, c.rope_scaling.low_freq_factor);
    EXPECT_EQ(back.rope_scaling.high_freq_factor, c.rope_scaling.high_freq_factor);
    EXPECT_EQ(back.rope_scaling.original_max_position_embeddings, c.rope_scaling.original_max_position_embeddings);
    EXPECT_EQ(back.rope_theta, c.rope_theta);
    const auto want = kernels::RopeInvFreq(c.head_dim, c.rope_theta, c.rope_scaling);
    EXPECT_EQ(kernels::RopeInvFreq(back.head_dim, back.rope_theta, back.rope_scaling), want);
    // And what llama.cpp computes from the file: base frequency / rope_freqs[i], within float rounding.
    const Tensor freqs = out->Get(hf::kGgufRopeFreqs);
    for (int64_t i = 0; i < c.head_dim / 2; ++i) {
      const double base = std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(c.head_dim));
      EXPECT_NEAR(want[i], base / freqs.data<float>()[i], 1e-6 * want[i]) << i;  // float32 rounding of both
    }
  }
}

}  // namespace
}  // namespace qforge::exporter
