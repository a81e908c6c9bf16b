// Text <-> token ids for the models qforge handles:
//  * Hugging Face tokenizer.json with a BPE model: SentencePiece-style (normalizer "▁" prefix / spaces,
//    byte fallback <0xNN>: Llama-2, Mistral, TinyLlama, TinyStories) and byte-level (GPT-2 byte map,
//    regex pre-tokenizer with Unicode classes: Llama-3, Qwen2/3), with added/special tokens and decoders;
//  * the vocabularies GGUF files carry: "llama" (SentencePiece pieces + scores, merged by score like
//    llama.cpp) and "gpt2" (byte-level tokens + merges, pre-tokenizer chosen by tokenizer.ggml.pre).
//
// Encode matches added tokens (e.g. "<|im_start|>") anywhere in the text, as Hugging Face's encode does;
// it never adds BOS/EOS itself. Decode is the inverse: Decode(Encode(s)) == s for normalization-stable s.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::tokenizer {

// GGUF token types (tokenizer.ggml.token_type).
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct Vocab {  // the data a GGUF file carries, and what we export to GGUF
  std::string model;  // "llama" (SentencePiece scores) or "gpt2" (byte-level BPE with merges)
  std::string pre;    // gpt2 pre-tokenizer name ("llama-bpe", "qwen2", ...) or ""
  std::vector<std::string> tokens;
  std::vector<float> scores;          // llama: one per token; gpt2: empty (or ignored)
  std::vector<int32_t> token_types;   // TokenType per token (empty: all normal)
  std::vector<std::string> merges;    // gpt2: "left right" in rank order
  std::optional<int32_t> bos_id, eos_id, unk_id, pad_id;
  bool add_bos = false, add_eos = false;
};

class Tokenizer {
 public:
  static std::unique_ptr<Tokenizer> FromHfDir(const std::string& dir);  // tokenizer.json + tokenizer_config.json
  static std::unique_ptr<Tokenizer> FromTokenizerJson(const std::string& path);
  static std::unique_ptr<Tokenizer> FromVocab(const Vocab& v);  // GGUF vocabularies

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  std::vector<int32_t> Encode(std::string_view text) const;             // never adds BOS/EOS itself
  std::vector<int32_t> EncodeWithSpecial(std::string_view text) const;  // BOS/EOS per add_bos/add_eos
  // Ids outside [0, vocab_size) are bad input (qforge::Error).
  std::string Decode(std::span<const int32_t> ids) const;
  // The token's string as the vocabulary stores it ("▁the", "Ġthe", "<0x0A>", "<|im_start|>").
  std::string TokenText(int32_t id) const;
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  bool add_bos() const;
  int64_t vocab_size() const;
  Vocab ToVocab() const;  // for the GGUF writer

  struct Impl;  // tokenizer_impl.h

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qforge::tokenizer
