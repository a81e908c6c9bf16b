// Integer quantization parameters for GPTQ, in the two conventions GPTQ results are compared against
// (FORMATS.md §3.4 and §2.7). Codes are UNSIGNED here, 0 .. 2^b-1, with a float zero point, like the
// IST-DASLab reference; compressed-tensors' signed codes are `code - 2^(b-1)` and its zero point
// `zero - 2^(b-1)` (see ../shared/golden/gptq/README.md, "Mapping to compressed-tensors").
//
//   kReference (IST-DASLab quant.py, mse off), all float32, round = half-to-even:
//     lo = min(min x, 0), hi = max(max x, 0); sym: hi = max(|lo|, hi), lo = -hi only if lo < 0
//     lo == hi == 0 -> lo = -1, hi = 1;  scale = (hi - lo) / maxq
//     zero = (maxq + 1) / 2 (sym) | rne(-lo / scale) (asym);  code = clamp(rne(x / scale) + zero, 0, maxq)
//   kCompressedTensors (CT calculate_qparams / _quantize, evaluated in float32):
//     sym: scale = max(|lo|, |hi|) / ((qmax - qmin) / 2), zp = 0;
//     asym: scale = (hi - lo) / (qmax - qmin), zp = rne(clamp(qmin - lo / scale, qmin, qmax));
//     scale == 0 -> float32 epsilon;  v = rne(clamp(x / scale + zp, qmin, qmax))   (zp added BEFORE rounding)
// Dequantization is the same for both: q = scale * (code - zero).
#pragma once

#include <cmath>
#include <cstdint>

namespace qforge::algorithms::gptq {

enum class QParamRule { kReference, kCompressedTensors };

struct QParams {
  float scale = 1.0f;
  float zero = 0.0f;  // unsigned-code zero point (an integer value; may be -0.0 in the reference rule)
};

// Parameters of the n values x[0], x[stride], ... (one row of one group).
QParams ComputeQParams(const float* x, int64_t n, int64_t stride, int bits, bool symmetric, QParamRule rule);

// The unsigned code of x.
inline int32_t QuantizeCode(float x, const QParams& p, int bits, QParamRule rule) {
  const float maxq = static_cast<float>((1 << bits) - 1);
  if (rule == QParamRule::kReference) {
    float q = std::nearbyint(x / p.scale) + p.zero;
    q = q < 0.0f ? 0.0f : (q > maxq ? maxq : q);
    return static_cast<int32_t>(q);
  }
  // compressed-tensors: signed domain [qmin, qmax], zero point added before rounding, clamp then round.
  const float half = static_cast<float>(1 << (bits - 1));
  const float zp = p.zero - half;
  float v = x / p.scale + zp;
  v = v < -half ? -half : (v > half - 1.0f ? half - 1.0f : v);
  return static_cast<int32_t>(std::nearbyint(v) + half);
}

inline float Dequantize(int32_t code, const QParams& p) {
  return p.scale * (static_cast<float>(code) - p.zero);
}

}  // namespace qforge::algorithms::gptq
