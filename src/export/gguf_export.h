// HF-named model (TensorSource + ModelConfig + tokenizer::Vocab) → GGUF v3 file for llama.cpp
// (FORMATS.md §5.2–5.7).
//
// Metadata, in convert_hf_to_gguf.py's order: general.architecture, general.type, general.name,
// <arch>.block_count, .context_length, .embedding_length, .feed_forward_length, .attention.head_count,
// .attention.head_count_kv, (.rope.scaling.type/.factor for linear scaling), .rope.freq_base,
// .attention.layer_norm_rms_epsilon, (.attention.key_length/.value_length when head_dim ≠ hidden/heads),
// general.file_type, <arch>.vocab_size, <arch>.rope.dimension_count, general.quantization_version (when any
// tensor is quantized), tokenizer.ggml.* (export/gguf_vocab.h), then caller extras (quantize.imatrix.*).
// A GGUF input's metadata can be copied instead (GgufMetadata::copied), as llama-quantize does.
// All integers UINT32, floats FLOAT32, exactly the types llama.cpp's loader checks.
//
// Tensors, in llama-quantize's order (global tensors first by name, then blk.N by layer number and name),
// each padded to 32 bytes. Arch llama: q/k rows are permuted from HF rotate-half to llama.cpp's
// pair-interleaved order (§5.6) unless the source already is (config.rope_interleaved, e.g. a GGUF input);
// Llama-3 rope scaling becomes a rope_freqs.weight tensor. Tied embeddings: no output.weight.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/model_config.h"
#include "core/tensor_source.h"
#include "formats/gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace qforge::exporter {

struct GgufTensorPlan {
  std::string gguf_name;
  std::string hf_name;    // name in the source; "" for a tensor computed here (rope_freqs.weight)
  int layer = -1;         // blk.<layer>, -1 for global tensors
  Shape shape;            // PyTorch order
  DType type = DType::kF32;  // target GGUF type
  int64_t permute_heads = 0;  // > 0: apply the llama Q/K row permutation with this many heads
  bool quantizable = false;   // a ≥2-D weight llama-quantize may quantize (§7.1); false for norms, biases, rope_freqs
};

// The tensors of a GGUF export of `c` in llama-quantize order, with the converter's types: 1-D tensors
// F32, quantizable weights `weight_type` (F32, F16 or BF16; quantized mixes change types afterwards).
std::vector<GgufTensorPlan> PlanGgufTensors(const ModelConfig& c, DType weight_type);

// Sorts plan entries like llama-quantize (§5.7): layer (-1 first), then byte-wise name.
void SortLikeLlamaQuantize(std::vector<GgufTensorPlan>& plan);

struct GgufMetadata {
  std::string name;                       // general.name ("" → omitted)
  uint32_t file_type = 0;                 // llama_ftype (§5.2)
  std::vector<gguf::KeyValue> extra;      // appended after everything else (an existing key moves to the end)
  // A GGUF input's metadata, copied in order instead of being rebuilt from config + vocabulary (what
  // llama-quantize does: every key survives, e.g. tokenizer.chat_template, general.*), less split.* keys.
  // `name` (when set) replaces general.name in place; `file_type` is not applied (callers Set it via extra).
  std::optional<std::vector<gguf::KeyValue>> copied = std::nullopt;
};

// Writer with the metadata and tensor infos (no data yet).
gguf::Writer BuildGgufWriter(const ModelConfig& c, const tokenizer::Vocab& vocab,
                             const std::vector<GgufTensorPlan>& plan, const GgufMetadata& meta);

// Importance weights for a tensor by GGUF name (ne[0] values) or nullptr.
using ImatrixLookup = std::function<const std::vector<float>*(const std::string& gguf_name)>;

// Bytes of each planned tensor: the source tensor (F32/F16/BF16 or a ggml block type) → dequantized to f32
// where its type differs from the target → Q/K rows permuted → encoded with codecs::QuantizeRows
// (bit-exact with ggml). A source already in the target type is copied byte for byte (rows permuted).
gguf::TensorProducer MakeGgufTensorProducer(const TensorSource& source, const ModelConfig& c,
                                            const std::vector<GgufTensorPlan>& plan, ImatrixLookup imatrix);

// rope_freqs.weight for Llama-3 rope scaling (§5.5): head_dim/2 factors.
std::vector<float> Llama3RopeFreqFactors(const ModelConfig& c);

// Writes the whole file atomically, with progress.
void ExportGguf(const std::string& path, const ModelConfig& c, const TensorSource& source,
                const tokenizer::Vocab& vocab, const std::vector<GgufTensorPlan>& plan, const GgufMetadata& meta,
                const ImatrixLookup& imatrix = nullptr);
void WriteGgufWithProgress(const std::string& path, const gguf::Writer& writer, const gguf::TensorProducer& produce);

}  // namespace qforge::exporter
