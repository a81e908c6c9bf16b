// llama.cpp importance-matrix files (the --imatrix input of llama-quantize), read into per-tensor
// importance weights: importance[j] = mean over calls of sum(x_j^2) for input column j of a weight.
//
// GGUF form (llama-imatrix default): general.type = "imatrix"; for each weight W (GGUF name) two F32
// tensors "<W>.in_sum2" ne {n_per_row, n_mat} and "<W>.counts" ne {1, n_mat}; importance =
// in_sum2 / counts (per matrix; dense models have n_mat = 1).
//
// Legacy binary form (.dat), little-endian:
//   i32 n_entries | n_entries × { i32 name_len | name bytes | i32 ncall | i32 nval | f32 values[nval] }
//   [ i32 last_chunk | i32 dataset_len | dataset bytes ]        (optional trailer)
// importance = values / ncall (values == 0 everywhere when ncall == 0).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qforge::pipeline {

inline constexpr int64_t kMaxImatrixEntries = 1 << 20;
inline constexpr int64_t kMaxImatrixValues = int64_t{1} << 28;

struct Imatrix {
  std::string path;
  std::map<std::string, std::vector<float>> weights;  // GGUF tensor name -> n_per_row importances
  std::string dataset;   // "" when unknown
  int64_t chunks = 0;    // chunks of calibration text, 0 when unknown
};

// Reads either form (recognised by the GGUF magic). Throws qforge::Error naming the file for malformed
// input; multi-matrix (MoE) entries are rejected.
Imatrix ReadImatrix(const std::string& path);

}  // namespace qforge::pipeline
