// llama-quantize type mixes (FORMATS.md §7): which ggml type each GGUF tensor gets under a mix such as
// Q4_K_M. A pure function of the tensor (role, layer, shape), the mix, facts about the model and the
// llama-quantize options --pure, --output-tensor-type, --token-embedding-type; the per-mix rules are data
// (kquant_mix.cc). Row-length fallbacks (§7.3) are applied last.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/dtype.h"

namespace qforge::algorithms {

enum class KquantMix { kQ8_0, kQ6_K, kQ5_K_M, kQ5_K_S, kQ4_K_M, kQ4_K_S, kQ4_0, kQ3_K_M };

struct KquantMixInfo {
  KquantMix mix;
  std::string_view name;  // "Q4_K_M"
  uint32_t file_type;     // general.file_type (llama_ftype), FORMATS.md §5.2
  DType default_type;
};
std::span<const KquantMixInfo> AllKquantMixes();
const KquantMixInfo& Info(KquantMix mix);
std::optional<KquantMix> KquantMixFromName(std::string_view name);  // case-insensitive

// The GGUF tensor kinds the rules tell apart (llama names, FORMATS.md §5.5).
enum class GgufRole {
  kTokenEmbd, kOutput, kAttnQ, kAttnK, kAttnV, kAttnOutput, kAttnQkv, kFfnGate, kFfnUp, kFfnDown, kNorm, kOther
};
struct GgufTensorRef {
  GgufRole role = GgufRole::kOther;
  int layer = -1;  // N of "blk.N.", -1 elsewhere
};
// "blk.3.attn_v.weight" -> {kAttnV, 3}; "output_norm.weight" -> {kNorm, -1}; unknown names -> kOther.
GgufTensorRef ParseGgufTensorName(std::string_view name);

struct KquantModelFacts {
  int n_layers = 0;         // number of blocks (= number of attn_v and of ffn_down tensors for llama)
  int n_head = 0, n_head_kv = 0;
  int n_expert = 0;
  bool has_output = true;   // false when the embeddings are tied (no output.weight)
};

struct KquantOptions {
  bool pure = false;                          // --pure: every quantized tensor gets the default type
  std::optional<DType> output_tensor_type;    // --output-tensor-type
  std::optional<DType> token_embedding_type;  // --token-embedding-type
  bool has_imatrix = false;                   // changes Q4_0's first ffn_down layers
};

struct KquantTensor {
  GgufRole role = GgufRole::kOther;
  int layer = -1;                  // block index; the running attn_v / ffn_down counter for dense llama
  std::span<const int64_t> ne;     // ggml dimension order: ne[0] is the row length (input features)
};

struct KquantChoice {
  bool quantize = false;  // false: keep the tensor as it is (norms, 1-D tensors); `type` is then unset
  DType type = DType::kF32;
  bool fallback = false;  // the row length forced a fallback type (§7.3); llama-quantize counts these
};

// The type llama-quantize picks for one tensor.
KquantChoice ChooseKquantType(const KquantTensor& tensor, KquantMix mix, const KquantModelFacts& model,
                              const KquantOptions& options);

// llama's use_more_bits(i, n): i < n/8 or i >= 7n/8 or (i - n/8) mod 3 == 2 (integer division).
bool UseMoreBits(int i, int n);

// The §7.3 fallback for a type whose block does not divide row_length (returns `type` when it fits).
DType FallbackType(DType type, int64_t row_length);

}  // namespace qforge::algorithms
