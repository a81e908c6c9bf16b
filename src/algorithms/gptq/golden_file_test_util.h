// Test-only: loads the F32/I32/I64 tensors and string metadata of a golden safetensors file into vectors.
// Validates sizes strictly (the goldens are trusted, but a truncated copy must fail loudly, not read past).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qforge::algorithms::gptq::testing {

struct GoldenTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<double> values;  // every F32/I32/I64 value is exactly representable as double
};

struct GoldenFile {
  std::map<std::string, GoldenTensor> tensors;
  std::map<std::string, std::string> metadata;

  const GoldenTensor& at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("golden file has no tensor " + name);
    return it->second;
  }
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  std::vector<float> F32(const std::string& name) const {
    const auto& v = at(name).values;
    return std::vector<float>(v.begin(), v.end());
  }
  std::string meta(const std::string& key) const {
    auto it = metadata.find(key);
    if (it == metadata.end()) throw std::runtime_error("golden file has no metadata " + key);
    return it->second;
  }
};

inline GoldenFile LoadGolden(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.size() < 8) throw std::runtime_error(path + ": too short");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) throw std::runtime_error(path + ": header length past the end");
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  const size_t data0 = 8 + n;
  GoldenFile f;
  for (const auto& [name, e] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : e.items()) f.metadata[k] = v.get<std::string>();
      continue;
    }
    GoldenTensor t;
    t.dtype = e.at("dtype").get<std::string>();
    t.shape = e.at("shape").get<std::vector<int64_t>>();
    const uint64_t b = e.at("data_offsets")[0].get<uint64_t>(), end = e.at("data_offsets")[1].get<uint64_t>();
    if (b > end || end > bytes.size() - data0) throw std::runtime_error(path + ": bad offsets for " + name);
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    const size_t esize = t.dtype == "I64" ? 8 : 4;
    if (t.dtype != "F32" && t.dtype != "I32" && t.dtype != "I64") throw std::runtime_error("dtype " + t.dtype);
    if (end - b != static_cast<uint64_t>(count) * esize) throw std::runtime_error(path + ": size of " + name);
    const char* p = bytes.data() + data0 + b;
    t.values.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      if (t.dtype == "F32") {
        float v;
        std::memcpy(&v, p + i * 4, 4);
        t.values[i] = v;
      } else if (t.dtype == "I32") {
        int32_t v;
        std::memcpy(&v, p + i * 4, 4);
        t.values[i] = v;
      } else {
        int64_t v;
        std::memcpy(&v, p + i * 8, 8);
        t.values[i] = static_cast<double>(v);
      }
    }
    f.tensors[name] = std::move(t);
  }
  return f;
}

}  // namespace qforge::algorithms::gptq::testing
