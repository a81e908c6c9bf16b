#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"

namespace qforge::tokenizer {

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

void Tokenizer::Impl::BuildAddedTokensFromTypes() {
  std::vector<AddedToken> tokens;
  for (int32_t id = 0; id < static_cast<int32_t>(token_types.size()); ++id) {
    const int32_t type = token_types[static_cast<size_t>(id)];
    if (type != kTokenControl && type != kTokenUserDefined && type != kTokenUnknown) continue;
    if (vocab.Text(id).empty()) continue;
    tokens.push_back({vocab.Text(id), id, type != kTokenUserDefined, false, false});
    is_added[static_cast<size_t>(id)] = true;
  }
  added = std::make_unique<AddedTokenSplitter>(std::move(tokens));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text) const {
  const Impl& m = *impl_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  const std::vector<Section> sections = m.added->Split(text);
  for (size_t s = 0; s < sections.size(); ++s) {
    if (sections[s].added_id >= 0) {
      ids.push_back(sections[s].added_id);
      continue;
    }
    std::string normalized = Normalize(m.normalizers, sections[s].text);
    if (normalized.empty()) continue;
    const size_t section_start = ids.size();
    for (const std::string& piece : PreTokenize(m.pre_tokenizers, std::move(normalized), s)) {
      if (m.bpe) {
        m.bpe->Encode(piece, ids);
      } else {
        m.spm->Encode(piece, ids);
      }
    }
    if (m.fuse_unk && m.unk_id) {
      const int32_t unk = *m.unk_id;
      auto repeated_unk = [unk](int32_t a, int32_t b) { return a == unk && b == unk; };
      ids.erase(std::unique(ids.begin() + static_cast<ptrdiff_t>(section_start), ids.end(), repeated_unk), ids.end());
    }
  }
  return ids;
}

std::vector<int32_t> Tokenizer::EncodeWithSpecial(std::string_view text) const {
  std::vector<int32_t> ids;
  if (impl_->add_bos && impl_->bos_id) ids.push_back(*impl_->bos_id);
  const std::vector<int32_t> body = Encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  if (impl_->add_eos && impl_->eos_id) ids.push_back(*impl_->eos_id);
  return ids;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::vector<DecodePiece> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) {
    if (!impl_->vocab.Contains(id)) {
      Fail("{}: cannot decode token id {}: the vocabulary has ids 0..{}", impl_->context, id,
           impl_->vocab.size() - 1);
    }
    pieces.push_back({impl_->vocab.Text(id), impl_->is_added[static_cast<size_t>(id)]});
  }
  return RunDecoder(impl_->decoders, std::move(pieces));
}

std::string Tokenizer::TokenText(int32_t id) const {
  if (!impl_->vocab.Contains(id)) {
    Fail("{}: token id {} is out of range: the vocabulary has ids 0..{}", impl_->context, id,
         impl_->vocab.size() - 1);
  }
  return impl_->vocab.Text(id);
}

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos_id; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
int64_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }

Vocab Tokenizer::ToVocab() const {
  const Impl& m = *impl_;
  Vocab v;
  v.model = m.byte_level ? "gpt2" : "llama";
  v.pre = m.byte_level ? m.gguf_pre : "";
  const auto n = static_cast<size_t>(m.vocab.size());
  v.tokens.resize(n);
  v.token_types = m.token_types;
  for (size_t id = 0; id < n; ++id) {
    v.tokens[id] = m.vocab.Text(static_cast<int32_t>(id));
    if (v.tokens[id].empty()) {  // a hole in the id space
      v.tokens[id] = "[PAD" + std::to_string(id) + "]";
      v.token_types[id] = kTokenUnused;
    }
  }
  if (m.spm) {
    v.scores = m.spm_scores;
  } else if (!m.byte_level) {
    // SentencePiece-style BPE exported as a "llama" vocabulary: llama.cpp merges the pair whose result
    // has the highest score, so the token made by merge rank r scores -r (earlier merges win).
    v.scores.assign(n, 0.0f);
    const std::vector<int32_t>& rank = m.bpe->merge_rank_of_token();
    for (size_t id = 0; id < n && id < rank.size(); ++id) {
      if (rank[id] >= 0) v.scores[id] = -static_cast<float>(rank[id]);
    }
  }
  if (m.byte_level) {
    v.merges.reserve(m.merges.size());
    for (const auto& [l, r] : m.merges) v.merges.push_back(l + " " + r);
  }
  v.bos_id = m.bos_id;
  v.eos_id = m.eos_id;
  v.unk_id = m.unk_id;
  v.pad_id = m.pad_id;
  v.add_bos = m.add_bos;
  v.add_eos = m.add_eos;
  return v;
}

}  // namespace qforge::tokenizer
