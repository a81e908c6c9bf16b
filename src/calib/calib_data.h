// Calibration samples for GPTQ / SmoothQuant: token windows cut from a text file and shuffled reproducibly.
//
// Input file (--calib FILE), at most kMaxCalibFileBytes:
//   * JSON lines (".jsonl", or a first non-blank character '{'): one object per line with a string field
//     "text"; blank lines are skipped; every other line must parse and have "text".
//   * anything else: plain UTF-8 text, one document.
// Documents are tokenized (no special tokens) and their token streams concatenated, up to a budget of
// kTokenBudgetFactor * num_samples * seq_len tokens (so a huge file costs bounded time). The stream is cut
// into non-overlapping windows of seq_len tokens (seq_len - 1 plus BOS when the tokenizer adds BOS); the
// windows are shuffled with a Fisher-Yates shuffle driven by std::mt19937_64(seed) (fully specified, so
// the same seed gives the same samples on every platform); the first num_samples are kept. A text shorter
// than one window gives one shorter sample; fewer windows than num_samples gives all of them (reported).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::tokenizer {
class Tokenizer;
}

namespace qforge::calib {

inline constexpr uint64_t kMaxCalibFileBytes = uint64_t{4} << 30;  // 4 GiB: far above useful calibration sets
inline constexpr size_t kMaxJsonLineBytes = size_t{64} << 20;       // one JSON line
inline constexpr int64_t kTokenBudgetFactor = 8;                   // tokens tokenized per token needed
inline constexpr int64_t kMinSampleTokens = 8;                     // a shorter calibration text is an error
inline constexpr int64_t kMaxSamples = 1 << 20;
inline constexpr int64_t kMaxSeqLen = 1 << 20;

struct CalibDataOptions {
  std::string path;  // required: there is no built-in calibration set
  int64_t num_samples = 128;
  int64_t seq_len = 2048;
  uint64_t seed = 42;
};

struct CalibData {
  std::vector<std::vector<int32_t>> samples;
  int64_t tokens_read = 0;        // tokens in the stream that windows were cut from
  int64_t windows_available = 0;  // windows before choosing num_samples
  bool jsonl = false;
  int64_t total_tokens() const;
};

using EncodeFn = std::function<std::vector<int32_t>(std::string_view)>;

// Throws qforge::Error when the path is empty (saying what to pass), unreadable, malformed, or too short.
CalibData LoadCalibData(const CalibDataOptions& options, const tokenizer::Tokenizer& tok);
// The same with an explicit encoder (tests).
CalibData LoadCalibData(const CalibDataOptions& options, const EncodeFn& encode, std::optional<int32_t> bos);

// Reads the documents of a calibration file (plain text: one document; JSON lines: one per line).
std::vector<std::string> ReadCalibDocuments(const std::string& path, bool* jsonl);

// Deterministic Fisher-Yates permutation of 0..n-1 from mt19937_64(seed).
std::vector<int64_t> ShuffledIndices(int64_t n, uint64_t seed);

}  // namespace qforge::calib
