#include "model/model.h"

#include <fmt/format.h>

#include <cstring>

#include "codecs/ggml/dot/act_quant.h"
#include "codecs/ggml/ggml_codecs.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/rope.h"
#include "kernels/simd.h"
#include "model/decoder_layer.h"
#include "model/quantized_linear.h"

namespace qforge::model {
namespace {

// Sanity limits on hyper-parameters from a hostile config: far above any real model.
constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxVocab = int64_t{1} << 24;

void ValidateConfig(const ModelConfig& c, const std::string& where) {
  auto in_range = [&](const char* what, int64_t v, int64_t hi) {
    if (v <= 0 || v > hi) Fail("{}: {} = {} is out of range (expected 1..{})", where, what, v, hi);
  };
  in_range("hidden_size", c.hidden_size, kMaxDim);
  in_range("num_layers", c.num_layers, kMaxLayers);
  in_range("num_heads", c.num_heads, kMaxDim);
  in_range("num_kv_heads", c.num_kv_heads, kMaxDim);
  in_range("head_dim", c.head_dim, kMaxDim);
  in_range("intermediate_size", c.intermediate_size, kMaxDim);
  in_range("vocab_size", c.vocab_size, kMaxVocab);
  if (c.num_heads % c.num_kv_heads != 0) {
    Fail("{}: num_heads {} is not a multiple of num_kv_heads {}", where, c.num_heads, c.num_kv_heads);
  }
  if (c.head_dim % 2 != 0) Fail("{}: head_dim {} must be even for RoPE", where, c.head_dim);
  if (c.rms_norm_eps < 0 || !(c.rope_theta > 0)) Fail("{}: bad rms_norm_eps or rope_theta", where);
}

Tensor Require(const TensorSource& src, const std::string& name, const Shape& shape) {
  if (!src.Has(name)) Fail("{}: missing tensor {}", src.Describe(), name);
  Tensor t = src.Get(name);
  if (t.shape() != shape) {
    Fail("{}: tensor {} has shape {}, expected {}", src.Describe(), name, ShapeToString(t.shape()),
         ShapeToString(shape));
  }
  return t;
}

std::vector<float> Vector(const TensorSource& src, const std::string& name, int64_t n) {
  const Tensor t = ToF32Tensor(Require(src, name, {n}), name);
  const float* p = t.data<float>();
  return std::vector<float>(p, p + n);
}

// Float weights are used in place; GGUF block weights stay quantized and run the integer dot products
// (model/quantized_linear.h) where one exists for their type, else they are dequantized to F32.
std::unique_ptr<LinearWeight> WeightLinear(const Tensor& t, const std::string& name) {
  if (Traits(t.dtype()).is_quantized && t.contiguous() && codecs::ggml::HasActFormat(t.dtype())) {
    return MakeGgufLinear(t, name);
  }
  return MakeDenseLinear(t, name);
}

std::unique_ptr<LinearWeight> Linear(const TensorSource& src, const std::string& name, int64_t out, int64_t in,
                                     const LinearProvider& provider) {
  if (provider) {
    if (auto w = provider(name, out, in)) {
      if (w->out_features() != out || w->in_features() != in) {
        Fail("{}: {} is [{}, {}], expected [{}, {}]", src.Describe(), name, w->out_features(), w->in_features(), out, in);
      }
      return w;
    }
  }
  return WeightLinear(Require(src, name, {out, in}), name);
}

}  // namespace

Model::Model(ModelConfig config, const TensorSource& src, const LinearProvider& provider) : config_(std::move(config)) {
  const ModelConfig& c = config_;
  ValidateConfig(c, src.Describe());
  const int64_t hs = c.hidden_size, qd = c.q_dim(), kvd = c.kv_dim(), is = c.intermediate_size;
  const std::string embed_name = "model.embed_tokens.weight";
  embed_ = Require(src, embed_name, {c.vocab_size, hs});
  if (!embed_.contiguous()) Fail("{}: {} is not contiguous", src.Describe(), embed_name);
  // Float tables are read in place; GGUF block tables stay quantized and one row is decoded per token.
  const bool block_table = Traits(embed_.dtype()).is_quantized && codecs::HasGgmlCodec(embed_.dtype());
  if (!block_table && (!Traits(embed_.dtype()).is_float || embed_.dtype() == DType::kF64 ||
                       reinterpret_cast<uintptr_t>(embed_.bytes()) % Traits(embed_.dtype()).type_size != 0)) {
    embed_ = ToF32Tensor(embed_, embed_name);
  }
  final_norm_ = Vector(src, "model.norm.weight", hs);
  if (src.Has("lm_head.weight")) {
    lm_head_ = Linear(src, "lm_head.weight", c.vocab_size, hs, provider);
  } else if (c.tie_word_embeddings) {
    lm_head_ = WeightLinear(embed_, embed_name);
  } else {
    Fail("{}: missing tensor lm_head.weight (and tie_word_embeddings is false)", src.Describe());
  }
  layers_.resize(static_cast<size_t>(c.num_layers));
  for (int l = 0; l < c.num_layers; ++l) {
    LayerWeights& w = layers_[static_cast<size_t>(l)];
    const std::string p = fmt::format("model.layers.{}.", l);
    w.attn_norm = Vector(src, p + "input_layernorm.weight", hs);
    w.mlp_norm = Vector(src, p + "post_attention_layernorm.weight", hs);
    const int64_t out_dims[kNumLinearKinds] = {qd, kvd, kvd, hs, is, is, hs};
    const int64_t in_dims[kNumLinearKinds] = {hs, hs, hs, qd, hs, hs, is};
    for (int k = 0; k < kNumLinearKinds; ++k) {
      const std::string name = p + std::string(LinearModuleName(static_cast<LinearKind>(k))) + ".weight";
      w.linear[static_cast<size_t>(k)] = Linear(src, name, out_dims[k], in_dims[k], provider);
    }
    if (c.attention_bias) {
      w.q_bias = Vector(src, p + "self_attn.q_proj.bias", qd);
      w.k_bias = Vector(src, p + "self_attn.k_proj.bias", kvd);
      w.v_bias = Vector(src, p + "self_attn.v_proj.bias", kvd);
    }
    if (c.qk_norm) {
      w.q_norm = Vector(src, p + "self_attn.q_norm.weight", c.head_dim);
      w.k_norm = Vector(src, p + "self_attn.k_norm.weight", c.head_dim);
    }
  }
  rope_inv_freq_ = kernels::RopeInvFreq(c.head_dim, c.rope_theta, c.rope_scaling);
}

void Model::Embed(std::span<const int32_t> tokens, float* hidden) const {
  const int64_t hs = config_.hidden_size;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const int32_t id = tokens[t];
    if (id < 0 || id >= config_.vocab_size) {
      Fail("token id {} at position {} is outside the vocabulary [0, {})", id, t, config_.vocab_size);
    }
    float* dst = hidden + static_cast<int64_t>(t) * hs;
    const size_t off = static_cast<size_t>(id) * static_cast<size_t>(hs);
    switch (embed_.dtype()) {
      case DType::kF32: std::memcpy(dst, embed_.data<float>() + off, static_cast<size_t>(hs) * 4); break;
      case DType::kBF16: kernels::Bf16ToF32Row(embed_.data<uint16_t>() + off, dst, hs); break;
      case DType::kF16: kernels::F16ToF32Row(embed_.data<uint16_t>() + off, dst, hs); break;
      default:
        codecs::DequantizeRow(embed_.dtype(), embed_.bytes() + static_cast<size_t>(id) * codecs::RowBytes(embed_.dtype(), hs),
                              dst, hs);
    }
  }
}

void Model::RunLayerCached(int layer, float* hidden, int64_t n_tokens, int64_t pos0, float* k_cache, float* v_cache,
                           LinearObserver* observer) const {
  QF_CHECK(layer >= 0 && layer < num_layers() && n_tokens >= 0 && pos0 >= 0);
  const LayerContext ctx{&config_, &rope_inv_freq_, layer, observer};
  DecoderLayerForward(ctx, layers_[static_cast<size_t>(layer)], hidden, n_tokens, pos0, k_cache, v_cache);
}

void Model::RunLayer(int layer, const float* in, float* out, int64_t n_tokens, LinearObserver* observer) const {
  if (out != in) std::memcpy(out, in, static_cast<size_t>(n_tokens * config_.hidden_size) * sizeof(float));
  std::vector<float> k(static_cast<size_t>(n_tokens * config_.kv_dim()));
  std::vector<float> v(k.size());
  RunLayerCached(layer, out, n_tokens, 0, k.data(), v.data(), observer);
}

void Model::Head(const float* hidden, int64_t n_tokens, float* logits) const {
  const int64_t hs = config_.hidden_size;
  std::vector<float> x(static_cast<size_t>(n_tokens * hs));
  for (int64_t t = 0; t < n_tokens; ++t) {
    kernels::RmsNormRow(hidden + t * hs, final_norm_.data(), hs, static_cast<float>(config_.rms_norm_eps),
                        x.data() + t * hs);
  }
  lm_head_->Apply(x.data(), n_tokens, logits);
}

void Model::Forward(std::span<const int32_t> tokens, float* logits) const {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return;
  std::vector<float> h(static_cast<size_t>(n * config_.hidden_size));
  Embed(tokens, h.data());
  for (int l = 0; l < num_layers(); ++l) RunLayer(l, h.data(), h.data(), n);
  Head(h.data(), n, logits);
}

void Model::SetLinear(int layer, LinearKind kind, std::unique_ptr<LinearWeight> w) {
  auto& slot = layers_.at(static_cast<size_t>(layer)).linear[static_cast<size_t>(kind)];
  QF_CHECK(w && w->out_features() == slot->out_features() && w->in_features() == slot->in_features());
  slot = std::move(w);
}

void Model::SetLmHead(std::unique_ptr<LinearWeight> w) {
  QF_CHECK(w && w->out_features() == lm_head_->out_features() && w->in_features() == lm_head_->in_features());
  lm_head_ = std::move(w);
}

void Model::ConvertLinearWeights(DType to) {
  for (auto& layer : layers_) {
    for (auto& w : layer.linear) {
      if (w->dtype() != to) w = ConvertLinear(*w, to);
    }
  }
  if (lm_head_->dtype() != to) lm_head_ = ConvertLinear(*lm_head_, to);
}

}  // namespace qforge::model
