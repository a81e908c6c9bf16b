#include "tokenizer/decoder.h"

#include <optional>
#include <string_view>

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace qforge::tokenizer {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<0xNN>" (upper-case hex, as SentencePiece writes it) -> the byte.
std::optional<char> ByteToken(std::string_view s) {
  if (s.size() != 6 || !s.starts_with("<0x") || s[5] != '>') return std::nullopt;
  const int hi = HexDigit(s[3]);
  const int lo = HexDigit(s[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<char>(hi * 16 + lo);
}

void Fuse(std::vector<DecodePiece>& pieces) {
  DecodePiece fused;
  for (const DecodePiece& p : pieces) fused.text += p.text;
  pieces.assign(1, std::move(fused));
}

void Strip(std::string& s, std::string_view c, int start, int stop) {
  if (c.empty()) return;
  for (int i = 0; i < start && s.starts_with(c); ++i) s.erase(0, c.size());
  for (int i = 0; i < stop && s.ends_with(c); ++i) s.erase(s.size() - c.size());
}

}  // namespace

std::string RunDecoder(const std::vector<DecoderStep>& steps, std::vector<DecodePiece> pieces) {
  for (const DecoderStep& step : steps) {
    switch (step.kind) {
      case DecoderStep::Kind::kReplace:
        for (DecodePiece& p : pieces) p.text = ReplaceAll(p.text, step.pattern, step.content);
        break;
      case DecoderStep::Kind::kByteFallback: {
        std::vector<DecodePiece> out;
        for (DecodePiece& p : pieces) {
          const auto byte = p.added ? std::nullopt : ByteToken(p.text);
          if (byte) {
            out.push_back({std::string(1, *byte), false});
          } else {
            out.push_back(std::move(p));
          }
        }
        pieces = std::move(out);
        break;
      }
      case DecoderStep::Kind::kFuse:
        Fuse(pieces);
        break;
      case DecoderStep::Kind::kStrip:
        for (DecodePiece& p : pieces) Strip(p.text, step.content, step.start, step.stop);
        break;
      case DecoderStep::Kind::kByteLevel: {
        DecodePiece joined;
        for (const DecodePiece& p : pieces) {
          if (p.added) {
            joined.text += p.text;
            continue;
          }
          for (size_t pos = 0; pos < p.text.size();) {
            const Utf8Char ch = DecodeUtf8(p.text, pos);
            const auto b = ch.valid ? CodePointToByte(ch.cp) : std::nullopt;
            if (b) {
              joined.text.push_back(static_cast<char>(*b));
            } else {
              joined.text.append(p.text, pos, static_cast<size_t>(ch.len));
            }
            pos += static_cast<size_t>(ch.len);
          }
        }
        pieces.assign(1, std::move(joined));
        break;
      }
      case DecoderStep::Kind::kMetaspace:
        for (size_t i = 0; i < pieces.size(); ++i) {
          pieces[i].text = ReplaceAll(pieces[i].text, step.pattern, " ");
          if (i == 0 && step.prepend && pieces[i].text.starts_with(' ')) pieces[i].text.erase(0, 1);
        }
        break;
    }
  }
  std::string out;
  for (const DecodePiece& p : pieces) out += p.text;
  return out;
}

}  // namespace qforge::tokenizer
