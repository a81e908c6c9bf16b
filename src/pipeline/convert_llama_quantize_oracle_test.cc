// `qforge convert` against llama.cpp's own requantizer: `llama_model_quantize` of libllama.so in
// node-llama-cpp 3.21.1 (llama.cpp tag v0.4.0), dlopened (convert_llama_oracle.h).
//
// Model: a `qforge synth` checkpoint of a small llama-3-style config (BF16, llama3 rope scaling so the file
// holds rope_freqs.weight), converted by qforge to an F16 GGUF. Then:
//   * every mix, F16 GGUF in: qforge convert and llama_model_quantize write the same tensors (names, order,
//     types, shapes) with byte-identical data; for a model whose rows are not multiples of 256 too (fallbacks);
//   * Q4_K_M, HF directory in (what a user runs): qforge quantizes the BF16 weights directly, llama.cpp the F16
//     GGUF. The only difference allowed is inherent: BF16 values below 2^-14 that F16 cannot hold exactly
//     (F16 subnormals) are rounded in llama.cpp's input. Every differing block must contain such a value.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "algorithms/kquant_mix.h"
#include "core/half.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "hf/synth.h"
#include "pipeline/convert.h"
#include "pipeline/convert_imatrix.h"
#include "pipeline/convert_llama_oracle.h"

namespace qforge::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::LlamaQuantizeOracle;

// llama-3 layout at toy size: n_gqa = 2, 8 layers so the use_more_bits layer pattern (first/last eighth and
// every third layer) has members and non-members; rows are multiples of 256.
ModelConfig SmallLlama3() {
  ModelConfig c;
  c.model_type = "llama";
  c.architecture = "LlamaForCausalLM";
  c.hidden_size = 256;
  c.num_layers = 8;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 64;
  c.intermediate_size = 256;
  c.vocab_size = 2048;  // the bundled TinyStories tokenizer is copied
  c.max_position_embeddings = 4096;
  c.rope_theta = 500000.0;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = false;
  c.rope_scaling.type = RopeScalingType::kLlama3;
  c.rope_scaling.factor = 32.0;
  c.rope_scaling.low_freq_factor = 1.0;
  c.rope_scaling.high_freq_factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 8192;
  c.torch_dtype = "bfloat16";
  return c;
}

// Rows of 320 / 832 elements: not multiples of 256, so the k-quant mixes fall back (FORMATS.md §7.3); tied
// embeddings (no output.weight), n_gqa = 5 (attn_v rules that depend on it).
ModelConfig AwkwardLlama() {
  ModelConfig c = SmallLlama3();
  c.hidden_size = 320;
  c.num_layers = 3;
  c.num_heads = 5;
  c.num_kv_heads = 1;
  c.intermediate_size = 832;
  c.tie_word_embeddings = true;
  c.rope_scaling = {};
  return c;
}

// What convert_hf_to_gguf.py writes beyond our own export: general.* descriptions, a chat template, a string
// array; rewrites `path` in place with them (general.* after general.name, the template last).
void AddUserKeys(const std::string& path) {
  const auto f = gguf::File::Open(path);
  gguf::Writer w;
  for (const auto& kv : f->kvs()) {
    if (kv.key == "general.name") {
      w.Add(kv.key, gguf::Value::String("Synth Llama 3 Tiny"));
      w.Add("general.author", gguf::Value::String("qforge tests"));
      w.Add("general.basename", gguf::Value::String("synth-llama"));
      w.Add("general.size_label", gguf::Value::String("4M"));
      w.Add("general.license", gguf::Value::String("apache-2.0"));
      w.Add("general.tags", gguf::Value::StringArray({"text-generation", "synthetic"}));
      w.Add("general.base_model.count", gguf::Value::Scalar<uint32_t>(0));
    } else {
      w.Add(kv.key, kv.value);
    }
  }
  w.Add("tokenizer.chat_template",
        gguf::Value::String("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"));
  for (const auto& t : f->tensor_infos()) w.AddTensor(t.name, t.type, t.ne);
  const std::string tmp = path + ".keys";
  io::AtomicFile out(tmp);
  w.Write(out, gguf::CopyTensorsFrom(*f));
  out.Commit();
  fs::rename(tmp, path);
}

std::vector<uint8_t> FileBytes(const std::string& path) {
  const auto m = io::MappedFile::Open(path);
  const auto* p = reinterpret_cast<const uint8_t*>(m->data());
  return std::vector<uint8_t>(p, p + m->size());
}

// Same keys in the same order with the same types and values.
void ExpectSameMetadata(const gguf::File& ours, const gguf::File& ref) {
  const auto& a = ours.kvs();
  const auto& b = ref.kvs();
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].key, b[i].key) << "key #" << i;
    EXPECT_TRUE(a[i].value == b[i].value)
        << a[i].key << ": ours " << a[i].value.Describe() << ", llama.cpp " << b[i].value.Describe();
  }
}

class ConvertVsLlamaQuantize : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("QFORGE_PROGRESS", "0", 1);
    dir_ = new std::string(fmt::format("{}/qforge_llama_quantize_{}", fs::temp_directory_path().string(), ::getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    oracle_ = new LlamaQuantizeOracle();
    for (const auto& [key, config] : {std::pair<std::string, ModelConfig>{"small", SmallLlama3()},
                                      {"awkward", AwkwardLlama()}}) {
      hf::SynthOptions s;
      s.seed = 11;
      s.progress = false;
      s.tokenizer = hf::SynthTokenizer::kCopy;
      hf::WriteSyntheticModel(config, io::Json::object(), s, Path(key, "hf"));
      for (const std::string type : {"F16", "F32"}) {
        if (key == "awkward" && type == "F32") continue;  // only the HF-input test needs it
        ConvertOptions o;
        o.input = Path(key, "hf");
        o.output = Path(key, type);
        o.type = type;
        Convert(o);
      }
      AddUserKeys(Path(key, "F16"));
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete oracle_;
  }
  static std::string Path(const std::string& key, const std::string& what) {
    return fmt::format("{}/{}-{}{}", *dir_, key, what, what == "hf" ? "" : ".gguf");
  }

  // llama_model_quantize(F16 GGUF of `key`) to `mix`; returns the output path.
  static std::string Llama(const std::string& key, const algorithms::KquantMixInfo& mix) {
    const std::string out = Path(key, fmt::format("llama-{}", mix.name));
    if (fs::exists(out)) return out;  // made by an earlier test
    LlamaQuantizeOracle::Params p = oracle_->DefaultParams();
    p.ftype = static_cast<int32_t>(mix.file_type);
    p.nthread = 2;
    oracle_->Quantize(Path(key, "F16"), out, p);
    return out;
  }
  static std::string Ours(const std::string& key, const std::string& input, const algorithms::KquantMixInfo& mix) {
    const std::string out = Path(key, fmt::format("qforge-{}-{}", input, mix.name));
    ConvertOptions o;
    o.input = Path(key, input);
    o.output = out;
    o.type = std::string(mix.name);
    Convert(o);
    return out;
  }

  static std::string* dir_;
  static LlamaQuantizeOracle* oracle_;
};
std::string* ConvertVsLlamaQuantize::dir_ = nullptr;
LlamaQuantizeOracle* ConvertVsLlamaQuantize::oracle_ = nullptr;

// Same tensor list (order, names, types, shapes); returns the names whose data differ.
std::vector<std::string> DifferingTensors(const gguf::File& ours, const gguf::File& ref) {
  std::vector<std::string> differ;
  const auto& a = ours.tensor_infos();
  const auto& b = ref.tensor_infos();
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    SCOPED_TRACE(fmt::format("tensor #{} {} (llama.cpp: {})", i, a[i].name, b[i].name));
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(Name(a[i].type), Name(b[i].type));
    EXPECT_EQ(a[i].ne, b[i].ne);
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].ne != b[i].ne) continue;
    const auto x = ours.TensorData(a[i]);
    const auto y = ref.TensorData(b[i]);
    if (x.size() != y.size() || std::memcmp(x.data(), y.data(), x.size()) != 0) differ.push_back(a[i].name);
  }
  return differ;
}

// GGUF in, every mix: the whole output file equals llama.cpp's, metadata included (input keys kept in order,
// general.quantization_version and general.file_type moved last).
TEST_F(ConvertVsLlamaQuantize, EveryMixFromF16GgufIsByteIdentical) {
  for (const std::string key : {"small", "awkward"}) {
    for (const auto& mix : algorithms::AllKquantMixes()) {
      SCOPED_TRACE(fmt::format("{} {}", key, mix.name));
      const auto ref = gguf::File::Open(Llama(key, mix));
      const auto ours = gguf::File::Open(Ours(key, "F16", mix));
      EXPECT_EQ(DifferingTensors(*ours, *ref), std::vector<std::string>{});
      ExpectSameMetadata(*ours, *ref);
      EXPECT_EQ(ours->FindString("general.license"), "apache-2.0");
      EXPECT_NE(ours->FindString("tokenizer.chat_template").value_or("").find("messages"), std::string::npos);
      EXPECT_TRUE(FileBytes(ours->path()) == FileBytes(ref->path())) << "the files differ";
    }
  }
}

// With an importance matrix (collected by `--calib` from text on the HF model, saved as llama-imatrix GGUF):
// qforge convert --imatrix FILE and llama_model_quantize given the same importances (params.imatrix, as
// llama-quantize passes them) write identical tensors. Metadata equal too, except the quantize.imatrix.* keys
// that llama-quantize's command line (not the library) adds.
TEST_F(ConvertVsLlamaQuantize, ImatrixGuidedMixesAreByteIdentical) {
  std::ofstream(Path("small", "calib.txt")) << "Once upon a time there was a little robot who liked to count the "
                                              "stars. Every night it climbed the hill, looked up and counted again, "
                                              "because the numbers were never quite the same twice.";
  ConvertOptions c;
  c.input = Path("small", "hf");
  c.output = Path("small", "calib-Q4_K_M");
  c.type = "Q4_K_M";
  c.calib = Path("small", "calib.txt");
  c.calib_samples = 4;
  c.calib_seq_len = 24;
  c.imatrix_out = Path("small", "imatrix");
  Convert(c);
  const Imatrix im = ReadImatrix(c.imatrix_out);
  ASSERT_EQ(im.weights.size(), 8u * 7u);
  std::vector<LlamaQuantizeOracle::ImatrixData> entries;
  for (const auto& [name, w] : im.weights) entries.push_back({name.c_str(), w.data(), w.size()});
  entries.push_back({nullptr, nullptr, 0});
  // The per-row imatrix quantizers are bit-exact already (codecs/ggml oracle test); what is new here is the
  // pipeline: imatrix names, and Q4_0's imatrix-only rule for the first ffn_down layers.
  for (const auto kind : {algorithms::KquantMix::kQ4_K_M, algorithms::KquantMix::kQ4_0}) {
    const auto& mix = algorithms::Info(kind);
    SCOPED_TRACE(mix.name);
    const std::string ref_path = Path("small", fmt::format("llama-imatrix-{}", mix.name));
    LlamaQuantizeOracle::Params p = oracle_->DefaultParams();
    p.ftype = static_cast<int32_t>(mix.file_type);
    p.nthread = 2;
    p.imatrix = entries.data();
    oracle_->Quantize(Path("small", "F16"), ref_path, p);
    ConvertOptions o;
    o.input = Path("small", "F16");
    o.output = Path("small", fmt::format("qforge-imatrix-{}", mix.name));
    o.type = std::string(mix.name);
    o.imatrix = c.imatrix_out;
    const ConvertReport r = Convert(o);
    EXPECT_EQ(r.imatrix_used, 8 * 7);
    const auto ref = gguf::File::Open(ref_path);
    const auto ours = gguf::File::Open(o.output);
    EXPECT_EQ(DifferingTensors(*ours, *ref), std::vector<std::string>{});
    std::vector<gguf::KeyValue> kept;
    for (const auto& kv : ours->kvs()) {
      if (kv.key.rfind("quantize.imatrix.", 0) != 0) kept.push_back(kv);
    }
    EXPECT_EQ(kept.size(), ref->kvs().size());
    for (size_t i = 0; i < std::min(kept.size(), ref->kvs().size()); ++i) {
      EXPECT_EQ(kept[i].key, ref->kvs()[i].key);
      EXPECT_TRUE(kept[i].value == ref->kvs()[i].value) << kept[i].key;
    }
    // And the importances mattered: without them llama.cpp writes other bytes.
    EXPECT_FALSE(FileBytes(ref_path) == FileBytes(Llama("small", mix))) << "imatrix had no effect";
  }
}

// Q4_K_M from the HF directory vs llama.cpp from our F16 GGUF. `F32` (the exact BF16 values, in GGUF layout
// with the Q/K permutation) says which elements F16 rounds.
TEST_F(ConvertVsLlamaQuantize, Q4KMFromHfDiffersOnlyWhereF16RoundsTheInput) {
  const auto& mix = algorithms::Info(algorithms::KquantMix::kQ4_K_M);
  const auto ref = gguf::File::Open(Llama("small", mix));
  const auto ours = gguf::File::Open(Ours("small", "hf", mix));
  const auto exact = gguf::File::Open(Path("small", "F32"));
  int64_t differing_blocks = 0, blocks_with_rounding = 0, tensors_with_rounding = 0;
  const std::vector<std::string> differ = DifferingTensors(*ours, *ref);
  for (const auto& t : ours->tensor_infos()) {
    const gguf::TensorInfo* e = exact->FindTensor(t.name);
    ASSERT_NE(e, nullptr) << t.name;
    ASSERT_EQ(e->type, DType::kF32);
    const auto* v = reinterpret_cast<const float*>(exact->TensorData(*e).data());
    const auto a = ours->TensorData(t);
    const auto b = ref->TensorData(*ref->FindTensor(t.name));
    const int64_t block = Traits(t.type).block_size, bytes = Traits(t.type).type_size;
    const int64_t n_blocks = t.numel() / block;
    bool rounded_tensor = false;
    for (int64_t k = 0; k < n_blocks; ++k) {
      bool rounded = false;
      for (int64_t j = k * block; j < (k + 1) * block; ++j) rounded |= RoundF16(v[j]) != v[j];
      rounded_tensor |= rounded;
      blocks_with_rounding += rounded;
      if (std::memcmp(a.data() + k * bytes, b.data() + k * bytes, static_cast<size_t>(bytes)) != 0) {
        ++differing_blocks;
        EXPECT_TRUE(rounded) << t.name << " block " << k << " differs but F16 holds all its inputs exactly";
      }
    }
    tensors_with_rounding += rounded_tensor;
    if (!rounded_tensor) {
      EXPECT_TRUE(std::find(differ.begin(), differ.end(), t.name) == differ.end()) << t.name;
    }
  }
  // The synth weights ~ N(0, 0.02) do hold such values (so this test exercises the rule): a few hundred.
  EXPECT_GT(blocks_with_rounding, 0);
  std::fprintf(stderr, "[ info ] Q4_K_M from HF: %zu of %zu tensors differ, %lld blocks differ, %lld blocks hold a "
               "value F16 rounds (in %lld tensors)\n", differ.size(), ours->tensor_infos().size(),
               static_cast<long long>(differing_blocks), static_cast<long long>(blocks_with_rounding),
               static_cast<long long>(tensors_with_rounding));
}

}  // namespace
}  // namespace qforge::pipeline
