// Normalizers of tokenizer.json that the supported models use, applied in order to each text section
// (never to added tokens): NFC (Qwen2/3), Prepend and Replace (SentencePiece-style: "▁" prefix, spaces
// to "▁").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qforge::tokenizer {

struct NormalizerStep {
  enum class Kind { kNfc, kPrepend, kReplace };
  Kind kind;
  std::string text;         // kPrepend: the prefix; kReplace: the literal pattern (non-empty)
  std::string replacement;  // kReplace
};

std::string Normalize(const std::vector<NormalizerStep>& steps, std::string_view text);

// Replaces every occurrence of a non-empty `pattern` in text.
std::string ReplaceAll(std::string_view text, std::string_view pattern, std::string_view replacement);

}  // namespace qforge::tokenizer
