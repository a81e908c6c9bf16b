#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace qforge::tokenizer {
namespace {

constexpr char32_t kFirstShifted = 0x100;
constexpr size_t kImageSize = kFirstShifted + 68;  // all code points of the map are below this

bool MapsToItself(uint8_t b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct Tables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, kImageSize> to_byte{};
  Tables() {
    to_byte.fill(-1);
    char32_t next = kFirstShifted;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = MapsToItself(static_cast<uint8_t>(b)) ? static_cast<char32_t>(b) : next++;
      to_cp[b] = cp;
      to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

}  // namespace

char32_t ByteToCodePoint(uint8_t b) { return GetTables().to_cp[b]; }

std::optional<uint8_t> CodePointToByte(char32_t cp) {
  if (cp >= kImageSize) return std::nullopt;
  const int16_t b = GetTables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

std::string BytesToByteLevel(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendUtf8(out, ByteToCodePoint(static_cast<uint8_t>(c)));
  return out;
}

std::optional<std::string> ByteLevelToBytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char ch = DecodeUtf8(text, pos);
    if (!ch.valid) return std::nullopt;
    const auto b = CodePointToByte(ch.cp);
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
    pos += ch.len;
  }
  return out;
}

}  // namespace qforge::tokenizer
