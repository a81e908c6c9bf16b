// tokenizer::Vocab <-> GGUF tokenizer metadata (FORMATS.md §5.4).
//
//   tokenizer.ggml.model        STRING        "llama" (SentencePiece) | "gpt2" (byte-level BPE)
//   tokenizer.ggml.pre          STRING        llama: "default"; gpt2: the pre-tokenizer name (required)
//   tokenizer.ggml.tokens       ARRAY[STRING] index = token id
//   tokenizer.ggml.scores       ARRAY[FLOAT32] llama only
//   tokenizer.ggml.token_type   ARRAY[INT32]  1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
//   tokenizer.ggml.merges       ARRAY[STRING] gpt2 only, "left right" in rank order
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id  UINT32 (written when known)
//   tokenizer.ggml.add_bos_token / add_eos_token        BOOL
#pragma once

#include <cstdint>
#include <vector>

#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace qforge::exporter {

// Appends the tokenizer KVs in the converter's order. `n_vocab` is the embedding row count: a shorter
// vocabulary is padded with "[PAD<i>]" tokens (UNUSED, score -10000) as the HF converter does; a longer one
// is an error. Throws qforge::Error (before anything is written) for a gpt2 vocabulary without merges or
// without a known pre-tokenizer name: llama.cpp would load it with the wrong split rules, so we refuse
// rather than guess.
void AddVocabKvs(gguf::Writer& w, const tokenizer::Vocab& vocab, int64_t n_vocab);

// SentencePiece ("llama") vocabularies: the bytes llama.cpp has no token for. Its tokenizer spells a piece
// that no token covers as bytes, looking up "<0xNN>" and then the one-byte string; when neither exists it
// throws std::out_of_range, which aborts the process (node-llama-cpp, Ollama). Checkpoints trained with
// byte_fallback but without the 256 byte tokens (TinyStories-656K) have such gaps; Hugging Face maps those
// pieces to <unk>. Empty for gpt2 vocabularies (their 256 byte symbols are tokens by construction).
std::vector<uint8_t> BytesWithoutLlamaCppToken(const tokenizer::Vocab& vocab);

// Reads the tokenizer KVs of a GGUF file (strict types, as llama.cpp checks them).
tokenizer::Vocab VocabFromGguf(const gguf::File& file);

}  // namespace qforge::exporter
