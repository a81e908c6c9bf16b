#include "calib/calib_data.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "calib/activation_range.h"
#include "core/error.h"

namespace qforge::calib {
namespace {

// One token per byte: makes windows easy to check.
std::vector<int32_t> ByteEncode(std::string_view s) { return std::vector<int32_t>(s.begin(), s.end()); }

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CalibData, NoFileSaysWhatToPass) {
  CalibDataOptions o;
  try {
    LoadCalibData(o, ByteEncode, std::nullopt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--calib FILE"), std::string::npos) << e.what();
  }
}

TEST(CalibData, PlainTextWindowsShuffledReproducibly) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>('a' + i % 26);
  CalibDataOptions o;
  o.path = WriteTemp("calib_plain.txt", text);
  o.num_samples = 5;
  o.seq_len = 20;
  o.seed = 7;
  const CalibData a = LoadCalibData(o, ByteEncode, int32_t{1});
  const CalibData b = LoadCalibData(o, ByteEncode, int32_t{1});
  ASSERT_EQ(a.samples.size(), 5u);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.windows_available, 1000 / 19);
  for (const auto& s : a.samples) {
    ASSERT_EQ(s.size(), 20u);
    EXPECT_EQ(s[0], 1);  // BOS
    // Each window is 19 consecutive bytes of the text starting at a multiple of 19.
    const int start = (s[1] - 'a' + 26 * 100) % 26;
    for (size_t k = 1; k < s.size(); ++k) EXPECT_EQ(s[k], 'a' + (start + static_cast<int>(k) - 1) % 26);
  }
  o.seed = 8;
  EXPECT_NE(LoadCalibData(o, ByteEncode, int32_t{1}).samples, a.samples);
  EXPECT_FALSE(a.jsonl);
}

TEST(CalibData, JsonLines) {
  const std::string path =
      WriteTemp("calib.jsonl", "{\"text\": \"hello world\"}\n\n{\"text\": \"abcdefghij\", \"id\": 3}\n");
  CalibDataOptions o;
  o.path = path;
  o.num_samples = 100;
  o.seq_len = 10;
  const CalibData d = LoadCalibData(o, ByteEncode, std::nullopt);
  EXPECT_TRUE(d.jsonl);
  EXPECT_EQ(d.tokens_read, 21);
  EXPECT_EQ(d.samples.size(), 2u);  // fewer windows than asked: all of them
  const std::string bad = WriteTemp("calib_bad.jsonl", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  o.path = bad;
  try {
    LoadCalibData(o, ByteEncode, std::nullopt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(CalibData, TooShortAndBadOptions) {
  CalibDataOptions o;
  o.path = WriteTemp("calib_short.txt", "abc");
  EXPECT_THROW(LoadCalibData(o, ByteEncode, std::nullopt), Error);
  o.path = WriteTemp("calib_ok.txt", std::string(100, 'x'));
  o.seq_len = 2;
  EXPECT_THROW(LoadCalibData(o, ByteEncode, std::nullopt), Error);
  o.seq_len = 16;
  o.num_samples = 0;
  EXPECT_THROW(LoadCalibData(o, ByteEncode, std::nullopt), Error);
  o.path = ::testing::TempDir() + "does_not_exist.txt";
  o.num_samples = 1;
  EXPECT_THROW(LoadCalibData(o, ByteEncode, std::nullopt), Error);
}

TEST(CalibData, ShuffleIsAPermutationAndFixed) {
  const auto p = ShuffledIndices(10, 42);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(p, ShuffledIndices(10, 42));
  EXPECT_NE(p, ShuffledIndices(10, 43));
}

TEST(ActivationRange, MinMax) {
  ActivationRange r(3);
  const float x[] = {1, -2, 0, 3, 5, -1};
  r.Update(x, 2);
  EXPECT_EQ(r.Range(), (std::vector<float>{2, 7, 1}));
  EXPECT_EQ(r.AbsMax(), (std::vector<float>{3, 5, 1}));
  EXPECT_EQ(r.rows_seen(), 2);
}

}  // namespace
}  // namespace qforge::calib
