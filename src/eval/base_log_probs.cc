#include "eval/base_log_probs.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "eval/log_softmax.h"

namespace qforge::eval {

void QuantizeLogProbs(std::span<const float> logits, QuantizedLogProbs* out) {
  QF_CHECK(!logits.empty());
  const RowSoftmax row = AnalyzeRow(logits);
  const float zmax = row.max_logit;
  const float zmin = std::max(*std::min_element(logits.begin(), logits.end()), zmax - kBaseLogProbRange);
  const float lse = static_cast<float>(row.log_sum_exp);
  out->scale = (zmax - zmin) / 65535.0f;
  out->min_log_prob = zmin - zmax - lse;
  out->codes.assign(logits.size(), 0);
  if (out->scale == 0) return;
  constexpr float kMaxCode = 65535.0f;
  for (size_t v = 0; v < logits.size(); ++v) {
    if (logits[v] > zmin) {
      // nearbyint rounds half to even in the default rounding mode; the clamp guards a quotient that rounds
      // just above 65535 for z = zmax.
      const float code = std::min(std::nearbyint((logits[v] - zmin) / out->scale), kMaxCode);
      out->codes[v] = static_cast<uint16_t>(code);
    }
  }
}

}  // namespace qforge::eval
