#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace qforge::model {

int32_t Argmax(std::span<const float> logits) {
  QF_CHECK(!logits.empty());
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplingOptions& options) : opt_(options), state_(options.seed) {
  if (!(opt_.top_p > 0.0f && opt_.top_p <= 1.0f)) Fail("top-p {} must be in (0, 1]", opt_.top_p);
  if (!(opt_.temperature >= 0.0f) || !std::isfinite(opt_.temperature)) {
    Fail("temperature {} must be a finite number ≥ 0", opt_.temperature);
  }
}

double Sampler::NextUniform() {
  // splitmix64
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  if (opt_.temperature <= 0.0f) return Argmax(logits);
  const size_t n = logits.size();
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  size_t keep = n;
  if (opt_.top_k > 0) keep = std::min(n, static_cast<size_t>(opt_.top_k));
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(keep), idx.end(), by_logit);
  idx.resize(keep);
  std::vector<double> p(keep);
  const double mx = logits[idx[0]];
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((logits[idx[i]] - mx) / opt_.temperature);
  size_t cut = keep;
  if (opt_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
      cum += p[i] / sum;
      if (cum >= opt_.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  double mass = 0;
  for (size_t i = 0; i < cut; ++i) mass += p[i];
  double u = NextUniform() * mass;
  for (size_t i = 0; i < cut; ++i) {
    if (u < p[i]) return idx[i];
    u -= p[i];
  }
  return idx[cut - 1];
}

}  // namespace qforge::model
