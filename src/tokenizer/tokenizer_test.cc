// Unit tests that run under the sanitizers too (small inputs only). Expected ids for the bundled
// TinyStories tokenizer were recorded once from the oracle (tests/oracle/tokenize.mjs, @lenml/tokenizers);
// the synthetic vocabularies are small enough to check by hand.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_nfc.h"

namespace qforge::tokenizer {
namespace {

const std::string kTinyStories = std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K";

TEST(TinyStoriesTokenizer, MatchesRecordedOracleIds) {
  const auto tok = Tokenizer::FromHfDir(kTinyStories);
  EXPECT_EQ(tok->vocab_size(), 2048);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->Encode("Once upon a time, there was a little girl named Lily."),
            (std::vector<int32_t>{80, 147, 201, 282, 215, 286, 598, 629, 10}));
  EXPECT_EQ(tok->EncodeWithSpecial("Hello world"), (std::vector<int32_t>{1, 80, 1288, 139, 410, 555}));
  // Added tokens split the text; each text section gets its own "▁" prefix.
  EXPECT_EQ(tok->Encode("<|start_story|>Hi <|end_story|>"), (std::vector<int32_t>{1, 80, 1158, 80, 2}));
  EXPECT_EQ(tok->Encode("  two  spaces\n"), (std::vector<int32_t>{80, 80, 80, 1209, 80, 415, 53, 1499, 3}));
  // No byte tokens in this vocabulary: unknown characters become <unk> (0), runs fused.
  EXPECT_EQ(tok->Encode("caf\u00e9 \u4e2d"), (std::vector<int32_t>{80, 295, 58, 0, 80, 0}));
  EXPECT_EQ(tok->Encode(""), std::vector<int32_t>{});
  EXPECT_EQ(tok->TokenText(80), "\u2581");
}

TEST(TinyStoriesTokenizer, DecodeInvertsEncode) {
  const auto tok = Tokenizer::FromHfDir(kTinyStories);
  for (const std::string text : {"Once upon a time, there was a little girl named Lily.", " lead and trail  ",
                                 "Tom said: \"Yes!\"\n\nThe end.", "a"}) {
    EXPECT_EQ(tok->Decode(tok->Encode(text)), text);
  }
  const std::vector<int32_t> bad = {5, 99999};
  EXPECT_THROW(tok->Decode(bad), Error);
  EXPECT_THROW(tok->TokenText(-1), Error);
}

TEST(TinyStoriesTokenizer, ToVocabDescribesSentencePieceVocabulary) {
  const Vocab v = Tokenizer::FromHfDir(kTinyStories)->ToVocab();
  EXPECT_EQ(v.model, "llama");
  ASSERT_EQ(v.tokens.size(), 2048u);
  ASSERT_EQ(v.scores.size(), 2048u);
  EXPECT_EQ(v.token_types[0], kTokenUnknown);
  EXPECT_EQ(v.token_types[1], kTokenControl);
  EXPECT_EQ(v.token_types[80], kTokenNormal);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_LT(v.scores[1288], 0.0f);  // "Hell" is made by a merge: score = -rank
}

// A byte-level vocabulary: the 256 byte characters (id = byte), merges "Ġ t", "h e", "Ġt he", and a control token.
Vocab TinyByteLevelVocab() {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt2";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(BytesToByteLevel(std::string(1, static_cast<char>(b))));
  v.tokens.insert(v.tokens.end(), {"\u0120t", "he", "\u0120the", "<|eot|>"});
  v.token_types.assign(v.tokens.size(), kTokenNormal);
  v.token_types[259] = kTokenControl;
  v.merges = {"\u0120 t", "h e", "\u0120t he"};
  v.eos_id = 259;
  return v;
}

TEST(ByteLevelVocab, MergesByRankAndMatchesControlTokens) {
  const auto tok = Tokenizer::FromVocab(TinyByteLevelVocab());
  const std::vector<int32_t> ids = tok->Encode(" the cat<|eot|>");
  EXPECT_EQ(ids, (std::vector<int32_t>{258, ' ', 'c', 'a', 't', 259}));
  EXPECT_EQ(tok->Decode(ids), " the cat<|eot|>");
  // Arbitrary bytes survive, invalid UTF-8 included.
  const std::string binary = "\xff\xfe\n\t\x01 x\xc3";
  EXPECT_EQ(tok->Decode(tok->Encode(binary)), binary);
  const Vocab back = tok->ToVocab();
  EXPECT_EQ(back.model, "gpt2");
  EXPECT_EQ(back.merges, TinyByteLevelVocab().merges);
}

TEST(SentencePieceVocab, MergesByScoreWithByteFallback) {
  Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.token_types = {kTokenUnknown, kTokenControl, kTokenControl};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(fmt::format("<0x{:02X}>", b));
    v.token_types.push_back(kTokenByte);
  }
  v.tokens.insert(v.tokens.end(), {"\u2581", "a", "b", "\u2581a", "ab", "\u2581ab"});  // ids 259..264
  v.token_types.resize(v.tokens.size(), kTokenNormal);
  v.scores.assign(v.tokens.size(), 0.0f);
  v.scores[262] = -1.0f, v.scores[263] = -2.0f, v.scores[264] = -0.5f;
  v.bos_id = 1, v.eos_id = 2, v.unk_id = 0, v.add_bos = true;
  const auto tok = Tokenizer::FromVocab(v);
  // "▁ab": "▁a" (-1) beats "ab" (-2), then "▁a"+"b" makes "▁ab".
  EXPECT_EQ(tok->Encode("ab"), std::vector<int32_t>{264});
  EXPECT_EQ(tok->EncodeWithSpecial("ab"), (std::vector<int32_t>{1, 264}));
  // "é" is not a token: its UTF-8 bytes C3 A9 are spelled with byte tokens.
  EXPECT_EQ(tok->Encode("\u00e9"), (std::vector<int32_t>{259, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok->Decode(tok->Encode("\u00e9 ab")), "\u00e9 ab");
  EXPECT_EQ(tok->Encode("a</s>"), (std::vector<int32_t>{262, 2}));
}

TEST(SentencePieceVocab, CharacterWithoutByteTokensIsOneUnknown) {
  // TinyStories-656K has byte_fallback but no byte tokens. Through its GGUF vocabulary (ToVocab → FromVocab,
  // what `qforge convert` writes) a character outside the vocabulary is one <unk>, as Hugging Face encodes it
  // (TinyStoriesTokenizer.MatchesRecordedOracleIds), not one <unk> per UTF-8 byte.
  const auto hf = Tokenizer::FromHfDir(kTinyStories);
  const auto gguf = Tokenizer::FromVocab(hf->ToVocab());
  EXPECT_EQ(gguf->Encode("caf\u00e9 \u4e2d"), (std::vector<int32_t>{80, 295, 58, 0, 80, 0}));
  EXPECT_EQ(gguf->Encode("caf\u00e9 \U0001F600 ok"), hf->Encode("caf\u00e9 \U0001F600 ok"));
}

TEST(Nfc, ComposesReordersAndKeepsInvalidBytes) {
  EXPECT_EQ(Nfc("cafe\u0301"), "caf\u00e9");
  EXPECT_EQ(Nfc("A\u030a"), "\u00c5");
  EXPECT_EQ(Nfc("\u212b"), "\u00c5");                       // singleton decomposition
  EXPECT_EQ(Nfc("\u1e9b\u0323"), "\u1e9b\u0323");           // ẛ̣ stays (UAX #15 example)
  EXPECT_EQ(Nfc("q\u0307\u0323"), "q\u0323\u0307");         // canonical reordering
  EXPECT_EQ(Nfc("\u1100\u1161\u11a8"), "\uac01");           // Hangul L V T
  EXPECT_EQ(Nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(Nfc("x\xff\u0301"), "x\xff\u0301");             // invalid byte passes through, blocks nothing
}

TEST(ByteLevelMap, IsABijection) {
  for (int b = 0; b < 256; ++b) {
    const auto cp = ByteToCodePoint(static_cast<uint8_t>(b));
    EXPECT_EQ(CodePointToByte(cp), b);
  }
  EXPECT_EQ(ByteToCodePoint(' '), 0x120u);
  EXPECT_EQ(ByteToCodePoint('\n'), 0x10Au);
  EXPECT_EQ(ByteToCodePoint('A'), static_cast<char32_t>('A'));
}

TEST(TokenizerJson, RejectsUnsupportedAndMalformedFiles) {
  const std::string dir = std::string(QFORGE_BINARY_DIR) + "/tokenizer_test_tmp";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/tokenizer.json";
  auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write(R"({"model": {"type": "Unigram", "vocab": []}})");
  EXPECT_THROW(Tokenizer::FromTokenizerJson(path), Error);
  write(R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})");
  EXPECT_THROW(Tokenizer::FromTokenizerJson(path), Error);
  write(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["nospace"]}})");
  EXPECT_THROW(Tokenizer::FromTokenizerJson(path), Error);
  write(R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"},
            "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
  EXPECT_THROW(Tokenizer::FromTokenizerJson(path), Error);
  write(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
  const auto tok = Tokenizer::FromTokenizerJson(path);
  EXPECT_EQ(tok->Encode("abab"), (std::vector<int32_t>{2, 2}));
  EXPECT_THROW(tok->Encode("c"), Error);  // not in the vocabulary, no unk_token, no byte fallback
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qforge::tokenizer
