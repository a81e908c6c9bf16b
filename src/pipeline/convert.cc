#include "pipeline/convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "algorithms/kquant_mix.h"
#include "core/error.h"
#include "export/gguf_export.h"
#include "export/gguf_vocab.h"
#include "formats/compressed_tensors/quant_config.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/gguf/gguf_file.h"
#include "hf/checkpoint.h"
#include "hf/config.h"
#include "hf/gguf_model.h"
#include "io/mapped_file.h"
#include "pipeline/convert_calib.h"
#include "pipeline/convert_ct.h"
#include "pipeline/convert_imatrix.h"
#include "tokenizer/tokenizer.h"

namespace qforge::pipeline {

namespace {

namespace fs = std::filesystem;

// Everything the exporter needs, whatever the input format.
struct Input {
  std::string format;
  ModelConfig config;
  tokenizer::Vocab vocab;
  std::string name;
  std::shared_ptr<const gguf::File> gguf;           // GGUF input
  std::unique_ptr<hf::Checkpoint> checkpoint;       // HF input
  std::unique_ptr<TensorSource> owned;              // GGUF / compressed-tensors tensors (HF names)
  std::unique_ptr<TensorSource> overlay;            // compressed-tensors lossless blocks over `owned`
  const TensorSource* tensors = nullptr;
};

bool IsGgufFile(const std::string& path) {
  if (!fs::is_regular_file(path)) return false;
  auto f = io::MappedFile::Open(path);
  return f->size() >= 4 && std::memcmp(f->data(), "GGUF", 4) == 0;
}

std::string BaseName(const std::string& path) {
  fs::path p(path);
  if (!p.has_filename()) p = p.parent_path();
  return p.stem().string();
}

Input OpenInput(const std::string& path, ConvertReport& report) {
  Input in;
  in.name = BaseName(path);
  if (IsGgufFile(path)) {
    in.format = "gguf";
    in.gguf = gguf::File::Open(path);
    in.config = hf::ConfigFromGguf(*in.gguf);
    in.vocab = exporter::VocabFromGguf(*in.gguf);
    if (const auto n = in.gguf->FindString("general.name")) in.name = *n;
    in.owned = hf::HfNamedTensors(in.gguf);
    in.tensors = in.owned.get();
    int64_t quantized = 0;
    for (const auto& t : in.gguf->tensor_infos()) quantized += Traits(t.type).is_quantized;
    if (quantized) {
      report.notes.push_back(fmt::format(
          "warning: requantizing {}: {} of its tensors are already quantized; their quantization error adds to the "
          "new one (tensors already in the target type are copied unchanged)",
          path, quantized));
    }
    return in;
  }
  if (!fs::is_directory(path) || !fs::exists(fs::path(path) / "config.json")) {
    Fail("{}: not a model; expected a Hugging Face directory with config.json, a compressed-tensors directory or a "
         ".gguf file",
         path);
  }
  in.vocab = tokenizer::Tokenizer::FromHfDir(path)->ToVocab();
  if (compressed_tensors::ReadQuantizationConfig(path)) {
    in.format = "compressed-tensors";
    in.config = hf::ReadConfig(path);
    in.owned = hf::WithTiedAliases(compressed_tensors::OpenDequantized(path), in.config.tie_word_embeddings);
    LosslessCtResult lossless = ConvertCtLossless(path, in.config);
    for (auto& n : lossless.notes) report.notes.push_back(std::move(n));
    if (!lossless.tensors.empty()) {
      report.notes.push_back(fmt::format("{} quantized Linears converted losslessly to Q4_0/Q8_0 blocks (verified)",
                                         lossless.tensors.size()));
    }
    in.overlay = OverlaySource(*in.owned, std::move(lossless.tensors));
    in.tensors = in.overlay.get();
    return in;
  }
  in.format = "hf";
  in.checkpoint = hf::Checkpoint::Open(path);
  in.config = in.checkpoint->config();
  in.tensors = &in.checkpoint->tensors();
  return in;
}

std::optional<DType> PlainType(const std::string& t) {
  const auto d = DTypeFromName(t);
  if (d && (*d == DType::kF32 || *d == DType::kF16 || *d == DType::kBF16)) return d;
  return std::nullopt;
}

uint32_t PlainFileType(DType t) {
  switch (t) {
    case DType::kF32: return 0;
    case DType::kF16: return 1;
    default: return 32;  // MOSTLY_BF16
  }
}

algorithms::KquantModelFacts Facts(const ModelConfig& c) {
  algorithms::KquantModelFacts f;
  f.n_layers = static_cast<int>(c.num_layers);
  f.n_head = static_cast<int>(c.num_heads);
  f.n_head_kv = static_cast<int>(c.num_kv_heads);
  f.has_output = !c.tie_word_embeddings;
  return f;
}

}  // namespace

ConvertReport Convert(const ConvertOptions& o) {
  ConvertReport report;
  // Validate the cheap things before opening anything large.
  const std::optional<DType> plain = PlainType(o.type);
  const algorithms::KquantMixInfo* mix = nullptr;  // (a pointer: g++ 12 misreads an optional enum here)
  if (!plain) {
    if (const auto m = algorithms::KquantMixFromName(o.type)) mix = &algorithms::Info(*m);
  }
  if (!plain && !mix) {
    std::string names = "F32, F16, BF16";
    for (const auto& m : algorithms::AllKquantMixes()) names += fmt::format(", {}", m.name);
    Fail("--type {}: unknown output type; expected one of {}", o.type, names);
  }
  if (plain && (!o.imatrix.empty() || !o.calib.empty()))
    Fail("--imatrix and --calib only apply to quantized types, not {}", o.type);
  if (!o.imatrix.empty() && !o.calib.empty())
    Fail("--imatrix and --calib both given; pass one (an imatrix file, or calibration text to compute one)");
  if (!o.imatrix_out.empty() && o.calib.empty()) Fail("--imatrix-out needs --calib (it saves the collected imatrix)");
  if (plain && (o.pure || !o.output_tensor_type.empty() || !o.token_embedding_type.empty()))
    Fail("--pure, --output-tensor-type and --token-embedding-type only apply to quantization mixes, not {}", o.type);
  const auto override_type = [](const std::string& flag, const std::string& name) -> std::optional<DType> {
    if (name.empty()) return std::nullopt;
    const auto t = DTypeFromName(name);
    if (!t || !(Traits(*t).is_quantized || *t == DType::kF16 || *t == DType::kBF16 || *t == DType::kF32))
      Fail("{} {}: unknown tensor type; expected F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, "
           "Q5_K or Q6_K", flag, name);
    return t;
  };
  const std::optional<DType> output_type = override_type("--output-tensor-type", o.output_tensor_type);
  const std::optional<DType> embedding_type = override_type("--token-embedding-type", o.token_embedding_type);
  std::optional<Imatrix> imatrix;
  if (!o.imatrix.empty()) imatrix = ReadImatrix(o.imatrix);
  if (!o.calib.empty()) {
    calib::CalibDataOptions data;
    data.path = o.calib;
    data.num_samples = o.calib_samples;
    data.seq_len = o.calib_seq_len;
    data.seed = o.calib_seed;
    const ImatrixStats stats = CollectImatrix(o.input, data);
    if (!o.imatrix_out.empty()) WriteImatrixGguf(stats, o.imatrix_out);
    imatrix = ImatrixFromStats(stats, o.imatrix_out.empty() ? o.calib : o.imatrix_out);
    report.notes.push_back(fmt::format("importance matrix from {} samples ({} tokens each at most) of {}: {} Linears",
                                       stats.chunks, stats.chunk_size, o.calib, stats.entries.size()));
  }

  Input in = OpenInput(o.input, report);
  report.input_format = in.format;
  const ModelConfig& c = in.config;

  // Plan: converter layout and types, then the mix; compressed-tensors lossless blocks keep their type.
  std::vector<exporter::GgufTensorPlan> plan = exporter::PlanGgufTensors(c, plain.value_or(DType::kF32));
  if (in.gguf && in.gguf->FindTensor(hf::kGgufRopeFreqs)) {
    // Copied as stored (llama-quantize does), not recomputed from the llama3 scaling ConfigFromGguf rebuilt.
    const auto planned = std::find_if(plan.begin(), plan.end(),
                                      [](const auto& t) { return t.gguf_name == hf::kGgufRopeFreqs; });
    exporter::GgufTensorPlan p;
    p.gguf_name = p.hf_name = std::string(hf::kGgufRopeFreqs);
    p.shape = in.gguf->FindTensor(hf::kGgufRopeFreqs)->shape();
    if (planned != plan.end()) {
      *planned = std::move(p);
    } else {
      plan.push_back(std::move(p));
      exporter::SortLikeLlamaQuantize(plan);
    }
  }
  report.file_type = plain ? PlainFileType(*plain) : mix->file_type;
  if (mix) {
    const auto facts = Facts(c);
    algorithms::KquantOptions kopt;
    kopt.has_imatrix = imatrix.has_value();
    kopt.pure = o.pure;
    kopt.output_tensor_type = output_type;
    kopt.token_embedding_type = embedding_type;
    for (auto& t : plan) {
      if (!t.quantizable) continue;
      const DType src = in.tensors->Get(t.hf_name).dtype();
      if (in.format == "compressed-tensors" && Traits(src).is_quantized) {
        t.type = src;  // lossless block conversion
        continue;
      }
      const auto ref = algorithms::ParseGgufTensorName(t.gguf_name);
      const std::vector<int64_t> ne = gguf::NeFromShape(t.shape);
      const auto choice = algorithms::ChooseKquantType({ref.role, ref.layer, ne}, mix->mix, facts, kopt);
      if (choice.quantize) t.type = choice.type;
      report.fallbacks += choice.fallback;
    }
  }
  for (const auto& t : plan) {
    ++report.tensors;
    report.quantized += Traits(t.type).is_quantized;
    if (!t.hf_name.empty() && in.tensors->Get(t.hf_name).dtype() == t.type && Traits(t.type).is_quantized) {
      ++report.copied;
    }
  }

  exporter::GgufMetadata meta;
  meta.name = o.name.empty() ? in.name : o.name;
  meta.file_type = report.file_type;
  if (in.gguf) {
    // Like llama-quantize: keep every key of the input (chat template, general.*, tokenizer), then set the
    // quantization version and file type last, whatever the output type.
    meta.name = o.name;
    meta.copied.emplace();
    for (const auto& kv : in.gguf->kvs()) {
      if (imatrix && kv.key.rfind("quantize.imatrix.", 0) == 0) continue;  // replaced by the new imatrix's
      meta.copied->push_back(kv);
    }
    meta.extra.push_back({"general.quantization_version", gguf::Value::Scalar<uint32_t>(2)});
    meta.extra.push_back({"general.file_type", gguf::Value::Scalar<uint32_t>(report.file_type)});
  } else if (mix) {
    // llama-quantize sets these last (gguf_set_* moves a key to the end, FORMATS.md §5.7).
    meta.extra.push_back({"general.quantization_version", gguf::Value::Scalar<uint32_t>(2)});
    meta.extra.push_back({"general.file_type", gguf::Value::Scalar<uint32_t>(report.file_type)});
  }
  exporter::ImatrixLookup lookup;
  if (imatrix) {
    meta.extra.push_back({"quantize.imatrix.file", gguf::Value::String(imatrix->path)});
    if (!imatrix->dataset.empty()) {
      meta.extra.push_back({"quantize.imatrix.dataset", gguf::Value::String(imatrix->dataset)});
    }
    meta.extra.push_back({"quantize.imatrix.entries_count",
                          gguf::Value::Scalar<uint32_t>(static_cast<uint32_t>(imatrix->weights.size()))});
    meta.extra.push_back(
        {"quantize.imatrix.chunks_count", gguf::Value::Scalar<uint32_t>(static_cast<uint32_t>(imatrix->chunks))});
    for (const auto& t : plan) {
      if (Traits(t.type).is_quantized && imatrix->weights.count(t.gguf_name)) ++report.imatrix_used;
    }
    lookup = [&imatrix](const std::string& name) -> const std::vector<float>* {
      const auto it = imatrix->weights.find(name);
      return it == imatrix->weights.end() ? nullptr : &it->second;
    };
  }
  if (report.fallbacks) {
    report.notes.push_back(fmt::format("{} of {} tensor(s) required fallback quantization", report.fallbacks,
                                       report.tensors));
  }

  if (const auto missing = exporter::BytesWithoutLlamaCppToken(in.vocab); !missing.empty()) {
    report.notes.push_back(fmt::format(
        "warning: the tokenizer has no token for {} of the 256 bytes (0x{:02X} to 0x{:02X} among them): llama.cpp "
        "spells text outside the vocabulary as byte tokens and aborts (std::out_of_range) on such text, e.g. a character "
        "like 'é'; qforge and Hugging Face map it to <unk>. The file is written; only feed llama.cpp text the "
        "vocabulary covers",
        missing.size(), missing.front(), missing.back()));
  }
  const gguf::Writer w = exporter::BuildGgufWriter(c, in.vocab, plan, meta);
  report.bytes = w.FileSize();
  exporter::WriteGgufWithProgress(o.output, w, exporter::MakeGgufTensorProducer(*in.tensors, c, plan, lookup));
  return report;
}

}  // namespace qforge::pipeline
