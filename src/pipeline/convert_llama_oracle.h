// Test-only access to llama.cpp's own requantizer, `llama_model_quantize`, in libllama.so of the
// node-llama-cpp 3.21.1 npm package (tests/oracle/node_modules, installed by scripts/install-oracles.sh;
// llama.cpp release tag v0.4.0 per node-llama-cpp/llama/llama.cpp.info.json). Loaded with dlopen; the
// prototypes and the parameter struct are declared here from that tag's include/llama.h (not vendored).
// libllama's RUNPATH is $ORIGIN, so its libggml / libggml-base come from the same folder.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

namespace qforge::pipeline::testing {

inline std::string LlamaLibPath() {
  return std::string(QFORGE_REPO_DIR) +
         "/tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.4.0.so";
}

class LlamaQuantizeOracle {
 public:
  // include/llama.h `struct llama_model_imatrix_data` (the array ends with name == nullptr).
  struct ImatrixData {
    const char* name;
    const float* data;
    size_t size;
  };
  // include/llama.h `struct llama_model_quantize_params` at tag v0.4.0, field for field (enums are int).
  struct Params {
    int32_t nthread;
    int32_t ftype;                 // enum llama_ftype (15 = MOSTLY_Q4_K_M)
    int32_t output_tensor_type;    // enum ggml_type, GGML_TYPE_COUNT = rule
    int32_t token_embedding_type;  // enum ggml_type
    bool allow_requantize;
    bool quantize_output_tensor;
    bool only_copy;
    bool pure;
    bool keep_split;
    bool dry_run;
    const ImatrixData* imatrix;
    const void* kv_overrides;
    const void* tt_overrides;
    const int32_t* prune_layers;
    size_t max_buf_size;
  };
  static_assert(sizeof(Params) == 64, "llama_model_quantize_params of llama.cpp v0.4.0 is 64 bytes on x86-64");

  using DefaultParamsFn = Params (*)();
  using QuantizeFn = uint32_t (*)(const char* in, const char* out, const Params* params);
  using BackendFn = void (*)();
  using LogCallback = void (*)(int level, const char* text, void* user_data);
  using LogSetFn = void (*)(LogCallback cb, void* user_data);

  LlamaQuantizeOracle() {
    const std::string path = LlamaLibPath();
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_)
      throw std::runtime_error("cannot dlopen " + path + " (" + dlerror() +
                               "); run scripts/install-oracles.sh (npm ci in tests/oracle)");
    default_params_ = Sym<DefaultParamsFn>("llama_model_quantize_default_params");
    quantize_ = Sym<QuantizeFn>("llama_model_quantize");
    Sym<LogSetFn>("llama_log_set")(&Log, this);
    Sym<BackendFn>("llama_backend_init")();
    backend_free_ = Sym<BackendFn>("llama_backend_free");
  }
  ~LlamaQuantizeOracle() {
    if (backend_free_) backend_free_();
    // The library stays loaded: ggml keeps global state (and its log hook points here until reset).
    if (handle_) {
      if (auto set = reinterpret_cast<LogSetFn>(dlsym(handle_, "llama_log_set"))) set(nullptr, nullptr);
    }
  }
  LlamaQuantizeOracle(const LlamaQuantizeOracle&) = delete;
  LlamaQuantizeOracle& operator=(const LlamaQuantizeOracle&) = delete;

  Params DefaultParams() const { return default_params_(); }

  // llama_model_quantize(in, out, params); throws with llama.cpp's log when it reports failure.
  void Quantize(const std::string& in, const std::string& out, const Params& params) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      log_.clear();
    }
    if (quantize_(in.c_str(), out.c_str(), &params) != 0) {
      std::lock_guard<std::mutex> lock(mu_);
      throw std::runtime_error("llama_model_quantize(" + in + ") failed:\n" + log_);
    }
  }

  std::string log() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  static void Log(int /*level*/, const char* text, void* user_data) {
    auto* self = static_cast<LlamaQuantizeOracle*>(user_data);
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->log_.size() < kMaxLog) self->log_ += text;
  }
  template <typename F>
  F Sym(const char* name) {
    void* p = dlsym(handle_, name);
    if (!p) throw std::runtime_error(std::string("libllama lacks ") + name);
    return reinterpret_cast<F>(p);
  }

  static constexpr size_t kMaxLog = 1 << 20;
  void* handle_ = nullptr;
  DefaultParamsFn default_params_ = nullptr;
  QuantizeFn quantize_ = nullptr;
  BackendFn backend_free_ = nullptr;
  mutable std::mutex mu_;
  std::string log_;
};

}  // namespace qforge::pipeline::testing
