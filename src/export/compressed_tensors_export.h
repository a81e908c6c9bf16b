// Streaming compressed-tensors writer (FORMATS.md §2.1, §2.6): an HF directory vLLM loads.
//
//   out/config.json                     the model's config + quantization_config (CT 0.12.2 field set),
//                                       json.dump(indent=2, sort_keys=True) without trailing newline
//   out/model.safetensors | model-0000k-of-0000n.safetensors + model.safetensors.index.json
//   out/recipe.yaml                     the recipe (llm-compressor's shape)
//   out/generation_config.json, tokenizer files   copied unchanged
//
// Tensors are produced one at a time from the memory-mapped input as the safetensors writer asks for them;
// a Linear's scale may be requested before its codes (file order is dtype, then name), so only its small
// parameters are held between the two. Input pages are released after use, so peak RSS stays near the
// largest tensor. The directory is staged and renamed into place (io::AtomicDir).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/linear_quantizer.h"
#include "core/progress.h"
#include "formats/compressed_tensors/quant_config.h"
#include "hf/checkpoint.h"
#include "recipe/recipe.h"

namespace qforge::exporter {

// One Linear to quantize: its weight tensor name and the scheme (index into CtExportPlan::schemes).
struct LinearJob {
  std::string module;  // "model.layers.0.self_attn.q_proj"
  size_t scheme = 0;
};

struct CtExportPlan {
  std::vector<recipe::QuantScheme> schemes;     // one config group each
  std::map<std::string, LinearJob> quantize;    // weight tensor name -> job
  std::vector<std::string> ignore;              // the config's ignore list (targeted Linears left dense)
};

struct CtExportStats {
  int64_t tensors_quantized = 0, tensors_dense = 0;
  uint64_t quantized_params = 0;     // weights of quantized Linears
  uint64_t quantized_in_bytes = 0;   // their input bytes
  uint64_t quantized_out_bytes = 0;  // packed codes + scales + zero points + shapes
  uint64_t total_params = 0, bytes_in = 0, bytes_out = 0;
};

struct CtExportOptions {
  std::string out_dir;
  bool overwrite = false;
  uint64_t max_shard_bytes = 0;  // 0 = safetensors::kDefaultMaxShardBytes
  bool progress = true;
  // Where all tensors are read from (e.g. a SmoothQuant-folded view of the checkpoint); null = ckpt.tensors().
  const TensorSource* source = nullptr;
  // Extra files written into the output directory before it is committed: (file name, contents).
  std::vector<std::pair<std::string, std::string>> extra_files;
};

// codecs / compressed-tensors views of a validated recipe scheme.
codecs::IntQuantSpec IntSpecFor(const recipe::QuantArgs& weights);
compressed_tensors::QuantizationArgs CtArgsFor(const recipe::QuantArgs& args);
compressed_tensors::QuantizationConfig CtConfigFor(const CtExportPlan& plan);

// Refuses schemes qforge cannot write as vLLM-loadable compressed-tensors (e.g. 3-bit packing, whose
// layout changed between compressed-tensors versions).
void CheckWritable(const recipe::QuantScheme& s);

CtExportStats WriteCompressedTensors(const hf::Checkpoint& ckpt, const CtExportPlan& plan,
                                     algorithms::LinearQuantizer& quantizer, const recipe::Recipe& recipe,
                                     const CtExportOptions& opts);

// Drops the resident pages of a memory-mapped tensor view (a no-op for memory that is not file-backed).
void ReleasePages(const Tensor& t);

}  // namespace qforge::exporter
