// Unicode Normalization Form C (canonical decomposition, then canonical composition), for the `NFC`
// normalizer of tokenizer.json (Qwen2/Qwen3). Bytes that are not valid UTF-8 pass through unchanged.
#pragma once

#include <string>
#include <string_view>

namespace qforge::tokenizer {

std::string Nfc(std::string_view text);

}  // namespace qforge::tokenizer
