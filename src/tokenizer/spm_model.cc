#include "tokenizer/spm_model.h"

#include <fmt/format.h>

#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace qforge::tokenizer {

SpmModel::SpmModel(const VocabIndex& vocab, std::vector<float> scores, std::optional<int32_t> unk_id)
    : vocab_(vocab), scores_(std::move(scores)), unk_id_(unk_id) {
  QF_CHECK(static_cast<int64_t>(scores_.size()) == vocab.size());
  for (int b = 0; b < 256; ++b) {
    const auto id = vocab.Find(fmt::format("<0x{:02X}>", b));
    byte_ids_[b] = id ? *id : -1;
  }
}

void SpmModel::Encode(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  struct Symbol {
    int32_t prev;
    int32_t next;
    uint32_t begin;
    uint32_t len;  // 0 once merged into its left neighbour
  };
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const int len = DecodeUtf8(text, pos).len;
    const auto index = static_cast<int32_t>(syms.size());
    syms.push_back({index - 1, -1, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
    if (index > 0) syms[index - 1].next = index;
    pos += static_cast<size_t>(len);
  }

  struct Bigram {
    float score;
    int32_t left;
    int32_t right;
    uint32_t len;
    // priority_queue pops the largest: highest score, then the leftmost pair.
    bool operator<(const Bigram& o) const { return score != o.score ? score < o.score : left > o.left; }
  };
  std::priority_queue<Bigram> heap;
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t len = syms[left].len + syms[right].len;
    const auto id = vocab_.Find(text.substr(syms[left].begin, len));
    if (!id) return;
    heap.push({scores_[static_cast<size_t>(*id)], left, right, len});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) consider(i - 1, i);

  while (!heap.empty()) {
    const Bigram b = heap.top();
    heap.pop();
    Symbol& left = syms[b.left];
    Symbol& right = syms[b.right];
    if (left.len == 0 || right.len == 0 || left.len + right.len != b.len) continue;  // stale
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = b.left;
    consider(left.prev, b.left);
    consider(b.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].begin, syms[i].len);
    if (const auto id = vocab_.Find(piece)) {
      out.push_back(*id);
      continue;
    }
    // Not a token: each character as its byte tokens. A character whose bytes are not all tokens becomes
    // one <unk>, as Hugging Face's byte_fallback does (llama.cpp aborts instead; `qforge convert` warns).
    for (size_t at = 0; at < piece.size();) {
      const auto len = static_cast<size_t>(DecodeUtf8(piece, at).len);
      bool all_bytes = true;
      for (size_t j = 0; j < len; ++j) all_bytes = all_bytes && byte_ids_[static_cast<uint8_t>(piece[at + j])] >= 0;
      if (all_bytes) {
        for (size_t j = 0; j < len; ++j) out.push_back(byte_ids_[static_cast<uint8_t>(piece[at + j])]);
      } else if (unk_id_) {
        out.push_back(*unk_id_);
      } else {
        Fail("SentencePiece vocabulary: cannot encode {:?}: no byte token for it and no unknown token",
             std::string(piece.substr(at, len)));
      }
      at += len;
    }
  }
}

}  // namespace qforge::tokenizer
