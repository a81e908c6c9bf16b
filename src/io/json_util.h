// JSON helpers over nlohmann::json for untrusted files: every accessor names the file (context), the
// key and the expected type in its error.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace qforge::io {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Parses text; on failure throws qforge::Error "<context>: invalid JSON: <parser message>".
Json ParseJson(const std::string& text, const std::string& context);
Json ReadJsonFile(const std::string& path);

// Typed access to obj[key]. `context` is usually "<file>" or "<file>: tensor 'x'".
const Json& Require(const Json& obj, std::string_view key, std::string_view context);
int64_t GetInt(const Json& obj, std::string_view key, std::string_view context);
double GetNumber(const Json& obj, std::string_view key, std::string_view context);
std::string GetString(const Json& obj, std::string_view key, std::string_view context);
bool GetBool(const Json& obj, std::string_view key, std::string_view context);
// Optional variants: nullopt when the key is missing or null; a present value of the wrong type is an error.
std::optional<int64_t> GetOptInt(const Json& obj, std::string_view key, std::string_view context);
std::optional<double> GetOptNumber(const Json& obj, std::string_view key, std::string_view context);
std::optional<std::string> GetOptString(const Json& obj, std::string_view key, std::string_view context);
std::optional<bool> GetOptBool(const Json& obj, std::string_view key, std::string_view context);

// A JSON type name for messages ("string", "number", "object", ...).
std::string_view TypeName(const Json& j);

// Serialises like Python's json.dump(obj, indent=2, sort_keys=True, ensure_ascii=True): key-sorted at
// every level, 2-space indent, "," + newline between items, ": " after keys, non-ASCII as \uXXXX.
std::string DumpPythonStyle(const Json& j);

}  // namespace qforge::io
