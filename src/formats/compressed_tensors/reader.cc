#include "formats/compressed_tensors/reader.h"

#include <cstring>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "codecs/int/pack_int32.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/compressed_tensors/layout.h"
#include "formats/safetensors/checkpoint.h"

namespace qforge::compressed_tensors {
namespace {

constexpr std::string_view kQuantSuffixes[] = {kWeightPacked, kWeightScale, kWeightShape, kWeightZeroPoint,
                                               kWeightGIdx, "input_scale", "input_zero_point"};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() + 1 && s.ends_with(suffix) && s[s.size() - suffix.size() - 1] == '.';
}
std::string_view PrefixOf(std::string_view name, std::string_view suffix) {
  return name.substr(0, name.size() - suffix.size() - 1);
}

bool PatternMatches(const std::string& pattern, const std::string& name) {
  if (pattern.starts_with("re:")) {
    try {
      return std::regex_search(name, std::regex(pattern.substr(3)), std::regex_constants::match_continuous);
    } catch (const std::regex_error&) {
      Fail("quantization_config: invalid regular expression '{}'", pattern);
    }
  }
  return pattern == name;
}

bool IsModuleName(const std::string& t) { return t.find('.') != std::string::npos || t == "lm_head"; }

std::vector<float> FloatValues(const Tensor& t, const std::string& name) {
  if (!Traits(t.dtype()).is_float || t.dtype() == DType::kF64)
    Fail("{}: scale dtype {} is not supported; expected F32, BF16 or F16", name, Name(t.dtype()));
  const Tensor f = t.ToF32();
  return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

void ExpectShape(const Tensor& t, const Shape& want, const std::string& name) {
  if (t.shape() != want)
    Fail("{}: shape {} does not match the quantization config; expected {}", name, ShapeToString(t.shape()),
         ShapeToString(want));
}

void ExpectDType(const Tensor& t, DType want, const std::string& name) {
  if (t.dtype() != want) Fail("{}: dtype {}; expected {}", name, Name(t.dtype()), Name(want));
}

template <typename T>
std::vector<T> Copy(const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  std::memcpy(v.data(), t.bytes(), v.size() * sizeof(T));
  return v;
}

class Source final : public TensorSource {
 public:
  Source(std::unique_ptr<TensorSource> raw, QuantizationConfig cfg) : raw_(std::move(raw)), cfg_(std::move(cfg)) {
    for (const auto& n : raw_->Names()) {
      bool hidden = false;
      for (auto s : kQuantSuffixes) {
        if (!EndsWith(n, s)) continue;
        hidden = true;
        if (s == kWeightPacked) {
          const std::string p(PrefixOf(n, s));
          quantized_.insert(p + ".weight");
          names_.push_back(p + ".weight");
        }
      }
      if (hidden) continue;
      if (EndsWith(n, kWeight) && raw_->Has(PartName(PrefixOf(n, kWeight), kWeightScale)))
        quantized_.insert(n);  // int-quantized / naive-quantized
      names_.push_back(n);
    }
  }
  std::vector<std::string> Names() const override { return names_; }
  bool Has(std::string_view name) const override {
    return quantized_.count(std::string(name)) || (raw_->Has(name) && !IsHidden(name));
  }
  Tensor Get(std::string_view name) const override {
    const std::string n(name);
    if (quantized_.count(n)) return Dequantize(DecodeLinear(*raw_, cfg_, std::string(PrefixOf(n, kWeight))));
    if (IsHidden(name)) Fail("{}: tensor '{}' is part of a quantized weight", Describe(), name);
    return raw_->Get(name);
  }
  std::string Describe() const override { return raw_->Describe() + " (compressed-tensors, dequantized)"; }

 private:
  static bool IsHidden(std::string_view n) {
    for (auto s : kQuantSuffixes)
      if (EndsWith(n, s)) return true;
    return false;
  }
  std::unique_ptr<TensorSource> raw_;
  QuantizationConfig cfg_;
  std::vector<std::string> names_;
  std::unordered_set<std::string> quantized_;
};

}  // namespace

int DecodedLinear::group_of(int64_t i) const {
  if (!g_idx.empty()) return g_idx[static_cast<size_t>(i)];
  if (args.strategy == "group") return static_cast<int>(i / *args.group_size);
  return 0;
}

const ConfigGroup& GroupForModule(const QuantizationConfig& c, const std::string& prefix, const std::string& ctx) {
  for (const auto& g : c.groups)
    for (const auto& t : g.targets)
      if ((t.starts_with("re:") || IsModuleName(t)) && PatternMatches(t, prefix)) return g;
  for (const auto& g : c.groups)
    for (const auto& t : g.targets)
      if (!t.starts_with("re:") && !IsModuleName(t)) return g;  // a class target such as "Linear"
  Fail("{}: module '{}' has quantized tensors but no config group targets it", ctx, prefix);
}

DecodedLinear DecodeLinear(const TensorSource& raw, const QuantizationConfig& c, const std::string& p) {
  const std::string where = raw.Describe();
  DecodedLinear d;
  d.prefix = p;
  const ConfigGroup& g = GroupForModule(c, p, where);
  if (!g.weights) Fail("{}: module '{}' is quantized but its config group has no weights args", where, p);
  d.args = *g.weights;
  const auto& a = d.args;
  if (a.strategy != "tensor" && a.strategy != "channel" && a.strategy != "group")
    Fail("{}: {}: weight strategy '{}' is not supported", where, p, a.strategy);
  const bool packed = raw.Has(PartName(p, kWeightPacked));
  d.format = packed ? std::string(kPackQuantized) : std::string(kIntQuantized);
  std::vector<int8_t> zeros_raw;
  if (packed) {
    const std::string shape_name = PartName(p, kWeightShape), packed_name = PartName(p, kWeightPacked);
    const Tensor shape = raw.Get(shape_name);
    ExpectShape(shape, {2}, shape_name);
    std::vector<int64_t> dims;
    if (shape.dtype() == DType::kI64) dims = Copy<int64_t>(shape);
    else if (shape.dtype() == DType::kI32) for (int32_t v : Copy<int32_t>(shape)) dims.push_back(v);
    else Fail("{}: dtype {}; expected I64", shape_name, Name(shape.dtype()));
    constexpr int64_t kMaxDim = int64_t{1} << 24;  // far above any real Linear width
    if (dims[0] <= 0 || dims[1] <= 0 || dims[0] > kMaxDim || dims[1] > kMaxDim)
      Fail("{}: weight shape [{}, {}] is out of range (1..{})", shape_name, dims[0], dims[1], kMaxDim);
    d.out = dims[0];
    d.in = dims[1];
    const Tensor pk = raw.Get(packed_name);
    ExpectDType(pk, DType::kI32, packed_name);
    ExpectShape(pk, codecs::PackedShape(d.out, d.in, a.num_bits, 1), packed_name);
    d.codes = codecs::UnpackInt32(Copy<uint32_t>(pk), d.out, d.in, a.num_bits, 1, packed_name);
  } else {
    const std::string wn = PartName(p, kWeight);
    const Tensor w = raw.Get(wn);
    ExpectDType(w, DType::kI8, wn);
    if (w.rank() != 2) Fail("{}: rank {}; expected a 2-D [out, in] int8 weight", wn, w.rank());
    d.out = w.dim(0);
    d.in = w.dim(1);
    d.codes = Copy<int8_t>(w);
    const int lo = -(1 << (a.num_bits - 1)), hi = (1 << (a.num_bits - 1)) - 1;
    for (int8_t v : d.codes)
      if (v < lo || v > hi) Fail("{}: code {} is outside the {}-bit range [{}, {}]", wn, v, a.num_bits, lo, hi);
  }
  d.groups = NumGroups(a, d.in);
  const std::string sn = PartName(p, kWeightScale);
  const Tensor scale = raw.Get(sn);
  // Channel scales may be stored [out] or [out, 1]; tensor scales [1] or [].
  Shape want = ScaleShape(a, d.out, d.in);
  if (a.strategy == "channel" && scale.rank() == 1) want = {d.out};
  if (a.strategy == "tensor" && scale.rank() == 0) want = {};
  ExpectShape(scale, want, sn);
  d.scale_dtype = scale.dtype();
  d.scales = FloatValues(scale, sn);
  const std::string zn = PartName(p, kWeightZeroPoint);
  if (raw.Has(zn)) {
    const Tensor z = raw.Get(zn);
    const int64_t zrows = a.strategy == "tensor" ? 1 : d.out;
    if (z.dtype() == DType::kI32) {  // packed along dim 0 (CT >= 0.9.4)
      ExpectShape(z, codecs::PackedShape(zrows, d.groups, a.num_bits, 0), zn);
      d.zeros = codecs::UnpackInt32(Copy<uint32_t>(z), zrows, d.groups, a.num_bits, 0, zn);
    } else {
      ExpectDType(z, DType::kI8, zn);
      if (z.numel() != static_cast<int64_t>(d.scales.size()))
        Fail("{}: {} zero points for {} scales", zn, z.numel(), d.scales.size());
      d.zeros = Copy<int8_t>(z);
    }
    if (a.symmetric) {
      for (int8_t v : d.zeros)
        if (v != 0) Fail("{}: non-zero zero point {} in a symmetric scheme", zn, v);
      d.zeros.clear();
    }
  } else if (!a.symmetric) {
    Fail("{}: missing; an asymmetric scheme needs zero points", zn);
  }
  const std::string gn = PartName(p, kWeightGIdx);
  if (raw.Has(gn)) {
    const Tensor gi = raw.Get(gn);
    ExpectDType(gi, DType::kI32, gn);
    ExpectShape(gi, {d.in}, gn);
    d.g_idx = Copy<int32_t>(gi);
    for (int32_t v : d.g_idx)
      if (v < 0 || v >= d.groups) Fail("{}: group index {} out of range [0, {})", gn, v, d.groups);
  }
  return d;
}

Tensor Dequantize(const DecodedLinear& d) {
  Tensor t = Tensor::Zeros(d.scale_dtype, {d.out, d.in});
  std::vector<float> row(static_cast<size_t>(d.in));
  std::vector<int> gi(static_cast<size_t>(d.in));
  for (int64_t i = 0; i < d.in; ++i) gi[static_cast<size_t>(i)] = d.group_of(i);
  const bool per_tensor = d.scales.size() == 1 && d.out > 1;
  for (int64_t o = 0; o < d.out; ++o) {
    const int64_t base = per_tensor ? 0 : o * d.groups;
    for (int64_t i = 0; i < d.in; ++i) {
      const size_t k = static_cast<size_t>(base + gi[static_cast<size_t>(i)]);
      const int zp = d.zeros.empty() ? 0 : d.zeros[k];
      const float diff = static_cast<float>(d.codes[static_cast<size_t>(o * d.in + i)] - zp);
      row[static_cast<size_t>(i)] = codecs::RoundToDType(diff * d.scales[k], d.scale_dtype);
    }
    switch (d.scale_dtype) {
      case DType::kF32: std::memcpy(t.mutable_data<float>() + o * d.in, row.data(), row.size() * 4); break;
      case DType::kBF16: F32ToBf16(row.data(), t.mutable_data<uint16_t>() + o * d.in, row.size()); break;
      case DType::kF16: F32ToF16(row.data(), t.mutable_data<uint16_t>() + o * d.in, row.size()); break;
      default: QF_CHECK(false);
    }
  }
  return t;
}

std::unique_ptr<TensorSource> DequantizingSource(std::unique_ptr<TensorSource> raw, QuantizationConfig config) {
  return std::make_unique<Source>(std::move(raw), std::move(config));
}

std::unique_ptr<TensorSource> OpenDequantized(const std::string& dir) {
  auto cfg = ReadQuantizationConfig(dir);
  if (!cfg) Fail("{}: config.json has no compressed-tensors quantization_config", dir);
  return DequantizingSource(safetensors::OpenCheckpoint(dir), std::move(*cfg));
}

}  // namespace qforge::compressed_tensors
