#include "codecs/ggml/fp_strict.h"

#include "codecs/ggml/scale_min_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs/ggml/quant_math.h"

namespace qforge::codecs::ggml {
namespace {

constexpr int kSub = kQkK / 32;

// Reference path: w = sqrt(mean x^2 of the sub-block) + |x|; sub-scales against the block maxima.
void SearchRef(const float* x, const ScaleMinParams& p, float* d_out, float* dmin_out, uint8_t* ls,
               uint8_t* lm, uint8_t* L) {
  uint8_t Laux[32];
  float weights[32], mins[kSub], scales[kSub];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kSub; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = MakeQkxQuants(32, p.nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, p.rmin, p.rdelta,
                              p.nstep, false, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kSub; ++j) {
    // Stored as a byte before the clamp, as in the reference.
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])));
  }
  *d_out = max_scale / 63.f;
  *dmin_out = max_min / 63.f;
}

// Importance-matrix path: w = v*sqrt(sigma2 + x^2), sigma2 = 2*sum(x^2)/256; P2' per sub-block; P4(63)
// for the scales and mins weighted by the sub-block weight sums.
void SearchImatrix(const float* x, const float* qw, const ScaleMinParams& p, float* d_out, float* dmin_out,
                   uint8_t* ls, uint8_t* lm, uint8_t* L) {
  uint8_t Laux[32];
  float weights[32], mins[kSub], scales[kSub], sw[kSub];
  float sum_x2 = 0;
  for (int l = 0; l < kQkK; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / static_cast<float>(kQkK);
  for (int j = 0; j < kSub; ++j) {
    for (int l = 0; l < 32; ++l) weights[l] = qw[32 * j + l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
    float sumw = 0;
    for (int l = 0; l < 32; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = MakeQkxQuants(32, p.nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36,
                              false, true);
  }
  *d_out = MakeQpQuants(kSub, 63, scales, ls, sw);
  *dmin_out = MakeQpQuants(kSub, 63, mins, lm, sw);
}

}  // namespace

void QuantizeScaleMinBlock(const float* x, const float* qw, const ScaleMinParams& p, Half* d, Half* dmin,
                           uint8_t* scales, uint8_t* L) {
  uint8_t ls[kSub], lm[kSub];
  float d_f = 0, dmin_f = 0;
  if (qw) {
    SearchImatrix(x, qw, p, &d_f, &dmin_f, ls, lm, L);
  } else {
    SearchRef(x, p, &d_f, &dmin_f, ls, lm, L);
  }
  PackScaleMinK4(ls, lm, scales);
  d->set(ToHalf(d_f));
  dmin->set(ToHalf(dmin_f));
  const float dd = FromHalf(d->get()), dm = FromHalf(dmin->get());
  for (int j = 0; j < kSub; ++j) {
    uint8_t sc, m;
    GetScaleMinK4(j, scales, &sc, &m);
    const float ds = dd * static_cast<float>(sc);
    if (ds == 0.f) continue;
    const float ms = dm * static_cast<float>(m);
    for (int ii = 0; ii < 32; ++ii) {
      const int l = NearestInt((x[32 * j + ii] + ms) / ds);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(p.nmax, l)));
    }
  }
}

}  // namespace qforge::codecs::ggml
