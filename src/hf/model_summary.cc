#include "hf/model_summary.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "hf/tensor_names.h"

namespace qforge::hf {
namespace {

// "656,000"
std::string Grouped(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string HumanBytes(uint64_t b) {
  if (b < 10'000) return fmt::format("{} B", b);
  if (b < 10'000'000) return fmt::format("{:.1f} kB", b / 1e3);
  if (b < 10'000'000'000) return fmt::format("{:.1f} MB", b / 1e6);
  return fmt::format("{:.2f} GB", b / 1e9);
}

}  // namespace

ModelSummary Summarize(const TensorSource& source, const ModelConfig* config, std::string format) {
  ModelSummary s;
  s.source = source.Describe();
  s.format = std::move(format);
  if (config) s.config = *config;
  s.architecture = config ? config->model_type : "unknown";
  std::map<DType, DTypeTotal> totals;
  int max_layer = -1;
  bool has_embed = false, has_head = false;
  uint64_t head_elements = 0;
  for (const std::string& name : source.Names()) {
    const Tensor t = source.Get(name);  // a lazy view: nothing is read
    TensorRow row{name, "", t.dtype(), t.shape(), 0};
    const auto numel = static_cast<uint64_t>(t.numel());
    const auto bytes = ByteSize(t.dtype(), numel);
    QF_CHECK_MSG(bytes.has_value(), "{}: size of '{}' unchecked by its reader", s.source, name);
    row.bytes = *bytes;
    if (const auto tn = ParseTensorName(name)) {
      row.role = std::string(RoleName(tn->role));
      max_layer = std::max(max_layer, tn->layer);
      has_embed |= tn->role == Role::kEmbedding;
      if (tn->role == Role::kLmHead) {
        has_head = true;
        head_elements = numel;
      }
    }
    DTypeTotal& tot = totals[t.dtype()];
    tot.dtype = t.dtype();
    tot.tensors += 1;
    tot.elements += numel;
    tot.bytes += row.bytes;
    s.num_parameters += numel;
    s.total_bytes += row.bytes;
    s.tensors.push_back(std::move(row));
  }
  for (auto& [dt, tot] : totals) s.by_dtype.push_back(tot);
  s.num_layers = config ? config->num_layers : max_layer + 1;
  if (config) {
    s.tied = config->tie_word_embeddings;
    // A tied pair stored twice is still one parameter matrix.
    if (config->tie_word_embeddings && has_embed && has_head) s.num_parameters -= head_elements;
    s.synthetic = config->synthetic;
  } else if (has_embed != has_head) {
    s.tied = true;  // only one of the pair is stored: the other must be tied to it
  } else if (has_embed) {
    s.tied = false;
  }
  return s;
}

std::string FormatSummaryText(const ModelSummary& s, bool with_tensors) {
  std::string out;
  auto line = [&](std::string_view key, const std::string& value) { out += fmt::format("{:<17}{}\n", key, value); };
  line("source:", fmt::format("{} ({})", s.source, s.format));
  if (s.config) {
    const ModelConfig& c = *s.config;
    line("architecture:", c.architecture.empty() ? c.model_type : fmt::format("{} ({})", c.model_type, c.architecture));
    line("layers:", std::to_string(s.num_layers));
    line("dimensions:", fmt::format("hidden {}, heads {} (kv {}, head_dim {}), intermediate {}, vocab {}",
                                    c.hidden_size, c.num_heads, c.num_kv_heads, c.head_dim, c.intermediate_size,
                                    c.vocab_size));
    std::string rope = fmt::format("theta {}", c.rope_theta);
    if (c.rope_scaling.type == RopeScalingType::kLlama3)
      rope += fmt::format(", llama3 scaling x{} (original {} positions)", c.rope_scaling.factor,
                          c.rope_scaling.original_max_position_embeddings);
    else if (c.rope_scaling.type == RopeScalingType::kLinear)
      rope += fmt::format(", linear scaling x{}", c.rope_scaling.factor);
    line("rope:", rope);
    std::string extras;
    if (c.attention_bias) extras += "q/k/v bias; ";
    if (c.qk_norm) extras += "q/k norm; ";
    if (!extras.empty()) line("attention:", extras.substr(0, extras.size() - 2));
  } else {
    line("architecture:", "unknown (no config.json)");
    line("layers:", fmt::format("{} (from tensor names)", s.num_layers));
  }
  line("parameters:", fmt::format("{} ({})", Grouped(s.num_parameters), s.num_parameters));
  line("tied embeddings:", !s.tied ? "unknown" : *s.tied ? "yes" : "no");
  line("size:", fmt::format("{} bytes ({}) in {} tensors", Grouped(s.total_bytes), HumanBytes(s.total_bytes),
                            s.tensors.size()));
  for (const DTypeTotal& d : s.by_dtype)
    out += fmt::format("  {:<6}{:>6} tensors {:>16} elements {:>18} bytes\n", Name(d.dtype), d.tensors,
                       Grouped(d.elements), Grouped(d.bytes));
  if (s.synthetic) line("synthetic:", "yes: random weights written by `qforge synth` (not a trained model)");
  if (with_tensors) {
    size_t w = 4;
    for (const auto& r : s.tensors) w = std::max(w, r.name.size());
    out += fmt::format("\n{:<{}}  {:<10} {:<5} {}\n", "name", w, "role", "dtype", "shape");
    for (const auto& r : s.tensors)
      out += fmt::format("{:<{}}  {:<10} {:<5} {}\n", r.name, w, r.role.empty() ? "-" : r.role, Name(r.dtype),
                         ShapeToString(r.shape));
  }
  return out;
}

io::OrderedJson SummaryToJson(const ModelSummary& s, bool with_tensors) {
  io::OrderedJson j;
  j["source"] = s.source;
  j["format"] = s.format;
  j["architecture"] = s.architecture;
  j["num_layers"] = s.num_layers;
  j["num_parameters"] = s.num_parameters;
  j["total_bytes"] = s.total_bytes;
  j["tied_embeddings"] = s.tied ? io::OrderedJson(*s.tied) : io::OrderedJson(nullptr);
  j["synthetic"] = s.synthetic;
  io::OrderedJson dtypes = io::OrderedJson::array();
  for (const DTypeTotal& d : s.by_dtype)
    dtypes.push_back({{"dtype", Name(d.dtype)}, {"tensors", d.tensors}, {"elements", d.elements}, {"bytes", d.bytes}});
  j["dtypes"] = dtypes;
  if (s.config) {
    const ModelConfig& c = *s.config;
    j["config"] = {{"model_type", c.model_type},
                   {"architecture", c.architecture},
                   {"hidden_size", c.hidden_size},
                   {"num_layers", c.num_layers},
                   {"num_heads", c.num_heads},
                   {"num_kv_heads", c.num_kv_heads},
                   {"head_dim", c.head_dim},
                   {"intermediate_size", c.intermediate_size},
                   {"vocab_size", c.vocab_size},
                   {"rope_theta", c.rope_theta},
                   {"rms_norm_eps", c.rms_norm_eps},
                   {"tie_word_embeddings", c.tie_word_embeddings},
                   {"attention_bias", c.attention_bias},
                   {"qk_norm", c.qk_norm}};
  }
  if (with_tensors) {
    io::OrderedJson rows = io::OrderedJson::array();
    for (const auto& r : s.tensors)
      rows.push_back({{"name", r.name}, {"role", r.role}, {"dtype", Name(r.dtype)}, {"shape", r.shape},
                      {"bytes", r.bytes}});
    j["tensors"] = rows;
  }
  return j;
}

}  // namespace qforge::hf
