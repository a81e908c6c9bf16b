#include "tokenizer/bpe_model.h"

#include <fmt/format.h>

#include <queue>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace qforge::tokenizer {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

std::string ByteTokenText(uint8_t b) { return fmt::format("<0x{:02X}>", b); }

}  // namespace

BpeModel::BpeModel(const VocabIndex& vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& context)
    : vocab_(vocab), options_(options), rank_of_token_(static_cast<size_t>(vocab.size()), -1),
      context_(context) {
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto l = vocab.Find(left);
    const auto r = vocab.Find(right);
    const auto result = vocab.Find(left + right);
    if (!l || !r || !result) continue;
    // A repeated pair keeps its first (lowest) rank.
    if (merges_.emplace(PairKey(*l, *r), Merge{static_cast<int32_t>(rank), *result}).second &&
        rank_of_token_[static_cast<size_t>(*result)] < 0) {
      rank_of_token_[static_cast<size_t>(*result)] = static_cast<int32_t>(rank);
    }
  }
  if (!options_.byte_level) {
    constexpr size_t kCodePoints = 0x110000;
    joinable_.assign(kCodePoints, false);
    for (int64_t id = 0; id < vocab.size(); ++id) {
      const std::string& text = vocab.Text(static_cast<int32_t>(id));
      if (text.empty() || DecodeUtf8(text, 0).len == static_cast<int>(text.size())) continue;  // one character
      for (size_t pos = 0; pos < text.size();) {
        const Utf8Char ch = DecodeUtf8(text, pos);
        if (ch.valid) joinable_[ch.cp] = true;
        pos += static_cast<size_t>(ch.len);
      }
    }
  }
  for (int b = 0; b < 256; ++b) {
    const auto byte = static_cast<uint8_t>(b);
    std::string text;
    if (options_.byte_level) {
      AppendUtf8(text, ByteToCodePoint(byte));
    } else {
      text = ByteTokenText(byte);
    }
    const auto id = vocab.Find(text);
    byte_ids_[b] = id ? *id : -1;
    if (options_.byte_level && !id) {
      Fail("{}: byte-level BPE vocabulary has no token for byte 0x{:02X} ('{}'); every one of the 256 byte "
           "characters must be a token",
           context, b, text);
    }
  }
}

bool BpeModel::Joinable(std::string_view piece, size_t pos, int len) const {
  const Utf8Char ch = DecodeUtf8(piece, pos);
  return ch.valid && ch.len == len && joinable_[ch.cp];
}

void BpeModel::Encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.byte_level || options_.ignore_merges || piece.size() < kMinBytesToCut) {
    EncodeCached(piece, out);
    return;
  }
  // Cut around every character that no merge can join (see joinable_).
  size_t start = 0;
  for (size_t pos = 0; pos < piece.size();) {
    const int len = DecodeUtf8(piece, pos).len;
    if (!Joinable(piece, pos, len)) {
      if (pos > start) EncodeCached(piece.substr(start, pos - start), out);
      EncodeCached(piece.substr(pos, static_cast<size_t>(len)), out);
      start = pos + static_cast<size_t>(len);
    }
    pos += static_cast<size_t>(len);
  }
  if (start < piece.size()) EncodeCached(piece.substr(start), out);
}

void BpeModel::EncodeCached(std::string_view piece, std::vector<int32_t>& out) const {
  const bool cacheable = piece.size() <= kMaxCachedBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out.size();
  EncodeUncached(piece, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + first, out.end()));
  }
}

void BpeModel::EmitUnknown(std::string_view text, std::vector<int32_t>& out) const {
  if (options_.byte_fallback) {
    bool all = true;
    for (char c : text) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
    if (all) {
      for (char c : text) out.push_back(byte_ids_[static_cast<uint8_t>(c)]);
      return;
    }
  }
  if (!options_.unk_id) {
    Fail("{}: cannot encode {:?}: it is not in the vocabulary and the model has no unk_token{}", context_,
         std::string(text), options_.byte_fallback ? " (and no byte fallback tokens for it)" : "");
  }
  out.push_back(*options_.unk_id);
}

void BpeModel::EncodeUncached(std::string_view piece, std::vector<int32_t>& out) const {
  if (options_.ignore_merges) {
    const auto whole = options_.byte_level ? vocab_.Find(BytesToByteLevel(piece)) : vocab_.Find(piece);
    if (whole) {
      out.push_back(*whole);
      return;
    }
  }
  struct Symbol {
    int32_t id;     // -1: a character missing from the vocabulary (never merges)
    int32_t prev;   // index of the previous live symbol, -1 at the start
    int32_t next;   // index of the next live symbol, -1 at the end
    uint32_t begin; // bytes of the piece this symbol covers
    uint32_t end;
  };
  std::vector<Symbol> syms;
  syms.reserve(piece.size());
  for (size_t pos = 0; pos < piece.size();) {
    const int len = options_.byte_level ? 1 : DecodeUtf8(piece, pos).len;
    int32_t id = -1;
    if (options_.byte_level) {
      id = byte_ids_[static_cast<uint8_t>(piece[pos])];
    } else if (auto found = vocab_.Find(piece.substr(pos, static_cast<size_t>(len)))) {
      id = *found;
    }
    const auto index = static_cast<int32_t>(syms.size());
    syms.push_back({id, index - 1, -1, static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + len)});
    if (index > 0) syms[index - 1].next = index;
    pos += static_cast<size_t>(len);
  }

  struct Candidate {
    int32_t rank;
    int32_t left;  // symbol index; the merged symbol keeps it, so it orders ties by original position
    int32_t right;
    int32_t left_id;
    int32_t right_id;
    int32_t result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = syms[left].next;
    if (right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    auto it = merges_.find(PairKey(syms[left].id, syms[right].id));
    if (it == merges_.end()) return;
    heap.push({it->second.rank, left, right, syms[left].id, syms[right].id, it->second.result});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& left = syms[c.left];
    // Stale entries: either side has merged since this candidate was queued.
    if (left.id != c.left_id || left.next != c.right || syms[c.right].id != c.right_id) continue;
    Symbol& right = syms[c.right];
    left.id = c.result;
    left.end = right.end;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.left;
    right.id = -2;  // dead
    consider(left.prev);
    consider(c.left);
  }

  for (int32_t i = 0; i >= 0 && !syms.empty(); i = syms[i].next) {
    if (syms[i].id >= 0) {
      out.push_back(syms[i].id);
    } else {
      EmitUnknown(piece.substr(syms[i].begin, syms[i].end - syms[i].begin), out);
    }
  }
}

}  // namespace qforge::tokenizer
