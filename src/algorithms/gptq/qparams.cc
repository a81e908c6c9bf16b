#include "algorithms/gptq/qparams.h"

#include <algorithm>
#include <cfloat>

#include "core/error.h"

namespace qforge::algorithms::gptq {

QParams ComputeQParams(const float* x, int64_t n, int64_t stride, int bits, bool symmetric, QParamRule rule) {
  QF_CHECK(bits >= 2 && bits <= 8 && n > 0);
  float lo = 0.0f, hi = 0.0f;  // min(min x, 0), max(max x, 0)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i * stride];
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  QParams p;
  if (rule == QParamRule::kReference) {
    const float maxq = static_cast<float>((1 << bits) - 1);
    if (symmetric) {
      hi = std::max(std::fabs(lo), hi);
      if (lo < 0.0f) lo = -hi;
    }
    if (lo == 0.0f && hi == 0.0f) {
      lo = -1.0f;
      hi = 1.0f;
    }
    p.scale = (hi - lo) / maxq;
    p.zero = symmetric ? static_cast<float>(1 << (bits - 1)) : std::nearbyint(-lo / p.scale);
    return p;
  }
  const float qmin = -static_cast<float>(1 << (bits - 1));
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  float zp = 0.0f;
  if (symmetric) {
    p.scale = std::max(std::fabs(lo), std::fabs(hi)) / ((qmax - qmin) / 2.0f);
    if (p.scale == 0.0f) p.scale = FLT_EPSILON;
  } else {
    p.scale = (hi - lo) / (qmax - qmin);
    if (p.scale == 0.0f) p.scale = FLT_EPSILON;
    zp = std::nearbyint(std::clamp(qmin - lo / p.scale, qmin, qmax));
  }
  p.zero = zp - qmin;  // to the unsigned-code convention: code = v + 2^(b-1)
  return p;
}

}  // namespace qforge::algorithms::gptq
