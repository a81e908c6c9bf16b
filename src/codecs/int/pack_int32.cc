#include "codecs/int/pack_int32.h"

#include "core/error.h"

namespace qforge::codecs {
namespace {

void CheckArgs(int64_t rows, int64_t cols, int bits, int packed_dim) {
  QF_CHECK_MSG(bits >= kMinPackBits && bits <= kMaxPackBits, "bits {}", bits);
  QF_CHECK_MSG(packed_dim == 0 || packed_dim == 1, "packed_dim {}", packed_dim);
  QF_CHECK(rows >= 0 && cols >= 0);
}

}  // namespace

int64_t PackedWords(int64_t n, int bits) {
  QF_CHECK(n >= 0 && bits >= kMinPackBits && bits <= kMaxPackBits);
  return (n * bits + 31) / 32;
}

Shape PackedShape(int64_t rows, int64_t cols, int bits, int packed_dim) {
  CheckArgs(rows, cols, bits, packed_dim);
  if (packed_dim == 1) return {rows, PackedWords(cols, bits)};
  return {PackedWords(rows, bits), cols};
}

void PackInt32(std::span<const int8_t> codes, int64_t rows, int64_t cols, int bits, int packed_dim,
               std::span<uint32_t> out, std::string_view context) {
  CheckArgs(rows, cols, bits, packed_dim);
  QF_CHECK(static_cast<int64_t>(codes.size()) == rows * cols);
  const Shape ps = PackedShape(rows, cols, bits, packed_dim);
  QF_CHECK(static_cast<int64_t>(out.size()) == ps[0] * ps[1]);
  const int offset = 1 << (bits - 1);
  const int lo = -offset, hi = offset - 1;
  const uint32_t mask = (1u << bits) - 1u;
  // A line is `n` elements at stride `in_stride` in codes; its words go at stride `out_stride` in out.
  const int64_t lines = packed_dim == 1 ? rows : cols;
  const int64_t n = packed_dim == 1 ? cols : rows;
  const int64_t words = packed_dim == 1 ? ps[1] : ps[0];
  const int64_t in_line = packed_dim == 1 ? cols : 1, in_stride = packed_dim == 1 ? 1 : cols;
  const int64_t out_line = packed_dim == 1 ? words : 1, out_stride = packed_dim == 1 ? 1 : cols;
  for (int64_t l = 0; l < lines; ++l) {
    uint32_t* dst = out.data() + l * out_line;
    for (int64_t w = 0; w < words; ++w) dst[w * out_stride] = 0;
    const int8_t* src = codes.data() + l * in_line;
    for (int64_t i = 0; i < n; ++i) {
      const int v = src[i * in_stride];
      if (v < lo || v > hi)
        Fail("{}: code {} at [{}, {}] is outside the {}-bit range [{}, {}]", context, v,
             packed_dim == 1 ? l : i, packed_dim == 1 ? i : l, bits, lo, hi);
      const uint32_t u = static_cast<uint32_t>(v + offset) & mask;
      const int64_t bit = i * bits;
      const int64_t w = bit / 32;
      const int shift = static_cast<int>(bit % 32);
      dst[w * out_stride] |= u << shift;
      if (shift + bits > 32) dst[(w + 1) * out_stride] |= u >> (32 - shift);
    }
  }
}

std::vector<uint32_t> PackInt32(std::span<const int8_t> codes, int64_t rows, int64_t cols, int bits,
                                int packed_dim, std::string_view context) {
  const Shape ps = PackedShape(rows, cols, bits, packed_dim);
  std::vector<uint32_t> out(static_cast<size_t>(ps[0] * ps[1]));
  PackInt32(codes, rows, cols, bits, packed_dim, out, context);
  return out;
}

void UnpackInt32(std::span<const uint32_t> words_in, int64_t rows, int64_t cols, int bits, int packed_dim,
                 std::span<int8_t> out, std::string_view context) {
  CheckArgs(rows, cols, bits, packed_dim);
  const Shape ps = PackedShape(rows, cols, bits, packed_dim);
  if (static_cast<int64_t>(words_in.size()) != ps[0] * ps[1])
    Fail("{}: packed tensor has {} int32 words; {}-bit codes of shape [{}, {}] packed along dim {} need {} "
         "(shape {})", context, words_in.size(), bits, rows, cols, packed_dim, ps[0] * ps[1], ShapeToString(ps));
  QF_CHECK(static_cast<int64_t>(out.size()) == rows * cols);
  const int offset = 1 << (bits - 1);
  const uint32_t mask = (1u << bits) - 1u;
  const int64_t lines = packed_dim == 1 ? rows : cols;
  const int64_t n = packed_dim == 1 ? cols : rows;
  const int64_t words = packed_dim == 1 ? ps[1] : ps[0];
  const int64_t out_line = packed_dim == 1 ? cols : 1, out_stride = packed_dim == 1 ? 1 : cols;
  const int64_t in_line = packed_dim == 1 ? words : 1, in_stride = packed_dim == 1 ? 1 : cols;
  for (int64_t l = 0; l < lines; ++l) {
    const uint32_t* src = words_in.data() + l * in_line;
    int8_t* dst = out.data() + l * out_line;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t bit = i * bits;
      const int64_t w = bit / 32;
      const int shift = static_cast<int>(bit % 32);
      uint32_t u = src[w * in_stride] >> shift;
      if (shift + bits > 32) u |= src[(w + 1) * in_stride] << (32 - shift);
      dst[i * out_stride] = static_cast<int8_t>(static_cast<int>(u & mask) - offset);
    }
  }
}

std::vector<int8_t> UnpackInt32(std::span<const uint32_t> words, int64_t rows, int64_t cols, int bits,
                                int packed_dim, std::string_view context) {
  std::vector<int8_t> out(static_cast<size_t>(rows * cols));
  UnpackInt32(words, rows, cols, bits, packed_dim, out, context);
  return out;
}

}  // namespace qforge::codecs
