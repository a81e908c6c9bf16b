#include "formats/gguf/gguf_file.h"

#include <cstring>
#include <utility>

#include "core/error.h"
#include "io/checked_math.h"
#include "io/mapped_file.h"

namespace qforge::gguf {

int64_t TensorInfo::numel() const {
  const auto n = io::CheckedNumElements(ne);
  QF_CHECK(n.has_value());
  return *n;
}

namespace {

// Bounds-checked little-endian cursor over the file bytes.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path) : data_(data), size_(size), path_(path) {}

  uint64_t pos() const { return pos_; }

  void Need(uint64_t n, std::string_view what) const {
    if (n > size_ - pos_) {
      Fail("{}: truncated GGUF file: {} needs {} bytes at offset {} but the file has {} bytes", path_, what, n, pos_,
           size_);
    }
  }
  template <typename T> T Read(std::string_view what) {
    Need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string ReadString(std::string_view what) {
    const uint64_t n = Read<uint64_t>(what);
    if (n > kMaxStringBytes) {
      Fail("{}: {} has length {} at offset {}; expected at most {} bytes", path_, what, n, pos_ - 8, kMaxStringBytes);
    }
    Need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }
  std::vector<uint8_t> ReadBytes(uint64_t n, std::string_view what) {
    Need(n, what);
    std::vector<uint8_t> v(data_ + pos_, data_ + pos_ + n);
    pos_ += n;
    return v;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

ValueType CheckValueType(uint32_t id, const std::string& path, const std::string& key, bool in_array) {
  if (id >= kValueTypeCount) {
    Fail("{}: metadata key '{}' has value type id {}; expected 0..12", path, key, id);
  }
  const auto t = static_cast<ValueType>(id);
  if (in_array && t == ValueType::kArray) {
    Fail("{}: metadata key '{}' is an array of arrays; GGUF allows one array level", path, key);
  }
  return t;
}

void CheckBools(const std::vector<uint8_t>& raw, const std::string& path, const std::string& key) {
  for (uint8_t b : raw) {
    if (b > 1) Fail("{}: metadata key '{}' holds a BOOL byte {}; expected 0 or 1", path, key, b);
  }
}

Value ReadValue(Cursor& c, ValueType type, const std::string& path, const std::string& key) {
  const std::string what = "value of '" + key + "'";
  if (type == ValueType::kString) return Value::String(c.ReadString(what));
  if (type != ValueType::kArray) {
    auto raw = c.ReadBytes(ScalarSize(type), what);
    if (type == ValueType::kBool) CheckBools(raw, path, key);
    return Value::FromParts(type, type, 1, std::move(raw), {});
  }
  const ValueType elem = CheckValueType(c.Read<uint32_t>(what), path, key, /*in_array=*/true);
  const uint64_t count = c.Read<uint64_t>(what);
  if (count > kMaxArrayCount) {
    Fail("{}: metadata array '{}' has {} elements; expected at most {}", path, key, count, kMaxArrayCount);
  }
  if (elem == ValueType::kString) {
    // Each string needs at least its 8-byte length: reject absurd counts before allocating.
    c.Need(count * 8, what);
    std::vector<std::string> v;
    v.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) v.push_back(c.ReadString(what));
    return Value::FromParts(type, elem, count, {}, std::move(v));
  }
  auto raw = c.ReadBytes(count * ScalarSize(elem), what);  // count ≤ 2^30, size ≤ 8: no overflow
  if (elem == ValueType::kBool) CheckBools(raw, path, key);
  return Value::FromParts(type, elem, count, std::move(raw), {});
}

uint64_t PadTo(uint64_t n, uint64_t align, const std::string& path) {
  const auto r = io::CheckedAdd(n, align - 1);
  if (!r) Fail("{}: offset {} overflows when padded to {}", path, n, align);
  return *r / align * align;
}

}  // namespace

std::shared_ptr<const File> File::Open(const std::string& path) {
  auto mapped = io::MappedFile::Open(path);
  std::shared_ptr<File> f(new File());
  f->path_ = path;
  f->data_ = reinterpret_cast<const uint8_t*>(mapped->data());
  f->size_ = mapped->size();
  f->keep_alive_ = mapped;
  f->Parse();
  return f;
}

std::shared_ptr<const File> File::FromBytes(std::vector<uint8_t> bytes, std::string name) {
  auto owned = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  std::shared_ptr<File> f(new File());
  f->path_ = std::move(name);
  f->data_ = owned->data();
  f->size_ = owned->size();
  f->keep_alive_ = owned;
  f->Parse();
  return f;
}

void File::Parse() {
  Cursor c(data_, size_, path_);
  const uint32_t magic = c.Read<uint32_t>("magic");
  if (magic != kMagic) {
    Fail("{}: not a GGUF file: magic is 0x{:08x}; expected 0x{:08x} (\"GGUF\")", path_, magic, kMagic);
  }
  version_ = c.Read<uint32_t>("version");
  if (version_ != 0 && (version_ & 0xffffu) == 0) {
    Fail("{}: GGUF version 0x{:08x} looks byte-swapped (a big-endian file); only little-endian is supported", path_,
         version_);
  }
  if (version_ == 1) Fail("{}: GGUF version 1 is no longer supported; expected version 2 or 3", path_);
  if (version_ < 2 || version_ > 3) Fail("{}: unsupported GGUF version {}; expected 2 or 3", path_, version_);

  const uint64_t n_tensors = c.Read<uint64_t>("tensor count");
  if (n_tensors > kMaxTensors) {
    Fail("{}: tensor count {} exceeds the limit {}", path_, static_cast<int64_t>(n_tensors), kMaxTensors);
  }
  const uint64_t n_kv = c.Read<uint64_t>("metadata count");
  if (n_kv > kMaxKvs) Fail("{}: metadata count {} exceeds the limit {}", path_, static_cast<int64_t>(n_kv), kMaxKvs);

  kvs_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.ReadString("metadata key");
    if (key.empty()) Fail("{}: metadata entry {} has an empty key", path_, i);
    if (kv_index_.count(key)) Fail("{}: duplicate metadata key '{}'", path_, key);
    const ValueType type = CheckValueType(c.Read<uint32_t>("value type of '" + key + "'"), path_, key, false);
    Value v = ReadValue(c, type, path_, key);
    kv_index_.emplace(key, kvs_.size());
    kvs_.push_back({std::move(key), std::move(v)});
  }

  if (const Value* a = Find("general.alignment")) {
    const auto al = a->As<uint32_t>();
    if (!al) Fail("{}: general.alignment has type {}; expected UINT32", path_, ValueTypeName(a->type()));
    if (*al == 0 || (*al & (*al - 1)) != 0) {
      Fail("{}: general.alignment is {}; expected a power of two", path_, *al);
    }
    alignment_ = *al;
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  uint64_t expected_offset = 0;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = c.ReadString("tensor name");
    if (t.name.size() > kMaxNameBytes) {
      Fail("{}: tensor name '{}' is {} bytes; expected at most {}", path_, t.name, t.name.size(), kMaxNameBytes);
    }
    if (tensor_index_.count(t.name)) Fail("{}: duplicate tensor name '{}'", path_, t.name);
    const uint32_t n_dims = c.Read<uint32_t>("n_dims of '" + t.name + "'");
    if (n_dims > kMaxDims) Fail("{}: tensor '{}' has {} dims; expected at most {}", path_, t.name, n_dims, kMaxDims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t ne = c.Read<int64_t>("shape of '" + t.name + "'");
      if (ne < 0) Fail("{}: tensor '{}' has a negative dimension ne[{}] = {}", path_, t.name, d, ne);
      t.ne.push_back(ne);
    }
    const uint32_t type_id = c.Read<uint32_t>("type of '" + t.name + "'");
    const auto dtype = DTypeFromGgufId(type_id);
    if (!dtype) {
      Fail("{}: tensor '{}' has ggml type id {}, which qforge does not support (F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
           "Q5_1, Q8_0, Q2_K..Q6_K and plain integer types are)", path_, t.name, type_id);
    }
    t.type = *dtype;
    t.offset = c.Read<uint64_t>("offset of '" + t.name + "'");

    const auto numel = io::CheckedNumElements(t.ne);
    if (!numel) Fail("{}: tensor '{}' element count overflows", path_, t.name);
    const int64_t block = Traits(t.type).block_size;
    const int64_t ne0 = t.ne.empty() ? 1 : t.ne[0];
    if (ne0 % block != 0) {
      Fail("{}: tensor '{}' of type {} has ne[0] = {}, not a multiple of the block size {}", path_, t.name,
           Name(t.type), ne0, block);
    }
    const auto nbytes = ByteSize(t.type, static_cast<uint64_t>(*numel));
    if (!nbytes) Fail("{}: tensor '{}' byte size overflows", path_, t.name);
    t.nbytes = *nbytes;
    if (t.offset != expected_offset) {
      Fail("{}: tensor '{}' has data offset {}; expected {} (offsets must be sequential, each tensor padded to {})",
           path_, t.name, t.offset, expected_offset, alignment_);
    }
    const auto end = io::CheckedAdd(t.offset, t.nbytes);
    if (!end) Fail("{}: tensor '{}' data end overflows", path_, t.name);
    expected_offset = PadTo(*end, alignment_, path_);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  data_offset_ = PadTo(c.pos(), alignment_, path_);
  // A file without tensors may end right after the infos; otherwise every tensor must be inside the file.
  if (!tensors_.empty()) {
    const TensorInfo& last = tensors_.back();
    const auto end = io::CheckedAdd(data_offset_, last.offset + last.nbytes);
    if (!end || *end > size_) {
      Fail("{}: file is {} bytes but tensor '{}' ends at byte {}; the file is truncated", path_, size_, last.name,
           end ? *end : UINT64_MAX);
    }
  }
}

const Value* File::Find(std::string_view key) const {
  const auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const Value& File::Kv(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) Fail("{}: metadata key '{}' is missing", path_, key);
  return *v;
}

namespace {
[[noreturn]] void WrongType(const std::string& path, std::string_view key, const Value& v, std::string_view want) {
  Fail("{}: metadata key '{}' has type {}; expected {}", path, key,
       v.is_array() ? "ARRAY[" + std::string(ValueTypeName(v.element_type())) + "]"
                    : std::string(ValueTypeName(v.type())),
       want);
}
}  // namespace

std::optional<std::string> File::FindString(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->AsString()) WrongType(path_, key, *v, "STRING");
  return *v->AsString();
}
std::optional<uint32_t> File::FindU32(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->As<uint32_t>()) WrongType(path_, key, *v, "UINT32");
  return v->As<uint32_t>();
}
std::optional<float> File::FindF32(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->As<float>()) WrongType(path_, key, *v, "FLOAT32");
  return v->As<float>();
}
std::optional<bool> File::FindBool(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->As<bool>()) WrongType(path_, key, *v, "BOOL");
  return v->As<bool>();
}
std::string File::GetString(std::string_view key) const {
  Kv(key);
  return *FindString(key);
}
uint32_t File::GetU32(std::string_view key) const {
  Kv(key);
  return *FindU32(key);
}
float File::GetF32(std::string_view key) const {
  Kv(key);
  return *FindF32(key);
}

const TensorInfo* File::FindTensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> File::TensorData(const TensorInfo& info) const {
  return {reinterpret_cast<const std::byte*>(data_ + data_offset_ + info.offset), static_cast<size_t>(info.nbytes)};
}

std::vector<std::string> File::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& t : tensors_) names.push_back(t.name);
  return names;
}

Tensor File::Get(std::string_view name) const {
  const TensorInfo* info = FindTensor(name);
  if (!info) Fail("{}: no tensor named '{}'", path_, name);
  return Tensor(info->type, info->shape(), TensorData(*info).data(), keep_alive_);
}

}  // namespace qforge::gguf
