#include "formats/safetensors/file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"
#include "io/checked_math.h"
#include "io/json_util.h"
#include "io/mapped_file.h"

namespace qforge::safetensors {
namespace {

using OJson = io::OrderedJson;

constexpr uint64_t kLengthPrefixBytes = 8;

std::string Clip(std::string_view s, size_t n = 60) {
  return s.size() <= n ? std::string(s) : std::string(s.substr(0, n)) + "...";
}

// Parses the header, rejecting duplicate keys in any object and nesting deeper than kMaxJsonDepth
// (nlohmann silently keeps the last of duplicate keys, and deep nesting costs stack on destruction).
OJson ParseHeaderJson(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> keys;  // one set per open object, indexed by depth
  std::string duplicate;
  bool too_deep = false;
  auto callback = [&](int depth, OJson::parse_event_t event, OJson& parsed) -> bool {
    if (depth > kMaxJsonDepth) too_deep = true;
    if (too_deep || !duplicate.empty()) return false;
    if (event == OJson::parse_event_t::object_start) {
      if (keys.size() < static_cast<size_t>(depth) + 1) keys.resize(depth + 1);
      keys[depth].clear();
    } else if (event == OJson::parse_event_t::key && depth >= 1 && keys.size() >= static_cast<size_t>(depth)) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!keys[depth - 1].insert(k).second) duplicate = k;
    }
    return true;
  };
  OJson j;
  try {
    j = OJson::parse(text, callback);
  } catch (const OJson::exception& e) {
    Fail("{}: header is not valid JSON ({}); expected a JSON object. Perhaps a truncated or corrupt file?", path,
         e.what());
  }
  if (too_deep) Fail("{}: header JSON nests deeper than {} levels; expected flat tensor entries", path, kMaxJsonDepth);
  if (!duplicate.empty())
    Fail("{}: duplicate name '{}' in header; expected each tensor and key once", path, Clip(duplicate));
  return j;
}

// A non-negative integer that fits `limit`; otherwise an error naming what it is.
uint64_t ToUint(const OJson& v, uint64_t limit, const std::string& what) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > limit) Fail("{} = {} is too large; expected at most {}", what, u, limit);
    return u;
  }
  if (v.is_number_integer()) Fail("{} = {} is negative; expected a non-negative integer", what, v.get<int64_t>());
  Fail("{} is {} ({}); expected a non-negative integer", what, io::TypeName(v), Clip(v.dump()));
}

}  // namespace

std::shared_ptr<const File> File::Open(const std::string& path) {
  std::shared_ptr<File> f(new File());
  f->path_ = path;
  f->mapping_ = io::MappedFile::Open(path);
  f->data_ = f->mapping_->data();
  f->size_ = f->mapping_->size();
  f->Parse();
  return f;
}

std::shared_ptr<const File> File::FromBytes(std::span<const uint8_t> bytes, const std::string& name) {
  std::shared_ptr<File> f(new File());
  f->path_ = name;
  f->owned_.assign(bytes.begin(), bytes.end());
  f->data_ = reinterpret_cast<const std::byte*>(f->owned_.data());
  f->size_ = f->owned_.size();
  f->Parse();
  return f;
}

void File::Parse() {
  const std::string& p = path_;
  if (size_ < kLengthPrefixBytes)
    Fail("{}: file is {} bytes, too small for the 8-byte header length; expected a safetensors file. Perhaps an "
         "incomplete download?", p, size_);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(data_[i]);
  if (n == 0) Fail("{}: header length is 0; expected a JSON header of at least 2 bytes", p);
  if (n > kMaxHeaderBytes)
    Fail("{}: header length {} exceeds the limit of {} bytes; not a safetensors file or corrupt", p, n,
         kMaxHeaderBytes);
  if (n > size_ - kLengthPrefixBytes)
    Fail("{}: header length {} runs past the end of the file ({} bytes); expected a complete file. Perhaps a "
         "truncated download?", p, n, size_);
  header_length_ = n;
  const std::string text(reinterpret_cast<const char*>(data_) + kLengthPrefixBytes, n);
  if (text[0] != '{') Fail("{}: header does not start with '{{'; expected a JSON object", p);
  const OJson header = ParseHeaderJson(text, p);
  if (!header.is_object()) Fail("{}: header is a JSON {}; expected an object", p, io::TypeName(header));
  if (header.size() > kMaxTensors + 1)
    Fail("{}: header has {} entries; the limit is {} tensors", p, header.size(), kMaxTensors);

  const uint64_t data_size = size_ - kLengthPrefixBytes - n;
  tensors_.reserve(header.size());
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) Fail("{}: __metadata__ is {}; expected an object of strings", p, io::TypeName(entry));
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          Fail("{}: __metadata__ value for '{}' is {}; expected a string", p, Clip(k), io::TypeName(v));
        metadata_.emplace_back(k, v.get<std::string>());
      }
      continue;
    }
    const std::string where = fmt::format("{}: tensor '{}'", p, Clip(name));
    if (name.empty() || name.size() > kMaxNameBytes)
      Fail("{}: tensor name of {} bytes; expected 1 to {} bytes", p, name.size(), kMaxNameBytes);
    if (!entry.is_object()) Fail("{}: entry is {}; expected an object with dtype, shape, data_offsets", where,
                                 io::TypeName(entry));
    TensorInfo t;
    t.name = name;
    // dtype
    auto it = entry.find("dtype");
    if (it == entry.end()) Fail("{}: required field \"dtype\" is missing", where);
    if (!it->is_string()) Fail("{}: dtype is {}; expected a string such as \"BF16\"", where, io::TypeName(*it));
    const auto dt = DTypeFromSafetensorsName(it->get_ref<const std::string&>());
    if (!dt) Fail("{}: unknown or unsupported dtype \"{}\"; expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 "
                  "U16 U8 BOOL", where, Clip(it->get_ref<const std::string&>()));
    t.dtype = *dt;
    // shape
    it = entry.find("shape");
    if (it == entry.end()) Fail("{}: required field \"shape\" is missing", where);
    if (!it->is_array()) Fail("{}: shape is {}; expected an array of integers", where, io::TypeName(*it));
    if (it->size() > kMaxRank) Fail("{}: shape has rank {}; the limit is {}", where, it->size(), kMaxRank);
    for (const auto& d : *it)
      t.shape.push_back(static_cast<int64_t>(
          ToUint(d, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where + ": shape dimension")));
    const auto numel = io::CheckedNumElements(t.shape);
    if (!numel) Fail("{}: shape {} overflows int64 elements; expected a real tensor shape", where, ShapeToString(t.shape));
    const auto expect_bytes = ByteSize(t.dtype, static_cast<uint64_t>(*numel));
    if (!expect_bytes) Fail("{}: byte size of shape {} in {} overflows", where, ShapeToString(t.shape), Name(t.dtype));
    // data_offsets
    it = entry.find("data_offsets");
    if (it == entry.end()) Fail("{}: required field \"data_offsets\" is missing", where);
    if (!it->is_array() || it->size() != 2)
      Fail("{}: data_offsets is {}; expected an array [begin, end]", where, Clip(it->dump()));
    const uint64_t limit = std::numeric_limits<uint64_t>::max();
    t.begin = ToUint((*it)[0], limit, where + ": data_offsets begin");
    t.end = ToUint((*it)[1], limit, where + ": data_offsets end");
    if (t.end < t.begin) Fail("{}: data_offsets [{}, {}] end before begin; expected begin <= end", where, t.begin, t.end);
    if (t.end - t.begin != *expect_bytes)
      Fail("{}: data_offsets span {} bytes but shape {} of {} needs {} bytes", where, t.end - t.begin,
           ShapeToString(t.shape), Name(t.dtype), *expect_bytes);
    tensors_.push_back(std::move(t));
  }

  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  for (const TensorInfo& t : tensors_) {
    if (t.begin < pos)
      Fail("{}: tensor '{}' data_offsets [{}, {}] overlap the previous tensor (ends at {}); expected back-to-back "
           "tensors", p, Clip(t.name), t.begin, t.end, pos);
    if (t.begin > pos)
      Fail("{}: gap before tensor '{}': data_offsets begin at {} but the previous tensor ends at {}; expected "
           "back-to-back tensors", p, Clip(t.name), t.begin, pos);
    pos = t.end;
  }
  if (pos > data_size)
    Fail("{}: truncated: the header describes {} bytes of tensor data but only {} follow it (file {} bytes; "
         "data_offsets out of range). Perhaps an incomplete download?", p, pos, data_size, size_);
  if (pos != data_size)
    Fail("{}: {} bytes after the last tensor (data buffer {} bytes, tensors end at {}); expected none", p,
         data_size - pos, data_size, pos);
  index_.reserve(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const TensorInfo* File::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> File::Bytes(const TensorInfo& t) const {
  return {data_ + data_start() + t.begin, t.nbytes()};
}

Tensor File::Get(std::string_view name) const {
  const TensorInfo* t = Find(name);
  if (!t) Fail("{}: no tensor named '{}'", path_, Clip(name, 200));
  const std::byte* ptr = data_ + data_start() + t->begin;
  const auto elem = static_cast<uintptr_t>(Traits(t->dtype).type_size);
  if (reinterpret_cast<uintptr_t>(ptr) % elem != 0) {
    // Files from safetensors < 0.4 need not align the data buffer; copy rather than hand out a misaligned view.
    Tensor copy = Tensor::Zeros(t->dtype, t->shape);
    if (t->nbytes()) std::memcpy(copy.mutable_bytes(), ptr, t->nbytes());
    return copy;
  }
  return Tensor(t->dtype, t->shape, ptr, shared_from_this());
}

}  // namespace qforge::safetensors
