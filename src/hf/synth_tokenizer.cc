// The byte-level tokenizer.json that `qforge synth` writes when the bundled tokenizer cannot be used.
#include <fmt/format.h>

#include "core/error.h"
#include "hf/synth_internal.h"

namespace qforge::hf {
namespace {

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards.
std::string ByteToken(int b) {
  static const auto kMap = [] {
    std::array<uint32_t, 256> m{};
    uint32_t next = 256;
    for (int i = 0; i < 256; ++i) {
      const bool printable = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255);
      m[i] = printable ? static_cast<uint32_t>(i) : next++;
    }
    return m;
  }();
  const uint32_t cp = kMap[b];
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {  // all code points here are < 0x800: two UTF-8 bytes
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string Quote(const std::string& s) { return io::Json(s).dump(); }

}  // namespace

std::string ByteLevelTokenizerJson(int64_t vocab_size) {
  QF_CHECK(vocab_size >= kByteLevelMinVocab);
  const int64_t bos = vocab_size - 2, eos = vocab_size - 1;
  auto special = [](int64_t id, const char* text) {
    return fmt::format(R"(    {{"id": {}, "content": "{}", "single_word": false, "lstrip": false, "rstrip": false, )"
                       R"("normalized": false, "special": true}})", id, text);
  };
  // Written by hand: an ordered JSON object of 150k keys would be built in quadratic time.
  std::string out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n";
  out += special(bos, "<|begin_of_text|>") + ",\n" + special(eos, "<|end_of_text|>") + "\n  ],\n";
  out += "  \"normalizer\": null,\n";
  out += R"(  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},)";
  out += "\n";
  out += fmt::format(
      R"(  "post_processor": {{"type": "TemplateProcessing", "single": [{{"SpecialToken": {{"id": "<|begin_of_text|>", )"
      R"("type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}}], "pair": [{{"SpecialToken": {{"id": )"
      R"("<|begin_of_text|>", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}}, {{"Sequence": {{"id": )"
      R"("B", "type_id": 1}}}}], "special_tokens": {{"<|begin_of_text|>": {{"id": "<|begin_of_text|>", "ids": [{}], )"
      R"("tokens": ["<|begin_of_text|>"]}}}}}},)",
      bos);
  out += "\n";
  out += R"(  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},)";
  out += "\n";
  out += R"(  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, )"
         R"("end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,)";
  out += "\n    \"vocab\": {\n";
  for (int64_t id = 0; id < vocab_size; ++id) {
    std::string text = id < 256 ? ByteToken(static_cast<int>(id))
                       : id == bos ? "<|begin_of_text|>"
                       : id == eos ? "<|end_of_text|>"
                                   : fmt::format("<|synth_unused_{}|>", id);
    out += fmt::format("      {}: {}{}\n", Quote(text), id, id + 1 < vocab_size ? "," : "");
  }
  out += "    },\n    \"merges\": []\n  }\n}\n";
  return out;
}

}  // namespace qforge::hf
