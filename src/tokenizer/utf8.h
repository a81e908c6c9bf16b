// UTF-8 helpers for the tokenizer. Input text is untrusted: invalid sequences decode as single bytes
// (valid = false) so that every byte of the input is accounted for.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qforge::tokenizer {

struct Utf8Char {
  char32_t cp = 0;   // the code point; for an invalid byte, the byte value
  int len = 1;       // bytes consumed, 1..4
  bool valid = true;
};

// Decodes the character starting at s[pos] (pos < s.size()). Overlong forms, surrogates, code points
// above U+10FFFF and truncated sequences are invalid and consume exactly one byte.
Utf8Char DecodeUtf8(std::string_view s, size_t pos);

// Appends the UTF-8 encoding of cp (cp <= 0x10FFFF).
void AppendUtf8(std::string& out, char32_t cp);

// Whitespace as JavaScript's String.prototype.trim and \s define it (the oracle's definition).
bool IsJsWhitespace(char32_t cp);

}  // namespace qforge::tokenizer
