// Unicode tables for NFC (generated into unicode_nfc_tables.cc by gen_unicode_nfc.py), each sorted by
// its first field. Hangul syllables are algorithmic and not listed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qforge::tokenizer::nfc {

struct CombiningClass {
  char32_t cp;
  uint8_t ccc;  // canonical combining class, non-zero
};
struct Decomposition {
  char32_t cp;
  char32_t first;
  char32_t second;  // 0 for a singleton decomposition
};
struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;  // a primary composite (not excluded from composition)
};

extern const CombiningClass kCombiningClasses[];
extern const size_t kNumCombiningClasses;
extern const Decomposition kDecompositions[];
extern const size_t kNumDecompositions;
extern const Composition kCompositions[];
extern const size_t kNumCompositions;

}  // namespace qforge::tokenizer::nfc
