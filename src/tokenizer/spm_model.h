// SentencePiece vocabulary with scores, as GGUF files carry it (tokenizer.ggml.model = "llama"),
// encoded the way llama.cpp does: start from UTF-8 characters, repeatedly merge the adjacent pair whose
// concatenation is a token with the highest score (ties: leftmost), then spell every character that is
// not a token with its <0xNN> byte tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tokenizer/vocab_index.h"

namespace qforge::tokenizer {

class SpmModel {
 public:
  // `vocab` must outlive the model; scores[i] is the score of token i.
  SpmModel(const VocabIndex& vocab, std::vector<float> scores, std::optional<int32_t> unk_id);

  // Appends the ids of `text`, which already has spaces escaped as U+2581. Thread-safe.
  void Encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  const VocabIndex& vocab_;
  std::vector<float> scores_;
  std::optional<int32_t> unk_id_;
  int32_t byte_ids_[256];
};

}  // namespace qforge::tokenizer
