#include "pipeline/convert_ct.h"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "codecs/ggml/ggml_codecs.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/compressed_tensors/quant_config.h"
#include "formats/compressed_tensors/reader.h"
#include "formats/safetensors/checkpoint.h"
#include "hf/tensor_names.h"

namespace qforge::pipeline {

namespace {

constexpr int64_t kBlock = 32;  // Q4_0 / Q8_0 block size

// Why the Linear cannot map onto `type`'s grid, or "" when it can.
std::string GridMismatch(const compressed_tensors::DecodedLinear& d, DType* type) {
  const auto& a = d.args;
  if (a.type != "int") return fmt::format("type {} is not int", a.type);
  if (!a.symmetric) return "asymmetric (ggml's Q4_0/Q8_0 have no zero point)";
  if (!d.g_idx.empty()) return "activation reordering (g_idx)";
  if (a.num_bits == 4) {
    if (a.strategy != "group" || !a.group_size || *a.group_size % kBlock != 0) {
      return fmt::format("int4 with strategy {} (Q4_0 needs groups of a multiple of 32)", a.strategy);
    }
    *type = DType::kQ4_0;
  } else if (a.num_bits == 8) {
    const bool group_ok = a.strategy == "group" && a.group_size && *a.group_size % kBlock == 0;
    if (a.strategy != "channel" && !group_ok) {
      return fmt::format("int8 with strategy {} (Q8_0 needs channel or groups of a multiple of 32)", a.strategy);
    }
    *type = DType::kQ8_0;
  } else {
    return fmt::format("{}-bit codes have no ggml block with the same grid", a.num_bits);
  }
  if (d.in % kBlock != 0) return fmt::format("input size {} is not a multiple of 32", d.in);
  for (float s : d.scales) {
    if (F16ToF32(F32ToF16(s)) != s) return fmt::format("scale {} is not exactly representable in f16", s);
  }
  return "";
}

// Encodes the Linear as Q4_0 / Q8_0 rows; returns "" when ggml's decoder gives back code·scale exactly.
std::string Encode(const compressed_tensors::DecodedLinear& d, DType type, Tensor& out) {
  out = Tensor::Zeros(type, {d.out, d.in});
  const size_t row_bytes = codecs::RowBytes(type, d.in);
  const size_t block_bytes = static_cast<size_t>(Traits(type).type_size);
  std::vector<float> decoded(static_cast<size_t>(d.in));
  for (int64_t o = 0; o < d.out; ++o) {
    uint8_t* row = reinterpret_cast<uint8_t*>(out.mutable_bytes()) + o * row_bytes;
    const int8_t* codes = d.codes.data() + o * d.in;
    const int64_t scale_base = d.scales.size() == 1 ? 0 : o * d.groups;
    for (int64_t b = 0; b < d.in / kBlock; ++b) {
      uint8_t* blk = row + b * block_bytes;
      const float scale = d.scales[static_cast<size_t>(scale_base + d.group_of(b * kBlock))];
      const uint16_t h = F32ToF16(scale);
      std::memcpy(blk, &h, 2);
      const int8_t* c = codes + b * kBlock;
      if (type == DType::kQ4_0) {
        for (int j = 0; j < 16; ++j) {
          if (c[j] < -8 || c[j] > 7 || c[j + 16] < -8 || c[j + 16] > 7) return "int4 code outside -8..7";
          blk[2 + j] = static_cast<uint8_t>((c[j] + 8) | ((c[j + 16] + 8) << 4));
        }
      } else {
        std::memcpy(blk + 2, c, kBlock);
      }
    }
    // Verify with ggml's decoder.
    codecs::DequantizeRow(type, row, decoded.data(), d.in);
    for (int64_t i = 0; i < d.in; ++i) {
      const float want = static_cast<float>(codes[i]) * d.scales[static_cast<size_t>(scale_base + d.group_of(i))];
      if (decoded[static_cast<size_t>(i)] != want) {
        return fmt::format("row {} column {} decodes to {} instead of {}", o, i, decoded[static_cast<size_t>(i)], want);
      }
    }
  }
  return "";
}

class Overlay final : public TensorSource {
 public:
  Overlay(const TensorSource& base, std::map<std::string, Tensor> overlay) : base_(base), overlay_(std::move(overlay)) {}
  std::vector<std::string> Names() const override {
    auto names = base_.Names();
    for (const auto& [n, t] : overlay_) {
      if (!base_.Has(n)) names.push_back(n);
    }
    return names;
  }
  bool Has(std::string_view n) const override { return overlay_.count(std::string(n)) || base_.Has(n); }
  Tensor Get(std::string_view n) const override {
    const auto it = overlay_.find(std::string(n));
    return it != overlay_.end() ? it->second : base_.Get(n);
  }
  std::string Describe() const override { return base_.Describe(); }

 private:
  const TensorSource& base_;
  std::map<std::string, Tensor> overlay_;
};

}  // namespace

std::unique_ptr<TensorSource> OverlaySource(const TensorSource& base, std::map<std::string, Tensor> overlay) {
  return std::make_unique<Overlay>(base, std::move(overlay));
}

LosslessCtResult ConvertCtLossless(const std::string& dir, const ModelConfig& config) {
  const auto cfg = compressed_tensors::ReadQuantizationConfig(dir);
  if (!cfg) Fail("{}: config.json has no compressed-tensors quantization_config", dir);
  const auto raw = safetensors::OpenCheckpoint(dir);
  LosslessCtResult result;
  for (const hf::ExpectedTensor& e : hf::ExpectedTensors(config)) {
    if (!hf::IsLinearRole(e.role) || e.role == hf::Role::kLmHead) continue;
    const std::string prefix = e.name.substr(0, e.name.size() - std::string_view(".weight").size());
    const bool packed = raw->Has(prefix + ".weight_packed");
    const bool int8 = raw->Has(prefix + ".weight_scale") && !packed;
    if (!packed && !int8) continue;  // not quantized (ignored module)
    const auto d = compressed_tensors::DecodeLinear(*raw, *cfg, prefix);
    DType type = DType::kF32;
    std::string why = GridMismatch(d, &type);
    Tensor t;
    if (why.empty()) why = Encode(d, type, t);
    if (why.empty()) {
      result.tensors.emplace(e.name, std::move(t));
    } else {
      result.notes.push_back(fmt::format("{}: dequantized and requantized ({})", prefix, why));
    }
  }
  return result;
}

}  // namespace qforge::pipeline
