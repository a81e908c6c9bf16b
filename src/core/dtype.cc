#include "core/dtype.h"

#include <array>
#include <cctype>

#include "core/error.h"

namespace qforge {
namespace {

// ggml type ids from ggml.h (enum ggml_type); safetensors names from safetensors' Dtype enum.
// Block sizes / bytes from ggml's type_traits (QK4_0 = 32, QK_K = 256, ...); see FORMATS.md §6.2.
constexpr std::array<DTypeTraits, static_cast<size_t>(DType::kCount)> kTable = {{
    {DType::kF32, "F32", 1, 4, "F32", 0, true, false},
    {DType::kF16, "F16", 1, 2, "F16", 1, true, false},
    {DType::kBF16, "BF16", 1, 2, "BF16", 30, true, false},
    {DType::kF64, "F64", 1, 8, "F64", 28, true, false},
    {DType::kI8, "I8", 1, 1, "I8", 24, false, false},
    {DType::kU8, "U8", 1, 1, "U8", -1, false, false},
    {DType::kI16, "I16", 1, 2, "I16", 25, false, false},
    {DType::kU16, "U16", 1, 2, "U16", -1, false, false},
    {DType::kI32, "I32", 1, 4, "I32", 26, false, false},
    {DType::kU32, "U32", 1, 4, "U32", -1, false, false},
    {DType::kI64, "I64", 1, 8, "I64", 27, false, false},
    {DType::kU64, "U64", 1, 8, "U64", -1, false, false},
    {DType::kBool, "BOOL", 1, 1, "BOOL", -1, false, false},
    {DType::kQ4_0, "Q4_0", 32, 18, "", 2, false, true},
    {DType::kQ4_1, "Q4_1", 32, 20, "", 3, false, true},
    {DType::kQ5_0, "Q5_0", 32, 22, "", 6, false, true},
    {DType::kQ5_1, "Q5_1", 32, 24, "", 7, false, true},
    {DType::kQ8_0, "Q8_0", 32, 34, "", 8, false, true},
    {DType::kQ2_K, "Q2_K", 256, 84, "", 10, false, true},
    {DType::kQ3_K, "Q3_K", 256, 110, "", 11, false, true},
    {DType::kQ4_K, "Q4_K", 256, 144, "", 12, false, true},
    {DType::kQ5_K, "Q5_K", 256, 176, "", 13, false, true},
    {DType::kQ6_K, "Q6_K", 256, 210, "", 14, false, true},
}};

constexpr bool TableIsIndexed() {
  for (size_t i = 0; i < kTable.size(); ++i)
    if (static_cast<size_t>(kTable[i].dtype) != i) return false;
  return true;
}
static_assert(TableIsIndexed(), "kTable rows must be in DType enum order");

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

const DTypeTraits& Traits(DType t) {
  const auto i = static_cast<size_t>(t);
  QF_CHECK_MSG(i < kTable.size(), "bad DType {}", i);
  return kTable[i];
}

std::span<const DTypeTraits> AllDTypes() { return kTable; }

std::optional<DType> DTypeFromSafetensorsName(std::string_view name) {
  for (const auto& t : kTable)
    if (!t.safetensors_name.empty() && t.safetensors_name == name) return t.dtype;
  return std::nullopt;
}

std::optional<DType> DTypeFromGgufId(int64_t id) {
  for (const auto& t : kTable)
    if (t.gguf_id >= 0 && t.gguf_id == id) return t.dtype;
  return std::nullopt;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const auto& t : kTable)
    if (EqualsNoCase(t.name, name)) return t.dtype;
  return std::nullopt;
}

std::optional<uint64_t> ByteSize(DType t, uint64_t n) {
  const auto& tr = Traits(t);
  const auto bs = static_cast<uint64_t>(tr.block_size);
  if (n % bs != 0) return std::nullopt;
  uint64_t out;
  if (__builtin_mul_overflow(n / bs, static_cast<uint64_t>(tr.type_size), &out)) return std::nullopt;
  return out;
}

}  // namespace qforge
