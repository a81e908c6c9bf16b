// Decoders of tokenizer.json, applied in order to the list of token strings (Hugging Face semantics):
//  * Replace (literal, per token), ByteFallback (runs of <0xNN> tokens become their bytes), Fuse (join),
//    Strip (drop up to `start` leading / `stop` trailing `content` characters per token): SentencePiece;
//  * ByteLevel (GPT-2 characters back to bytes, added tokens verbatim): Llama-3, Qwen;
//  * Metaspace ("▁" to space, the first token's prefix space dropped unless prepend_scheme is never).
// Unlike Hugging Face, bytes that do not form valid UTF-8 are kept as they are (not replaced by U+FFFD),
// so decoding token by token and concatenating gives exactly the decoded whole.
#pragma once

#include <string>
#include <vector>

namespace qforge::tokenizer {

struct DecoderStep {
  enum class Kind { kReplace, kByteFallback, kFuse, kStrip, kByteLevel, kMetaspace };
  DecoderStep(Kind k) : kind(k) {}  // NOLINT(google-explicit-constructor): {Kind} lists read well
  Kind kind;
  std::string pattern;  // kReplace (non-empty); kMetaspace: the replacement character
  std::string content;  // kReplace: replacement; kStrip: the character stripped
  int start = 0;        // kStrip
  int stop = 0;         // kStrip
  bool prepend = true;  // kMetaspace: a prefix space was added when encoding
};

struct DecodePiece {
  std::string text;
  bool added = false;  // an added token: ByteLevel leaves it as is
};

std::string RunDecoder(const std::vector<DecoderStep>& steps, std::vector<DecodePiece> pieces);

}  // namespace qforge::tokenizer
