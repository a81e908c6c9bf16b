#include "export/compressed_tensors_export.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "codecs/int/pack_int32.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/compressed_tensors/layout.h"
#include "formats/safetensors/writer.h"
#include "io/atomic_file.h"
#include "io/json_util.h"

namespace qforge::exporter {
namespace ct = compressed_tensors;
namespace fs = std::filesystem;

namespace {

// Files of an HF directory that travel unchanged (tokenizer and generation settings).
bool IsCopiedFile(const std::string& name) {
  static const char* kExact[] = {"generation_config.json", "special_tokens_map.json", "added_tokens.json",
                                 "merges.txt", "vocab.json", "vocab.txt", "chat_template.jinja",
                                 "chat_template.json", "preprocessor_config.json"};
  for (const char* e : kExact)
    if (name == e) return true;
  return name.starts_with("tokenizer") && (name.ends_with(".json") || name.ends_with(".model"));
}

// Scales as bytes of the model dtype (they are exact values of it).
void WriteScales(const std::vector<float>& s, DType dt, io::ByteSink& sink) {
  if (dt == DType::kF32) return sink.Write(s.data(), s.size() * 4);
  std::vector<uint16_t> h(s.size());
  if (dt == DType::kBF16) F32ToBf16(s.data(), h.data(), s.size());
  else F32ToF16(s.data(), h.data(), s.size());
  sink.Write(h.data(), h.size() * 2);
}

struct PartRef {
  const LinearJob* job;
  std::string weight_name;
  ct::Part part;
};

// What a Linear keeps between its parts: parameters (small), never the codes.
struct Pending {
  std::optional<codecs::QParams> params;
  int parts_left = 0;
};

}  // namespace

codecs::IntQuantSpec IntSpecFor(const recipe::QuantArgs& w) {
  codecs::IntQuantSpec s;
  s.bits = w.num_bits;
  s.symmetric = w.symmetric;
  switch (w.strategy) {
    case recipe::Strategy::kTensor: s.strategy = codecs::IntStrategy::kTensor; break;
    case recipe::Strategy::kChannel: s.strategy = codecs::IntStrategy::kChannel; break;
    case recipe::Strategy::kGroup:
      s.strategy = codecs::IntStrategy::kGroup;
      s.group_size = *w.group_size;
      break;
    case recipe::Strategy::kToken: QF_CHECK_MSG(false, "token strategy for weights");
  }
  return s;
}

ct::QuantizationArgs CtArgsFor(const recipe::QuantArgs& a) {
  ct::QuantizationArgs c;
  c.num_bits = a.num_bits;
  c.type = a.type;
  c.symmetric = a.symmetric;
  c.strategy = std::string(recipe::StrategyName(a.strategy));
  c.group_size = a.group_size;
  c.dynamic = a.dynamic;
  c.actorder = a.actorder;
  // CT <= 0.13 writes observer "minmax" for static args; dynamic activations have no observer.
  c.observer = a.dynamic ? std::nullopt : std::optional<std::string>("minmax");
  return c;
}

ct::QuantizationConfig CtConfigFor(const CtExportPlan& plan) {
  ct::QuantizationConfig c;
  std::string format;
  for (const auto& s : plan.schemes) {
    ct::ConfigGroup g;
    g.targets = s.targets;
    g.weights = CtArgsFor(*s.weights);
    if (s.input_activations) g.input_activations = CtArgsFor(*s.input_activations);
    g.format = ct::FormatFor(g);
    format = format.empty() || format == g.format ? g.format : std::string(ct::kMixedPrecision);
    c.groups.push_back(std::move(g));
  }
  c.format = format;
  c.ignore = plan.ignore;
  return c;
}

void CheckWritable(const recipe::QuantScheme& s) {
  const auto& w = *s.weights;
  if (w.num_bits != 4 && w.num_bits != 8)
    Fail("scheme: {}-bit weights are not written: vLLM's compressed-tensors kernels load 4- and 8-bit "
         "pack-quantized weights, and other widths pack differently in compressed-tensors <= 0.16 and >= 0.17; "
         "use num_bits 4 or 8", w.num_bits);
  if (!w.symmetric && w.strategy == recipe::Strategy::kTensor)
    Fail("scheme: asymmetric per-tensor weights cannot be written as pack-quantized (vLLM needs channel or group)");
}

void ReleasePages(const Tensor& t) {
#ifdef MADV_PAGEOUT
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(t.bytes());
  const uintptr_t end = begin + t.nbytes();
  const uintptr_t a = (begin + page - 1) / page * page, b = end / page * page;  // whole pages inside the tensor
  // MADV_PAGEOUT keeps contents (clean file pages are re-read on demand); errors are harmless.
  if (b > a) ::madvise(reinterpret_cast<void*>(a), b - a, MADV_PAGEOUT);
#else
  (void)t;
#endif
}

CtExportStats WriteCompressedTensors(const hf::Checkpoint& ckpt, const CtExportPlan& plan,
                                     algorithms::LinearQuantizer& quantizer, const recipe::Recipe& recipe,
                                     const CtExportOptions& opts) {
  for (const auto& s : plan.schemes) CheckWritable(s);
  const TensorSource& src = opts.source ? *opts.source : ckpt.tensors();
  const ct::QuantizationConfig cfg = CtConfigFor(plan);
  io::AtomicDir dir(opts.out_dir, opts.overwrite);

  CtExportStats st;
  std::vector<safetensors::TensorSpec> specs;
  std::unordered_map<std::string, PartRef> parts;
  std::unordered_map<std::string, Pending> pending;  // by weight name
  std::vector<std::string> names = src.Names();
  for (const auto& n : plan.quantize)
    if (!src.Has(n.first)) Fail("{}: tensor '{}' to quantize is missing", src.Describe(), n.first);
  for (const auto& name : names) {
    const Tensor t = src.Get(name);  // a lazy view: only the header is touched
    st.total_params += static_cast<uint64_t>(t.numel());
    st.bytes_in += t.nbytes();
    auto job = plan.quantize.find(name);
    if (job == plan.quantize.end()) {
      specs.push_back({name, t.dtype(), t.shape()});
      ++st.tensors_dense;
      continue;
    }
    if (t.rank() != 2) Fail("{}: '{}' has shape {}; a quantized Linear weight must be [out, in]", src.Describe(), name, ShapeToString(t.shape()));
    const ct::ConfigGroup& g = cfg.groups.at(job->second.scheme);
    auto lp = ct::QuantizedLinearParts(job->second.module, t.dim(0), t.dim(1), *g.weights, g.format, t.dtype());
    pending[name].parts_left = static_cast<int>(lp.size());
    for (auto& p : lp) {
      parts[p.spec.name] = {&job->second, name, p.part};
      st.quantized_out_bytes += safetensors::SpecBytes(p.spec);
      specs.push_back(std::move(p.spec));
    }
    ++st.tensors_quantized;
    st.quantized_params += static_cast<uint64_t>(t.numel());
    st.quantized_in_bytes += t.nbytes();
  }
  for (const auto& s : specs) st.bytes_out += safetensors::SpecBytes(s);

  std::optional<Progress> progress;
  if (opts.progress) progress.emplace("quantize", specs.size(), "tensors");
  auto produce = [&](const safetensors::TensorSpec& spec, io::ByteSink& sink) {
    auto it = parts.find(spec.name);
    if (it == parts.end()) {  // dense: copied as stored
      const Tensor t = src.Get(spec.name);
      safetensors::WriteTensorBytes(t, sink);
      ReleasePages(t);
    } else {
      const PartRef& ref = it->second;
      const Tensor w = src.Get(ref.weight_name);
      const codecs::IntQuantSpec qs = IntSpecFor(*plan.schemes.at(ref.job->scheme).weights);
      Pending& pend = pending.at(ref.weight_name);
      const int bits = qs.bits;
      switch (ref.part) {
        case ct::Part::kShape: {
          const int64_t dims[2] = {w.dim(0), w.dim(1)};
          sink.Write(dims, sizeof(dims));
          break;
        }
        case ct::Part::kScale:
          if (!pend.params) pend.params = quantizer.Params(ref.job->module, w, qs);
          WriteScales(pend.params->scales, w.dtype(), sink);
          break;
        case ct::Part::kZeroPoint: {
          if (!pend.params) pend.params = quantizer.Params(ref.job->module, w, qs);
          const auto& p = *pend.params;
          if (spec.dtype == DType::kI32) {
            const auto words = codecs::PackInt32(p.zeros, p.param_rows, p.groups, bits, 0, spec.name);
            sink.Write(words.data(), words.size() * 4);
          } else {
            sink.Write(p.zeros.data(), p.zeros.size());
          }
          break;
        }
        case ct::Part::kGIdx: {
          std::vector<int32_t> g = quantizer.GIdx(ref.job->module);
          const int64_t in = w.dim(1), gs = qs.group_size > 0 ? qs.group_size : in;
          if (g.empty()) {
            g.resize(static_cast<size_t>(in));
            for (int64_t c = 0; c < in; ++c) g[static_cast<size_t>(c)] = static_cast<int32_t>(c / gs);
          }
          QF_CHECK_MSG(static_cast<int64_t>(g.size()) == in, "{}: g_idx has {} entries, expected {}", ref.job->module,
                       g.size(), in);
          sink.Write(g.data(), g.size() * 4);
          break;
        }
        case ct::Part::kPacked:
        case ct::Part::kInt8Weight: {
          codecs::QuantizedMatrix q = quantizer.Quantize(ref.job->module, w, qs);
          if (pend.params) {
            QF_CHECK_MSG(pend.params->scales == q.params.scales && pend.params->zeros == q.params.zeros,
                         "{}: quantizer '{}' gave different parameters for Params() and Quantize()",
                         ref.job->module, quantizer.name());
          } else {
            pend.params = std::move(q.params);
          }
          if (ref.part == ct::Part::kPacked) {
            const auto words = codecs::PackInt32(q.codes, q.rows, q.cols, bits, 1, spec.name);
            sink.Write(words.data(), words.size() * 4);
          } else {
            sink.Write(q.codes.data(), q.codes.size());
          }
          ReleasePages(w);
          break;
        }
      }
      if (--pend.parts_left == 0) pending.erase(ref.weight_name);
    }
    if (progress) progress->Add(1);
  };
  safetensors::WriteCheckpoint(dir.staging(), specs,
                               opts.max_shard_bytes ? opts.max_shard_bytes : safetensors::kDefaultMaxShardBytes, produce);
  QF_CHECK(pending.empty());
  if (progress) progress->Finish();

  const std::string cfg_path = ckpt.dir() + "/config.json";
  const io::Json config = io::ReadJsonFile(cfg_path);
  io::WriteFileAtomically(dir.Path("config.json"), ct::ConfigJsonWithQuantization(config, cfg));
  io::WriteFileAtomically(dir.Path("recipe.yaml"), recipe::RecipeToYaml(recipe));
  for (const auto& [fname, text] : opts.extra_files) io::WriteFileAtomically(dir.Path(fname), text);
  for (const auto& e : fs::directory_iterator(ckpt.dir())) {
    const std::string fname = e.path().filename().string();
    if (e.is_regular_file() && IsCopiedFile(fname)) fs::copy_file(e.path(), dir.Path(fname));
  }
  dir.Commit();
  return st;
}

}  // namespace qforge::exporter
