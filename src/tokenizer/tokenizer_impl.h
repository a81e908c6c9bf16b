// The parsed pipeline behind Tokenizer (internal to the tokenizer module): added-token split ->
// normalizers -> pre-tokenizers -> BPE / SentencePiece model, and the decoder chain for the way back.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/spm_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_index.h"

namespace qforge::tokenizer {

struct Tokenizer::Impl {
  std::string context;  // the file it came from, for messages
  VocabIndex vocab;     // every id, added tokens included
  std::vector<int32_t> token_types;   // TokenType per id
  std::vector<bool> is_added;         // per id: an added token (decoded verbatim)
  std::unique_ptr<AddedTokenSplitter> added;
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  std::unique_ptr<BpeModel> bpe;  // exactly one of bpe / spm
  std::unique_ptr<SpmModel> spm;
  std::vector<float> spm_scores;                             // spm only
  std::vector<std::pair<std::string, std::string>> merges;  // bpe: in rank order, for ToVocab
  bool byte_level = false;
  bool fuse_unk = false;  // runs of unknown tokens within a text section become one
  std::vector<DecoderStep> decoders;
  std::optional<int32_t> bos_id, eos_id, unk_id, pad_id;
  bool add_bos = false, add_eos = false;
  std::string gguf_pre;  // byte-level: the GGUF pre-tokenizer name, "" if not recognised

  // Builds `added` from the token types (control, user-defined and unknown tokens match verbatim).
  void BuildAddedTokensFromTypes();
};

// Hard limits on untrusted vocabularies.
inline constexpr int64_t kMaxVocabSize = int64_t{1} << 24;
inline constexpr size_t kMaxTokenBytes = size_t{1} << 16;

}  // namespace qforge::tokenizer
