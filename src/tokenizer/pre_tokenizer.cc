#include "tokenizer/pre_tokenizer.h"

#include <string_view>

#include "tokenizer/normalizer.h"

namespace qforge::tokenizer {

const char kGpt2Pattern[] = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char kLlama3Pattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char kQwen2Pattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

void SplitAll(const RegexSplitter& regex, std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  std::vector<std::string_view> parts;
  for (const std::string& piece : pieces) {
    parts.clear();
    regex.Split(piece, parts);
    for (std::string_view p : parts) out.emplace_back(p);
  }
  pieces = std::move(out);
}

// Splits before every occurrence of `mark` (the "▁" stays at the start of the next piece).
void SplitBefore(std::string_view mark, std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const std::string& piece : pieces) {
    std::string_view s = piece;
    size_t start = 0;
    for (size_t hit = s.find(mark, 1); hit != std::string_view::npos; hit = s.find(mark, hit + mark.size())) {
      out.emplace_back(s.substr(start, hit - start));
      start = hit;
    }
    out.emplace_back(s.substr(start));
  }
  pieces = std::move(out);
}

}  // namespace

std::vector<std::string> PreTokenize(const std::vector<PreTokenizerStep>& steps, std::string text,
                                     size_t section_index) {
  std::vector<std::string> pieces;
  pieces.push_back(std::move(text));
  for (const PreTokenizerStep& step : steps) {
    switch (step.kind) {
      case PreTokenizerStep::Kind::kSplit:
        SplitAll(*step.regex, pieces);
        break;
      case PreTokenizerStep::Kind::kByteLevel:
        if (step.add_prefix_space) {
          for (std::string& p : pieces) {
            if (!p.starts_with(' ')) p.insert(p.begin(), ' ');
          }
        }
        if (step.regex) SplitAll(*step.regex, pieces);
        break;
      case PreTokenizerStep::Kind::kMetaspace: {
        const bool prepend = step.prepend_scheme == PreTokenizerStep::PrependScheme::kAlways ||
                             (step.prepend_scheme == PreTokenizerStep::PrependScheme::kFirst && section_index == 0);
        for (std::string& p : pieces) {
          p = ReplaceAll(p, " ", step.replacement);
          if (prepend && !p.starts_with(step.replacement)) p = step.replacement + p;
        }
        if (step.split) SplitBefore(step.replacement, pieces);
        break;
      }
    }
  }
  std::erase_if(pieces, [](const std::string& p) { return p.empty(); });
  return pieces;
}

}  // namespace qforge::tokenizer
