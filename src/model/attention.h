// Causal grouped-query attention over a KV cache.
//   q:   [n, n_heads·head_dim]    (RoPE applied) for the tokens at positions pos0 .. pos0+n−1
//   k,v: [pos0+n, n_kv_heads·head_dim]  keys/values of every position so far (RoPE applied to k)
//   out: [n, n_heads·head_dim]
// Query head h reads kv head h / (n_heads / n_kv_heads); scores are scaled by 1/sqrt(head_dim) and token t
// attends to positions 0 .. pos0+t.
#pragma once

#include <cstdint>

namespace qforge::model {

void CausalAttention(const float* q, int64_t n, int64_t pos0, const float* k, const float* v, int64_t n_heads,
                     int64_t n_kv_heads, int64_t head_dim, float* out);

}  // namespace qforge::model
