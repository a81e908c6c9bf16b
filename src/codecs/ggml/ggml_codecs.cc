// The ggml codec table and the contract entry points of ggml_codecs.h.
#include "codecs/ggml/fp_strict.h"

#include "codecs/ggml/ggml_codecs.h"

#include <algorithm>
#include <array>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace qforge::codecs {
namespace ggml {
namespace {

// One row per type; block_bytes come from the block structs (cross-checked with core/dtype.h in tests).
const std::array<Codec, 13> kCodecs = {{
    {DType::kF32, 1, sizeof(float), QuantizeRowF32, DequantizeRowF32, nullptr},
    {DType::kF16, 1, sizeof(uint16_t), QuantizeRowF16, DequantizeRowF16, nullptr},
    {DType::kBF16, 1, sizeof(uint16_t), QuantizeRowBF16, DequantizeRowBF16, nullptr},
    {DType::kQ8_0, kQk32, sizeof(BlockQ8_0), QuantizeRowQ8_0, DequantizeRowQ8_0, DequantizeRowQ8_0Simd},
    {DType::kQ4_0, kQk32, sizeof(BlockQ4_0), QuantizeRowQ4_0, DequantizeRowQ4_0, DequantizeRowQ4_0Simd},
    {DType::kQ4_1, kQk32, sizeof(BlockQ4_1), QuantizeRowQ4_1, DequantizeRowQ4_1, nullptr},
    {DType::kQ5_0, kQk32, sizeof(BlockQ5_0), QuantizeRowQ5_0, DequantizeRowQ5_0, nullptr},
    {DType::kQ5_1, kQk32, sizeof(BlockQ5_1), QuantizeRowQ5_1, DequantizeRowQ5_1, nullptr},
    {DType::kQ2_K, kQkK, sizeof(BlockQ2_K), QuantizeRowQ2_K, DequantizeRowQ2_K, nullptr},
    {DType::kQ3_K, kQkK, sizeof(BlockQ3_K), QuantizeRowQ3_K, DequantizeRowQ3_K, nullptr},
    {DType::kQ4_K, kQkK, sizeof(BlockQ4_K), QuantizeRowQ4_K, DequantizeRowQ4_K, DequantizeRowQ4_KSimd},
    {DType::kQ5_K, kQkK, sizeof(BlockQ5_K), QuantizeRowQ5_K, DequantizeRowQ5_K, nullptr},
    {DType::kQ6_K, kQkK, sizeof(BlockQ6_K), QuantizeRowQ6_K, DequantizeRowQ6_K, DequantizeRowQ6_KSimd},
}};

// Rows per parallel task: enough work (>= ~64K elements) that scheduling overhead is negligible.
constexpr int64_t kElementsPerTask = 1 << 16;

const Codec& Require(DType type, const char* what) {
  const Codec* c = FindCodec(type);
  if (!c) Fail("{}: type {} has no ggml codec; expected one of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
               "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K", what, Name(type));
  return *c;
}

void CheckLength(const Codec& c, int64_t n, const char* what) {
  if (n < 0 || n % c.block_size != 0)
    Fail("{}: {} elements is not a multiple of the {} block size {}", what, n, Name(c.dtype), c.block_size);
}

}  // namespace

std::span<const Codec> AllCodecs() { return kCodecs; }

const Codec* FindCodec(DType type) {
  for (const Codec& c : kCodecs)
    if (c.dtype == type) return &c;
  return nullptr;
}

void DequantizeRowRef(DType type, const void* src, float* dst, int64_t n) {
  const Codec& c = Require(type, "DequantizeRowRef");
  CheckLength(c, n, "DequantizeRowRef");
  c.dequantize_ref(src, dst, n);
}

}  // namespace ggml

bool HasGgmlCodec(DType type) { return ggml::FindCodec(type) != nullptr; }

size_t RowBytes(DType type, int64_t n_per_row) {
  const ggml::Codec& c = ggml::Require(type, "RowBytes");
  ggml::CheckLength(c, n_per_row, "RowBytes");
  const std::optional<uint64_t> bytes = ByteSize(type, static_cast<uint64_t>(n_per_row));
  if (!bytes) Fail("RowBytes: a row of {} {} elements overflows the size type", n_per_row, Name(type));
  return static_cast<size_t>(*bytes);
}

size_t QuantizeRows(DType type, const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                    const float* imatrix) {
  const ggml::Codec& c = ggml::Require(type, "QuantizeRows");
  ggml::CheckLength(c, n_per_row, "QuantizeRows");
  if (nrows < 0) Fail("QuantizeRows: negative row count {}", nrows);
  const size_t row_bytes = RowBytes(type, n_per_row);
  size_t total = 0;
  if (__builtin_mul_overflow(row_bytes, static_cast<size_t>(nrows), &total))
    Fail("QuantizeRows: {} rows of {} bytes overflow the size type", nrows, row_bytes);
  if (nrows == 0 || n_per_row == 0) return total;
  auto* out = static_cast<uint8_t*>(dst);
  const auto rows_per_task = static_cast<size_t>(std::max<int64_t>(1, ggml::kElementsPerTask / n_per_row));
  ThreadPool::Global().ParallelFor(static_cast<size_t>(nrows), rows_per_task, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r)
      c.quantize(src + r * static_cast<size_t>(n_per_row), out + r * row_bytes, n_per_row, imatrix);
  });
  return total;
}

void DequantizeRow(DType type, const void* src, float* dst, int64_t n) {
  const ggml::Codec& c = ggml::Require(type, "DequantizeRow");
  ggml::CheckLength(c, n, "DequantizeRow");
  (c.dequantize_simd ? c.dequantize_simd : c.dequantize_ref)(src, dst, n);
}

}  // namespace qforge::codecs
