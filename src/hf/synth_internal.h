// Pieces of `qforge synth` shared between its files (not part of the hf API).
#pragma once

#include <string>
#include <string_view>

#include "core/model_config.h"
#include "io/json_util.h"

namespace qforge::hf {

// Keys of the real config.json that ModelConfig does not carry (sliding_window, ...).
io::Json SynthExtraConfigKeys(std::string_view shape);

// tokenizer.json text for a byte-level BPE tokenizer with exactly `vocab_size` ids: ids 0..255 are the
// bytes (GPT-2 byte-to-unicode alphabet), then unreachable filler tokens, and the last two ids are the special
// BOS "<|begin_of_text|>" and EOS "<|end_of_text|>".
std::string ByteLevelTokenizerJson(int64_t vocab_size);
inline constexpr int64_t kByteLevelMinVocab = 258;

}  // namespace qforge::hf
