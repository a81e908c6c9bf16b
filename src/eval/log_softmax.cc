#include "eval/log_softmax.h"

#include <cmath>

#include "core/error.h"

namespace qforge::eval {

RowSoftmax AnalyzeRow(std::span<const float> logits) {
  QF_CHECK(!logits.empty());
  RowSoftmax row;
  row.max_logit = logits[0];
  for (size_t v = 1; v < logits.size(); ++v) {
    if (logits[v] > row.max_logit) {
      row.max_logit = logits[v];
      row.argmax = static_cast<int32_t>(v);
    }
  }
  double sum = 0;
  for (const float z : logits) sum += std::exp(z - row.max_logit);  // float exp, double sum
  row.log_sum_exp = std::log(sum);
  return row;
}

double TokenNll(std::span<const float> logits, const RowSoftmax& row, int32_t token) {
  QF_CHECK(token >= 0 && static_cast<size_t>(token) < logits.size());
  const float shifted = logits[static_cast<size_t>(token)] - row.max_logit;
  return -(static_cast<double>(shifted) - row.log_sum_exp);
}

}  // namespace qforge::eval
