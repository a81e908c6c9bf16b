#include "recipe/scheme.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <numeric>
#include <regex>

#include "core/error.h"

namespace qforge::recipe {
namespace {

constexpr std::string_view kPresets[] = {"W4A16", "W4A16_ASYM", "W8A16", "W8A8"};

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

QuantArgs WeightArgs(int bits, bool sym, Strategy st, std::optional<int64_t> g) {
  QuantArgs a;
  a.num_bits = bits;
  a.symmetric = sym;
  a.strategy = st;
  a.group_size = g;
  return a;
}

void ValidateArgs(const QuantArgs& a, bool activation, std::string_view ctx) {
  const char* what = activation ? "input_activations" : "weights";
  if (a.type != "int")
    Fail("{}: {} type '{}' is not supported; qforge quantizes to type 'int' (float8 schemes are not implemented)",
         ctx, what, a.type);
  if (a.num_bits < kMinBits || a.num_bits > kMaxBits)
    Fail("{}: {} num_bits {} is not supported; expected {}..{}", ctx, what, a.num_bits, kMinBits, kMaxBits);
  if (a.strategy == Strategy::kGroup && (!a.group_size || *a.group_size <= 0))
    Fail("{}: {} strategy 'group' needs a positive group_size", ctx, what);
  if (a.strategy != Strategy::kGroup && a.group_size)
    Fail("{}: {} group_size {} is only valid with strategy 'group' (strategy is '{}')", ctx, what, *a.group_size,
         StrategyName(a.strategy));
  if (a.strategy == Strategy::kToken && !a.dynamic)
    Fail("{}: {} strategy 'token' needs dynamic: true (token scales exist only at run time)", ctx, what);
  if (a.actorder && (activation || a.strategy != Strategy::kGroup))
    Fail("{}: {} actorder '{}' needs group-wise weights", ctx, what, *a.actorder);
  if (a.actorder && *a.actorder != "group" && *a.actorder != "weight")
    Fail("{}: actorder '{}' is unknown; expected group, weight, dynamic or static", ctx, *a.actorder);
}

}  // namespace

std::string_view StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kTensor: return "tensor";
    case Strategy::kChannel: return "channel";
    case Strategy::kGroup: return "group";
    case Strategy::kToken: return "token";
  }
  return "?";
}

Strategy ParseStrategy(std::string_view name, std::string_view context) {
  for (Strategy s : {Strategy::kTensor, Strategy::kChannel, Strategy::kGroup, Strategy::kToken})
    if (name == StrategyName(s)) return s;
  Fail("{}: strategy '{}' is not supported; expected tensor, channel, group or token", context, name);
}

std::span<const std::string_view> PresetNames() { return kPresets; }

QuantScheme Preset(std::string_view name) {
  const std::string u = Upper(name);
  QuantScheme s;
  if (u == "W4A16") {
    s.weights = WeightArgs(4, true, Strategy::kGroup, 128);
  } else if (u == "W4A16_ASYM") {
    s.weights = WeightArgs(4, false, Strategy::kGroup, 128);
  } else if (u == "W8A16") {
    // compressed-tensors <= 0.15 (the version qforge writes, docs/quantization.md): per-channel.
    s.weights = WeightArgs(8, true, Strategy::kChannel, std::nullopt);
  } else if (u == "W8A8" || u == "INT8") {
    s.weights = WeightArgs(8, true, Strategy::kChannel, std::nullopt);
    QuantArgs act = WeightArgs(8, true, Strategy::kToken, std::nullopt);
    act.dynamic = true;
    s.input_activations = act;
  } else {
    Fail("unknown scheme '{}'; expected one of {}", name, fmt::join(kPresets, ", "));
  }
  s.preset = u == "INT8" ? "W8A8" : u;
  return s;
}

QuantScheme WithGroupSize(QuantScheme s, int64_t g) {
  QF_CHECK(s.weights.has_value());
  QuantArgs w = *s.weights;
  if (g > 0) {
    w.strategy = Strategy::kGroup;
    w.group_size = g;
  } else if (g == -1) {
    w.strategy = Strategy::kChannel;
    w.group_size.reset();
  } else if (g == 0) {
    w.strategy = Strategy::kTensor;
    w.group_size.reset();
  } else {
    Fail("group size {} is invalid; expected a positive size, -1 (per channel) or 0 (per tensor)", g);
  }
  if (!(w == *s.weights)) s.preset.clear();
  s.weights = w;
  return s;
}

void Validate(const QuantScheme& s, std::string_view ctx) {
  if (!s.weights) Fail("{}: the scheme quantizes no weights; qforge needs a 'weights' section", ctx);
  if (s.targets.empty()) Fail("{}: the scheme has no targets", ctx);
  const QuantArgs& w = *s.weights;
  ValidateArgs(w, false, ctx);
  if (w.dynamic) Fail("{}: weights cannot be dynamic (dynamic: true is for activations)", ctx);
  if (w.strategy == Strategy::kToken) Fail("{}: weights cannot use strategy 'token'", ctx);
  if (s.input_activations) {
    const QuantArgs& a = *s.input_activations;
    ValidateArgs(a, true, ctx);
    if (a.num_bits != 8)
      Fail("{}: input_activations num_bits {} is not loadable by vLLM; its int activation kernels are 8-bit (W8A8)",
           ctx, a.num_bits);
    if (a.strategy != Strategy::kToken || !a.dynamic)
      Fail("{}: input_activations strategy '{}'{} needs calibrated static scales, which qforge does not produce "
           "yet; use dynamic per-token activations (the W8A8 preset)", ctx, StrategyName(a.strategy),
           a.dynamic ? "" : " (static)");
    if (w.strategy == Strategy::kGroup)
      Fail("{}: group-wise weights with quantized activations (group_size {}) cannot be loaded by vLLM: its W8A8 "
           "int8 kernel needs per-channel or per-tensor weight scales. Use W8A8 without a group size, or W8A16 "
           "for group-wise weight-only quantization", ctx, w.group_size.value_or(0));
    if (w.num_bits != 8 || !w.symmetric)
      Fail("{}: quantized activations need symmetric 8-bit weights for vLLM's W8A8 int8 kernel (got {}-bit {})",
           ctx, w.num_bits, w.symmetric ? "symmetric" : "asymmetric");
  }
}

void CheckGroupSize(const QuantArgs& w, std::span<const LinearShape> linears) {
  if (w.strategy != Strategy::kGroup || !w.group_size) return;
  const int64_t g = *w.group_size;
  int64_t common = 0;
  for (const auto& l : linears) common = std::gcd(common, l.in_features);
  for (const auto& l : linears) {
    if (l.in_features < g || l.in_features % g == 0) continue;
    std::vector<int64_t> ok;
    for (int64_t d = 8; d <= common; ++d)
      if (common % d == 0) ok.push_back(d);
    Fail("{}: input width {} is not a multiple of group size {}; group sizes that divide every targeted Linear's "
         "input width: {} (or add the layer to ignore, or use per-channel scales with --group-size -1)",
         l.name, l.in_features, g, ok.empty() ? std::string("none >= 8") : fmt::format("{}", fmt::join(ok, ", ")));
  }
}

bool MatchesPattern(std::string_view pattern, std::string_view name, std::string_view class_name) {
  if (pattern.starts_with("re:")) {
    try {
      const std::regex re(std::string(pattern.substr(3)), std::regex::ECMAScript);
      return std::regex_search(name.begin(), name.end(), re, std::regex_constants::match_continuous);
    } catch (const std::regex_error& e) {
      Fail("pattern '{}': invalid regular expression: {}", pattern, e.what());
    }
  }
  return pattern == name || pattern == class_name;
}

}  // namespace qforge::recipe
