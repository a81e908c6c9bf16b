#include "formats/gguf/gguf_writer.h"

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/checked_math.h"

namespace qforge::gguf {

namespace {

constexpr uint32_t kWriteVersion = 3;

uint64_t Pad(uint64_t n, uint64_t align) { return (n + align - 1) / align * align; }

uint64_t StringSize(const std::string& s) { return 8 + s.size(); }

uint64_t ValueSize(const Value& v) {
  if (v.type() == ValueType::kString) return StringSize(*v.AsString());
  if (!v.is_array()) return v.raw().size();
  uint64_t n = 4 + 8 + v.raw().size();
  for (const auto& s : v.strings()) n += StringSize(s);
  return n;
}

void WriteString(io::ByteSink& sink, const std::string& s) {
  sink.WritePod<uint64_t>(s.size());
  sink.Write(s.data(), s.size());
}

void WriteValue(io::ByteSink& sink, const Value& v) {
  if (v.type() == ValueType::kString) return WriteString(sink, *v.AsString());
  if (v.is_array()) {
    sink.WritePod<uint32_t>(static_cast<uint32_t>(v.element_type()));
    sink.WritePod<uint64_t>(v.count());
    for (const auto& s : v.strings()) WriteString(sink, s);
  }
  if (!v.raw().empty()) sink.Write(v.raw().data(), v.raw().size());
}

}  // namespace

std::vector<int64_t> NeFromShape(const Shape& shape) {
  if (shape.empty()) return {1};
  return std::vector<int64_t>(shape.rbegin(), shape.rend());
}

void Writer::Add(std::string key, Value value) {
  QF_CHECK_MSG(!key.empty(), "empty GGUF key");
  QF_CHECK_MSG(Find(key) == nullptr, "duplicate GGUF key {}", key);
  kvs_.push_back({std::move(key), std::move(value)});
}

void Writer::Set(std::string key, Value value) {
  Remove(key);
  Add(std::move(key), std::move(value));
}

void Writer::Remove(std::string_view key) {
  std::erase_if(kvs_, [&](const KeyValue& kv) { return kv.key == key; });
}

const Value* Writer::Find(std::string_view key) const {
  for (const auto& kv : kvs_) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

uint32_t Writer::alignment() const {
  if (const Value* a = Find("general.alignment")) {
    const auto al = a->As<uint32_t>();
    QF_CHECK_MSG(al && *al && (*al & (*al - 1)) == 0, "general.alignment must be a UINT32 power of two");
    return *al;
  }
  return kDefaultAlignment;
}

size_t Writer::AddTensor(std::string name, DType type, std::vector<int64_t> ne) {
  QF_CHECK_MSG(!name.empty() && name.size() <= kMaxNameBytes, "GGUF tensor name '{}' length", name);
  QF_CHECK_MSG(!tensor_index_.count(name), "duplicate GGUF tensor {}", name);
  QF_CHECK_MSG(!ne.empty() && ne.size() <= kMaxDims, "tensor {} rank {}", name, ne.size());
  QF_CHECK_MSG(Traits(type).gguf_id >= 0, "{} has no GGUF type", Name(type));
  QF_CHECK_MSG(ne[0] % Traits(type).block_size == 0, "tensor {}: ne[0]={} not a multiple of the {} block", name,
               ne[0], Name(type));
  const auto numel = io::CheckedNumElements(ne);
  QF_CHECK(numel.has_value());
  TensorInfo t;
  t.name = std::move(name);
  t.type = type;
  t.ne = std::move(ne);
  t.nbytes = *ByteSize(type, static_cast<uint64_t>(*numel));
  t.offset = 0;
  if (!tensors_.empty()) t.offset = Pad(tensors_.back().offset + tensors_.back().nbytes, alignment());
  tensor_index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
  return tensors_.size() - 1;
}

uint64_t Writer::HeaderSize() const {
  uint64_t n = 4 + 4 + 8 + 8;
  for (const auto& kv : kvs_) n += StringSize(kv.key) + 4 + ValueSize(kv.value);
  for (const auto& t : tensors_) n += StringSize(t.name) + 4 + 8 * t.ne.size() + 4 + 8;
  return n;
}

uint64_t Writer::FileSize() const {
  const uint64_t align = alignment();
  uint64_t n = Pad(HeaderSize(), align);
  if (!tensors_.empty()) n += Pad(tensors_.back().offset + tensors_.back().nbytes, align);
  return n;
}

void Writer::Write(io::ByteSink& sink, const TensorProducer& produce) const {
  const uint64_t align = alignment();
  // Offsets were assigned with the alignment in force when each tensor was added; recompute now in case
  // general.alignment was set afterwards.
  std::vector<TensorInfo> infos = tensors_;
  uint64_t offset = 0;
  for (auto& t : infos) {
    t.offset = offset;
    offset = Pad(offset + t.nbytes, align);
  }

  const uint64_t base = sink.Position();
  sink.Write("GGUF", 4);
  sink.WritePod<uint32_t>(kWriteVersion);
  sink.WritePod<uint64_t>(infos.size());
  sink.WritePod<uint64_t>(kvs_.size());
  for (const auto& kv : kvs_) {
    WriteString(sink, kv.key);
    sink.WritePod<uint32_t>(static_cast<uint32_t>(kv.value.type()));
    WriteValue(sink, kv.value);
  }
  for (const auto& t : infos) {
    WriteString(sink, t.name);
    sink.WritePod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) sink.WritePod<int64_t>(d);
    sink.WritePod<uint32_t>(static_cast<uint32_t>(Traits(t.type).gguf_id));
    sink.WritePod<uint64_t>(t.offset);
  }
  const uint64_t header = sink.Position() - base;
  QF_CHECK(header == HeaderSize());
  sink.WriteZeros(static_cast<size_t>(Pad(header, align) - header));
  for (size_t i = 0; i < infos.size(); ++i) {
    const uint64_t start = sink.Position();
    produce(i, infos[i], sink);
    const uint64_t written = sink.Position() - start;
    QF_CHECK_MSG(written == infos[i].nbytes, "producer wrote {} bytes for tensor {}; expected {}", written,
                 infos[i].name, infos[i].nbytes);
    sink.WriteZeros(static_cast<size_t>(Pad(written, align) - written));
  }
}

Writer WriterFromFile(const File& file) {
  Writer w;
  for (const auto& kv : file.kvs()) w.Add(kv.key, kv.value);
  for (const auto& t : file.tensor_infos()) w.AddTensor(t.name, t.type, t.ne);
  return w;
}

TensorProducer CopyTensorsFrom(const File& file) {
  return [&file](size_t, const TensorInfo& info, io::ByteSink& sink) {
    const TensorInfo* src = file.FindTensor(info.name);
    QF_CHECK_MSG(src && src->nbytes == info.nbytes, "tensor {} not copyable from {}", info.name, file.path());
    const auto data = file.TensorData(*src);
    sink.Write(data.data(), data.size());
  };
}

void WriteFile(const std::string& path, const Writer& writer, const TensorProducer& produce) {
  io::AtomicFile out(path);
  writer.Write(out, produce);
  out.Commit();
}

}  // namespace qforge::gguf
