// Test-only access to ggml's own quantizers in libggml-base.so from the node-llama-cpp npm package
// (tests/oracle/node_modules, installed by scripts/install-oracles.sh). Loaded with dlopen; the prototypes
// are declared here (ggml.h is not vendored). Throws (test fails) if the library or a symbol is missing.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace qforge::codecs::ggml::testing {

inline std::string GgmlBaseLibPath() {
  return std::string(QFORGE_REPO_DIR) +
         "/tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
}

class GgmlOracle {
 public:
  using QuantizeChunkFn = size_t (*)(int type, const float* src, void* dst, int64_t start, int64_t nrows,
                                     int64_t n_per_row, const float* imatrix);
  using QuantizeInitFn = void (*)(int type);
  using ToFloatFn = void (*)(const void* x, float* y, int64_t k);
  // ggml.h `struct ggml_type_traits` of this ggml version; validated field by field in TraitsOf().
  struct TypeTraits {
    const char* type_name;
    int64_t blck_size;
    int64_t blck_size_interleave;
    size_t type_size;
    bool is_quantized;
    ToFloatFn to_float;
    void* from_float_ref;
  };
  using GetTypeTraitsFn = const TypeTraits* (*)(int type);

  GgmlOracle() {
    const std::string path = GgmlBaseLibPath();
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_)
      throw std::runtime_error("cannot dlopen " + path + " (" + dlerror() +
                               "); run scripts/install-oracles.sh (npm ci in tests/oracle)");
    quantize_chunk = Sym<QuantizeChunkFn>("ggml_quantize_chunk");
    quantize_init = Sym<QuantizeInitFn>("ggml_quantize_init");
    get_type_traits = Sym<GetTypeTraitsFn>("ggml_get_type_traits");
  }
  ~GgmlOracle() {
    if (handle_) dlclose(handle_);
  }
  GgmlOracle(const GgmlOracle&) = delete;
  GgmlOracle& operator=(const GgmlOracle&) = delete;

  QuantizeChunkFn quantize_chunk = nullptr;
  QuantizeInitFn quantize_init = nullptr;
  GetTypeTraitsFn get_type_traits = nullptr;

 private:
  template <typename F>
  F Sym(const char* name) {
    void* p = dlsym(handle_, name);
    if (!p) throw std::runtime_error(std::string("libggml-base.so lacks ") + name);
    return reinterpret_cast<F>(p);
  }
  void* handle_ = nullptr;
};

}  // namespace qforge::codecs::ggml::testing
