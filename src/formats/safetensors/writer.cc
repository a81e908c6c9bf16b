#include "formats/safetensors/writer.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/checked_math.h"
#include "io/json_util.h"

namespace qforge::safetensors {
namespace {

constexpr uint64_t kHeaderAlignment = 8;  // safetensors >= 0.4 pads the header to a multiple of 8

// Position in safetensors' Dtype enum (ST: tensor.rs); the reference writer sorts by it, descending.
int ReferenceRank(DType t) {
  switch (t) {
    case DType::kBool: return 0;
    case DType::kU8: return 4;
    case DType::kI8: return 5;
    case DType::kI16: return 11;
    case DType::kU16: return 12;
    case DType::kF16: return 13;
    case DType::kBF16: return 14;
    case DType::kI32: return 15;
    case DType::kU32: return 16;
    case DType::kF32: return 17;
    case DType::kF64: return 19;
    case DType::kI64: return 20;
    case DType::kU64: return 21;
    default: return -1;
  }
}

// JSON string body as serde_json writes it (escapes ", \ and control characters; UTF-8 passes through).
std::string JsonString(std::string_view s) { return io::Json(std::string(s)).dump(); }

}  // namespace

uint64_t SpecBytes(const TensorSpec& spec) {
  if (Traits(spec.dtype).safetensors_name.empty())
    Fail("tensor '{}': dtype {} cannot be stored in safetensors", spec.name, Name(spec.dtype));
  const auto n = io::CheckedNumElements(spec.shape);
  if (!n) Fail("tensor '{}': shape {} is invalid or overflows", spec.name, ShapeToString(spec.shape));
  const auto b = ByteSize(spec.dtype, static_cast<uint64_t>(*n));
  if (!b) Fail("tensor '{}': byte size overflows", spec.name);
  return *b;
}

void SortLikeReference(std::vector<TensorSpec>& specs) {
  std::stable_sort(specs.begin(), specs.end(), [](const TensorSpec& a, const TensorSpec& b) {
    const int ra = ReferenceRank(a.dtype), rb = ReferenceRank(b.dtype);
    if (ra != rb) return ra > rb;
    return a.name < b.name;  // std::string compares bytes like Rust's String ordering
  });
}

void WriteFile(io::ByteSink& sink, std::vector<TensorSpec> specs, const TensorProducer& produce) {
  WriteFile(sink, std::move(specs), produce, Metadata{{"format", "pt"}});
}

void WriteFile(io::ByteSink& sink, std::vector<TensorSpec> specs, const TensorProducer& produce,
               const Metadata& metadata) {
  std::set<std::string_view> seen;
  for (const auto& s : specs) {
    if (s.name.empty() || s.name == "__metadata__") Fail("cannot write a tensor named '{}'", s.name);
    if (!seen.insert(s.name).second) Fail("tensor '{}' given twice; expected unique names", s.name);
  }
  SortLikeReference(specs);

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      if (i) header += ',';
      header += JsonString(metadata[i].first) + ':' + JsonString(metadata[i].second);
    }
    header += '}';
  }
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  sizes.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& s = specs[i];
    const uint64_t bytes = SpecBytes(s);
    const auto end = io::CheckedAdd(offset, bytes);
    if (!end) Fail("tensor '{}': file size overflows", s.name);
    if (i || !metadata.empty()) header += ',';
    header += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", JsonString(s.name),
                          Traits(s.dtype).safetensors_name, fmt::join(s.shape, ","), offset, *end);
    sizes.push_back(bytes);
    offset = *end;
  }
  header += '}';
  header.append((kHeaderAlignment - header.size() % kHeaderAlignment) % kHeaderAlignment, ' ');

  sink.WritePod<uint64_t>(header.size());  // little-endian hosts only (x86-64, aarch64)
  sink.Write(header.data(), header.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const uint64_t before = sink.Position();
    produce(specs[i], sink);
    QF_CHECK_MSG(sink.Position() - before == sizes[i], "producer wrote {} bytes for '{}', expected {}",
                 sink.Position() - before, specs[i].name, sizes[i]);
  }
}

std::vector<std::vector<size_t>> PlanShards(const std::vector<TensorSpec>& specs, uint64_t max_shard_bytes) {
  QF_CHECK(max_shard_bytes > 0);
  // huggingface_hub's split_state_dict_into_shards_factory: an oversized tensor becomes its own shard at once
  // (so it is numbered before the shard being filled); otherwise close the current shard when adding the
  // tensor would exceed the limit.
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_bytes = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const uint64_t bytes = SpecBytes(specs[i]);
    if (bytes > max_shard_bytes) {
      shards.push_back({i});
      continue;
    }
    if (current_bytes + bytes > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(i);
    current_bytes += bytes;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));  // an empty model is one file
  return shards;
}

std::string ShardFileName(size_t index, size_t count) {
  if (count == 1) return kSingleFileName;
  return fmt::format("model-{:05d}-of-{:05d}.safetensors", index, count);
}

void WriteCheckpoint(const std::string& dir, const std::vector<TensorSpec>& specs, uint64_t max_shard_bytes,
                     const TensorProducer& produce) {
  if (max_shard_bytes == 0) Fail("max shard size must be positive");
  const auto shards = PlanShards(specs, max_shard_bytes);
  io::Json weight_map = io::Json::object();
  uint64_t total_size = 0;
  for (size_t k = 0; k < shards.size(); ++k) {
    const std::string file_name = ShardFileName(k + 1, shards.size());
    std::vector<TensorSpec> shard_specs;
    for (size_t i : shards[k]) {
      shard_specs.push_back(specs[i]);
      weight_map[specs[i].name] = file_name;
      total_size += SpecBytes(specs[i]);
    }
    io::AtomicFile out(dir + "/" + file_name);
    WriteFile(out, std::move(shard_specs), produce);
    out.Commit();
  }
  if (shards.size() > 1) {
    io::Json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
    io::WriteFileAtomically(dir + "/" + kIndexFileName, io::DumpPythonStyle(index) + "\n");
  }
}

void WriteTensorBytes(const Tensor& t, io::ByteSink& sink) {
  QF_CHECK(t.contiguous());
  sink.Write(t.bytes(), t.nbytes());
}

}  // namespace qforge::safetensors
