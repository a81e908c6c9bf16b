// Runs the built qforge binary: `inspect` on the bundled model and on a truncated copy (exit code and a
// one-line error naming the file).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "formats/safetensors/test_util.h"

namespace qforge::hf {
namespace {

using safetensors::testing::ReadBytes;
using safetensors::testing::ScratchDir;
using safetensors::testing::WriteBytes;

const std::string kQforge = std::string(QFORGE_BINARY_DIR) + "/tools/qforge/qforge";
const std::string kBundled = std::string(QFORGE_REPO_DIR) + "/models/TinyStories-656K";

struct CliRun {
  int code;
  std::string out, err;
};

CliRun RunQforge(const std::string& args, const ScratchDir& dir) {
  const std::string out = dir / "stdout", err = dir / "stderr";
  const std::string cmd = kQforge + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

class InspectCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kQforge)) << kQforge << " is missing: build the qforge target first";
  }
};

TEST_F(InspectCli, BundledModel) {
  ScratchDir dir("cli-ok");
  const CliRun r = RunQforge("inspect " + kBundled + " --json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"num_parameters\": 656000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"tied_embeddings\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"architecture\": \"llama\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"num_layers\": 2"), std::string::npos) << r.out;
}

TEST_F(InspectCli, TruncatedFileExitsNonZeroWithOneLine) {
  ScratchDir dir("cli-trunc");
  auto bytes = ReadBytes(kBundled + "/model.safetensors");
  bytes.resize(bytes.size() - 1000);
  const std::string path = dir / "model.safetensors";
  WriteBytes(path, bytes);
  const CliRun r = RunQforge("inspect " + path, dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err, "qforge: error: " + path +
                       ": truncated: the header describes 2624000 bytes of tensor data but only 2623000 follow it "
                       "(file 2625168 bytes; data_offsets out of range). Perhaps an incomplete download?\n");
}

TEST_F(InspectCli, HeaderCutShortAndMissingPath) {
  ScratchDir dir("cli-short");
  auto bytes = ReadBytes(kBundled + "/model.safetensors");
  bytes.resize(100);
  WriteBytes(dir / "m.safetensors", bytes);
  CliRun r = RunQforge("inspect " + (dir / "m.safetensors"), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("header length 2160 runs past the end of the file (100 bytes)"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = RunQforge("inspect " + (dir / "nothing"), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no such file or directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qforge::hf
