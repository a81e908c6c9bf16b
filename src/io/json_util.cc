#include "io/json_util.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/mapped_file.h"

namespace qforge::io {

Json ParseJson(const std::string& text, const std::string& context) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    Fail("{}: invalid JSON ({}); expected a well-formed JSON document. Perhaps an incomplete download or "
         "corrupt file?", context, e.what());
  }
}

Json ReadJsonFile(const std::string& path) { return ParseJson(ReadTextFile(path, size_t{256} << 20), path); }

std::string_view TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "binary";
  }
}

const Json& Require(const Json& obj, std::string_view key, std::string_view context) {
  if (!obj.is_object()) Fail("{}: expected a JSON object, found {}", context, TypeName(obj));
  auto it = obj.find(key);
  if (it == obj.end()) Fail("{}: required field \"{}\" is missing", context, key);
  return *it;
}

namespace {
[[noreturn]] void WrongType(std::string_view context, std::string_view key, std::string_view want,
                            const Json& got) {
  Fail("{}: field \"{}\" must be {}, found {} ({})", context, key, want, TypeName(got), got.dump().substr(0, 60));
}

int64_t AsInt(const Json& v, std::string_view key, std::string_view context) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) Fail("{}: field \"{}\" = {} does not fit in int64", context, key, u);
    return static_cast<int64_t>(u);
  }
  WrongType(context, key, "an integer", v);
}
}  // namespace

int64_t GetInt(const Json& obj, std::string_view key, std::string_view context) {
  return AsInt(Require(obj, key, context), key, context);
}
double GetNumber(const Json& obj, std::string_view key, std::string_view context) {
  const Json& v = Require(obj, key, context);
  if (!v.is_number()) WrongType(context, key, "a number", v);
  return v.get<double>();
}
std::string GetString(const Json& obj, std::string_view key, std::string_view context) {
  const Json& v = Require(obj, key, context);
  if (!v.is_string()) WrongType(context, key, "a string", v);
  return v.get<std::string>();
}
bool GetBool(const Json& obj, std::string_view key, std::string_view context) {
  const Json& v = Require(obj, key, context);
  if (!v.is_boolean()) WrongType(context, key, "true or false", v);
  return v.get<bool>();
}

std::optional<int64_t> GetOptInt(const Json& obj, std::string_view key, std::string_view context) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return AsInt(*it, key, context);
}
std::optional<double> GetOptNumber(const Json& obj, std::string_view key, std::string_view context) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) WrongType(context, key, "a number", *it);
  return it->get<double>();
}
std::optional<std::string> GetOptString(const Json& obj, std::string_view key, std::string_view context) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) WrongType(context, key, "a string", *it);
  return it->get<std::string>();
}
std::optional<bool> GetOptBool(const Json& obj, std::string_view key, std::string_view context) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) WrongType(context, key, "true or false", *it);
  return it->get<bool>();
}

namespace {
void EscapeAscii(const std::string& s, std::string& out) {
  // nlohmann's dump with ensure_ascii gives \uXXXX (incl. surrogate pairs) like Python.
  out += Json(s).dump(-1, ' ', true);
}

std::string PyFloat(double d) {
  // Python repr: shortest round-trip; integral values keep ".0"; exponent form "1e-06"/"1e+20".
  std::string s = Json(d).dump();  // nlohmann: shortest round-trip with ".0" for integral values
  return s;
}

void Dump(const Json& j, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  const std::string close_pad(static_cast<size_t>(indent), ' ');
  switch (j.type()) {
    case Json::value_t::object: {
      if (j.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {  // nlohmann::json keeps keys sorted (std::map)
        if (!first) out += ",\n";
        first = false;
        out += pad;
        EscapeAscii(it.key(), out);
        out += ": ";
        Dump(*it, indent + 2, out);
      }
      out += "\n" + close_pad + "}";
      return;
    }
    case Json::value_t::array: {
      if (j.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < j.size(); ++i) {
        if (i) out += ",\n";
        out += pad;
        Dump(j[i], indent + 2, out);
      }
      out += "\n" + close_pad + "]";
      return;
    }
    case Json::value_t::string: EscapeAscii(j.get<std::string>(), out); return;
    case Json::value_t::number_float: out += PyFloat(j.get<double>()); return;
    case Json::value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case Json::value_t::null: out += "null"; return;
    default: out += j.dump(); return;
  }
}
}  // namespace

std::string DumpPythonStyle(const Json& j) {
  std::string out;
  Dump(j, 0, out);
  return out;
}

}  // namespace qforge::io
