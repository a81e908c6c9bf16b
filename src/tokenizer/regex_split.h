// Splits text with a pre-tokenizer regex (Hugging Face `Split` pre-tokenizer, GPT-2 / Llama-3 / Qwen2
// patterns). The patterns use Unicode classes (\p{L}, \p{N}) and lookahead, so this wraps PCRE2 in UTF
// + UCP mode (JIT-compiled when available). Invalid UTF-8 in the subject never matches and ends up in
// the gaps between matches, so every input byte lands in exactly one piece.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::tokenizer {

class RegexSplitter {
 public:
  // How matches become pieces (HF SplitDelimiterBehavior); only the two the supported models use.
  enum class Behavior { kIsolated, kRemoved };

  // `context` names the file for error messages. A pattern PCRE2 rejects is bad input.
  RegexSplitter(const std::string& pattern, Behavior behavior, const std::string& context);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Appends the non-empty pieces of text to out, in order. Thread-safe.
  void Split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  Behavior behavior_;
};

}  // namespace qforge::tokenizer
