// Enumerated malformed safetensors files and indexes (DESIGN.md §3.7). Each must be rejected with a
// qforge::Error whose one-line message names the file and the problem; none may crash (CI runs this
// under ASan/UBSan).
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "formats/safetensors/checkpoint.h"
#include "formats/safetensors/file.h"
#include "formats/safetensors/test_util.h"

namespace qforge::safetensors {
namespace {

using testing::Image;
using testing::ScratchDir;
using testing::WriteBytes;

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  try {
    File::FromBytes(bytes, "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct HostileCase {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* fragment;
};

std::vector<uint8_t> WithLength(uint64_t n, size_t total) {
  std::vector<uint8_t> b(total, ' ');
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
  return b;
}

const std::string kOk = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

std::vector<HostileCase> Cases() {
  return {
      {"shorter than the length prefix", {1, 2, 3}, "too small for the 8-byte header length"},
      {"header length past EOF", WithLength(1000, 64), "header length 1000 runs past the end of the file"},
      {"header length over the limit", WithLength(uint64_t{1} << 40, 64), "exceeds the limit of 100000000"},
      {"zero header length", WithLength(0, 8), "header length is 0"},
      {"invalid JSON", Image(R"({"t":{"dtype":"F32",)", 0), "header is not valid JSON"},
      {"header not an object", Image(R"([1,2])", 0), "header does not start with '{'"},
      {"unknown dtype", Image(R"({"t":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", 8),
       "unknown or unsupported dtype \"F7\""},
      {"shape x dtype mismatch", Image(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       "data_offsets span 8 bytes but shape [3] of F32 needs 12 bytes"},
      {"dims overflow int64", Image(R"({"t":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
       "overflows int64 elements"},
      {"dim above int64", Image(R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,8]}})", 8),
       "shape dimension = 18446744073709551615 is too large"},
      {"bytes overflow uint64", Image(R"({"t":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8),
       "byte size of shape [4611686018427387904] in F64 overflows"},
      {"negative dim", Image(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "is negative"},
      {"duplicate names", Image("{" + kOk + "," + kOk + "}", 8), "duplicate name 't' in header"},
      {"overlapping offsets",
       Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             12),
       "overlap the previous tensor"},
      {"gap between tensors",
       Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
             12),
       "gap before tensor 'b'"},
      {"offsets out of range (truncated)", Image("{" + kOk + "}", 5),
       "truncated: the header describes 8 bytes of tensor data but only 5 follow it"},
      {"offset far out of range", Image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551600,18446744073709551608]}})", 8),
       "gap before tensor 't'"},
      {"end before begin", Image(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "end before begin"},
      {"trailing bytes", Image("{" + kOk + "}", 12), "4 bytes after the last tensor"},
      {"missing data_offsets", Image(R"({"t":{"dtype":"F32","shape":[2]}})", 8),
       "required field \"data_offsets\" is missing"},
      {"shape of wrong JSON type", Image(R"({"t":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", 8),
       "shape is string; expected an array of integers"},
      {"fractional dim", Image(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8),
       "shape dimension is number (2.5); expected a non-negative integer"},
      {"dtype of wrong JSON type", Image(R"({"t":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", 8),
       "dtype is integer; expected a string"},
      {"entry not an object", Image(R"({"t":[1,2]})", 0), "entry is array; expected an object"},
      {"metadata value not a string", Image(R"({"__metadata__":{"format":1}})", 0),
       "__metadata__ value for 'format' is integer; expected a string"},
      {"rank over the limit", Image(R"({"t":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1),
       "shape has rank 9; the limit is 8"},
      {"deep nesting", Image(R"({"__metadata__":{"a":{"b":{"c":[[[1]]]}}}})", 0), "nests deeper than 4 levels"},
      {"data_offsets with three numbers", Image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", 8),
       "expected an array [begin, end]"},
      {"invalid UTF-8 in a name", Image("{\"\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
       "header is not valid JSON"},
  };
}

TEST(SafetensorsHostile, EveryCaseGivesItsOneLineError) {
  const auto cases = Cases();
  EXPECT_GE(cases.size(), 12u);
  for (const auto& c : cases) {
    const std::string msg = ErrorOf(c.bytes);
    EXPECT_NE(msg.find(c.fragment), std::string::npos) << c.name << ": got \"" << msg << "\"";
    EXPECT_EQ(msg.rfind("bad.safetensors: ", 0), 0u) << c.name << ": message must start with the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name << ": message must be one line: " << msg;
  }
}

TEST(SafetensorsHostile, EveryTruncationOfAValidFileIsRejected) {
  const auto good = Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}})", 11);
  EXPECT_NO_THROW(File::FromBytes(good, "good"));
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(File::FromBytes(cut, "cut"), Error) << n;
  }
}

// Random byte edits of a valid two-tensor file: each must parse or throw qforge::Error, never crash
// (meaningful under ASan/UBSan). Deterministic seed; ~3000 variants take milliseconds.
TEST(SafetensorsHostile, RandomByteEditsNeverCrash) {
  const auto good = Image(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}})", 11);
  const std::string alphabet = "{}[]\",:0123456789-.eE \x00\xff";
  std::mt19937 rng(1234);
  int rejected = 0;
  constexpr int kVariants = 3000;
  for (int i = 0; i < kVariants; ++i) {
    auto bytes = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % bytes.size();
      bytes[pos] = (rng() % 2) ? static_cast<uint8_t>(alphabet[rng() % alphabet.size()]) : static_cast<uint8_t>(rng());
    }
    try {
      const auto f = File::FromBytes(bytes, "fuzz");
      for (const auto& t : f->tensors()) (void)f->Get(t.name);
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, kVariants / 2);  // most edits break the file; the test would be idle otherwise
}

// Index cases need files on disk.
std::string IndexError(const std::string& index_json, bool write_shard) {
  ScratchDir dir("hostile-index");
  if (write_shard) WriteBytes(dir / "model-00001-of-00001.safetensors", Image("{" + kOk + "}", 8));
  WriteBytes(dir / "model.safetensors.index.json", std::vector<uint8_t>(index_json.begin(), index_json.end()));
  try {
    OpenCheckpoint(dir.path());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SafetensorsHostile, IndexCases) {
  struct IndexCase { const char* name; std::string json; bool shard; const char* fragment; };
  const std::vector<IndexCase> cases = {
      {"missing shard", R"({"weight_map":{"t":"model-00002-of-00002.safetensors"}})", true,
       "shard 'model-00002-of-00002.safetensors' listed in the index does not exist"},
      {"missing tensor", R"({"weight_map":{"t":"model-00001-of-00001.safetensors","u":"model-00001-of-00001.safetensors"}})",
       true, "tensor 'u' is mapped to shard 'model-00001-of-00001.safetensors', which does not contain it"},
      {"path escape", R"({"weight_map":{"t":"../model-00001-of-00001.safetensors"}})", true,
       "expected a file name in the same directory"},
      {"weight_map wrong type", R"({"weight_map":["t"]})", true, "field \"weight_map\" is array"},
      {"no weight_map", R"({"metadata":{}})", true, "required field \"weight_map\" is missing"},
      {"shard name not a string", R"({"weight_map":{"t":7}})", true, "weight_map entry for 't' is integer"},
      {"invalid JSON", R"({"weight_map":{)", true, "invalid JSON"},
      {"shard itself invalid", R"({"weight_map":{"t":"model-00001-of-00001.safetensors"}})", false,
       "does not exist"},
  };
  for (const auto& c : cases) {
    const std::string msg = IndexError(c.json, c.shard);
    EXPECT_NE(msg.find(c.fragment), std::string::npos) << c.name << ": got \"" << msg << "\"";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name;
  }
}

TEST(SafetensorsHostile, CorruptShardNamesTheShardFile) {
  ScratchDir dir("hostile-shard");
  WriteBytes(dir / "model-00001-of-00001.safetensors", Image("{" + kOk + "}", 3));
  const std::string idx = R"({"weight_map":{"t":"model-00001-of-00001.safetensors"}})";
  WriteBytes(dir / "model.safetensors.index.json", std::vector<uint8_t>(idx.begin(), idx.end()));
  try {
    OpenCheckpoint(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model-00001-of-00001.safetensors: truncated"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsHostile, MissingPaths) {
  ScratchDir dir("hostile-empty");
  EXPECT_THROW(OpenCheckpoint(dir.path()), Error);
  EXPECT_THROW(OpenCheckpoint(dir / "nope.safetensors"), Error);
}

}  // namespace
}  // namespace qforge::safetensors
