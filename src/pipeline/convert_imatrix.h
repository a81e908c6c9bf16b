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
//
// ImatrixStats are the raw statistics (what --calib collects, pipeline/convert_calib.h); WriteImatrixGguf
// writes them in llama-imatrix's GGUF form (tensors sorted by name), so llama-quantize --imatrix reads them.
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
// input (also non-finite values, which llama-quantize refuses too); multi-matrix (MoE) entries are rejected.
// A GGUF entry with count 0 gets importance 1 everywhere (llama-quantize's rule).
Imatrix ReadImatrix(const std::string& path);

struct ImatrixStats {
  struct Entry {
    std::vector<float> sum2;  // Σ x_j² over the tokens seen, per input column j
    int64_t count = 0;        // tokens seen
  };
  std::map<std::string, Entry> entries;  // GGUF weight name ("blk.0.attn_q.weight") -> statistics
  std::string dataset;                   // the calibration file
  int64_t chunks = 0;                    // calibration samples
  int64_t chunk_size = 0;                // tokens per sample (the longest)
};

// importance = sum2 / count in float, exactly as ReadImatrix computes it from the written file.
Imatrix ImatrixFromStats(const ImatrixStats& stats, const std::string& path);
// GGUF form: general.type "imatrix", imatrix.datasets [dataset], imatrix.chunk_count, imatrix.chunk_size;
// "<W>.in_sum2" F32 ne {n, 1} and "<W>.counts" F32 ne {1, 1} per weight. Written atomically.
void WriteImatrixGguf(const ImatrixStats& stats, const std::string& path);

}  // namespace qforge::pipeline
