// qforge_llama_logits: llama.cpp's raw logits for a token sequence, from libllama of the node-llama-cpp 3.21.1
// npm package (llama.cpp tag v0.4.0), loaded with dlopen. Test-only oracle (pipeline/convert_oracle_test.cc).
//
//   qforge_llama_logits BINS_DIR MODEL.gguf 1,415,29871,... OUT.f32 [--cpu VARIANT] [--dump DIR]
//
// Evaluates the tokens as one batch at positions 0..n-1 (no BOS added) with one thread, an F32 KV cache and
// flash attention off, and writes n rows of n_vocab float32 logits to OUT.f32. Prints the CPU backend that
// ggml loaded on stdout ("cpu: /path/libggml-cpu-zen4.so").
//
// --cpu VARIANT: load only libggml-cpu-VARIANT.so (e.g. sse42, the portable build) instead of the variant
// ggml scores best for this CPU. ggml picks the backend library from a folder, so the variant run uses a
// private folder of symlinks; it needs its own process because libllama is loaded only once per process.
//
// --dump DIR: also write every F32 intermediate tensor of the graph (llama_context_params.cb_eval) to
// DIR/NAME.f32, named as llama.cpp names them ("attn_norm-0", "Vcur-0", "ffn_out-1", "result_norm", ...),
// row-major [tokens][features]. Where several nodes share a name (Qcur-0 is the product, then its RoPE) the
// first one is kept: the product's output.
//
// The structs below are declared from that tag's include/llama.h, field for field (enums are int); the
// default values returned by libllama are checked against the header's documented defaults, so a layout
// mismatch fails loudly instead of passing garbage.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct ModelParams {  // struct llama_model_params
  void* devices;
  const void* tensor_buft_overrides;
  int32_t n_gpu_layers;
  int32_t split_mode;
  int32_t load_mode;
  int32_t lazy_mode;
  int32_t main_gpu;
  const float* tensor_split;
  void* progress_callback;
  void* progress_callback_user_data;
  const void* kv_overrides;
  bool vocab_only, check_tensors, use_extra_bufts, no_host, no_alloc, load_mtp;
};

struct ContextParams {  // struct llama_context_params
  uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max, n_outputs_max_per_seq;
  int32_t n_threads, n_threads_batch;
  int32_t ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type;
  float rope_freq_base, rope_freq_scale, yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
  uint32_t yarn_orig_ctx;
  float defrag_thold;
  void* cb_eval;
  void* cb_eval_user_data;
  int32_t type_k, type_v;  // enum ggml_type
  void* abort_callback;
  void* abort_callback_data;
  bool embeddings, offload_kqv, no_perf, op_offload, swa_full, kv_unified;
  void* samplers;
  size_t n_samplers;
  void* ctx_other;
};

struct Batch {  // struct llama_batch
  int32_t n_tokens;
  int32_t* token;
  float* embd;
  int32_t* pos;
  int32_t* n_seq_id;
  int32_t** seq_id;
  int8_t* logits;
};

constexpr int32_t kGgmlTypeF32 = 0, kGgmlTypeF16 = 1;
constexpr int32_t kFlashAttnAuto = -1, kFlashAttnDisabled = 0;

std::string g_cpu_backend;

// Tensor accessors exported by libggml-base (ggml.h / ggml-backend.h at the same tag); the tensor struct
// itself stays opaque.
struct GgmlApi {
  const char* (*get_name)(const void* t) = nullptr;
  int64_t (*nelements)(const void* t) = nullptr;
  size_t (*nbytes)(const void* t) = nullptr;
  bool (*is_contiguous)(const void* t) = nullptr;
  void (*tensor_get)(const void* t, void* data, size_t offset, size_t size) = nullptr;
};
GgmlApi g_ggml;
fs::path g_dump_dir;
std::unordered_set<std::string> g_dumped;  // names already written: the first node of a name wins

// ggml_backend_sched_eval_callback: ask = "do you want this node?" (yes, all), then once it is computed.
bool OnNode(void* t, bool ask, void* /*user*/) {
  if (ask) return true;
  const std::string name = g_ggml.get_name(t);
  const int64_t n = g_ggml.nelements(t);
  if (n <= 0 || g_ggml.nbytes(t) != static_cast<size_t>(n) * sizeof(float) || !g_ggml.is_contiguous(t)) return true;
  if (g_dumped.contains(name)) return true;
  std::string file = name;
  for (char& c : file)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  std::vector<float> data(static_cast<size_t>(n));
  g_ggml.tensor_get(t, data.data(), 0, data.size() * sizeof(float));
  FILE* f = std::fopen((g_dump_dir / (file + ".f32")).c_str(), "wb");
  if (!f) return false;  // aborts the graph: llama_decode fails and the caller reports it
  const bool ok = std::fwrite(data.data(), sizeof(float), data.size(), f) == data.size();
  if (std::fclose(f) != 0 || !ok) return false;
  g_dumped.insert(name);
  return true;
}

void Log(int /*level*/, const char* text, void* /*user*/) {
  const std::string s = text;
  const auto at = s.find("loaded CPU backend from ");
  if (at != std::string::npos) {
    g_cpu_backend = s.substr(at + 24);
    while (!g_cpu_backend.empty() && (g_cpu_backend.back() == '\n' || g_cpu_backend.back() == ' '))
      g_cpu_backend.pop_back();
  }
}

template <typename F>
F Sym(void* handle, const char* name) {
  void* p = dlsym(handle, name);
  if (!p) throw std::runtime_error(std::string("libllama lacks ") + name);
  return reinterpret_cast<F>(p);
}

int Run(int argc, char** argv) {
  if (argc < 5 || argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s BINS_DIR MODEL.gguf TOKEN_IDS OUT.f32 [--cpu VARIANT] [--dump DIR]\n", argv[0]);
    return 2;
  }
  const fs::path bins = argv[1];
  const std::string model_path = argv[2];
  std::vector<int32_t> tokens;
  {
    std::stringstream ss(argv[3]);
    std::string item;
    while (std::getline(ss, item, ',')) tokens.push_back(static_cast<int32_t>(std::stol(item)));
  }
  if (tokens.empty()) throw std::runtime_error("no tokens given");
  const std::string out_path = argv[4];

  fs::path lib_dir = bins;
  fs::path private_dir;
  struct RemoveOnExit {
    fs::path* dir;
    ~RemoveOnExit() {
      std::error_code ec;
      if (!dir->empty()) fs::remove_all(*dir, ec);
    }
  } cleanup{&private_dir};
  std::string variant;
  for (int i = 5; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--cpu") {
      variant = argv[i + 1];
    } else if (opt == "--dump") {
      g_dump_dir = argv[i + 1];
      fs::create_directories(g_dump_dir);
    } else {
      throw std::runtime_error("unknown option " + opt);
    }
  }
  if (!variant.empty()) {
    if (!fs::exists(bins / ("libggml-cpu-" + variant + ".so")))
      throw std::runtime_error("no CPU backend libggml-cpu-" + variant + ".so in " + bins.string());
    private_dir = fs::temp_directory_path() / ("qforge_llama_cpu_" + variant + "_" + std::to_string(::getpid()));
    fs::create_directories(private_dir);
    for (const auto& entry : fs::directory_iterator(bins)) {
      const std::string name = entry.path().filename().string();
      const bool cpu_backend = name.rfind("libggml-cpu-", 0) == 0;
      if (cpu_backend && name != "libggml-cpu-" + variant + ".so") continue;
      if (name.size() < 3 || name.find(".so") == std::string::npos) continue;
      fs::create_symlink(entry.path(), private_dir / name);
    }
    lib_dir = private_dir;
  }

  const fs::path lib = lib_dir / "libllama.v0.4.0.so";
  void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) throw std::runtime_error("cannot dlopen " + lib.string() + ": " + dlerror());

  using LogCb = void (*)(int, const char*, void*);
  Sym<void (*)(LogCb, void*)>(h, "llama_log_set")(&Log, nullptr);
  Sym<void (*)(const char*)>(h, "ggml_backend_load_all_from_path")(lib_dir.c_str());
  Sym<void (*)()>(h, "llama_backend_init")();

  ModelParams mp = Sym<ModelParams (*)()>(h, "llama_model_default_params")();
  if (mp.n_gpu_layers != -1 || mp.use_extra_bufts != true || mp.vocab_only)
    throw std::runtime_error("llama_model_params layout differs from llama.cpp v0.4.0's");
  mp.n_gpu_layers = 0;
  void* model = Sym<void* (*)(const char*, ModelParams)>(h, "llama_model_load_from_file")(model_path.c_str(), mp);
  if (!model) throw std::runtime_error("llama.cpp could not load " + model_path);

  ContextParams cp = Sym<ContextParams (*)()>(h, "llama_context_default_params")();
  if (cp.n_ctx != 512 || cp.n_batch != 2048 || cp.n_ubatch != 512 || cp.n_seq_max != 1 ||
      cp.flash_attn_type != kFlashAttnAuto || cp.type_k != kGgmlTypeF16 || cp.type_v != kGgmlTypeF16 ||
      cp.offload_kqv != true || cp.kv_unified != false || cp.n_samplers != 0)
    throw std::runtime_error("llama_context_params layout differs from llama.cpp v0.4.0's");
  const auto n = static_cast<uint32_t>(tokens.size());
  cp.n_ctx = std::max<uint32_t>(64, n + 1);
  cp.n_batch = cp.n_ubatch = n;
  cp.n_threads = cp.n_threads_batch = 1;
  cp.flash_attn_type = kFlashAttnDisabled;
  cp.type_k = cp.type_v = kGgmlTypeF32;
  if (!g_dump_dir.empty()) {
    g_ggml.get_name = Sym<const char* (*)(const void*)>(h, "ggml_get_name");
    g_ggml.nelements = Sym<int64_t (*)(const void*)>(h, "ggml_nelements");
    g_ggml.nbytes = Sym<size_t (*)(const void*)>(h, "ggml_nbytes");
    g_ggml.is_contiguous = Sym<bool (*)(const void*)>(h, "ggml_is_contiguous");
    g_ggml.tensor_get = Sym<void (*)(const void*, void*, size_t, size_t)>(h, "ggml_backend_tensor_get");
    cp.cb_eval = reinterpret_cast<void*>(&OnNode);
  }
  void* ctx = Sym<void* (*)(void*, ContextParams)>(h, "llama_init_from_model")(model, cp);
  if (!ctx) throw std::runtime_error("llama_init_from_model failed");

  Batch batch = Sym<Batch (*)(int32_t, int32_t, int32_t)>(h, "llama_batch_init")(static_cast<int32_t>(n), 0, 1);
  for (uint32_t i = 0; i < n; ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = static_cast<int32_t>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = static_cast<int32_t>(n);
  if (const int32_t rc = Sym<int32_t (*)(void*, Batch)>(h, "llama_decode")(ctx, batch); rc != 0)
    throw std::runtime_error("llama_decode returned " + std::to_string(rc));

  const void* vocab = Sym<const void* (*)(const void*)>(h, "llama_model_get_vocab")(model);
  const int32_t n_vocab = Sym<int32_t (*)(const void*)>(h, "llama_vocab_n_tokens")(vocab);
  auto logits_ith = Sym<float* (*)(void*, int32_t)>(h, "llama_get_logits_ith");
  const std::string tmp = out_path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + tmp);
  for (uint32_t i = 0; i < n; ++i) {
    const float* row = logits_ith(ctx, static_cast<int32_t>(i));
    if (!row || std::fwrite(row, sizeof(float), static_cast<size_t>(n_vocab), f) != static_cast<size_t>(n_vocab)) {
      std::fclose(f);
      throw std::runtime_error("no logits for position " + std::to_string(i));
    }
  }
  if (std::fclose(f) != 0) throw std::runtime_error("cannot write " + tmp);
  fs::rename(tmp, out_path);

  Sym<void (*)(Batch)>(h, "llama_batch_free")(batch);
  Sym<void (*)(void*)>(h, "llama_free")(ctx);
  Sym<void (*)(void*)>(h, "llama_model_free")(model);
  std::printf("cpu: %s\nn_vocab: %d\n", g_cpu_backend.c_str(), n_vocab);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qforge_llama_logits: %s\n", e.what());
    return 1;
  }
}
