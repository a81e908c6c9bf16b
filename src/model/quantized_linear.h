// Linear weights kept in their quantized form (no float copy of the matrix), run by the kernels in
// kernels/quant (integer formats) or by a row-tile decode + F32 GEMV (GGUF block types):
//   W4A16  int4 codes packed 8 per uint32 word (compressed-tensors pack-quantized), float group scales
//   W8A16  int8 codes, float scales per [out, group] (group = in: per channel)
//   W8A8   int8 codes, per-channel scale, activations quantized per token at run time (vLLM semantics)
//   GGUF   Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K used in place; activations quantized to Q8_0/Q8_1/Q8_K
//          blocks and integer dot products per block, as llama.cpp's CPU backend does (codecs/ggml/dot)
// Resident memory ≈ the quantized bytes (+ 4 bytes per scale).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/int/int_quant.h"
#include "core/tensor.h"
#include "model/linear.h"

namespace qforge::model {

// `packed`: uint32/int32 words [out, in/8] (a view into a mapped file is fine: the Tensor keeps it alive);
// scales: [out * in/group] floats. Requires in % 8 == 0, group % 8 == 0, in % group == 0; throws naming `name`.
std::unique_ptr<LinearWeight> MakeW4A16Linear(Tensor packed, std::vector<float> scales, int64_t out, int64_t in,
                                              int64_t group, const std::string& name);
// `codes`: int8 [out, in]; scales [out * in/group].
std::unique_ptr<LinearWeight> MakeW8A16Linear(Tensor codes, std::vector<float> scales, int64_t out, int64_t in,
                                              int64_t group, const std::string& name);
// `codes`: int8 [out, in]; scales [out] (per channel). in ≤ kernels::kMaxW8A8K.
std::unique_ptr<LinearWeight> MakeW8A8Linear(Tensor codes, std::vector<float> scales, int64_t out, int64_t in,
                                             const std::string& name);
// From an RTN/GPTQ result of codecs/int: 4-bit symmetric group → W4A16, 8-bit symmetric → W8A16 (or W8A8 when
// `quantize_activations`). Throws for asymmetric or other bit widths.
std::unique_ptr<LinearWeight> MakeIntLinear(const codecs::QuantizedMatrix& q, bool quantize_activations,
                                            const std::string& name);
// A GGUF block-type weight [out, in] (rows of RowBytes each), used in place.
std::unique_ptr<LinearWeight> MakeGgufLinear(const Tensor& w, const std::string& name);
// An F16 / BF16 weight applied as llama.cpp applies it: activations rounded to the weight's type first.
std::unique_ptr<LinearWeight> MakeRoundedActivationLinear(const Tensor& w, const std::string& name);

// Re-quantizes a weight for benchmarks and comparisons: "f32", "bf16", "w8a16", "w4a16" (group 128),
// "w8a8", or a GGUF type name ("q8_0", "q4_0", "q4_k", "q5_k", "q6_k").
std::unique_ptr<LinearWeight> QuantizeLinearAs(const LinearWeight& w, std::string_view scheme);

}  // namespace qforge::model
