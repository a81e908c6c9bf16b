// The GPT-2 byte-to-unicode map used by byte-level BPE (Llama-3, Qwen2/3, GGUF "gpt2" vocabularies):
// every byte becomes one printable code point, so a vocabulary of strings can hold arbitrary bytes.
// Bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68 bytes map, in increasing
// order, to U+0100, U+0101, ... (so a space 0x20 becomes U+0120 'Ġ' and '\n' becomes U+010A 'Ċ').
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qforge::tokenizer {

// The code point that stands for byte b.
char32_t ByteToCodePoint(uint8_t b);
// The byte a code point stands for, or nullopt when cp is not in the map's image.
std::optional<uint8_t> CodePointToByte(char32_t cp);

// Maps raw bytes to their byte-level (UTF-8) spelling.
std::string BytesToByteLevel(std::string_view bytes);
// Maps a byte-level spelling back to raw bytes; nullopt when a character is not in the map.
std::optional<std::string> ByteLevelToBytes(std::string_view text);

}  // namespace qforge::tokenizer
