#include "pipeline/convert_imatrix.h"

#include <cstring>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "io/mapped_file.h"

namespace qforge::pipeline {

namespace {

constexpr std::string_view kSum2Suffix = ".in_sum2";
constexpr std::string_view kCountsSuffix = ".counts";

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
    if (cnt > 0) {
      for (float& x : w) x /= cnt;
    }
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

Imatrix ReadImatrix(const std::string& path) {
  auto file = io::MappedFile::Open(path);
  if (file->size() >= 4 && std::memcmp(file->data(), "GGUF", 4) == 0) return ReadGgufImatrix(path);
  return ReadLegacyImatrix(path, *file);
}

}  // namespace qforge::pipeline
