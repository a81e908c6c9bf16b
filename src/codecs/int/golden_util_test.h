// Test helpers: read tensors of the shared golden files (../shared/golden, QFORGE_SHARED_DIR) as vectors.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/safetensors/file.h"

namespace qforge::codecs::testing {

inline std::string SharedPath(const std::string& rel) {
  const std::string p = std::string(QFORGE_SHARED_DIR) + "/" + rel;
  EXPECT_TRUE(std::filesystem::exists(p)) << p << " is missing: the golden oracle files are required";
  return p;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  EXPECT_EQ(t.nbytes() % sizeof(T), 0u);
  std::vector<T> v(t.nbytes() / sizeof(T));
  std::memcpy(v.data(), t.bytes(), t.nbytes());
  return v;
}

}  // namespace qforge::codecs::testing
