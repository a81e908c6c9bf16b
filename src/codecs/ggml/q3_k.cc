// Q3_K (FORMATS.md §6.4): 16 sub-blocks of 16; P3 (3-bit coordinate descent, w = x^2) gives a signed scale
// per sub-block; scales are quantized to 6 bits against the first largest-|scale| (d = 1/(-32/A)); codes
// are recomputed from the stored f16 d; the third bit of each code goes to hmask.
// Importance matrix (§6.5): w = v*sqrt(sigma2 + x^2), sigma2 = 2*sum(x^2)/256 over the block; P1(nmax 4)
// per sub-block, then P1(nmax 32) over the 16 scales weighted by the sub-block weight sums gives d and the
// 6-bit codes directly.
#include "codecs/ggml/fp_strict.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs/ggml/ggml_blocks.h"
#include "codecs/ggml/ggml_types.h"
#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {
namespace {

constexpr int kSub = kQkK / 16;

// Requantizes from the stored scales and d, then writes hmask and qs. L holds codes 0..7 (or raw zeros).
void Finish(const float* x, BlockQ3_K& y, int8_t* L) {
  const float dd = FromHalf(y.d.get());
  for (int j = 0; j < kSub; ++j) {
    const int sc = GetScaleQ3K(j, y.scales) - 32;
    const float d = dd * static_cast<float>(sc);
    if (d == 0.f) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = std::max(-4, std::min(3, NearestInt(x[16 * j + ii] / d)));
      L[16 * j + ii] = static_cast<int8_t>(l + 4);
    }
  }
  std::memset(y.hmask, 0, sizeof(y.hmask));
  uint8_t codes[kQkK];
  for (int e = 0; e < kQkK; ++e) {
    int l = L[e];
    if (l > 3) {
      y.hmask[e % 32] = static_cast<uint8_t>(y.hmask[e % 32] | (1u << (e / 32)));
      l -= 4;
    }
    codes[e] = static_cast<uint8_t>(l);
  }
  Pack2Bits(codes, y.qs);
}

void QuantizeBlockRef(const float* x, BlockQ3_K& y) {
  int8_t L[kQkK];
  float scales[kSub];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < kSub; ++j) {
    scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
    const float scale = std::fabs(scales[j]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[j];
    }
  }
  int u[kSub] = {};
  if (max_scale != 0.f) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < kSub; ++j) {
      const int8_t l = static_cast<int8_t>(NearestInt(iscale * scales[j]));
      u[j] = std::max<int>(-32, std::min<int>(31, l)) + 32;
    }
    PackScalesQ3K(u, y.scales);
    y.d.set(ToHalf(1 / iscale));
  } else {
    std::memset(y.scales, 0, sizeof(y.scales));
    y.d.set(ToHalf(0.f));
  }
  Finish(x, y, L);
}

void QuantizeBlockImatrix(const float* x, BlockQ3_K& y, const float* qw_block) {
  int8_t L[kQkK], Ls[kSub];
  float scales[kSub], weight[16], sw[kSub];
  float sumx2 = 0;
  for (int j = 0; j < kQkK; ++j) sumx2 += x[j] * x[j];
  const float sigma2 = 2 * sumx2 / static_cast<float>(kQkK);
  for (int j = 0; j < kSub; ++j) {
    const float* qw = qw_block + 16 * j;
    for (int l = 0; l < 16; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
    float sumw = 0;
    for (int l = 0; l < 16; ++l) sumw += weight[l];
    sw[j] = sumw;
    scales[j] = MakeQxQuants(16, 4, x + 16 * j, L + 16 * j, weight);
  }
  const float d_block = MakeQxQuants(kSub, 32, scales, Ls, sw);
  int u[kSub];
  for (int j = 0; j < kSub; ++j) u[j] = Ls[j];
  PackScalesQ3K(u, y.scales);
  y.d.set(ToHalf(d_block));
  Finish(x, y, L);
}

}  // namespace

void QuantizeRowQ3_K(const float* x, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockQ3_K*>(dst);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    if (imatrix) {
      QuantizeBlockImatrix(x + kQkK * b, y[b], imatrix + kQkK * b);
    } else {
      QuantizeBlockRef(x + kQkK * b, y[b]);
    }
  }
}

void DequantizeRowQ3_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ3_K*>(src);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d_all = FromHalf(x[b].d.get());
    for (int e = 0; e < kQkK; ++e) {
      const int h = e / 128, r = e % 128;
      const int c = (x[b].qs[32 * h + r % 32] >> (2 * (r / 32))) & 3;
      const int hb = (x[b].hmask[e % 32] >> (e / 32)) & 1;
      const float dl = d_all * static_cast<float>(GetScaleQ3K(e / 16, x[b].scales) - 32);
      *dst++ = dl * static_cast<float>(c - (hb ? 0 : 4));
    }
  }
}

}  // namespace qforge::codecs::ggml
