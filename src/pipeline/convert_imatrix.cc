#include "pipeline/convert_imatrix.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"

namespace qforge::pipeline {

namespace {

constexpr std::string_view kSum2Suffix = ".in_sum2";
constexpr std::string_view kCountsSuffix = ".counts";

void CheckFinite(const std::string& path, const std::string& weight, const std::vector<float>& w) {
  for (size_t j = 0; j < w.size(); ++j) {
    if (!std::isfinite(w[j])) {
      Fail("{}: importance of '{}' column {} is {}; expected a finite value", path, weight, j, w[j]);
    }
  }
}

Imatrix ReadGgufImatrix(const std::string& path) {
  auto f = gguf::File::Open(path);
  Imatrix im;
  im.path = path;
  if (const gguf::Value* d = f->Find("imatrix.datasets"); d && d->AsStringArray() && !d->AsStringArray()->empty()) {
    im.dataset = d->AsStringArray()->front();
  }
  if (const gguf::Value* c = f->Find("imatrix.chunk_count"); c && c->ToInt64()) im.chunks = *c->ToInt64();
  for (const auto& info : f->tensor_infos()) {
    const std::string& n = info.name;
    if (n.size() <= kSum2Suffix.size() || n.compare(n.size() - kSum2Suffix.size(), kSum2Suffix.size(), kSum2Suffix)) {
      continue;
    }
    const std::string weight = n.substr(0, n.size() - kSum2Suffix.size());
    const gguf::TensorInfo* counts = f->FindTensor(weight + std::string(kCountsSuffix));
    if (!counts) Fail("{}: '{}' has no matching '{}{}' tensor", path, n, weight, kCountsSuffix);
    if (info.type != DType::kF32 || counts->type != DType::kF32) {
      Fail("{}: imatrix tensors of '{}' must be F32", path, weight);
    }
    const int64_t n_mat = info.ne.size() > 1 ? info.ne[1] : 1;
    if (n_mat != 1 || counts->numel() != 1) {
      Fail("{}: '{}' holds {} matrices; only dense (single-matrix) weights are supported", path, weight, n_mat);
    }
    const auto sum2 = f->TensorData(info);
    float cnt;
    std::memcpy(&cnt, f->TensorData(*counts).data(), 4);
    std::vector<float> w(static_cast<size_t>(info.ne[0]));
    std::memcpy(w.data(), sum2.data(), w.size() * 4);
    for (float& x : w) x = cnt > 0 ? x / cnt : 1.0f;
    CheckFinite(path, weight, w);
    im.weights.emplace(weight, std::move(w));
  }
  return im;
}

class Reader {
 public:
  Reader(const std::byte* p, size_t n, const std::string& path) : p_(p), n_(n), path_(path) {}
  bool AtEnd() const { return pos_ == n_; }
  int32_t I32(const char* what) {
    if (n_ - pos_ < 4) Fail("{}: truncated imatrix file while reading {} at offset {}", path_, what, pos_);
    int32_t v;
    std::memcpy(&v, p_ + pos_, 4);
    pos_ += 4;
    return v;
  }
  const std::byte* Bytes(int64_t len, const char* what) {
    if (len < 0 || static_cast<uint64_t>(len) > n_ - pos_) {
      Fail("{}: {} of {} bytes at offset {} runs past the end of the file", path_, what, len, pos_);
    }
    const std::byte* r = p_ + pos_;
    pos_ += static_cast<size_t>(len);
    return r;
  }

 private:
  const std::byte* p_;
  size_t n_, pos_ = 0;
  const std::string& path_;
};

Imatrix ReadLegacyImatrix(const std::string& path, const io::MappedFile& file) {
  Imatrix im;
  im.path = path;
  Reader r(file.data(), file.size(), path);
  const int32_t n = r.I32("entry count");
  if (n < 0 || n > kMaxImatrixEntries) Fail("{}: imatrix entry count {}; expected 0..{}", path, n, kMaxImatrixEntries);
  for (int32_t i = 0; i < n; ++i) {
    const int32_t len = r.I32("name length");
    if (len <= 0 || len > 1024) Fail("{}: imatrix entry {} has name length {}; expected 1..1024", path, i, len);
    std::string name(reinterpret_cast<const char*>(r.Bytes(len, "entry name")), static_cast<size_t>(len));
    const int32_t ncall = r.I32("ncall");
    const int32_t nval = r.I32("nval");
    if (ncall < 0 || nval <= 0 || nval > kMaxImatrixValues) {
      Fail("{}: imatrix entry '{}' has ncall {} and nval {}; expected ncall >= 0, 1 <= nval <= {}", path, name, ncall,
           nval, kMaxImatrixValues);
    }
    std::vector<float> w(static_cast<size_t>(nval));
    std::memcpy(w.data(), r.Bytes(int64_t{nval} * 4, "entry values"), w.size() * 4);
    if (ncall > 0) {
      for (float& x : w) x /= static_cast<float>(ncall);
    }
    CheckFinite(path, name, w);
    if (!im.weights.emplace(std::move(name), std::move(w)).second) Fail("{}: duplicate imatrix entry", path);
  }
  if (!r.AtEnd()) {
    im.chunks = r.I32("last chunk");
    const int32_t len = r.I32("dataset name length");
    if (len < 0 || len > 1 << 20) Fail("{}: dataset name length {}", path, len);
    im.dataset.assign(reinterpret_cast<const char*>(r.Bytes(len, "dataset name")), static_cast<size_t>(len));
  }
  return im;
}

}  // namespace

Imatrix ImatrixFromStats(const ImatrixStats& stats, const std::string& path) {
  Imatrix im;
  im.path = path;
  im.dataset = stats.dataset;
  im.chunks = stats.chunks;
  for (const auto& [name, e] : stats.entries) {
    const auto cnt = static_cast<float>(e.count);  // stored as F32 in the file
    std::vector<float> w = e.sum2;
    for (float& x : w) x = cnt > 0 ? x / cnt : 1.0f;
    im.weights.emplace(name, std::move(w));
  }
  return im;
}

void WriteImatrixGguf(const ImatrixStats& stats, const std::string& path) {
  gguf::Writer w;
  w.Add("general.type", gguf::Value::String("imatrix"));
  w.Add("imatrix.datasets", gguf::Value::StringArray({stats.dataset}));
  w.Add("imatrix.chunk_count", gguf::Value::Scalar<uint32_t>(static_cast<uint32_t>(stats.chunks)));
  w.Add("imatrix.chunk_size", gguf::Value::Scalar<uint32_t>(static_cast<uint32_t>(stats.chunk_size)));
  std::vector<const std::vector<float>*> data;
  std::vector<float> counts;
  counts.reserve(stats.entries.size());
  for (const auto& [name, e] : stats.entries) {  // std::map: sorted by name, like llama-imatrix
    w.AddTensor(name + std::string(kSum2Suffix), DType::kF32, {static_cast<int64_t>(e.sum2.size()), 1});
    w.AddTensor(name + std::string(kCountsSuffix), DType::kF32, {1, 1});
    counts.push_back(static_cast<float>(e.count));
    data.push_back(&e.sum2);
  }
  io::AtomicFile out(path);
  w.Write(out, [&](size_t i, const gguf::TensorInfo&, io::ByteSink& sink) {
    if (i % 2 == 0) {
      sink.Write(data[i / 2]->data(), data[i / 2]->size() * sizeof(float));
    } else {
      sink.Write(&counts[i / 2], sizeof(float));
    }
  });
  out.Commit();
}

Imatrix ReadImatrix(const std::string& path) {
  auto file = io::MappedFile::Open(path);
  if (file->size() >= 4 && std::memcmp(file->data(), "GGUF", 4) == 0) return ReadGgufImatrix(path);
  return ReadLegacyImatrix(path, *file);
}

}  // namespace qforge::pipeline
