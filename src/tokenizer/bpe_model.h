// Byte-pair encoding by merge rank (Hugging Face `BPE` model): the pair with the lowest rank in the
// merges list merges first, ties going to the leftmost pair. Used for SentencePiece-style BPE with
// byte fallback (Llama-2, Mistral, TinyLlama, TinyStories) and byte-level BPE (Llama-3, Qwen2/3).
//
// Work is O(n log n) per word (a heap of candidate pairs over a linked list of symbols), and results
// for pieces up to kMaxCachedBytes are cached, so running text costs one hash lookup per repeated word.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/vocab_index.h"

namespace qforge::tokenizer {

struct BpeOptions {
  bool byte_level = false;     // pieces are raw bytes; symbols start as GPT-2 byte characters
  bool byte_fallback = false;  // characters missing from the vocab become <0xNN> tokens
  bool ignore_merges = false;  // a piece that is itself a token is emitted whole
  std::optional<int32_t> unk_id;
};

class BpeModel {
 public:
  // `vocab` must outlive the model. Merges name two tokens; those whose parts or result are not in the
  // vocabulary can never apply and are skipped. `context` names the file for errors.
  BpeModel(const VocabIndex& vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options, const std::string& context);

  // Appends the ids of one pre-token. Thread-safe.
  void Encode(std::string_view piece, std::vector<int32_t>& out) const;

  // rank of the merge that produces each token, or -1 (for scores when exporting to GGUF).
  const std::vector<int32_t>& merge_rank_of_token() const { return rank_of_token_; }

 private:
  static constexpr size_t kMaxCachedBytes = 256;
  static constexpr size_t kMaxCacheEntries = size_t{1} << 18;
  static constexpr size_t kMinBytesToCut = 64;  // shorter pieces are not worth scanning for cut points

  void EncodeCached(std::string_view piece, std::vector<int32_t>& out) const;
  void EncodeUncached(std::string_view piece, std::vector<int32_t>& out) const;
  bool Joinable(std::string_view piece, size_t pos, int len) const;
  void EmitUnknown(std::string_view text, std::vector<int32_t>& out) const;

  struct Merge {
    int32_t rank;
    int32_t result;
  };
  const VocabIndex& vocab_;
  BpeOptions options_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
  std::vector<int32_t> rank_of_token_;
  // Characters (code points) that occur inside some token of two or more characters. No merge can reach
  // across any other character, so long pieces are cut there into independent (cacheable) segments; this
  // keeps whole-text BPE (SentencePiece-style models have no pre-tokenizer) fast.
  std::vector<bool> joinable_;
  int32_t byte_ids_[256];  // byte-level: the GPT-2 byte character's id; otherwise the <0xNN> id; -1 if absent
  std::string context_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace qforge::tokenizer
