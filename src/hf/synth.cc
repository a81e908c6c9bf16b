#include "hf/synth.h"

#include <cmath>
#include <filesystem>
#include <numbers>
#include <optional>

#include "core/error.h"
#include "core/half.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/safetensors/writer.h"
#include "hf/config.h"
#include "hf/synth_internal.h"
#include "hf/tensor_names.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"

#ifndef QFORGE_BUNDLED_MODEL_DIR
#define QFORGE_BUNDLED_MODEL_DIR "models/TinyStories-656K"
#endif

namespace qforge::hf {
namespace {
namespace fs = std::filesystem;

constexpr size_t kChunkElements = size_t{1} << 23;  // 16 MB of BF16 per write: bounds memory
constexpr size_t kGrainPairs = size_t{1} << 15;
constexpr uint16_t kBf16One = 0x3F80;
constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t NameKey(uint64_t seed, std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (unsigned char ch : name) h = (h ^ ch) * 0x100000001B3ull;
  return SplitMix64(seed ^ SplitMix64(h));
}

// Counter-based N(0, sd) sampler: pair p of a tensor comes from SplitMix64(key + p) through Box-Muller, so
// values do not depend on chunking or thread count (the property std::mt19937_64 would give only serially).
void FillNormalBf16(uint64_t key, uint64_t first_pair, size_t n_pairs, uint16_t* out) {
  ThreadPool::Global().ParallelFor(n_pairs, kGrainPairs, [&](size_t begin, size_t end) {
    constexpr double kTwoPi = 2 * std::numbers::pi;
    for (size_t i = begin; i < end; ++i) {
      const uint64_t h = SplitMix64(key + first_pair + i);
      const double u1 = (static_cast<double>(h >> 32) + 0.5) * 0x1p-32;
      const double u2 = (static_cast<double>(h & 0xFFFFFFFFu) + 0.5) * 0x1p-32;
      const double r = kSynthStdDev * std::sqrt(-2.0 * std::log(u1));
      out[2 * i] = F32ToBf16(static_cast<float>(r * std::cos(kTwoPi * u2)));
      out[2 * i + 1] = F32ToBf16(static_cast<float>(r * std::sin(kTwoPi * u2)));
    }
  });
}

void ProduceTensor(const safetensors::TensorSpec& spec, uint64_t seed, io::ByteSink& sink, Progress* progress) {
  const auto tn = ParseTensorName(spec.name);
  QF_CHECK(tn.has_value());
  const bool is_norm = tn->role == Role::kAttnNorm || tn->role == Role::kMlpNorm || tn->role == Role::kFinalNorm ||
                       tn->role == Role::kQNorm || tn->role == Role::kKNorm;
  const bool is_bias = tn->role == Role::kQBias || tn->role == Role::kKBias || tn->role == Role::kVBias;
  const auto numel = static_cast<uint64_t>(NumElements(spec.shape));
  const uint64_t key = NameKey(seed, spec.name);
  std::vector<uint16_t> buf(std::min<uint64_t>(numel, kChunkElements) + 1);
  for (uint64_t done = 0; done < numel;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(numel - done, kChunkElements));
    if (is_norm) {
      std::fill_n(buf.begin(), n, kBf16One);
    } else if (is_bias) {
      std::fill_n(buf.begin(), n, uint16_t{0});
    } else {  // kChunkElements is even, so `done` is even and chunks start on a pair boundary
      FillNormalBf16(key, done / 2, (n + 1) / 2, buf.data());
    }
    sink.Write(buf.data(), n * sizeof(uint16_t));
    done += n;
    if (progress) progress->Add(n * sizeof(uint16_t));
  }
}

// Largest token id + 1 in a tokenizer.json (model.vocab and added_tokens).
int64_t TokenizerVocabSize(const std::string& path) {
  const io::Json t = io::ReadJsonFile(path);
  int64_t n = 0;
  if (auto m = t.find("model"); m != t.end() && m->is_object())
    if (auto v = m->find("vocab"); v != m->end() && v->is_object())
      for (const auto& [tok, id] : v->items())
        if (id.is_number_integer()) n = std::max<int64_t>(n, id.get<int64_t>() + 1);
  if (auto a = t.find("added_tokens"); a != t.end() && a->is_array())
    for (const auto& e : *a)
      if (e.is_object() && e.contains("id") && e["id"].is_number_integer())
        n = std::max<int64_t>(n, e["id"].get<int64_t>() + 1);
  if (n == 0) Fail("{}: no token ids found; expected a tokenizer.json with model.vocab", path);
  return n;
}

void WriteByteLevelTokenizer(ModelConfig& c, io::AtomicDir& out) {
  if (c.vocab_size < kByteLevelMinVocab)
    Fail("vocab_size {} is too small for a byte-level tokenizer (needs {})", c.vocab_size, kByteLevelMinVocab);
  io::WriteFileAtomically(out.Path("tokenizer.json"), ByteLevelTokenizerJson(c.vocab_size));
  const io::Json cfg = {{"add_bos_token", true},          {"add_eos_token", false},
                        {"bos_token", "<|begin_of_text|>"}, {"clean_up_tokenization_spaces", false},
                        {"eos_token", "<|end_of_text|>"},   {"model_max_length", c.max_position_embeddings},
                        {"tokenizer_class", "PreTrainedTokenizerFast"}};
  io::WriteFileAtomically(out.Path("tokenizer_config.json"), io::DumpPythonStyle(cfg) + "\n");
  c.bos_token_id = c.vocab_size - 2;
  c.eos_token_id = c.vocab_size - 1;
}

// Copies the tokenizer files and adopts that model's BOS/EOS ids. Returns false when it does not fit.
bool CopyTokenizer(ModelConfig& c, const std::string& dir, io::AtomicDir& out) {
  const std::string tok = dir + "/tokenizer.json";
  if (!fs::is_regular_file(tok) || TokenizerVocabSize(tok) > c.vocab_size) return false;
  for (const char* f : kTokenizerFiles) {
    const std::string src = dir + "/" + f;
    if (fs::is_regular_file(src)) io::WriteFileAtomically(out.Path(f), io::ReadTextFile(src));
  }
  if (fs::is_regular_file(dir + "/config.json")) {
    const io::Json src = io::ReadJsonFile(dir + "/config.json");
    const std::string ctx = dir + "/config.json";
    c.bos_token_id = io::GetOptInt(src, "bos_token_id", ctx);
    c.eos_token_id = io::GetOptInt(src, "eos_token_id", ctx);
  }
  return true;
}

}  // namespace

std::string BundledModelDir() { return QFORGE_BUNDLED_MODEL_DIR; }

ModelConfig WriteSyntheticCheckpoint(const SynthOptions& opts, const std::string& out_dir) {
  ModelConfig c = SynthShapeConfig(opts.shape);
  if (opts.layers) {
    if (*opts.layers < 1 || *opts.layers > c.num_layers)
      Fail("--layers {} is out of range for {}; expected 1 to {}", *opts.layers, opts.shape, c.num_layers);
    c.num_layers = *opts.layers;
  }
  return WriteSyntheticModel(c, SynthExtraConfigKeys(opts.shape), opts, out_dir);
}

ModelConfig WriteSyntheticModel(ModelConfig c, const io::Json& extra_config, const SynthOptions& opts,
                                const std::string& out_dir) {
  c.synthetic = true;
  const uint64_t max_shard = opts.max_shard_bytes ? opts.max_shard_bytes : safetensors::kDefaultMaxShardBytes;
  io::AtomicDir out(out_dir, opts.overwrite);

  const std::string tok_dir = opts.tokenizer_dir.empty() ? BundledModelDir() : opts.tokenizer_dir;
  switch (opts.tokenizer) {
    case SynthTokenizer::kByteLevel: WriteByteLevelTokenizer(c, out); break;
    case SynthTokenizer::kCopy:
      if (!CopyTokenizer(c, tok_dir, out))
        Fail("{}: no tokenizer.json, or its vocabulary is larger than the model's ({})", tok_dir, c.vocab_size);
      break;
    case SynthTokenizer::kAuto:
      if (!CopyTokenizer(c, tok_dir, out)) WriteByteLevelTokenizer(c, out);
      break;
  }

  std::vector<safetensors::TensorSpec> specs;
  uint64_t total = 0;
  for (const ExpectedTensor& e : ExpectedTensors(c)) {
    specs.push_back({e.name, DType::kBF16, e.shape});
    total += safetensors::SpecBytes(specs.back());
  }
  {
    std::optional<Progress> progress;
    if (opts.progress) progress.emplace(fmt::format("synth {}", opts.shape.empty() ? c.model_type : opts.shape), total, "B");
    Progress* p = progress ? &*progress : nullptr;
    safetensors::WriteCheckpoint(out.staging(), specs, max_shard,
                                 [&](const safetensors::TensorSpec& s, io::ByteSink& sink) {
                                   ProduceTensor(s, opts.seed, sink, p);
                                 });
    if (p) p->Finish();
  }
  io::Json config = ConfigToJson(c);
  config.update(extra_config);
  io::WriteFileAtomically(out.Path("config.json"), io::DumpPythonStyle(config) + "\n");
  const io::Json gen = {{"_from_model_config", true},
                        {"bos_token_id", c.bos_token_id ? io::Json(*c.bos_token_id) : io::Json(nullptr)},
                        {"eos_token_id", c.eos_token_id ? io::Json(*c.eos_token_id) : io::Json(nullptr)},
                        {"transformers_version", "4.46.0"}};
  io::WriteFileAtomically(out.Path("generation_config.json"), io::DumpPythonStyle(gen) + "\n");
  out.Commit();
  return c;
}

}  // namespace qforge::hf
