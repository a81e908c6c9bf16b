#include "recipe/recipe.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "io/mapped_file.h"

namespace qforge::recipe {
namespace {

constexpr size_t kMaxRecipeBytes = 1 << 20;  // a recipe is a few hundred bytes

std::string Where(const std::string& ctx, const YAML::Node& n) {
  const auto m = n.Mark();
  return m.is_null() ? ctx : fmt::format("{}:{}", ctx, m.line + 1);
}

void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, const std::string& ctx,
               std::string_view what) {
  if (!map.IsMap()) Fail("{}: {} must be a mapping", Where(ctx, map), what);
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      Fail("{}: unknown key '{}' in {}; expected one of: {}", Where(ctx, kv.first), k, what, list);
    }
  }
}

template <typename T>
T Scalar(const YAML::Node& n, const std::string& ctx, std::string_view key, std::string_view expected) {
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "not a scalar");
    return n.as<T>();
  } catch (const YAML::Exception&) {
    Fail("{}: '{}' must be {}", Where(ctx, n), key, expected);
  }
}

std::vector<std::string> StringList(const YAML::Node& n, const std::string& ctx, std::string_view key) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (n.IsScalar()) return {n.as<std::string>()};
  if (!n.IsSequence()) Fail("{}: '{}' must be a string or a list of strings", Where(ctx, n), key);
  for (const auto& e : n) out.push_back(Scalar<std::string>(e, ctx, key, "a list of strings"));
  return out;
}

std::optional<QuantArgs> ParseArgs(const YAML::Node& n, const std::string& ctx, std::string_view what) {
  if (!n || n.IsNull()) return std::nullopt;
  CheckKeys(n, {"num_bits", "type", "symmetric", "strategy", "group_size", "dynamic", "actorder", "observer",
                "observer_kwargs", "block_structure", "scale_dtype", "zp_dtype"},
            ctx, what);
  QuantArgs a;
  a.num_bits = n["num_bits"] ? Scalar<int>(n["num_bits"], ctx, "num_bits", "an integer") : 8;
  if (n["type"]) a.type = Scalar<std::string>(n["type"], ctx, "type", "a string");
  if (n["symmetric"]) a.symmetric = Scalar<bool>(n["symmetric"], ctx, "symmetric", "true or false");
  if (n["dynamic"]) a.dynamic = Scalar<bool>(n["dynamic"], ctx, "dynamic", "true or false");
  std::optional<int64_t> g;
  if (n["group_size"] && !n["group_size"].IsNull()) g = Scalar<int64_t>(n["group_size"], ctx, "group_size", "an integer");
  if (n["strategy"] && !n["strategy"].IsNull()) {
    a.strategy = ParseStrategy(Scalar<std::string>(n["strategy"], ctx, "strategy", "a string"), Where(ctx, n));
    if (a.strategy == Strategy::kChannel && g == -1) g.reset();
  } else {  // compressed-tensors infers the strategy from group_size
    a.strategy = !g ? Strategy::kTensor : (*g > 0 ? Strategy::kGroup : Strategy::kChannel);
    if (g && *g < 0) g.reset();
  }
  a.group_size = g;
  if (n["actorder"] && !n["actorder"].IsNull()) {
    std::string o = Scalar<std::string>(n["actorder"], ctx, "actorder", "a string");
    if (o == "dynamic") o = "group";
    if (o == "static") o = "weight";
    a.actorder = o;
  }
  if (n["block_structure"] && !n["block_structure"].IsNull())
    Fail("{}: block_structure (strategy 'block') is not supported", Where(ctx, n["block_structure"]));
  return a;
}

QuantScheme ParseGroup(const YAML::Node& n, const std::string& ctx) {
  CheckKeys(n, {"targets", "weights", "input_activations", "output_activations", "format"}, ctx, "a config group");
  QuantScheme s;
  s.preset.clear();
  if (n["targets"]) s.targets = StringList(n["targets"], ctx, "targets");
  s.weights = ParseArgs(n["weights"], ctx, "weights");
  s.input_activations = ParseArgs(n["input_activations"], ctx, "input_activations");
  if (n["output_activations"] && !n["output_activations"].IsNull())
    Fail("{}: output_activations quantization is not supported", Where(ctx, n["output_activations"]));
  return s;
}

Modifier ParseModifier(const YAML::Node& key, const YAML::Node& n, const std::string& ctx) {
  const std::string cls = key.as<std::string>();
  Modifier m;
  const YAML::Node args = n.IsNull() ? YAML::Node(YAML::NodeType::Map) : n;
  if (cls == "SmoothQuantModifier") {
    m.kind = ModifierKind::kSmoothQuant;
    CheckKeys(args, {"smoothing_strength", "mappings", "ignore", "num_calibration_steps"}, ctx, cls);
    m.ignore.clear();
    if (args["ignore"]) m.ignore = StringList(args["ignore"], ctx, "ignore");
    if (args["smoothing_strength"]) {
      m.smoothing_strength = Scalar<double>(args["smoothing_strength"], ctx, "smoothing_strength", "a number");
      if (!(*m.smoothing_strength > 0 && *m.smoothing_strength < 1))
        Fail("{}: smoothing_strength {} must be in (0, 1)", Where(ctx, args["smoothing_strength"]), *m.smoothing_strength);
    }
    if (args["mappings"]) {
      for (const auto& e : args["mappings"]) {
        if (!e.IsSequence() || e.size() != 2)
          Fail("{}: each mapping must be [[balance layers...], smooth layer]", Where(ctx, e));
        m.mappings.emplace_back(StringList(e[0], ctx, "mappings"), Scalar<std::string>(e[1], ctx, "mappings", "a string"));
      }
    }
    return m;
  }
  if (cls == "QuantizationModifier") {
    m.kind = ModifierKind::kQuantization;
    CheckKeys(args, {"targets", "ignore", "scheme", "config_groups", "kv_cache_scheme"}, ctx, cls);
  } else if (cls == "GPTQModifier") {
    m.kind = ModifierKind::kGptq;
    CheckKeys(args, {"targets", "ignore", "scheme", "config_groups", "kv_cache_scheme", "block_size",
                     "dampening_frac", "actorder", "offload_hessians", "sequential_targets"},
              ctx, cls);
    if (args["block_size"]) m.block_size = Scalar<int64_t>(args["block_size"], ctx, "block_size", "an integer");
    if (args["dampening_frac"]) m.dampening_frac = Scalar<double>(args["dampening_frac"], ctx, "dampening_frac", "a number");
    if (args["actorder"] && !args["actorder"].IsNull()) {
      std::string o = Scalar<std::string>(args["actorder"], ctx, "actorder", "a string");
      if (o == "dynamic") o = "group";
      if (o == "static") o = "weight";
      if (o != "group" && o != "weight") Fail("{}: actorder '{}' is unknown; expected group, weight, dynamic or static", Where(ctx, args["actorder"]), o);
      m.actorder = o;
    }
    if (args["offload_hessians"]) m.offload_hessians = Scalar<bool>(args["offload_hessians"], ctx, "offload_hessians", "true or false");
    if (m.block_size && *m.block_size <= 0) Fail("{}: block_size must be positive", Where(ctx, args["block_size"]));
    if (m.dampening_frac && !(*m.dampening_frac > 0 && *m.dampening_frac < 1))
      Fail("{}: dampening_frac {} must be in (0, 1)", Where(ctx, args["dampening_frac"]), *m.dampening_frac);
  } else {
    Fail("{}: unknown modifier '{}'; expected QuantizationModifier, GPTQModifier or SmoothQuantModifier", Where(ctx, key), cls);
  }
  if (args["kv_cache_scheme"] && !args["kv_cache_scheme"].IsNull())
    Fail("{}: kv_cache_scheme is not supported", Where(ctx, args["kv_cache_scheme"]));
  std::vector<std::string> targets = {"Linear"};
  if (args["targets"]) targets = StringList(args["targets"], ctx, "targets");
  if (args["ignore"]) m.ignore = StringList(args["ignore"], ctx, "ignore");
  const YAML::Node scheme = args["scheme"], groups = args["config_groups"];
  if (scheme && groups) Fail("{}: {} has both 'scheme' and 'config_groups'; give one", Where(ctx, key), cls);
  if (scheme && scheme.IsScalar()) {
    QuantScheme s = Preset(scheme.as<std::string>());
    s.targets = targets;
    m.schemes.push_back(s);
  } else if (scheme && scheme.IsMap()) {  // {PRESET: [targets]}
    for (const auto& kv : scheme) {
      QuantScheme s = Preset(kv.first.as<std::string>());
      s.targets = StringList(kv.second, ctx, "scheme");
      m.schemes.push_back(s);
    }
  } else if (groups) {
    if (!groups.IsMap()) Fail("{}: config_groups must be a mapping of group name -> scheme", Where(ctx, groups));
    for (const auto& kv : groups) m.schemes.push_back(ParseGroup(kv.second, ctx));
  } else {
    Fail("{}: {} needs a 'scheme' (e.g. W4A16) or 'config_groups'", Where(ctx, key), cls);
  }
  for (const auto& s : m.schemes) {
    Validate(s, Where(ctx, key));
    if (m.kind == ModifierKind::kQuantization && s.weights && s.weights->actorder)
      Fail("{}: actorder is a GPTQModifier option; round-to-nearest has no column order", Where(ctx, key));
  }
  return m;
}

// The shortest text that reads back as `v` (0.8, not yaml-cpp's 0.80000000000000004), emitted unquoted.
YAML::Node ShortestDouble(double v) {
  YAML::Node n(fmt::format("{}", v));
  return n;
}

void EmitArgs(YAML::Emitter& out, const QuantArgs& a) {
  out << YAML::BeginMap;
  out << YAML::Key << "num_bits" << YAML::Value << a.num_bits;
  out << YAML::Key << "type" << YAML::Value << a.type;
  out << YAML::Key << "symmetric" << YAML::Value << a.symmetric;
  out << YAML::Key << "group_size" << YAML::Value;
  if (a.group_size) out << *a.group_size; else out << YAML::Null;
  out << YAML::Key << "strategy" << YAML::Value << std::string(StrategyName(a.strategy));
  out << YAML::Key << "dynamic" << YAML::Value << a.dynamic;
  if (a.actorder) out << YAML::Key << "actorder" << YAML::Value << *a.actorder;
  out << YAML::EndMap;
}

void EmitList(YAML::Emitter& out, const std::vector<std::string>& v) {
  out << YAML::BeginSeq;
  for (const auto& s : v) out << s;
  out << YAML::EndSeq;
}

}  // namespace

std::string_view ModifierClassName(ModifierKind k) {
  switch (k) {
    case ModifierKind::kQuantization: return "QuantizationModifier";
    case ModifierKind::kGptq: return "GPTQModifier";
    case ModifierKind::kSmoothQuant: return "SmoothQuantModifier";
  }
  return "?";
}

const Modifier& Recipe::WeightModifier() const {
  const Modifier* found = nullptr;
  for (const auto& m : modifiers) {
    if (m.kind == ModifierKind::kSmoothQuant) continue;
    if (found) Fail("recipe: more than one QuantizationModifier/GPTQModifier; qforge applies exactly one");
    found = &m;
  }
  if (!found) Fail("recipe: no QuantizationModifier or GPTQModifier; nothing would be quantized");
  return *found;
}

Recipe ParseRecipe(const std::string& text, const std::string& ctx) {
  if (text.size() > kMaxRecipeBytes) Fail("{}: {} bytes is too large for a recipe (limit {})", ctx, text.size(), kMaxRecipeBytes);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Fail("{}: invalid YAML: {}", ctx, e.what());
  }
  if (!root.IsMap() || root.size() == 0) Fail("{}: a recipe is a mapping of stage -> modifier groups", ctx);
  Recipe r;
  bool first = true;
  for (const auto& stage : root) {
    const std::string sname = stage.first.as<std::string>();
    if (!stage.second.IsMap()) Fail("{}: stage '{}' must be a mapping of <name>_modifiers -> modifiers", Where(ctx, stage.first), sname);
    for (const auto& group : stage.second) {
      const std::string gname = group.first.as<std::string>();
      if (!gname.ends_with("_modifiers") && gname != "modifiers")
        Fail("{}: unknown key '{}' in stage '{}'; expected a '<name>_modifiers' mapping", Where(ctx, group.first), gname, sname);
      if (!group.second.IsMap()) Fail("{}: '{}' must be a mapping of modifier class -> options", Where(ctx, group.first), gname);
      if (first) {
        r.stage = sname;
        r.group = gname;
        first = false;
      }
      for (const auto& mod : group.second)
        r.modifiers.push_back(ParseModifier(mod.first, mod.second, ctx));
    }
  }
  r.WeightModifier();  // exactly one
  return r;
}

Recipe ReadRecipeFile(const std::string& path) { return ParseRecipe(io::ReadTextFile(path, kMaxRecipeBytes), path); }

Recipe RecipeFromScheme(const QuantScheme& scheme, std::vector<std::string> ignore) {
  Validate(scheme, "scheme");
  Recipe r;
  Modifier m;
  m.schemes = {scheme};
  m.ignore = std::move(ignore);
  r.modifiers.push_back(std::move(m));
  return r;
}

std::string RecipeToYaml(const Recipe& r) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap << YAML::Key << r.stage << YAML::Value << YAML::BeginMap << YAML::Key << r.group
      << YAML::Value << YAML::BeginMap;
  for (const auto& m : r.modifiers) {
    out << YAML::Key << std::string(ModifierClassName(m.kind)) << YAML::Value << YAML::BeginMap;
    if (m.kind == ModifierKind::kSmoothQuant) {
      if (m.smoothing_strength) out << YAML::Key << "smoothing_strength" << YAML::Value << ShortestDouble(*m.smoothing_strength);
      if (!m.mappings.empty()) {
        out << YAML::Key << "mappings" << YAML::Value << YAML::BeginSeq;
        for (const auto& [bal, smooth] : m.mappings) {
          out << YAML::Flow << YAML::BeginSeq;
          EmitList(out, bal);
          out << smooth << YAML::EndSeq;
        }
        out << YAML::EndSeq;
      }
      if (!m.ignore.empty()) { out << YAML::Key << "ignore" << YAML::Value; EmitList(out, m.ignore); }
      out << YAML::EndMap;
      continue;
    }
    const bool presets = std::all_of(m.schemes.begin(), m.schemes.end(), [](const QuantScheme& s) { return !s.preset.empty(); });
    if (presets && m.schemes.size() == 1) {
      out << YAML::Key << "targets" << YAML::Value;
      EmitList(out, m.schemes[0].targets);
    }
    out << YAML::Key << "ignore" << YAML::Value;
    EmitList(out, m.ignore);
    if (presets && m.schemes.size() == 1) {
      out << YAML::Key << "scheme" << YAML::Value << m.schemes[0].preset;
    } else {
      out << YAML::Key << "config_groups" << YAML::Value << YAML::BeginMap;
      for (size_t i = 0; i < m.schemes.size(); ++i) {
        const auto& s = m.schemes[i];
        out << YAML::Key << fmt::format("group_{}", i) << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "targets" << YAML::Value;
        EmitList(out, s.targets);
        if (s.weights) { out << YAML::Key << "weights" << YAML::Value; EmitArgs(out, *s.weights); }
        if (s.input_activations) { out << YAML::Key << "input_activations" << YAML::Value; EmitArgs(out, *s.input_activations); }
        out << YAML::EndMap;
      }
      out << YAML::EndMap;
    }
    if (m.block_size) out << YAML::Key << "block_size" << YAML::Value << *m.block_size;
    if (m.dampening_frac) out << YAML::Key << "dampening_frac" << YAML::Value << ShortestDouble(*m.dampening_frac);
    if (m.actorder) out << YAML::Key << "actorder" << YAML::Value << *m.actorder;
    if (m.offload_hessians) out << YAML::Key << "offload_hessians" << YAML::Value << *m.offload_hessians;
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace qforge::recipe
