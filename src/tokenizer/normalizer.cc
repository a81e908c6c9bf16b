#include "tokenizer/normalizer.h"

#include "core/error.h"
#include "tokenizer/unicode_nfc.h"

namespace qforge::tokenizer {

std::string ReplaceAll(std::string_view text, std::string_view pattern, std::string_view replacement) {
  QF_CHECK(!pattern.empty());
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit; (hit = text.find(pattern, pos)) != std::string_view::npos; pos = hit + pattern.size()) {
    out.append(text.substr(pos, hit - pos));
    out.append(replacement);
  }
  out.append(text.substr(pos));
  return out;
}

std::string Normalize(const std::vector<NormalizerStep>& steps, std::string_view text) {
  std::string s(text);
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case NormalizerStep::Kind::kNfc:
        s = Nfc(s);
        break;
      case NormalizerStep::Kind::kPrepend:
        if (!s.empty()) s.insert(0, step.text);
        break;
      case NormalizerStep::Kind::kReplace:
        s = ReplaceAll(s, step.text, step.replacement);
        break;
    }
  }
  return s;
}

}  // namespace qforge::tokenizer
