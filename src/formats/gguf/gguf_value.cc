#include "formats/gguf/gguf_value.h"

#include <fmt/format.h>

#include <utility>

#include "core/error.h"

namespace qforge::gguf {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kUint8: return "UINT8";
    case ValueType::kInt8: return "INT8";
    case ValueType::kUint16: return "UINT16";
    case ValueType::kInt16: return "INT16";
    case ValueType::kUint32: return "UINT32";
    case ValueType::kInt32: return "INT32";
    case ValueType::kFloat32: return "FLOAT32";
    case ValueType::kBool: return "BOOL";
    case ValueType::kString: return "STRING";
    case ValueType::kArray: return "ARRAY";
    case ValueType::kUint64: return "UINT64";
    case ValueType::kInt64: return "INT64";
    case ValueType::kFloat64: return "FLOAT64";
  }
  return "?";
}

size_t ScalarSize(ValueType t) {
  switch (t) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUint16: case ValueType::kInt16: return 2;
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUint64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    case ValueType::kString: case ValueType::kArray: return 0;
  }
  return 0;
}

Value Value::String(std::string s) {
  Value out;
  out.type_ = out.elem_ = ValueType::kString;
  out.count_ = 1;
  out.strings_.push_back(std::move(s));
  return out;
}

Value Value::StringArray(std::vector<std::string> v) {
  Value out;
  out.type_ = ValueType::kArray;
  out.elem_ = ValueType::kString;
  out.count_ = v.size();
  out.strings_ = std::move(v);
  return out;
}

Value Value::FromParts(ValueType type, ValueType elem, uint64_t count, std::vector<uint8_t> raw,
                       std::vector<std::string> strings) {
  Value out;
  out.type_ = type;
  out.elem_ = elem;
  out.count_ = count;
  if (elem == ValueType::kString) {
    QF_CHECK(strings.size() == count && raw.empty());
  } else {
    QF_CHECK(raw.size() == count * ScalarSize(elem) && strings.empty());
  }
  out.raw_ = std::move(raw);
  out.strings_ = std::move(strings);
  return out;
}

std::optional<int64_t> Value::ToInt64() const {
  switch (type_) {
    case ValueType::kUint8: return *As<uint8_t>();
    case ValueType::kInt8: return *As<int8_t>();
    case ValueType::kUint16: return *As<uint16_t>();
    case ValueType::kInt16: return *As<int16_t>();
    case ValueType::kUint32: return *As<uint32_t>();
    case ValueType::kInt32: return *As<int32_t>();
    case ValueType::kInt64: return *As<int64_t>();
    case ValueType::kUint64: {
      const uint64_t v = *As<uint64_t>();
      if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    default: return std::nullopt;
  }
}

std::optional<double> Value::ToDouble() const {
  if (type_ == ValueType::kFloat32) return *As<float>();
  if (type_ == ValueType::kFloat64) return *As<double>();
  return std::nullopt;
}

namespace {
std::string ElementToString(ValueType t, const uint8_t* p) {
  auto get = [p]<typename T>(T) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  };
  switch (t) {
    case ValueType::kUint8: return fmt::format("{}", get(uint8_t{}));
    case ValueType::kInt8: return fmt::format("{}", get(int8_t{}));
    case ValueType::kUint16: return fmt::format("{}", get(uint16_t{}));
    case ValueType::kInt16: return fmt::format("{}", get(int16_t{}));
    case ValueType::kUint32: return fmt::format("{}", get(uint32_t{}));
    case ValueType::kInt32: return fmt::format("{}", get(int32_t{}));
    case ValueType::kFloat32: return fmt::format("{}", get(float{}));
    case ValueType::kBool: return *p ? "true" : "false";
    case ValueType::kUint64: return fmt::format("{}", get(uint64_t{}));
    case ValueType::kInt64: return fmt::format("{}", get(int64_t{}));
    case ValueType::kFloat64: return fmt::format("{}", get(double{}));
    default: return "?";
  }
}
std::string Quote(const std::string& s) {
  constexpr size_t kMaxShown = 60;
  return fmt::format("\"{}{}\"", s.substr(0, kMaxShown), s.size() > kMaxShown ? "..." : "");
}
}  // namespace

std::string Value::Describe(size_t max_elements) const {
  if (type_ == ValueType::kString) return "STRING " + Quote(strings_[0]);
  if (!is_array()) return fmt::format("{} {}", ValueTypeName(type_), ElementToString(type_, raw_.data()));
  std::string s = fmt::format("ARRAY[{}] x{} [", ValueTypeName(elem_), count_);
  const uint64_t shown = std::min<uint64_t>(count_, max_elements);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i) s += ", ";
    s += elem_ == ValueType::kString ? Quote(strings_[i]) : ElementToString(elem_, raw_.data() + i * ScalarSize(elem_));
  }
  return s + (shown < count_ ? ", ...]" : "]");
}

}  // namespace qforge::gguf
