#include "hf/gguf_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "hf/checkpoint.h"
#include "hf/config.h"

namespace qforge::hf {
namespace {

constexpr std::string_view kBlockPrefix = "blk.";
// rope_freqs.weight holds float32 factors computed in float32 by the converters; a double recomputation from
// the rebuilt llama3 parameters agrees to ~1e-6 relative, so 1e-5 accepts them and rejects any other curve.
constexpr double kRopeFactorTol = 1e-5;
// Rebuilt llama3 low/high frequency factors are snapped to this grid when within 1e-4 (1.0000004 -> 1).
constexpr double kRopeSnapGrid = 1000.0;
// Underdetermined llama3 fits take a line this much steeper than the least steep that fits (any steeper fits).
constexpr double kRopeSlopeMargin = 1.01;

struct GgufRow {
  Role role;
  bool per_layer;
  std::string_view gguf_name;  // full name, or the part after "blk.<N>."
};

// LC: gguf-py/gguf/constants.py TENSOR_NAMES / tensor_mapping.py (FORMATS.md §5.5).
constexpr std::array<GgufRow, 17> kGgufRoles = {{
    {Role::kEmbedding, false, "token_embd.weight"},
    {Role::kFinalNorm, false, "output_norm.weight"},
    {Role::kLmHead, false, "output.weight"},
    {Role::kAttnNorm, true, "attn_norm.weight"},
    {Role::kQ, true, "attn_q.weight"},
    {Role::kK, true, "attn_k.weight"},
    {Role::kV, true, "attn_v.weight"},
    {Role::kO, true, "attn_output.weight"},
    {Role::kQBias, true, "attn_q.bias"},
    {Role::kKBias, true, "attn_k.bias"},
    {Role::kVBias, true, "attn_v.bias"},
    {Role::kQNorm, true, "attn_q_norm.weight"},
    {Role::kKNorm, true, "attn_k_norm.weight"},
    {Role::kMlpNorm, true, "ffn_norm.weight"},
    {Role::kGate, true, "ffn_gate.weight"},
    {Role::kUp, true, "ffn_up.weight"},
    {Role::kDown, true, "ffn_down.weight"},
}};

}  // namespace

std::string GgufTensorName(Role role, int layer) {
  for (const auto& row : kGgufRoles) {
    if (row.role != role) continue;
    if (!row.per_layer) {
      QF_CHECK(layer == -1);
      return std::string(row.gguf_name);
    }
    QF_CHECK(layer >= 0);
    return fmt::format("{}{}.{}", kBlockPrefix, layer, row.gguf_name);
  }
  QF_CHECK_MSG(false, "role {} has no GGUF name", RoleName(role));
  return {};
}

std::optional<std::string> GgufTensorNameFromHf(std::string_view hf_name) {
  const auto tn = ParseTensorName(hf_name);
  if (!tn) return std::nullopt;
  return GgufTensorName(tn->role, tn->layer);
}

std::optional<TensorName> ParseGgufTensorName(std::string_view name) {
  if (name.substr(0, kBlockPrefix.size()) == kBlockPrefix) {
    const std::string_view rest = name.substr(kBlockPrefix.size());
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
    const std::string_view digits = rest.substr(0, dot);
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    int layer = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
    if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
    const std::string_view suffix = rest.substr(dot + 1);
    for (const auto& row : kGgufRoles) {
      if (row.per_layer && row.gguf_name == suffix) return TensorName{row.role, layer};
    }
    return std::nullopt;
  }
  for (const auto& row : kGgufRoles) {
    if (!row.per_layer && row.gguf_name == name) return TensorName{row.role, -1};
  }
  return std::nullopt;
}

std::string GgufArchitecture(const ModelConfig& c) {
  if (c.model_type == "llama" || c.model_type == "mistral") return "llama";
  if (c.model_type == "qwen2" || c.model_type == "qwen3") return c.model_type;
  Fail("model_type '{}' has no GGUF export; expected llama, mistral, qwen2 or qwen3", c.model_type);
}

namespace {

int64_t PositiveU32(const gguf::File& f, const std::string& key, int64_t max) {
  const gguf::Value* v = f.Find(key);
  if (v && v->is_array()) {
    Fail("{}: metadata key '{}' is a per-layer array; qforge supports one value for all layers", f.path(), key);
  }
  const int64_t n = f.GetU32(key);
  if (n <= 0 || n > max) Fail("{}: metadata key '{}' is {}; expected 1..{}", f.path(), key, n, max);
  return n;
}

// Llama-3 factor for a wavelength (the divisor of the base frequency; FORMATS.md §5.5), in double.
double Llama3Factor(double wavelen, const RopeScaling& s) {
  const auto len = static_cast<double>(s.original_max_position_embeddings);
  if (wavelen < len / s.high_freq_factor) return 1.0;
  if (wavelen > len / s.low_freq_factor) return s.factor;
  const double smooth = (len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  return 1.0 / ((1.0 - smooth) / s.factor + smooth);
}

bool MatchesFactors(const RopeScaling& s, const std::vector<double>& wavelen, const std::vector<double>& factors) {
  for (size_t i = 0; i < factors.size(); ++i) {
    const double want = s.type == RopeScalingType::kLinear ? s.factor : Llama3Factor(wavelen[i], s);
    if (std::abs(want - factors[i]) > kRopeFactorTol * factors[i]) return false;
  }
  return true;
}

// Snaps v to a multiple of 1/kRopeSnapGrid when that close (1.0000004 -> 1, 3.9999 -> 4).
double Snap(double v) {
  const double r = std::round(v * kRopeSnapGrid) / kRopeSnapGrid;
  return std::abs(r - v) <= 1e-4 * std::max(1.0, std::abs(v)) ? r : v;
}

// The rope scaling that produces rope_freqs.weight (head_dim/2 divisors of the base frequencies): none when
// all are 1, linear when all are equal, else llama3. llama3's (original_max L, low lf, high hf) are only
// determined up to a common scale by the factors (everything depends on L/lf and L/hf), so lf = 1 unless the
// file says L (`<arch>.rope.scaling.original_context_length`). Throws when no such scaling reproduces them.
RopeScaling RopeScalingFromFactors(const gguf::File& f, const std::string& p, const ModelConfig& c) {
  const gguf::TensorInfo* t = f.FindTensor(kGgufRopeFreqs);
  const int64_t half = c.head_dim / 2;
  if (t->type != DType::kF32 || t->ne.size() != 1 || t->ne[0] != half) {
    Fail("{}: {} is {} {}; expected F32 with {} values (head_dim / 2)", f.path(), kGgufRopeFreqs, Name(t->type),
         fmt::join(t->ne, "x"), half);
  }
  const auto* data = reinterpret_cast<const float*>(f.TensorData(*t).data());
  std::vector<double> factors(static_cast<size_t>(half)), wavelen(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    factors[i] = data[i];
    if (!std::isfinite(factors[i]) || factors[i] <= 0) {
      Fail("{}: {}[{}] is {}; expected a positive frequency divisor", f.path(), kGgufRopeFreqs, i, factors[i]);
    }
    wavelen[i] = 2.0 * M_PI * std::pow(c.rope_theta, static_cast<double>(2 * i) / static_cast<double>(c.head_dim));
  }
  RopeScaling s;
  const double big = factors.back();
  const auto is = [](double v, double want) { return std::abs(v - want) <= kRopeFactorTol * want; };
  if (std::all_of(factors.begin(), factors.end(), [&](double v) { return is(v, 1.0); })) return s;
  if (std::all_of(factors.begin(), factors.end(), [&](double v) { return is(v, big); })) {
    s.type = RopeScalingType::kLinear;
    s.factor = big;
    return s;
  }
  s.type = RopeScalingType::kLlama3;
  s.factor = big;
  // Between the plateaus: smooth = (1/f - 1/F) / (1 - 1/F) = A / wavelen - B with A = L/(hf-lf), B = lf/(hf-lf).
  std::vector<std::pair<double, double>> pts;  // (1/wavelen, smooth)
  double max_one = 0, min_big = INFINITY;
  for (int64_t i = 0; i < half; ++i) {
    if (is(factors[i], 1.0)) {
      max_one = std::max(max_one, wavelen[i]);
    } else if (is(factors[i], big)) {
      min_big = std::min(min_big, wavelen[i]);
    } else {
      pts.emplace_back(1.0 / wavelen[i], (1.0 / factors[i] - 1.0 / big) / (1.0 - 1.0 / big));
    }
  }
  // Candidate lines (A, B). Two or more smooth points fix the line (least squares). With one or none it is not
  // determined: try Llama 3's lf = 1, hf = 4 first, then the gentlest line that keeps every plateau point on
  // its plateau (s >= 1 for factor 1, s <= 0 for factor F).
  std::vector<std::pair<double, double>> lines;
  const double x_one = max_one > 0 ? 1.0 / max_one : 0.0;      // smallest 1/wavelen with factor 1 (0: none)
  const double x_big = std::isfinite(min_big) ? 1.0 / min_big : 0.0;  // largest 1/wavelen with factor F
  if (pts.size() >= 2) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const auto& [x, y] : pts) sx += x, sy += y, sxx += x * x, sxy += x * y;
    const double n = static_cast<double>(pts.size());
    const double a = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    lines.emplace_back(a, (a * sx - sy) / n);
  } else if (pts.size() == 1) {
    const auto [x0, s0] = pts[0];
    lines.emplace_back((s0 + 1.0 / 3.0) / x0, 1.0 / 3.0);
    double a = 0;
    if (x_one > x0) a = std::max(a, (1.0 - s0) / (x_one - x0));
    if (x_big > 0 && x_big < x0) a = std::max(a, s0 / (x0 - x_big));
    a *= kRopeSlopeMargin;
    lines.emplace_back(a, a * x0 - s0);
  } else if (x_one > 0 && x_big > 0 && x_one > x_big) {
    lines.emplace_back(std::sqrt(4.0 / (x_one * x_big)) / 3.0, 1.0 / 3.0);
    const double x_mid = std::sqrt(x_one * x_big);
    const double a = kRopeSlopeMargin / (x_one - x_mid);
    lines.emplace_back(a, a * x_mid);
  }
  const auto given = f.FindU32(p + "rope.scaling.original_context_length");
  for (const auto& [a, b] : lines) {
    if (!(a > 0 && b > 0 && std::isfinite(a / b))) continue;
    const double len = given ? static_cast<double>(*given) : static_cast<double>(std::llround(a / b));
    if (len < 1) continue;
    s.original_max_position_embeddings = static_cast<int64_t>(len);
    s.low_freq_factor = Snap(len * b / a);
    s.high_freq_factor = Snap(len * (1.0 + b) / a);
    if (MatchesFactors(s, wavelen, factors)) return s;
    s.low_freq_factor = len * b / a;
    s.high_freq_factor = len * (1.0 + b) / a;
    if (MatchesFactors(s, wavelen, factors)) return s;
  }
  Fail("{}: {} does not follow llama3 rope scaling (no factor / low / high frequency bounds reproduce its values)",
       f.path(), kGgufRopeFreqs);
}

}  // namespace

ModelConfig ConfigFromGguf(const gguf::File& f) {
  const std::string arch = f.GetString("general.architecture");
  ModelConfig c;
  if (arch == "llama") {
    c.model_type = "llama";
    c.architecture = "LlamaForCausalLM";
    c.rope_interleaved = true;
  } else if (arch == "qwen2") {
    c.model_type = "qwen2";
    c.architecture = "Qwen2ForCausalLM";
    c.attention_bias = true;
  } else if (arch == "qwen3") {
    c.model_type = "qwen3";
    c.architecture = "Qwen3ForCausalLM";
    c.qk_norm = true;
  } else {
    Fail("{}: general.architecture is '{}'; qforge supports llama, qwen2 and qwen3", f.path(), arch);
  }
  const std::string p = arch + ".";
  c.hidden_size = PositiveU32(f, p + "embedding_length", kMaxHiddenSize);
  c.num_layers = PositiveU32(f, p + "block_count", kMaxLayers);
  c.num_heads = PositiveU32(f, p + "attention.head_count", kMaxHeads);
  c.num_kv_heads = f.Find(p + "attention.head_count_kv") ? PositiveU32(f, p + "attention.head_count_kv", kMaxHeads)
                                                         : c.num_heads;
  if (c.num_heads % c.num_kv_heads != 0) {
    Fail("{}: head_count {} is not a multiple of head_count_kv {}", f.path(), c.num_heads, c.num_kv_heads);
  }
  if (f.Find(p + "attention.key_length")) {
    c.head_dim = PositiveU32(f, p + "attention.key_length", kMaxHeadDim);
  } else {
    if (c.hidden_size % c.num_heads != 0) {
      Fail("{}: embedding_length {} is not a multiple of head_count {}", f.path(), c.hidden_size, c.num_heads);
    }
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (const auto vl = f.FindU32(p + "attention.value_length"); vl && *vl != c.head_dim) {
    Fail("{}: value_length {} differs from key_length {}; qforge expects them equal", f.path(), *vl, c.head_dim);
  }
  if (const auto rot = f.FindU32(p + "rope.dimension_count"); rot && *rot != c.head_dim) {
    Fail("{}: rope.dimension_count {} differs from the head size {}; partial RoPE is not supported", f.path(), *rot,
         c.head_dim);
  }
  c.intermediate_size = PositiveU32(f, p + "feed_forward_length", kMaxIntermediateSize);
  c.max_position_embeddings = f.Find(p + "context_length") ? f.GetU32(p + "context_length") : 0;
  c.rope_theta = f.FindF32(p + "rope.freq_base").value_or(10000.0f);
  c.rms_norm_eps = f.GetF32(p + "attention.layer_norm_rms_epsilon");
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) {
    Fail("{}: layer_norm_rms_epsilon is {}; expected a value in (0, 1)", f.path(), c.rms_norm_eps);
  }
  if (const auto st = f.FindString(p + "rope.scaling.type"); st && *st != "none") {
    if (*st != "linear") Fail("{}: rope.scaling.type '{}' is not supported (only linear)", f.path(), *st);
    c.rope_scaling.type = RopeScalingType::kLinear;
    c.rope_scaling.factor = f.GetF32(p + "rope.scaling.factor");
  }
  if (f.FindTensor(kGgufRopeFreqs)) {
    if (c.rope_scaling.type != RopeScalingType::kNone) {
      Fail("{}: both rope.scaling.type and {} are present; expected one way of scaling RoPE", f.path(),
           kGgufRopeFreqs);
    }
    c.rope_scaling = RopeScalingFromFactors(f, p, c);
  }

  const gguf::TensorInfo* embd = f.FindTensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2) Fail("{}: tensor 'token_embd.weight' is missing or not 2-D", f.path());
  c.vocab_size = embd->ne[1];
  if (c.vocab_size <= 0 || c.vocab_size > kMaxVocabSize) {
    Fail("{}: token_embd.weight has {} rows; expected 1..{}", f.path(), c.vocab_size, kMaxVocabSize);
  }
  c.tie_word_embeddings = f.FindTensor("output.weight") == nullptr;
  c.torch_dtype = "float32";  // llama.cpp computes in f32
  if (const auto id = f.FindU32("tokenizer.ggml.bos_token_id"); id && *id < c.vocab_size) c.bos_token_id = *id;
  if (const auto id = f.FindU32("tokenizer.ggml.eos_token_id"); id && *id < c.vocab_size) c.eos_token_id = *id;
  return c;
}

namespace {

// GGUF file → HF names; validates every tensor against the config.
class GgufHfSource final : public TensorSource {
 public:
  explicit GgufHfSource(std::shared_ptr<const gguf::File> file) : file_(std::move(file)) {
    const ModelConfig c = ConfigFromGguf(*file_);
    for (const auto& info : file_->tensor_infos()) {
      if (info.name == kGgufRopeFreqs) {
        Add(info.name, info.name);
        continue;
      }
      const auto tn = ParseGgufTensorName(info.name);
      if (!tn) Fail("{}: unexpected tensor '{}' for a {} model", file_->path(), info.name, c.model_type);
      if (tn->layer >= c.num_layers) {
        Fail("{}: tensor '{}' belongs to layer {}, but block_count is {}", file_->path(), info.name, tn->layer,
             c.num_layers);
      }
      if (!RoleApplies(tn->role, c)) {
        Fail("{}: tensor '{}' does not belong to a {} model", file_->path(), info.name, c.model_type);
      }
      const Shape want = ExpectedShape(tn->role, c);
      if (info.shape() != want) {
        Fail("{}: tensor '{}' has shape {} (ne reversed); the metadata implies {}", file_->path(), info.name,
             ShapeToString(info.shape()), ShapeToString(want));
      }
      Add(HfTensorName(tn->role, tn->layer), info.name);
    }
    for (const ExpectedTensor& e : ExpectedTensors(c)) {
      if (!to_gguf_.count(e.name)) {
        Fail("{}: tensor '{}' (HF '{}') is missing", file_->path(), GgufTensorName(e.role, e.layer), e.name);
      }
    }
  }

  std::vector<std::string> Names() const override { return names_; }
  bool Has(std::string_view name) const override { return to_gguf_.count(std::string(name)) != 0; }
  Tensor Get(std::string_view name) const override {
    const auto it = to_gguf_.find(std::string(name));
    if (it == to_gguf_.end()) Fail("{}: no tensor named '{}' (HF name)", file_->path(), name);
    return file_->Get(it->second);
  }
  std::string Describe() const override { return file_->path(); }

 private:
  void Add(std::string hf, std::string gguf) {
    names_.push_back(hf);
    to_gguf_.emplace(std::move(hf), std::move(gguf));
  }
  std::shared_ptr<const gguf::File> file_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::string> to_gguf_;
};

}  // namespace

std::unique_ptr<TensorSource> HfNamedTensors(std::shared_ptr<const gguf::File> file) {
  const bool tied = file->FindTensor("output.weight") == nullptr;
  return WithTiedAliases(std::make_unique<GgufHfSource>(std::move(file)), tied);
}

}  // namespace qforge::hf
