// Test inputs shared by the ggml codec tests (header-only, test code): random rows of several shapes, rows
// cut from the bundled TinyStories model, awkward rows, importance matrices, and the FORMATS.md §9.1 row.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "formats/safetensors/file.h"

namespace qforge::codecs::ggml::testing {

struct RowSet {
  std::string name;
  int64_t n_per_row = 0;
  std::vector<float> data;  // nrows * n_per_row
  int64_t nrows() const { return static_cast<int64_t>(data.size()) / n_per_row; }
};

// FORMATS.md §9.1: x_i = ((37 i mod 101) - 50) * (1 + floor(i/32)) / 64, i = 0..255 (exact in f32).
inline std::vector<float> VectorRow() {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>(((37 * i) % 101 - 50) * (1 + i / 32)) / 64.0f;
  return x;
}

// Random rows: Gaussian at several scales, uniform, all-positive, heavy-tailed, with zero sub-blocks.
inline RowSet RandomRows(int64_t n_per_row, int rows_per_kind, uint32_t seed) {
  RowSet s{"random", n_per_row, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  std::student_t_distribution<float> heavy(2.f);
  const float scales[] = {1.f, 0.02f, 1e-4f, 30.f};
  for (int kind = 0; kind < 6; ++kind) {
    for (int r = 0; r < rows_per_kind; ++r) {
      const float scale = scales[r % 4];
      for (int64_t i = 0; i < n_per_row; ++i) {
        float v = 0;
        switch (kind) {
          case 0: v = normal(rng) * scale; break;
          case 1: v = uni(rng) * scale; break;
          case 2: v = std::fabs(normal(rng)) * scale + 0.01f * scale; break;
          case 3: v = heavy(rng) * scale; break;
          case 4: v = (i / 16) % 3 == 1 ? 0.f : normal(rng) * scale; break;   // zero 16-groups
          default: v = (i / 32) % 2 == 0 ? 0.f : -std::fabs(uni(rng)) * scale;  // zero 32-groups, negatives
        }
        s.data.push_back(v);
      }
    }
  }
  return s;
}

// Rows where the reference quantizers take their special branches.
inline RowSet AwkwardRows(int64_t n_per_row, uint32_t seed) {
  RowSet s{"awkward", n_per_row, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto row = [&](auto&& gen) {
    for (int64_t i = 0; i < n_per_row; ++i) s.data.push_back(gen(i));
  };
  row([](int64_t) { return 0.f; });                                  // all zero
  row([](int64_t) { return -0.f; });                                 // negative zero
  row([](int64_t) { return 0.375f; });                               // positive constant
  row([](int64_t) { return -2.5f; });                                // negative constant
  row([](int64_t) { return 1e-3f; });                                // tiny constant
  row([](int64_t i) { return i == 7 ? 100.f : 0.f; });               // one outlier in zeros
  row([](int64_t i) { return i == 200 % 32 ? -1000.f : 0.f; });      // one negative outlier
  row([&](int64_t i) { return i == 37 ? 500.f : normal(rng) * 0.01f; });  // outlier in noise
  row([&](int64_t i) { return i % 64 == 5 ? -80.f : normal(rng); });     // one outlier per 64
  row([](int64_t i) { return (i % 2 ? 1.f : -1.f) * 0.5f; });        // alternating
  row([](int64_t i) { return static_cast<float>(i % 17 - 8) * 0.5f; });  // ties at half steps
  row([](int64_t i) { return static_cast<float>(i % 32) / 31.f; });  // ramp 0..1
  row([&](int64_t) { return normal(rng) * 1e-20f; });                // below f16 range
  row([&](int64_t) { return normal(rng) * 1e-10f; });
  row([&](int64_t) { return normal(rng) * 6e4f; });                  // near f16 max
  row([](int64_t i) { return i % 32 == 0 ? 1.f : 1e-16f; });         // one value per block
  row([&](int64_t i) { return (i / 16) % 2 ? 0.f : normal(rng); });  // alternate zero 16-groups
  row([](int64_t i) { return i < 16 ? 3.f : -3.f; });                // two constants
  return s;
}

// Rows of the bundled model's 2-D F32 weights: all of them concatenated in file order, cut into rows of
// n_per_row, every `stride`-th row kept. With n_per_row equal to a tensor's own row length (128, 384) many
// rows are that tensor's real rows.
inline RowSet ModelRows(const std::string& path, int64_t n_per_row, int64_t stride) {
  RowSet s{"model", n_per_row, {}};
  const auto file = safetensors::File::Open(path);
  std::vector<float> all;
  for (const auto& t : file->tensors()) {
    if (t.dtype != DType::kF32 || t.shape.size() < 2) continue;
    const auto bytes = file->Bytes(t);
    const size_t n = bytes.size() / sizeof(float);
    const size_t old = all.size();
    all.resize(old + n);
    std::memcpy(all.data() + old, bytes.data(), n * sizeof(float));
  }
  const int64_t rows = static_cast<int64_t>(all.size()) / n_per_row;
  for (int64_t r = 0; r < rows; r += stride)
    s.data.insert(s.data.end(), all.begin() + r * n_per_row, all.begin() + (r + 1) * n_per_row);
  return s;
}

inline std::string ModelPath() { return std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K/model.safetensors"; }

// Importance matrices: random positive values spanning 4 decades, with a few exact zeros.
inline std::vector<float> RandomImatrix(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> e(-2.f, 2.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = i % 97 == 13 ? 0.f : std::pow(10.f, e(rng));
  return v;
}

}  // namespace qforge::codecs::ggml::testing
