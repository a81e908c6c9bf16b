// Pre-tokenizers of tokenizer.json that the supported models use, applied in order to the pieces of
// each normalized text section:
//  * Split (regex, Isolated or Removed) — Llama-3 and Qwen2 split patterns;
//  * ByteLevel (optional leading space, optional GPT-2 regex); it must come last, and makes the model
//    run on bytes (BpeOptions::byte_level) instead of spelling pieces in the GPT-2 alphabet;
//  * Metaspace (spaces to "▁", optional "▁" prefix, optional split before each "▁").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex_split.h"

namespace qforge::tokenizer {

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  enum class PrependScheme { kAlways, kFirst, kNever };
  PreTokenizerStep(Kind k) : kind(k) {}  // NOLINT(google-explicit-constructor): {Kind} lists read well
  Kind kind;
  std::shared_ptr<const RegexSplitter> regex;  // kSplit; kByteLevel with use_regex
  bool add_prefix_space = false;               // kByteLevel
  std::string replacement;                     // kMetaspace
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = false;  // kMetaspace
};

// GPT-2's split pattern (ByteLevel with use_regex), and the Llama-3 / Qwen2 ones used by GGUF "gpt2"
// vocabularies (same text as in their tokenizer.json files).
extern const char kGpt2Pattern[];
extern const char kLlama3Pattern[];
extern const char kQwen2Pattern[];

// Pre-tokenizes one normalized section; section_index counts the sections of the input (Metaspace
// "first" prepends only in section 0).
std::vector<std::string> PreTokenize(const std::vector<PreTokenizerStep>& steps, std::string text,
                                     size_t section_index);

}  // namespace qforge::tokenizer
