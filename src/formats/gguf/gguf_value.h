// A GGUF metadata value (FORMATS.md §5.1): a scalar, a string, or a one-level array of either.
//
// On disk (little-endian):
//   scalar  = the value's bytes (u8/i8 1, u16/i16 2, u32/i32/f32 4, u64/i64/f64 8, bool 1 byte 0|1)
//   string  = u64 length + UTF-8 bytes (no terminator)
//   array   = u32 element type + u64 count + elements back to back (strings each length-prefixed)
// Type ids: 0 UINT8, 1 INT8, 2 UINT16, 3 INT16, 4 UINT32, 5 INT32, 6 FLOAT32, 7 BOOL, 8 STRING, 9 ARRAY,
//           10 UINT64, 11 INT64, 12 FLOAT64. Arrays of arrays are not allowed.
//
// Numeric payloads are kept as their exact little-endian bytes, so a read → write round trip is
// byte-identical and typed accessors can be strict about the stored type (llama.cpp rejects a key
// whose type differs from the one it expects).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace qforge::gguf {

enum class ValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7,
  kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
inline constexpr uint32_t kValueTypeCount = 13;

std::string_view ValueTypeName(ValueType t);
// Bytes of one scalar of type t; 0 for kString and kArray.
size_t ScalarSize(ValueType t);

// Maps a C++ type to its GGUF value type.
template <typename T> constexpr ValueType ValueTypeOf() {
  if constexpr (std::is_same_v<T, bool>) return ValueType::kBool;
  else if constexpr (std::is_same_v<T, uint8_t>) return ValueType::kUint8;
  else if constexpr (std::is_same_v<T, int8_t>) return ValueType::kInt8;
  else if constexpr (std::is_same_v<T, uint16_t>) return ValueType::kUint16;
  else if constexpr (std::is_same_v<T, int16_t>) return ValueType::kInt16;
  else if constexpr (std::is_same_v<T, uint32_t>) return ValueType::kUint32;
  else if constexpr (std::is_same_v<T, int32_t>) return ValueType::kInt32;
  else if constexpr (std::is_same_v<T, float>) return ValueType::kFloat32;
  else if constexpr (std::is_same_v<T, uint64_t>) return ValueType::kUint64;
  else if constexpr (std::is_same_v<T, int64_t>) return ValueType::kInt64;
  else if constexpr (std::is_same_v<T, double>) return ValueType::kFloat64;
  else static_assert(sizeof(T) == 0, "not a GGUF scalar type");
}

class Value {
 public:
  Value() = default;

  template <typename T> static Value Scalar(T v) {
    Value out;
    out.type_ = out.elem_ = ValueTypeOf<T>();
    out.count_ = 1;
    out.raw_.resize(sizeof(T));
    if constexpr (std::is_same_v<T, bool>) {
      out.raw_[0] = v ? 1 : 0;
    } else {
      std::memcpy(out.raw_.data(), &v, sizeof(T));
    }
    return out;
  }
  static Value String(std::string s);
  template <typename T> static Value Array(std::span<const T> v) {
    Value out;
    out.type_ = ValueType::kArray;
    out.elem_ = ValueTypeOf<T>();
    out.count_ = v.size();
    out.raw_.resize(v.size() * sizeof(T));  // a bool object holds byte 0 or 1
    static_assert(sizeof(bool) == 1);
    if (!v.empty()) std::memcpy(out.raw_.data(), v.data(), out.raw_.size());
    return out;
  }
  template <typename T> static Value Array(const std::vector<T>& v) {
    if constexpr (std::is_same_v<T, bool>) {  // vector<bool> has no contiguous storage
      Value out;
      out.type_ = ValueType::kArray;
      out.elem_ = ValueType::kBool;
      out.count_ = v.size();
      for (bool b : v) out.raw_.push_back(b ? 1 : 0);
      return out;
    } else {
      return Array(std::span<const T>(v));
    }
  }
  static Value StringArray(std::vector<std::string> v);
  // For the reader: numeric payload bytes (count * ScalarSize(elem)) or strings.
  static Value FromParts(ValueType type, ValueType elem, uint64_t count, std::vector<uint8_t> raw,
                         std::vector<std::string> strings);

  ValueType type() const { return type_; }
  // Element type of an array; the type itself for a scalar or string.
  ValueType element_type() const { return elem_; }
  bool is_array() const { return type_ == ValueType::kArray; }
  uint64_t count() const { return count_; }  // 1 for a scalar or string

  // Exact-type accessors: nullopt / nullptr when the stored type differs.
  template <typename T> std::optional<T> As() const {
    if (type_ != ValueTypeOf<T>()) return std::nullopt;
    if constexpr (std::is_same_v<T, bool>) {
      return raw_[0] != 0;
    } else {
      T v;
      std::memcpy(&v, raw_.data(), sizeof(T));
      return v;
    }
  }
  const std::string* AsString() const { return type_ == ValueType::kString ? &strings_[0] : nullptr; }
  template <typename T> std::optional<std::vector<T>> AsArray() const {
    if (!is_array() || elem_ != ValueTypeOf<T>()) return std::nullopt;
    std::vector<T> v(count_);
    if constexpr (std::is_same_v<T, bool>) {
      for (uint64_t i = 0; i < count_; ++i) v[i] = raw_[i] != 0;
    } else {
      if (count_) std::memcpy(v.data(), raw_.data(), raw_.size());
    }
    return v;
  }
  const std::vector<std::string>* AsStringArray() const {
    return is_array() && elem_ == ValueType::kString ? &strings_ : nullptr;
  }
  // Any integer scalar (not bool) whose value fits int64.
  std::optional<int64_t> ToInt64() const;
  // FLOAT32 or FLOAT64 scalar.
  std::optional<double> ToDouble() const;

  // Payload: numeric bytes (scalars and numeric arrays) / strings (string and string arrays).
  const std::vector<uint8_t>& raw() const { return raw_; }
  const std::vector<std::string>& strings() const { return strings_; }

  // Short human-readable form ("UINT32 2048", "ARRAY[STRING] x512 [\"<unk>\", ...]").
  std::string Describe(size_t max_elements = 4) const;

  bool operator==(const Value& o) const = default;

 private:
  ValueType type_ = ValueType::kUint8;
  ValueType elem_ = ValueType::kUint8;
  uint64_t count_ = 0;
  std::vector<uint8_t> raw_;
  std::vector<std::string> strings_;
};

struct KeyValue {
  std::string key;
  Value value;
};

}  // namespace qforge::gguf
