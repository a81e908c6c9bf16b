// Overflow-checked size arithmetic for untrusted numbers (header fields, shapes, offsets).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace qforge::io {

inline std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
// Product of dims, each of which must be >= 0; nullopt on a negative dim or when the product exceeds
// INT64_MAX.
inline std::optional<int64_t> CheckedNumElements(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

}  // namespace qforge::io
