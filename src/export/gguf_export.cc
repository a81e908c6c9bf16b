#include "export/gguf_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "codecs/ggml/ggml_codecs.h"
#include "core/error.h"
#include "core/half.h"
#include "core/progress.h"
#include "export/gguf_vocab.h"
#include "hf/gguf_model.h"
#include "hf/tensor_names.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"

namespace qforge::exporter {

namespace {
constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
// Rows are converted in chunks of about this many elements, so a 128k-token embedding never needs a full
// f32 copy in memory.
constexpr int64_t kChunkElements = int64_t{1} << 22;
}  // namespace

void SortLikeLlamaQuantize(std::vector<GgufTensorPlan>& plan) {
  std::stable_sort(plan.begin(), plan.end(), [](const GgufTensorPlan& a, const GgufTensorPlan& b) {
    if (a.layer != b.layer) return a.layer < b.layer;
    return a.gguf_name < b.gguf_name;  // byte-wise, like std::string::compare
  });
}

std::vector<GgufTensorPlan> PlanGgufTensors(const ModelConfig& c, DType weight_type) {
  QF_CHECK(weight_type == DType::kF32 || weight_type == DType::kF16 || weight_type == DType::kBF16);
  const bool llama = hf::GgufArchitecture(c) == "llama";
  std::vector<GgufTensorPlan> plan;
  for (const hf::ExpectedTensor& e : hf::ExpectedTensors(c)) {  // lm_head included unless tied
    GgufTensorPlan p;
    p.gguf_name = hf::GgufTensorName(e.role, e.layer);
    p.hf_name = e.name;
    p.layer = e.layer;
    p.shape = e.shape;
    p.quantizable = e.shape.size() >= 2;
    p.type = p.quantizable ? weight_type : DType::kF32;
    if (llama && !c.rope_interleaved) {
      if (e.role == hf::Role::kQ || e.role == hf::Role::kQBias) p.permute_heads = c.num_heads;
      if (e.role == hf::Role::kK || e.role == hf::Role::kKBias) p.permute_heads = c.num_kv_heads;
    }
    plan.push_back(std::move(p));
  }
  if (c.rope_scaling.type == RopeScalingType::kLlama3) {
    if (!llama) Fail("llama3 rope scaling is only supported for llama models, not {}", c.model_type);
    GgufTensorPlan p;
    p.gguf_name = std::string(hf::kGgufRopeFreqs);
    p.shape = {c.head_dim / 2};
    plan.push_back(std::move(p));
  }
  SortLikeLlamaQuantize(plan);
  return plan;
}

std::vector<float> Llama3RopeFreqFactors(const ModelConfig& c) {
  // LC: conversion/llama.py generate_extra_tensors, in float32 like the converter's torch code.
  const RopeScaling& s = c.rope_scaling;
  const auto factor = static_cast<float>(s.factor);
  const auto lf = static_cast<float>(s.low_freq_factor);
  const auto hf = static_cast<float>(s.high_freq_factor);
  const auto old_ctx = static_cast<float>(s.original_max_position_embeddings);
  const float low_freq_wavelen = old_ctx / lf;
  const float high_freq_wavelen = old_ctx / hf;
  const int64_t d = c.head_dim;
  std::vector<float> out;
  for (int64_t i = 0; i < d; i += 2) {
    const float freq = 1.0f / std::pow(static_cast<float>(c.rope_theta), static_cast<float>(i) / static_cast<float>(d));
    const float wavelen = 2.0f * static_cast<float>(M_PI) / freq;
    if (wavelen < high_freq_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_freq_wavelen) {
      out.push_back(factor);
    } else {
      const float smooth = (old_ctx / wavelen - lf) / (hf - lf);
      out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return out;
}

namespace {

void AddTensorInfos(gguf::Writer& w, const std::vector<GgufTensorPlan>& plan) {
  for (const auto& t : plan) {
    if (t.shape.empty() || t.shape.back() % Traits(t.type).block_size != 0) {
      Fail("tensor '{}' of shape {} cannot be stored as {}: its rows of {} are not a multiple of the block size {}",
           t.gguf_name, ShapeToString(t.shape), Name(t.type), t.shape.empty() ? 0 : t.shape.back(),
           Traits(t.type).block_size);
    }
    w.AddTensor(t.gguf_name, t.type, gguf::NeFromShape(t.shape));
  }
}

}  // namespace

gguf::Writer BuildGgufWriter(const ModelConfig& c, const tokenizer::Vocab& vocab,
                             const std::vector<GgufTensorPlan>& plan, const GgufMetadata& meta) {
  const std::string arch = hf::GgufArchitecture(c);
  const std::string p = arch + ".";
  auto u32 = [&](int64_t v, const char* what) {
    if (v <= 0 || v > UINT32_MAX) Fail("{} is {}; expected 1..{} for GGUF", what, v, UINT32_MAX);
    return gguf::Value::Scalar<uint32_t>(static_cast<uint32_t>(v));
  };
  auto f32 = [](double v) { return gguf::Value::Scalar<float>(static_cast<float>(v)); };
  bool quantized = false;
  for (const auto& t : plan) quantized |= Traits(t.type).is_quantized;

  gguf::Writer w;
  if (meta.copied) {
    for (const auto& kv : *meta.copied) {
      if (kv.key.rfind("split.", 0) == 0) continue;  // llama-quantize drops split.no/count/tensors.count
      if (kv.key == "general.name" && !meta.name.empty()) {
        w.Add(kv.key, gguf::Value::String(meta.name));
      } else {
        w.Add(kv.key, kv.value);
      }
    }
    if (!meta.name.empty() && !w.Find("general.name")) w.Add("general.name", gguf::Value::String(meta.name));
    for (const auto& kv : meta.extra) w.Set(kv.key, kv.value);
    AddTensorInfos(w, plan);
    return w;
  }
  w.Add("general.architecture", gguf::Value::String(arch));
  w.Add("general.type", gguf::Value::String("model"));
  if (!meta.name.empty()) w.Add("general.name", gguf::Value::String(meta.name));
  w.Add(p + "block_count", u32(c.num_layers, "num_hidden_layers"));
  w.Add(p + "context_length", u32(c.max_position_embeddings, "max_position_embeddings"));
  w.Add(p + "embedding_length", u32(c.hidden_size, "hidden_size"));
  w.Add(p + "feed_forward_length", u32(c.intermediate_size, "intermediate_size"));
  w.Add(p + "attention.head_count", u32(c.num_heads, "num_attention_heads"));
  w.Add(p + "attention.head_count_kv", u32(c.num_kv_heads, "num_key_value_heads"));
  if (c.rope_scaling.type == RopeScalingType::kLinear) {
    w.Add(p + "rope.scaling.type", gguf::Value::String("linear"));
    w.Add(p + "rope.scaling.factor", f32(c.rope_scaling.factor));
  }
  w.Add(p + "rope.freq_base", f32(c.rope_theta));
  w.Add(p + "attention.layer_norm_rms_epsilon", f32(c.rms_norm_eps));
  if (c.head_dim * c.num_heads != c.hidden_size || arch == "qwen3") {
    w.Add(p + "attention.key_length", u32(c.head_dim, "head_dim"));
    w.Add(p + "attention.value_length", u32(c.head_dim, "head_dim"));
  }
  w.Add("general.file_type", gguf::Value::Scalar<uint32_t>(meta.file_type));
  w.Add(p + "vocab_size", u32(c.vocab_size, "vocab_size"));
  w.Add(p + "rope.dimension_count", u32(c.head_dim, "head_dim"));
  if (quantized) w.Add("general.quantization_version", gguf::Value::Scalar<uint32_t>(kQuantizationVersion));
  AddVocabKvs(w, vocab, c.vocab_size);
  for (const auto& kv : meta.extra) w.Set(kv.key, kv.value);
  AddTensorInfos(w, plan);
  return w;
}

namespace {

// Row r of the GGUF tensor comes from row SourceRow(r) of the HF tensor (§5.6), heads of d rows.
int64_t SourceRow(int64_t r, int64_t d) {
  const int64_t h = r / d, i = r % d;
  return h * d + (i % 2) * (d / 2) + i / 2;
}

void WriteTensor(const TensorSource& source, const GgufTensorPlan& t, const ModelConfig& c,
                 const ImatrixLookup& imatrix, io::ByteSink& sink) {
  const int64_t ne0 = t.shape.back();
  const int64_t numel = NumElements(t.shape);
  const int64_t nrows = ne0 ? numel / ne0 : 0;
  const size_t out_row_bytes = codecs::RowBytes(t.type, ne0);

  if (t.hf_name.empty()) {  // computed: rope_freqs
    QF_CHECK(t.gguf_name == hf::kGgufRopeFreqs && t.type == DType::kF32);
    const auto f = Llama3RopeFreqFactors(c);
    QF_CHECK(static_cast<int64_t>(f.size()) == numel);
    sink.Write(f.data(), f.size() * sizeof(float));
    return;
  }
  const Tensor src = source.Get(t.hf_name);
  if (src.shape() != t.shape) {
    Fail("{}: tensor '{}' has shape {}; expected {}", source.Describe(), t.hf_name, ShapeToString(src.shape()),
         ShapeToString(t.shape));
  }
  if (!src.contiguous()) Fail("{}: tensor '{}' is not contiguous", source.Describe(), t.hf_name);
  const int64_t d = t.permute_heads > 0 ? nrows / t.permute_heads : 1;
  if (t.permute_heads > 0 && (nrows % t.permute_heads != 0 || d % 2 != 0)) {
    Fail("tensor '{}' has {} rows, which do not split into {} heads of an even size", t.hf_name, nrows,
         t.permute_heads);
  }
  auto src_row = [&](int64_t r) { return t.permute_heads > 0 ? SourceRow(r, d) : r; };

  // The source is read once, front to back: when it is a memory-mapped file, its pages are dropped from this
  // process's resident set afterwards, so converting a model peaks at about one tensor's worth of input, not
  // the whole checkpoint (the mapping stays valid; a tied embedding read again faults back in).
  struct ReleaseWhenDone {
    const Tensor& t;
    ~ReleaseWhenDone() { io::ReleaseMappedPages(t.bytes(), t.nbytes()); }
  } release{src};
  const DType st = src.dtype();
  const size_t in_row_bytes = codecs::RowBytes(st, ne0);
  if (st == t.type) {  // same encoding: move bytes, never re-encode
    for (int64_t r = 0; r < nrows; ++r) sink.Write(src.bytes() + src_row(r) * in_row_bytes, out_row_bytes);
    return;
  }
  if (!Traits(st).is_float && !codecs::HasGgmlCodec(st)) {
    Fail("{}: tensor '{}' has dtype {}, which cannot be converted to {}", source.Describe(), t.hf_name, Name(st),
         Name(t.type));
  }
  const std::vector<float>* im = imatrix ? imatrix(t.gguf_name) : nullptr;
  if (im && static_cast<int64_t>(im->size()) != ne0) {
    Fail("the importance matrix for '{}' has {} values; expected {} (one per input column)", t.gguf_name, im->size(),
         ne0);
  }
  int64_t chunk = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(ne0, 1));
  chunk = std::max(d, chunk / d * d);  // whole heads per chunk
  chunk = std::min(chunk, std::max<int64_t>(nrows, 1));  // small tensors: no 16 MiB buffers to zero
  std::vector<float> f32(static_cast<size_t>(chunk * ne0));
  std::vector<uint8_t> out(static_cast<size_t>(chunk) * out_row_bytes);
  for (int64_t r0 = 0; r0 < nrows; r0 += chunk) {
    const int64_t n = std::min(chunk, nrows - r0);
    for (int64_t r = 0; r < n; ++r) {
      const std::byte* in = src.bytes() + src_row(r0 + r) * in_row_bytes;
      float* dst = f32.data() + r * ne0;
      switch (st) {
        case DType::kF32: std::memcpy(dst, in, static_cast<size_t>(ne0) * 4); break;
        case DType::kF16: F16ToF32(reinterpret_cast<const uint16_t*>(in), dst, static_cast<size_t>(ne0)); break;
        case DType::kBF16: Bf16ToF32(reinterpret_cast<const uint16_t*>(in), dst, static_cast<size_t>(ne0)); break;
        default: codecs::DequantizeRow(st, in, dst, ne0); break;
      }
    }
    const size_t bytes = codecs::QuantizeRows(t.type, f32.data(), out.data(), n, ne0, im ? im->data() : nullptr);
    sink.Write(out.data(), bytes);
  }
}

}  // namespace

gguf::TensorProducer MakeGgufTensorProducer(const TensorSource& source, const ModelConfig& c,
                                            const std::vector<GgufTensorPlan>& plan, ImatrixLookup imatrix) {
  return [&source, &c, &plan, imatrix = std::move(imatrix)](size_t i, const gguf::TensorInfo& info,
                                                             io::ByteSink& sink) {
    QF_CHECK(i < plan.size() && plan[i].gguf_name == info.name);
    WriteTensor(source, plan[i], c, imatrix, sink);
  };
}

void WriteGgufWithProgress(const std::string& path, const gguf::Writer& writer, const gguf::TensorProducer& produce) {
  Progress progress("writing " + path, writer.tensors().size(), "tensors");
  io::AtomicFile out(path);
  writer.Write(out, [&](size_t i, const gguf::TensorInfo& info, io::ByteSink& sink) {
    produce(i, info, sink);
    progress.Add(1);
  });
  out.Commit();
  progress.Finish();
}

void ExportGguf(const std::string& path, const ModelConfig& c, const TensorSource& source,
                const tokenizer::Vocab& vocab, const std::vector<GgufTensorPlan>& plan, const GgufMetadata& meta,
                const ImatrixLookup& imatrix) {
  const gguf::Writer w = BuildGgufWriter(c, vocab, plan, meta);
  WriteGgufWithProgress(path, w, MakeGgufTensorProducer(source, c, plan, imatrix));
}

}  // namespace qforge::exporter
