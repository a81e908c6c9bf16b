// A GGUF model seen through the HF lens (FORMATS.md §5.3, §5.5): GGUF metadata → ModelConfig, GGUF tensor
// names ↔ HF names for the Llama family (arch "llama", "qwen2", "qwen3").
//
//   model.embed_tokens.weight                    token_embd.weight
//   model.layers.N.input_layernorm.weight        blk.N.attn_norm.weight
//   model.layers.N.self_attn.{q,k,v}_proj.weight blk.N.attn_{q,k,v}.weight     (+ .bias, qwen2)
//   model.layers.N.self_attn.o_proj.weight       blk.N.attn_output.weight
//   model.layers.N.self_attn.{q,k}_norm.weight   blk.N.attn_{q,k}_norm.weight  (qwen3)
//   model.layers.N.post_attention_layernorm.w.   blk.N.ffn_norm.weight
//   model.layers.N.mlp.{gate,up,down}_proj.w.    blk.N.ffn_{gate,up,down}.weight
//   model.norm.weight                            output_norm.weight
//   lm_head.weight                               output.weight (absent when tied)
//
// For arch "llama" the GGUF q/k rows are in llama.cpp's pair-interleaved RoPE order (§5.6); the tensors
// are served as stored and ConfigFromGguf sets rope_interleaved = true so the forward pass rotates
// adjacent pairs. qwen2/qwen3 use rotate-half RoPE and are stored unpermuted.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/model_config.h"
#include "core/tensor_source.h"
#include "formats/gguf/gguf_file.h"
#include "hf/tensor_names.h"

namespace qforge::hf {

inline constexpr std::string_view kGgufRopeFreqs = "rope_freqs.weight";

// GGUF name of an HF role (FORMATS.md §5.5).
std::string GgufTensorName(Role role, int layer = -1);
// GGUF name of an HF tensor name; nullopt when the name is not in the architecture table.
std::optional<std::string> GgufTensorNameFromHf(std::string_view hf_name);
// (role, layer) of a GGUF tensor name; nullopt for names outside the table (e.g. rope_freqs.weight).
std::optional<TensorName> ParseGgufTensorName(std::string_view gguf_name);

// The GGUF architecture string for an HF model_type ("llama", "mistral" → "llama"; "qwen2"; "qwen3").
std::string GgufArchitecture(const ModelConfig& c);

// Hyper-parameters from `<arch>.*` metadata, with llama.cpp's defaults (head_count_kv = head_count,
// freq_base 10000, key_length = embedding / heads); vocab size from token_embd.weight; tie from the
// absence of output.weight; bos/eos from tokenizer.ggml.*. Throws qforge::Error naming the file and key
// for a missing/mistyped/out-of-range key or an unsupported architecture.
ModelConfig ConfigFromGguf(const gguf::File& file);

// The file's tensors under HF names (quantized GGUF types returned as stored; callers dequantize via
// codecs). When tied, lm_head.weight and model.embed_tokens.weight both resolve to token_embd.weight.
// rope_freqs.weight keeps its name. Every tensor is checked against ConfigFromGguf: unknown names and
// wrong shapes throw qforge::Error.
std::unique_ptr<TensorSource> HfNamedTensors(std::shared_ptr<const gguf::File> file);

}  // namespace qforge::hf
