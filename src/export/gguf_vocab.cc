#include "export/gguf_vocab.h"

#include <fmt/format.h>

#include <string_view>
#include <unordered_set>

#include "core/error.h"

namespace qforge::exporter {

namespace {
constexpr float kPadScore = -10000.0f;  // LC: conversion/base.py, score of "[PAD<i>]" slots

void AddId(gguf::Writer& w, const char* key, const std::optional<int32_t>& id) {
  if (id) w.Add(key, gguf::Value::Scalar<uint32_t>(static_cast<uint32_t>(*id)));
}
}  // namespace

void AddVocabKvs(gguf::Writer& w, const tokenizer::Vocab& v, int64_t n_vocab) {
  const auto n = static_cast<int64_t>(v.tokens.size());
  if (v.model != "llama" && v.model != "gpt2") {
    Fail("tokenizer model '{}' has no GGUF export; expected llama (SentencePiece) or gpt2 (byte-level BPE)", v.model);
  }
  if (n == 0 || n > n_vocab) {
    Fail("the tokenizer has {} tokens but the embedding has {} rows; expected 1..{} tokens", n, n_vocab, n_vocab);
  }
  if (!v.token_types.empty() && static_cast<int64_t>(v.token_types.size()) != n) {
    Fail("the tokenizer has {} token types for {} tokens", v.token_types.size(), n);
  }
  if (v.model == "llama" && static_cast<int64_t>(v.scores.size()) != n) {
    Fail("the SentencePiece tokenizer has {} scores for {} tokens", v.scores.size(), n);
  }
  if (v.model == "gpt2") {
    if (v.pre.empty()) {
      Fail("the byte-level BPE tokenizer's pre-tokenizer is not recognized; llama.cpp needs its name in "
           "tokenizer.ggml.pre (e.g. llama-bpe, qwen2) and would split text wrongly without it, so qforge refuses "
           "to guess");
    }
    if (v.merges.empty()) Fail("the byte-level BPE tokenizer has no merges; tokenizer.ggml.merges is required");
  }
  for (const auto* id : {&v.bos_id, &v.eos_id, &v.unk_id, &v.pad_id}) {
    if (*id && (**id < 0 || **id >= n_vocab)) Fail("special token id {} is outside 0..{}", **id, n_vocab - 1);
  }

  std::vector<std::string> tokens = v.tokens;
  std::vector<float> scores = v.scores;
  std::vector<int32_t> types = v.token_types;
  if (types.empty()) types.assign(tokens.size(), tokenizer::kTokenNormal);
  for (int64_t i = n; i < n_vocab; ++i) {
    tokens.push_back(fmt::format("[PAD{}]", i));
    types.push_back(tokenizer::kTokenUnused);
    if (v.model == "llama") scores.push_back(kPadScore);
  }

  w.Add("tokenizer.ggml.model", gguf::Value::String(v.model));
  w.Add("tokenizer.ggml.pre", gguf::Value::String(v.model == "llama" ? "default" : v.pre));
  w.Add("tokenizer.ggml.tokens", gguf::Value::StringArray(std::move(tokens)));
  if (v.model == "llama") w.Add("tokenizer.ggml.scores", gguf::Value::Array(scores));
  w.Add("tokenizer.ggml.token_type", gguf::Value::Array(types));
  if (v.model == "gpt2") w.Add("tokenizer.ggml.merges", gguf::Value::StringArray(v.merges));
  AddId(w, "tokenizer.ggml.bos_token_id", v.bos_id);
  AddId(w, "tokenizer.ggml.eos_token_id", v.eos_id);
  AddId(w, "tokenizer.ggml.unknown_token_id", v.unk_id);
  AddId(w, "tokenizer.ggml.padding_token_id", v.pad_id);
  w.Add("tokenizer.ggml.add_bos_token", gguf::Value::Scalar<bool>(v.add_bos));
  w.Add("tokenizer.ggml.add_eos_token", gguf::Value::Scalar<bool>(v.add_eos));
}

std::vector<uint8_t> BytesWithoutLlamaCppToken(const tokenizer::Vocab& v) {
  std::vector<uint8_t> missing;
  if (v.model != "llama") return missing;
  std::unordered_set<std::string_view> tokens(v.tokens.begin(), v.tokens.end());
  for (int b = 0; b < 256; ++b) {
    const std::string hex = fmt::format("<0x{:02X}>", b);
    const std::string raw(1, static_cast<char>(b));
    if (!tokens.contains(hex) && !tokens.contains(raw)) missing.push_back(static_cast<uint8_t>(b));
  }
  return missing;
}

tokenizer::Vocab VocabFromGguf(const gguf::File& f) {
  tokenizer::Vocab v;
  v.model = f.GetString("tokenizer.ggml.model");
  v.pre = f.FindString("tokenizer.ggml.pre").value_or("");
  const gguf::Value& tokens = f.Kv("tokenizer.ggml.tokens");
  if (!tokens.AsStringArray()) Fail("{}: tokenizer.ggml.tokens is not an ARRAY[STRING]", f.path());
  v.tokens = *tokens.AsStringArray();
  const size_t n = v.tokens.size();
  if (const gguf::Value* s = f.Find("tokenizer.ggml.scores")) {
    if (auto fs = s->AsArray<float>()) {
      v.scores = std::move(*fs);
    } else if (auto is = s->AsArray<int32_t>()) {
      v.scores.assign(is->begin(), is->end());
    } else {
      Fail("{}: tokenizer.ggml.scores is not an ARRAY[FLOAT32]", f.path());
    }
    if (v.scores.size() != n) Fail("{}: {} scores for {} tokens", f.path(), v.scores.size(), n);
  }
  if (const gguf::Value* t = f.Find("tokenizer.ggml.token_type")) {
    auto types = t->AsArray<int32_t>();
    if (!types) Fail("{}: tokenizer.ggml.token_type is not an ARRAY[INT32]", f.path());
    if (types->size() < n) Fail("{}: {} token types for {} tokens", f.path(), types->size(), n);
    types->resize(n);
    v.token_types = std::move(*types);
  }
  if (const gguf::Value* m = f.Find("tokenizer.ggml.merges")) {
    if (!m->AsStringArray()) Fail("{}: tokenizer.ggml.merges is not an ARRAY[STRING]", f.path());
    v.merges = *m->AsStringArray();
  }
  // Ids beyond the vocabulary are ignored, as llama.cpp does (e.g. 0xFFFFFFFF "none").
  auto id = [&](const char* key) -> std::optional<int32_t> {
    const auto u = f.FindU32(key);
    if (!u || *u >= n) return std::nullopt;
    return static_cast<int32_t>(*u);
  };
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.unk_id = id("tokenizer.ggml.unknown_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  // llama.cpp's defaults when the key is absent: SentencePiece and the Llama-3 BPE add BOS, others do not.
  const bool llama3_bpe = v.model == "gpt2" && (v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3");
  v.add_bos = f.FindBool("tokenizer.ggml.add_bos_token").value_or(v.model == "llama" || llama3_bpe);
  v.add_eos = f.FindBool("tokenizer.ggml.add_eos_token").value_or(false);
  return v;
}

}  // namespace qforge::exporter
