// The DType traits table: the single source of truth for every element and block type qforge knows
// (DESIGN.md §3.2). Writers, size checks, CLI help and tests iterate this table; nothing else hard-codes
// a type's size or name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace qforge {

enum class DType : uint8_t {
  kF32, kF16, kBF16, kF64,
  kI8, kU8, kI16, kU16, kI32, kU32, kI64, kU64, kBool,
  // GGUF block types (ggml). block_size elements share type_size bytes.
  kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ8_0, kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K,
  kCount
};

struct DTypeTraits {
  DType dtype;
  std::string_view name;              // qforge / ggml display name ("F32", "Q4_K")
  int64_t block_size;                 // elements per block (1 for plain element types)
  int64_t type_size;                  // bytes per block
  std::string_view safetensors_name;  // "" where safetensors has no such dtype
  int32_t gguf_id;                    // ggml_type id; -1 where GGUF has none
  bool is_float;                      // F32/F16/BF16/F64
  bool is_quantized;                  // a GGUF block type
};

const DTypeTraits& Traits(DType t);
std::span<const DTypeTraits> AllDTypes();
inline std::string_view Name(DType t) { return Traits(t).name; }

std::optional<DType> DTypeFromSafetensorsName(std::string_view name);
std::optional<DType> DTypeFromGgufId(int64_t id);
std::optional<DType> DTypeFromName(std::string_view name);  // by display name, case-insensitive

// Bytes of `n` elements of type t. Returns nullopt if n is not a multiple of the block size or the
// product overflows.
std::optional<uint64_t> ByteSize(DType t, uint64_t n);

}  // namespace qforge
