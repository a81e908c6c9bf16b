// ggml tensor types as codecs: F32, F16, BF16 and the block types Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K (block layouts in ggml_blocks.h, FORMATS.md §6.2).
//
// A row of n_per_row floats becomes RowBytes(type, n_per_row) bytes: consecutive blocks of block_size
// elements, rows back to back. Quantization is bit-exact with ggml_quantize_chunk (same bytes with and
// without an importance matrix); dequantization is bit-exact with ggml's to_float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace qforge::codecs {

// Quantizes nrows rows of n_per_row floats. imatrix: n_per_row importance weights (the same for every row)
// or nullptr. Returns bytes written = nrows * RowBytes(type, n_per_row). Throws qforge::Error for a type
// with no ggml codec or a row length that is not a multiple of the block size. Rows run in parallel on
// the global thread pool; the bytes do not depend on the thread count.
size_t QuantizeRows(DType type, const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                    const float* imatrix);

// Decodes n elements (n a multiple of the block size) with the fastest compiled SIMD target where one
// exists; the result is bit-identical to the scalar twin ggml::DequantizeRowRef.
void DequantizeRow(DType type, const void* src, float* dst, int64_t n);

// Bytes of one row of n_per_row elements. Throws qforge::Error if n_per_row is negative, not a multiple of
// the block size, or the size overflows.
size_t RowBytes(DType type, int64_t n_per_row);

// True for the 13 types above.
bool HasGgmlCodec(DType type);

namespace ggml {

// Quantizes one row of n elements (a multiple of block_size) into dst; imatrix may be nullptr.
using QuantizeRowFn = void (*)(const float* x, void* dst, int64_t n, const float* imatrix);
// Decodes n elements (a multiple of block_size).
using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);

struct Codec {
  DType dtype;
  int64_t block_size;      // elements per block
  size_t block_bytes;      // sizeof the block struct; equals Traits(dtype).type_size (tested)
  QuantizeRowFn quantize;  // scalar reference quantizer (the bit-exact twin of ggml's)
  DequantizeFn dequantize_ref;   // scalar reference decoder
  DequantizeFn dequantize_simd;  // Highway dispatch, or nullptr where the scalar decoder is the only one
};

std::span<const Codec> AllCodecs();
// nullptr when the type has no ggml codec.
const Codec* FindCodec(DType type);

// The scalar decoder (the twin the SIMD path is tested against).
void DequantizeRowRef(DType type, const void* src, float* dst, int64_t n);

}  // namespace ggml
}  // namespace qforge::codecs
