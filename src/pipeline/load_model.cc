#include "pipeline/load_model.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "export/gguf_vocab.h"
#include "formats/gguf/gguf_file.h"
#include "hf/checkpoint.h"
#include "io/mapped_file.h"
#include "hf/gguf_model.h"
#include "pipeline/native_weights.h"
#include "pipeline/load_w8a8.h"

namespace qforge::pipeline {
namespace {

bool HasGgufMagic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

// A checkpoint that owns the hf::Checkpoint its tensors come from.
class CheckpointSource final : public TensorSource {
 public:
  explicit CheckpointSource(std::unique_ptr<hf::Checkpoint> ckpt) : ckpt_(std::move(ckpt)) {}
  std::vector<std::string> Names() const override { return ckpt_->tensors().Names(); }
  bool Has(std::string_view name) const override { return ckpt_->tensors().Has(name); }
  Tensor Get(std::string_view name) const override { return ckpt_->tensors().Get(name); }
  std::string Describe() const override { return ckpt_->tensors().Describe(); }

 private:
  std::unique_ptr<hf::Checkpoint> ckpt_;
};

}  // namespace

LoadedModel LoadModel(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  LoadedModel m;
  m.path = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "config.json")) {
      Fail("{}: not a model directory (no config.json); expected a Hugging Face model directory or a .gguf file",
           path);
    }
    auto ckpt = hf::Checkpoint::Open(path);
    m.format = "hf";
    m.config = ckpt->config();
    m.tensors = std::make_unique<CheckpointSource>(std::move(ckpt));
    m.tokenizer = tokenizer::Tokenizer::FromHfDir(path);
  } else if (fs::is_regular_file(path, ec)) {
    if (!HasGgufMagic(path)) Fail("{}: not a GGUF file (no GGUF magic) and not a model directory", path);
    auto file = gguf::File::Open(path);
    m.format = "gguf";
    m.config = hf::ConfigFromGguf(*file);
    m.tokenizer = tokenizer::Tokenizer::FromVocab(exporter::VocabFromGguf(*file));
    m.tensors = hf::HfNamedTensors(file);
  } else {
    Fail("{}: no such file or directory", path);
  }
  // compressed-tensors: quantized Linears are built in their native form straight from the packed tensors
  // (never inflated); the rest comes dequantized from the reader.
  NativeWeightsReport ct_report;
  model::LinearProvider provider;
  if (m.format == "hf" && options.native_weights) provider = CompressedTensorsLinearProvider(path, &ct_report);
  m.model = std::make_unique<model::Model>(m.config, *m.tensors, provider);
  if (provider) {
    m.native_summary = NativeSummary(ct_report);
    // The packed tensors were copied into the native Linears: drop their mapped pages from the resident set
    // (pages still in use, e.g. a BF16 embedding, come back from the page cache on access).
    io::ReleaseAllMappedPages();
  } else {
    // W8A8 compressed-tensors on the dense path: int8 per-token activations all the same, as vLLM runs it.
    if (m.format == "hf") ApplyW8A8Linears(*m.model, path);
    if (options.native_weights) m.native_summary = UseNativeQuantizedWeights(m).summary;
  }
  return m;
}

}  // namespace qforge::pipeline
