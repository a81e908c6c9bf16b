// `qforge convert IN -o OUT.gguf --type T`: any supported model → a llama.cpp GGUF file.
//
//   IN = an HF directory (config.json + safetensors + tokenizer.json), a GGUF file (requantized, with a
//        warning when its tensors are already quantized), or a compressed-tensors directory.
//   T  = F32 | F16 | BF16 (every ≥2-D weight that type, norms F32: convert_hf_to_gguf.py's --outtype) or a
//        llama-quantize mix Q8_0 | Q6_K | Q5_K_M | Q5_K_S | Q4_K_M | Q4_K_S | Q4_0 | Q3_K_M (FORMATS.md §7, rules
//        from algorithms/kquant_mix.h), optionally guided by an importance matrix (--imatrix FILE, or --calib
//        TEXT: collected here, see convert_calib.h).
//
// Source tensors that already hold the target ggml type are copied byte for byte; everything else is
// dequantized to f32 and encoded with codecs::QuantizeRows (bit-exact with ggml_quantize_chunk).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qforge::pipeline {

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string type = "F16";
  std::string imatrix;  // llama.cpp imatrix file (GGUF or legacy .dat), "" for none
  // --calib: collect the importance matrix from this calibration text with our forward pass
  // (pipeline/convert_calib.h) instead of reading one; samples of calib_seq_len tokens (llama-imatrix's
  // default context is 512).
  std::string calib;
  int64_t calib_samples = 128;
  int64_t calib_seq_len = 512;
  uint64_t calib_seed = 42;
  std::string imatrix_out;  // write the collected imatrix here (llama-imatrix GGUF form), "" for none
  std::string name;     // general.name; default: the input's name
  // llama-quantize's overrides (mixes only): --pure, --output-tensor-type, --token-embedding-type.
  bool pure = false;
  std::string output_tensor_type;    // "" = the mix's rule
  std::string token_embedding_type;  // "" = the mix's rule
};

struct ConvertReport {
  std::string input_format;   // "hf", "gguf", "compressed-tensors"
  uint32_t file_type = 0;
  int64_t tensors = 0;
  int64_t quantized = 0;      // tensors written in a ggml block type
  int64_t fallbacks = 0;      // tensors whose row length forced a fallback type (§7.3)
  int64_t copied = 0;         // tensors copied without re-encoding (source already in the target type)
  int64_t imatrix_used = 0;   // tensors quantized with importance weights
  uint64_t bytes = 0;
  std::vector<std::string> notes;  // warnings and facts for the user ("requantizing Q8_0 tensors ...")
};

ConvertReport Convert(const ConvertOptions& options);

}  // namespace qforge::pipeline
