// Dense b-bit packing of signed integer codes into int32 words: the compressed-tensors `pack-quantized`
// layout (FORMATS.md §2.8; compressed-tensors >= 0.17 `pack_to_int32` / `unpack_from_int32`).
//
// A matrix [rows, cols] of signed codes v in [-2^(b-1), 2^(b-1)-1] is packed line by line:
//   packed_dim = 1: each row is a line    -> words [rows, ceil(cols*b/32)]      (weight_packed)
//   packed_dim = 0: each column is a line -> words [ceil(rows*b/32), cols]      (weight_zero_point)
// Within a line of n elements, element i stores u = v + 2^(b-1) in bits [i*b, i*b+b) of one little-endian
// bit stream; word w holds stream bits [32w, 32w+32), bit 0 least significant. For b = 3, 5, 6, 7 an element
// may straddle two words; the unused high bits of a line's last word are 0. For b = 1, 2, 4, 8 this equals the
// older (<= 0.16) layout bit for bit. Words are stored as int32 (two's complement), little-endian.
//
//   example (b = 4, dim 1): [-8,-7,0,1,2,3,4,7,5] -> 0xfcba9810, 0x0000000d
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace qforge::codecs {

inline constexpr int kMinPackBits = 1;
inline constexpr int kMaxPackBits = 8;

// Words needed for a line of n b-bit elements: ceil(n*b/32).
int64_t PackedWords(int64_t n, int bits);
// Shape of the packed tensor for codes [rows, cols].
Shape PackedShape(int64_t rows, int64_t cols, int bits, int packed_dim);

// Packs codes [rows, cols] (row-major) into `out` (PackedShape elements, row-major). Throws qforge::Error
// naming `context` when a code lies outside [-2^(b-1), 2^(b-1)-1].
void PackInt32(std::span<const int8_t> codes, int64_t rows, int64_t cols, int bits, int packed_dim,
               std::span<uint32_t> out, std::string_view context);
std::vector<uint32_t> PackInt32(std::span<const int8_t> codes, int64_t rows, int64_t cols, int bits,
                                int packed_dim, std::string_view context);

// Unpacks words of PackedShape(rows, cols, bits, packed_dim) back into signed codes [rows, cols]. Throws
// qforge::Error naming `context` if `words` has the wrong length (the reference pads silently instead).
void UnpackInt32(std::span<const uint32_t> words, int64_t rows, int64_t cols, int bits, int packed_dim,
                 std::span<int8_t> out, std::string_view context);
std::vector<int8_t> UnpackInt32(std::span<const uint32_t> words, int64_t rows, int64_t cols, int bits,
                                int packed_dim, std::string_view context);

}  // namespace qforge::codecs
