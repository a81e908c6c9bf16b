#include "formats/compressed_tensors/quant_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/mapped_file.h"

namespace qforge::compressed_tensors {
namespace {

constexpr size_t kMaxConfigBytes = 16 << 20;
constexpr size_t kMaxGroups = 1024;

io::Json ArgsToJson(const QuantizationArgs& a) {
  io::Json j = io::Json::object();
  j["actorder"] = a.actorder ? io::Json(*a.actorder) : io::Json(nullptr);
  j["block_structure"] = nullptr;
  j["dynamic"] = a.dynamic;
  j["group_size"] = a.group_size ? io::Json(*a.group_size) : io::Json(nullptr);
  j["num_bits"] = a.num_bits;
  j["observer"] = a.observer ? io::Json(*a.observer) : io::Json(nullptr);
  j["observer_kwargs"] = io::Json::object();
  j["strategy"] = a.strategy;
  j["symmetric"] = a.symmetric;
  j["type"] = a.type;
  return j;
}

std::optional<QuantizationArgs> ParseArgs(const io::Json& parent, std::string_view key, const std::string& ctx) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return std::nullopt;
  const std::string c = fmt::format("{}: {}", ctx, key);
  if (!it->is_object()) Fail("{}: expected an object, got {}", c, io::TypeName(*it));
  static const std::string_view kKeys[] = {"actorder", "block_structure", "dynamic", "group_size", "num_bits",
                                           "observer", "observer_kwargs", "scale_dtype", "strategy", "symmetric",
                                           "type", "zp_dtype"};
  for (auto kv = it->begin(); kv != it->end(); ++kv)
    if (std::find(std::begin(kKeys), std::end(kKeys), kv.key()) == std::end(kKeys))
      Fail("{}: unknown key '{}' (compressed-tensors forbids extra QuantizationArgs keys)", c, kv.key());
  QuantizationArgs a;
  a.num_bits = static_cast<int>(io::GetOptInt(*it, "num_bits", c).value_or(8));
  if (a.num_bits < 1 || a.num_bits > 8) Fail("{}: num_bits {} is not supported; expected 1..8", c, a.num_bits);
  a.type = io::GetOptString(*it, "type", c).value_or("int");
  a.symmetric = io::GetOptBool(*it, "symmetric", c).value_or(true);
  a.group_size = io::GetOptInt(*it, "group_size", c);
  a.observer = io::GetOptString(*it, "observer", c);
  // "dynamic" may also be the string "local" (CT >= 0.10): treat it as dynamic.
  if (auto d = it->find("dynamic"); d != it->end() && d->is_string()) a.dynamic = true;
  else a.dynamic = io::GetOptBool(*it, "dynamic", c).value_or(false);
  auto strategy = io::GetOptString(*it, "strategy", c);
  if (!strategy) {  // compressed-tensors infers it from group_size
    strategy = !a.group_size ? "tensor" : (*a.group_size > 0 ? "group" : "channel");
  }
  a.strategy = *strategy;
  static const std::string_view kStrategies[] = {"tensor", "channel", "group", "block", "token", "tensor_group",
                                                 "attn_head"};
  if (std::find(std::begin(kStrategies), std::end(kStrategies), a.strategy) == std::end(kStrategies))
    Fail("{}: unknown strategy '{}'", c, a.strategy);
  const bool grouped = a.strategy == "group" || a.strategy == "tensor_group";
  if (grouped && (!a.group_size || *a.group_size <= 0)) Fail("{}: strategy '{}' needs a positive group_size", c, a.strategy);
  if (!grouped && a.group_size && *a.group_size > 0)
    Fail("{}: group_size {} is only valid with strategy group or tensor_group (strategy is '{}')", c, *a.group_size, a.strategy);
  if (a.strategy == "token" && !a.dynamic) Fail("{}: strategy 'token' needs dynamic: true", c);
  if (auto o = io::GetOptString(*it, "actorder", c)) {
    a.actorder = *o == "dynamic" ? "group" : *o == "static" ? "weight" : *o;
    if (*a.actorder != "group" && *a.actorder != "weight") Fail("{}: unknown actorder '{}'", c, *o);
    if (*a.actorder == "group" && !grouped) Fail("{}: actorder 'group' needs strategy group", c);
  }
  return a;
}

}  // namespace

std::string FormatFor(const ConfigGroup& g) {
  if (!g.weights) return "dense";
  if (g.weights->type == "int" && g.input_activations) return std::string(kIntQuantized);
  if (g.weights->type == "int" && g.weights->num_bits >= 1 && g.weights->num_bits <= 8)
    return std::string(kPackQuantized);
  return std::string(kNaiveQuantized);
}

io::Json ToJson(const QuantizationConfig& c) {
  io::Json groups = io::Json::object();
  for (size_t i = 0; i < c.groups.size(); ++i) {
    const auto& g = c.groups[i];
    io::Json j = io::Json::object();
    j["format"] = g.format.empty() ? FormatFor(g) : g.format;
    j["input_activations"] = g.input_activations ? ArgsToJson(*g.input_activations) : io::Json(nullptr);
    j["output_activations"] = nullptr;
    j["targets"] = g.targets;
    j["weights"] = g.weights ? ArgsToJson(*g.weights) : io::Json(nullptr);
    groups[fmt::format("group_{}", i)] = j;
  }
  io::Json j = io::Json::object();
  j["config_groups"] = groups;
  j["format"] = c.format;
  j["global_compression_ratio"] = nullptr;
  j["ignore"] = c.ignore;
  j["kv_cache_scheme"] = nullptr;
  j["quant_method"] = kQuantMethod;
  j["quantization_status"] = c.quantization_status;
  j["sparsity_config"] = io::Json::object();
  j["transform_config"] = io::Json::object();
  j["version"] = c.version;
  return j;
}

QuantizationConfig ParseQuantizationConfig(const io::Json& j, const std::string& ctx) {
  const std::string c = ctx + ": quantization_config";
  if (!j.is_object()) Fail("{}: expected an object, got {}", c, io::TypeName(j));
  const auto method = io::GetOptString(j, "quant_method", c);
  if (method && *method != kQuantMethod)
    Fail("{}: quant_method '{}' is not supported; expected '{}'", c, *method, kQuantMethod);
  QuantizationConfig q;
  q.format = io::GetOptString(j, "format", c).value_or("");
  q.version = io::GetOptString(j, "version", c).value_or("");
  q.quantization_status = io::GetOptString(j, "quantization_status", c).value_or("compressed");
  if (q.quantization_status != "compressed")
    Fail("{}: quantization_status '{}' is not supported; qforge reads compressed checkpoints", c, q.quantization_status);
  if (auto it = j.find("ignore"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) Fail("{}: 'ignore' must be a list of strings", c);
    for (const auto& e : *it) {
      if (!e.is_string()) Fail("{}: 'ignore' must be a list of strings", c);
      q.ignore.push_back(e.get<std::string>());
    }
  }
  if (auto it = j.find("sparsity_config"); it != j.end() && !it->is_null() && !it->empty())
    Fail("{}: sparse checkpoints (sparsity_config) are not supported", c);
  if (auto it = j.find("transform_config"); it != j.end() && !it->is_null() && !it->empty())
    Fail("{}: transformed (rotated) checkpoints (transform_config) are not supported", c);
  const io::Json& groups = io::Require(j, "config_groups", c);
  if (!groups.is_object() || groups.empty() || groups.size() > kMaxGroups)
    Fail("{}: config_groups must be a non-empty object (at most {} groups)", c, kMaxGroups);
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    const std::string gc = fmt::format("{}: config_groups.{}", c, it.key());
    if (!it->is_object()) Fail("{}: expected an object", gc);
    for (auto kv = it->begin(); kv != it->end(); ++kv) {
      static const std::string_view kKeys[] = {"targets", "weights", "input_activations", "output_activations", "format"};
      if (std::find(std::begin(kKeys), std::end(kKeys), kv.key()) == std::end(kKeys))
        Fail("{}: unknown key '{}'", gc, kv.key());
    }
    ConfigGroup g;
    g.targets.clear();
    const io::Json& t = io::Require(*it, "targets", gc);
    if (!t.is_array() || t.empty()) Fail("{}: 'targets' must be a non-empty list of strings", gc);
    for (const auto& e : t) {
      if (!e.is_string()) Fail("{}: 'targets' must be a list of strings", gc);
      g.targets.push_back(e.get<std::string>());
    }
    g.weights = ParseArgs(*it, "weights", gc);
    g.input_activations = ParseArgs(*it, "input_activations", gc);
    if (ParseArgs(*it, "output_activations", gc)) Fail("{}: output_activations are not supported", gc);
    if (g.input_activations) {
      const auto& a = *g.input_activations;
      if (a.actorder) Fail("{}: input_activations cannot have an actorder", gc);
      if (a.strategy == "channel" || a.strategy == "block")
        Fail("{}: input_activations strategy '{}' is invalid for activations", gc, a.strategy);
    }
    if (g.weights && g.weights->type != "int")
      Fail("{}: weights type '{}' is not supported; qforge reads int schemes", gc, g.weights->type);
    g.format = io::GetOptString(*it, "format", gc).value_or("");
    q.group_names.push_back(it.key());
    q.groups.push_back(std::move(g));
  }
  return q;
}

std::string ConfigJsonWithQuantization(io::Json config, const QuantizationConfig& c) {
  if (!config.is_object()) Fail("config.json: expected an object");
  config["quantization_config"] = ToJson(c);
  return io::DumpPythonStyle(config);
}

bool IsCompressedTensorsConfig(const io::Json& config) {
  auto it = config.find("quantization_config");
  if (it == config.end() || !it->is_object()) return false;
  auto m = it->find("quant_method");
  return m != it->end() && m->is_string() && m->get<std::string>() == kQuantMethod;
}

std::optional<QuantizationConfig> ReadQuantizationConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  const io::Json j = io::ParseJson(io::ReadTextFile(path, kMaxConfigBytes), path);
  if (!IsCompressedTensorsConfig(j)) return std::nullopt;
  return ParseQuantizationConfig(j["quantization_config"], path);
}

std::string DescribeQuantization(const QuantizationConfig& c) {
  std::string out = fmt::format("compressed-tensors {} ({}), ignore [{}]\n", c.version.empty() ? "?" : c.version,
                                c.format, fmt::join(c.ignore, ", "));
  for (size_t i = 0; i < c.groups.size(); ++i) {
    const auto& g = c.groups[i];
    std::string w = "dense";
    if (g.weights) {
      const auto& a = *g.weights;
      w = fmt::format("int{} {} {}", a.num_bits, a.symmetric ? "sym" : "asym", a.strategy);
      if (a.group_size && *a.group_size > 0) w += fmt::format(" {}", *a.group_size);
    }
    if (g.input_activations)
      w += fmt::format(", activations int{} {}{}", g.input_activations->num_bits, g.input_activations->strategy,
                       g.input_activations->dynamic ? " dynamic" : " static");
    out += fmt::format("  {}: {} -> [{}] ({})\n", i < c.group_names.size() ? c.group_names[i] : fmt::format("group_{}", i),
                       w, fmt::join(g.targets, ", "), g.format.empty() ? FormatFor(g) : g.format);
  }
  return out;
}

}  // namespace qforge::compressed_tensors
