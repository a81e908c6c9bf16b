#include "formats/safetensors/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "formats/safetensors/writer.h"
#include "io/json_util.h"

namespace qforge::safetensors {
namespace {
namespace fs = std::filesystem;

// A shard file name from an index must stay inside the checkpoint directory.
bool IsPlainFileName(const std::string& s) {
  return !s.empty() && s.size() <= kMaxNameBytes && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

class SafetensorsSource final : public TensorSource {
 public:
  SafetensorsSource(std::string describe, std::vector<std::shared_ptr<const File>> files,
                    std::vector<std::pair<std::string, size_t>> entries)
      : describe_(std::move(describe)), files_(std::move(files)) {
    names_.reserve(entries.size());
    for (auto& [name, file] : entries) {
      where_.emplace(name, file);
      names_.push_back(std::move(name));
    }
  }
  std::vector<std::string> Names() const override { return names_; }
  bool Has(std::string_view name) const override { return where_.count(std::string(name)) != 0; }
  Tensor Get(std::string_view name) const override {
    auto it = where_.find(std::string(name));
    if (it == where_.end()) Fail("{}: no tensor named '{}'", describe_, name);
    return files_[it->second]->Get(name);
  }
  std::string Describe() const override { return describe_; }

 private:
  std::string describe_;
  std::vector<std::shared_ptr<const File>> files_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> where_;
};

struct Opened {
  std::string describe;
  std::vector<std::shared_ptr<const File>> files;
  std::vector<std::pair<std::string, size_t>> entries;  // name -> index into files, in source order
};

Opened OpenSingle(const std::string& file, const std::string& describe) {
  Opened o;
  o.describe = describe;
  o.files.push_back(File::Open(file));
  for (const auto& t : o.files[0]->tensors()) o.entries.emplace_back(t.name, 0);
  return o;
}

Opened OpenSharded(const std::string& dir, const std::string& index_path) {
  const io::Json index = io::ReadJsonFile(index_path);
  if (!index.is_object()) Fail("{}: index is a JSON {}; expected an object", index_path, io::TypeName(index));
  const io::Json& map = io::Require(index, "weight_map", index_path);
  if (!map.is_object())
    Fail("{}: field \"weight_map\" is {}; expected an object of tensor name -> shard file", index_path,
         io::TypeName(map));
  if (map.size() > kMaxTensors) Fail("{}: weight_map has {} entries; the limit is {}", index_path, map.size(), kMaxTensors);
  if (auto it = index.find("metadata"); it != index.end() && !it->is_null() && !it->is_object())
    Fail("{}: field \"metadata\" is {}; expected an object", index_path, io::TypeName(*it));

  std::map<std::string, size_t> shard_ids;  // file name -> id, sorted by name (= shard number)
  for (const auto& [name, shard] : map.items()) {
    if (!shard.is_string())
      Fail("{}: weight_map entry for '{}' is {}; expected a shard file name string", index_path, name,
           io::TypeName(shard));
    const std::string& s = shard.get_ref<const std::string&>();
    if (!IsPlainFileName(s))
      Fail("{}: weight_map entry for '{}' names '{}'; expected a file name in the same directory", index_path, name, s);
    shard_ids.emplace(s, 0);
  }
  if (shard_ids.size() > kMaxShards) Fail("{}: {} shards; the limit is {}", index_path, shard_ids.size(), kMaxShards);

  Opened o;
  o.describe = dir;
  for (auto& [file_name, id] : shard_ids) {
    const std::string shard_path = dir + "/" + file_name;
    if (!fs::is_regular_file(shard_path))
      Fail("{}: shard '{}' listed in the index does not exist; expected {}. Perhaps an incomplete download?",
           index_path, file_name, shard_path);
    id = o.files.size();
    o.files.push_back(File::Open(shard_path));
  }
  struct Row { size_t file; uint64_t begin; std::string name; };
  std::vector<Row> rows;
  rows.reserve(map.size());
  for (const auto& [name, shard] : map.items()) {
    const size_t id = shard_ids.at(shard.get_ref<const std::string&>());
    const TensorInfo* t = o.files[id]->Find(name);
    if (!t)
      Fail("{}: tensor '{}' is mapped to shard '{}', which does not contain it", index_path, name,
           shard.get_ref<const std::string&>());
    rows.push_back({id, t->begin, name});
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.file != b.file ? a.file < b.file : a.begin < b.begin; });
  for (auto& r : rows) o.entries.emplace_back(std::move(r.name), r.file);
  return o;
}

Opened OpenAny(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const std::string index = path + "/" + kIndexFileName, single = path + "/" + kSingleFileName;
    if (fs::exists(index, ec)) return OpenSharded(path, index);
    if (fs::exists(single, ec)) return OpenSingle(single, path);
    Fail("{}: no {} or {} in this directory; expected a Hugging Face safetensors checkpoint", path, kSingleFileName,
         kIndexFileName);
  }
  if (!fs::exists(path, ec)) Fail("{}: no such file or directory", path);
  return OpenSingle(path, path);
}

}  // namespace

std::unique_ptr<TensorSource> OpenCheckpoint(const std::string& path) {
  Opened o = OpenAny(path);
  return std::make_unique<SafetensorsSource>(std::move(o.describe), std::move(o.files), std::move(o.entries));
}

std::vector<std::shared_ptr<const File>> OpenCheckpointFiles(const std::string& path) { return OpenAny(path).files; }

}  // namespace qforge::safetensors
