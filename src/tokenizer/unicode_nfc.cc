#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "tokenizer/unicode_nfc_tables.h"
#include "tokenizer/utf8.h"

namespace qforge::tokenizer {
namespace {

// Every code point below this is NFC on its own and never combines (asserted by the table generator).
constexpr char32_t kFirstInteresting = 0x300;
// An invalid input byte is carried as kInvalidTag | byte: no class, no decomposition, never composes.
constexpr char32_t kInvalidTag = 0x80000000u;

// Hangul syllable arithmetic (Unicode §3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t CombiningClassOf(char32_t cp) {
  if (cp < kFirstInteresting || (cp & kInvalidTag)) return 0;
  const auto* end = nfc::kCombiningClasses + nfc::kNumCombiningClasses;
  const auto* it = std::lower_bound(nfc::kCombiningClasses, end, cp,
                                    [](const nfc::CombiningClass& e, char32_t c) { return e.cp < c; });
  return (it != end && it->cp == cp) ? it->ccc : 0;
}

void Decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= kFirstInteresting && !(cp & kInvalidTag)) {
    const auto* end = nfc::kDecompositions + nfc::kNumDecompositions;
    const auto* it = std::lower_bound(nfc::kDecompositions, end, cp,
                                      [](const nfc::Decomposition& e, char32_t c) { return e.cp < c; });
    if (it != end && it->cp == cp) {
      Decompose(it->first, out);
      if (it->second != 0) Decompose(it->second, out);
      return;
    }
  }
  out.push_back(cp);
}

// The primary composite of (first, second), or 0.
char32_t Compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
      second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const auto* end = nfc::kCompositions + nfc::kNumCompositions;
  const auto* it = std::lower_bound(nfc::kCompositions, end, std::pair{first, second},
                                    [](const nfc::Composition& e, std::pair<char32_t, char32_t> key) {
                                      return std::pair{e.first, e.second} < key;
                                    });
  return (it != end && it->first == first && it->second == second) ? it->composite : 0;
}

}  // namespace

std::string Nfc(std::string_view text) {
  bool simple = true;
  for (size_t pos = 0; pos < text.size() && simple;) {
    const Utf8Char ch = DecodeUtf8(text, pos);
    simple = !ch.valid || ch.cp < kFirstInteresting;
    pos += ch.len;
  }
  if (simple) return std::string(text);

  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char ch = DecodeUtf8(text, pos);
    Decompose(ch.valid ? ch.cp : (kInvalidTag | ch.cp), cps);
    pos += ch.len;
  }
  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (CombiningClassOf(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && CombiningClassOf(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + static_cast<ptrdiff_t>(i), cps.begin() + static_cast<ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return CombiningClassOf(a) < CombiningClassOf(b); });
    i = j;
  }
  // Canonical composition.
  std::vector<char32_t> out;
  out.reserve(cps.size());
  size_t starter = SIZE_MAX;  // index in out of the last starter
  int last_ccc = -1;          // class of the last character appended after the starter
  for (char32_t cp : cps) {
    const int ccc = CombiningClassOf(cp);
    if (starter != SIZE_MAX) {
      const bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= ccc);
      if (!blocked) {
        if (const char32_t composite = Compose(out[starter], cp)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (ccc == 0) {
      starter = out.size();
      last_ccc = -1;
    } else {
      last_ccc = ccc;
    }
    out.push_back(cp);
  }
  std::string result;
  result.reserve(text.size());
  for (char32_t cp : out) {
    if (cp & kInvalidTag) {
      result.push_back(static_cast<char>(cp & 0xFF));
    } else {
      AppendUtf8(result, cp);
    }
  }
  return result;
}

}  // namespace qforge::tokenizer
