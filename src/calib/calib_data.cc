#include "calib/calib_data.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>

#include "core/error.h"
#include "io/json_util.h"
#include "tokenizer/tokenizer.h"

namespace qforge::calib {
namespace {

constexpr char kWhatToPass[] =
    "pass --calib FILE with text that is not your evaluation text (plain UTF-8 text, or JSON lines with a "
    "\"text\" field), e.g. --calib ../shared/data/tinystories_sample.txt";

// Plain text is tokenized in pieces cut at line ends so the budget can stop early on huge files.
constexpr size_t kPlainPieceBytes = size_t{1} << 16;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) Fail("{}: cannot open the calibration file; {}", path, kWhatToPass);
  const std::streamoff size = in.tellg();
  if (size < 0) Fail("{}: cannot read the calibration file", path);
  if (static_cast<uint64_t>(size) > kMaxCalibFileBytes) {
    Fail("{}: calibration file is {} bytes; expected at most {} (a few MB of text is plenty)", path,
         static_cast<uint64_t>(size), kMaxCalibFileBytes);
  }
  std::string s(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(s.data(), size);
  if (!in) Fail("{}: short read of the calibration file", path);
  return s;
}

bool LooksLikeJsonl(const std::string& path, const std::string& text) {
  if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0) return true;
  const size_t p = text.find_first_not_of(" \t\r\n");
  return p != std::string::npos && text[p] == '{';
}

}  // namespace

int64_t CalibData::total_tokens() const {
  int64_t n = 0;
  for (const auto& s : samples) n += static_cast<int64_t>(s.size());
  return n;
}

std::vector<std::string> ReadCalibDocuments(const std::string& path, bool* jsonl) {
  const std::string text = ReadAll(path);
  std::vector<std::string> docs;
  *jsonl = LooksLikeJsonl(path, text);
  if (!*jsonl) {
    docs.push_back(text);
    return docs;
  }
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string ctx = fmt::format("{}: line {}", path, line_no);
    if (line.size() > kMaxJsonLineBytes) Fail("{}: {} bytes; expected at most {}", ctx, line.size(), kMaxJsonLineBytes);
    const io::Json j = io::ParseJson(std::string(line), ctx);
    if (!j.is_object()) Fail("{}: expected a JSON object with a \"text\" field, got {}", ctx, io::TypeName(j));
    docs.push_back(io::GetString(j, "text", ctx));
  }
  return docs;
}

std::vector<int64_t> ShuffledIndices(int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    // Unbiased draw in [0, i] by rejection (std::uniform_int_distribution is implementation-defined).
    const uint64_t bound = static_cast<uint64_t>(i) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do {
      r = rng();
    } while (r >= limit);
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(r % bound)]);
  }
  return idx;
}

CalibData LoadCalibData(const CalibDataOptions& o, const EncodeFn& encode, std::optional<int32_t> bos) {
  if (o.path.empty()) Fail("calibration data is required for this algorithm: {}", kWhatToPass);
  if (o.num_samples < 1 || o.num_samples > kMaxSamples) {
    Fail("--calib-samples {}: expected 1 to {}", o.num_samples, kMaxSamples);
  }
  const int64_t min_len = bos ? kMinSampleTokens + 1 : kMinSampleTokens;
  if (o.seq_len < min_len || o.seq_len > kMaxSeqLen) Fail("--seq-len {}: expected {} to {}", o.seq_len, min_len, kMaxSeqLen);

  CalibData out;
  const std::vector<std::string> docs = ReadCalibDocuments(o.path, &out.jsonl);
  const int64_t body = bos ? o.seq_len - 1 : o.seq_len;
  const int64_t budget = kTokenBudgetFactor * o.num_samples * body;
  std::vector<int32_t> stream;
  for (const std::string& doc : docs) {
    if (static_cast<int64_t>(stream.size()) >= budget) break;
    if (out.jsonl) {
      const std::vector<int32_t> t = encode(doc);
      stream.insert(stream.end(), t.begin(), t.end());
      continue;
    }
    size_t pos = 0;
    while (pos < doc.size() && static_cast<int64_t>(stream.size()) < budget) {
      size_t end = std::min(doc.size(), pos + kPlainPieceBytes);
      if (end < doc.size()) {
        const size_t nl = doc.rfind('\n', end);
        if (nl != std::string::npos && nl > pos) end = nl + 1;
      }
      const std::vector<int32_t> t = encode(std::string_view(doc).substr(pos, end - pos));
      stream.insert(stream.end(), t.begin(), t.end());
      pos = end;
    }
  }
  out.tokens_read = static_cast<int64_t>(stream.size());
  if (out.tokens_read < kMinSampleTokens) {
    Fail("{}: only {} tokens of calibration text; expected at least {}; {}", o.path, out.tokens_read,
         kMinSampleTokens, kWhatToPass);
  }
  const int64_t windows = std::max<int64_t>(1, out.tokens_read / body);
  out.windows_available = windows;
  const std::vector<int64_t> order = ShuffledIndices(windows, o.seed);
  const int64_t take = std::min(windows, o.num_samples);
  for (int64_t i = 0; i < take; ++i) {
    const int64_t w = order[static_cast<size_t>(i)];
    const int64_t begin = w * body, end = std::min(out.tokens_read, begin + body);
    std::vector<int32_t> s;
    s.reserve(static_cast<size_t>(end - begin + 1));
    if (bos) s.push_back(*bos);
    s.insert(s.end(), stream.begin() + begin, stream.begin() + end);
    out.samples.push_back(std::move(s));
  }
  return out;
}

CalibData LoadCalibData(const CalibDataOptions& options, const tokenizer::Tokenizer& tok) {
  std::optional<int32_t> bos;
  if (tok.add_bos()) bos = tok.bos_id();
  return LoadCalibData(options, [&](std::string_view t) { return tok.Encode(t); }, bos);
}

}  // namespace qforge::calib
