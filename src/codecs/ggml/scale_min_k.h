// The part of Q4_K and Q5_K that is shared (FORMATS.md §6.4, §6.5): 8 sub-blocks of 32, each with a 6-bit
// scale and a 6-bit min packed into scales[12] (GetScaleMinK4), block-level f16 d and dmin, and codes
// recomputed from the stored d/dmin. The two types differ only in nmax and the P2 search parameters.
#pragma once

#include <cstdint>

#include "codecs/ggml/ggml_blocks.h"

namespace qforge::codecs::ggml {

struct ScaleMinParams {
  int nmax;       // 15 (Q4_K) or 31 (Q5_K)
  float rmin;     // P2 parameters of the non-imatrix path
  float rdelta;
  int nstep;
};

// Quantizes one 256-element block: writes *d, *dmin, scales[12] and L[256] (codes 0..nmax).
// qw: the block's 256 importance weights, or nullptr for the reference path.
void QuantizeScaleMinBlock(const float* x, const float* qw, const ScaleMinParams& p, Half* d, Half* dmin,
                           uint8_t* scales, uint8_t* L);

}  // namespace qforge::codecs::ggml
