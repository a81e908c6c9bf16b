#include "hf/checkpoint.h"

#include "core/error.h"
#include "formats/compressed_tensors/quant_config.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/safetensors/checkpoint.h"
#include "hf/config.h"
#include "hf/tensor_names.h"

namespace qforge::hf {
namespace {

class TiedSource final : public TensorSource {
 public:
  explicit TiedSource(std::unique_ptr<TensorSource> base)
      : base_(std::move(base)),
        embed_(HfTensorName(Role::kEmbedding)),
        head_(HfTensorName(Role::kLmHead)) {}

  std::vector<std::string> Names() const override { return base_->Names(); }
  bool Has(std::string_view name) const override { return base_->Has(Resolve(name)); }
  Tensor Get(std::string_view name) const override { return base_->Get(Resolve(name)); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  // The name to look up: the requested one if stored, else its tied twin.
  std::string_view Resolve(std::string_view name) const {
    if (base_->Has(name)) return name;
    if (name == embed_) return head_;
    if (name == head_) return embed_;
    return name;
  }
  std::unique_ptr<TensorSource> base_;
  std::string embed_, head_;
};

}  // namespace

std::unique_ptr<TensorSource> WithTiedAliases(std::unique_ptr<TensorSource> base, bool tied) {
  if (!tied) return base;
  return std::make_unique<TiedSource>(std::move(base));
}

void CheckTensorsMatchConfig(const ModelConfig& c, const TensorSource& source) {
  const std::string where = source.Describe();
  for (const ExpectedTensor& e : ExpectedTensors(c)) {
    if (!source.Has(e.name)) {
      if (e.role == Role::kEmbedding && c.tie_word_embeddings)
        Fail("{}: neither '{}' nor the tied '{}' is stored; the config ties word embeddings", where, e.name,
             HfTensorName(Role::kLmHead));
      Fail("{}: tensor '{}' is missing; config.json ({} layers, model_type {}) requires it", where, e.name,
           c.num_layers, c.model_type);
    }
    const Tensor t = source.Get(e.name);
    if (t.shape() != e.shape)
      Fail("{}: tensor '{}' has shape {}; config.json implies {}", where, e.name, ShapeToString(t.shape()),
           ShapeToString(e.shape));
    if (!Traits(t.dtype()).is_float)
      Fail("{}: tensor '{}' has dtype {}; expected a float type (F32, F16, BF16)", where, e.name, Name(t.dtype()));
  }
  if (!c.tie_word_embeddings && !source.Has(HfTensorName(Role::kLmHead)))
    Fail("{}: tensor 'lm_head.weight' is missing and the config does not tie word embeddings", where);
  for (const std::string& name : source.Names()) {
    const auto tn = ParseTensorName(name);
    if (tn && tn->layer >= c.num_layers)
      Fail("{}: tensor '{}' belongs to layer {}, but config.json has num_hidden_layers = {}", where, name, tn->layer,
           c.num_layers);
  }
}

std::unique_ptr<Checkpoint> Checkpoint::Open(const std::string& dir) {
  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  ck->dir_ = dir;
  ck->config_ = ReadConfig(dir);
  std::unique_ptr<TensorSource> raw = safetensors::OpenCheckpoint(dir);
  // compressed-tensors directories: quantized Linears are dequantized on access (formats/compressed_tensors).
  if (auto q = compressed_tensors::ReadQuantizationConfig(dir))
    raw = compressed_tensors::DequantizingSource(std::move(raw), std::move(*q));
  ck->tensors_ = WithTiedAliases(std::move(raw), ck->config_.tie_word_embeddings);
  CheckTensorsMatchConfig(ck->config_, *ck->tensors_);
  return ck;
}

}  // namespace qforge::hf
