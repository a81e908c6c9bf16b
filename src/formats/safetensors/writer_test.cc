// Hugging Face sharding: shard plan, file names, index.json content, reading sharded checkpoints back.
#include "formats/safetensors/writer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "formats/safetensors/checkpoint.h"
#include "formats/safetensors/test_util.h"
#include "io/mapped_file.h"

namespace qforge::safetensors {
namespace {

using testing::ScratchDir;

// F32 vectors of n elements: 4n bytes each.
std::vector<TensorSpec> Specs(std::initializer_list<std::pair<const char*, int64_t>> rows) {
  std::vector<TensorSpec> out;
  for (auto [name, n] : rows) out.push_back({name, DType::kF32, {n}});
  return out;
}

// Every byte of tensor `name` is derived from the name, so a misplaced tensor shows.
void Produce(const TensorSpec& s, io::ByteSink& out) {
  std::vector<uint8_t> b(SpecBytes(s));
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(s.name.size() * 31 + s.name.back() + i);
  out.Write(b.data(), b.size());
}

TEST(Sharding, GreedyInOrderLikeHuggingFace) {
  // limit 40 bytes: a(16) b(16) | c(16) | big(48, alone, numbered before the open shard) ... d(8) joins c.
  const auto specs = Specs({{"a", 4}, {"b", 4}, {"c", 4}, {"big", 12}, {"d", 2}, {"e", 10}});
  const auto plan = PlanShards(specs, 40);
  EXPECT_EQ(plan, (std::vector<std::vector<size_t>>{{0, 1}, {3}, {2, 4}, {5}}));
  EXPECT_EQ(PlanShards(specs, 1'000'000), (std::vector<std::vector<size_t>>{{0, 1, 2, 3, 4, 5}}));
  EXPECT_EQ(PlanShards({}, 10).size(), 1u);  // an empty checkpoint is one empty file
}

TEST(Sharding, FileNames) {
  EXPECT_EQ(ShardFileName(1, 1), "model.safetensors");
  EXPECT_EQ(ShardFileName(2, 3), "model-00002-of-00003.safetensors");
  EXPECT_EQ(ShardFileName(12, 100000), "model-00012-of-100000.safetensors");
}

TEST(Sharding, WritesShardsAndIndexAndReadsThemBack) {
  ScratchDir dir("shard");
  const auto specs = Specs({{"model.embed", 6}, {"model.b", 3}, {"model.a", 3}, {"lm_head", 6}});
  WriteCheckpoint(dir.path(), specs, 24, Produce);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files.push_back(e.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                             "model-00003-of-00003.safetensors", "model.safetensors.index.json"}));
  EXPECT_EQ(io::ReadTextFile(dir / "model.safetensors.index.json"),
            "{\n"
            "  \"metadata\": {\n"
            "    \"total_size\": 72\n"
            "  },\n"
            "  \"weight_map\": {\n"
            "    \"lm_head\": \"model-00003-of-00003.safetensors\",\n"
            "    \"model.a\": \"model-00002-of-00003.safetensors\",\n"
            "    \"model.b\": \"model-00002-of-00003.safetensors\",\n"
            "    \"model.embed\": \"model-00001-of-00003.safetensors\"\n"
            "  }\n"
            "}\n");
  const auto src = OpenCheckpoint(dir.path());
  EXPECT_EQ(src->Names(), (std::vector<std::string>{"model.embed", "model.a", "model.b", "lm_head"}));
  for (const auto& s : specs) {
    io::MemorySink expect;
    Produce(s, expect);
    const Tensor t = src->Get(s.name);
    ASSERT_EQ(t.nbytes(), expect.bytes().size());
    EXPECT_EQ(std::memcmp(t.bytes(), expect.bytes().data(), t.nbytes()), 0) << s.name;
  }
  EXPECT_EQ(OpenCheckpointFiles(dir.path()).size(), 3u);
}

TEST(Sharding, OneShardIsModelSafetensorsWithoutIndex) {
  ScratchDir dir("single");
  WriteCheckpoint(dir.path(), Specs({{"x", 3}}), kDefaultMaxShardBytes, Produce);
  EXPECT_TRUE(std::filesystem::exists(dir / "model.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  EXPECT_EQ(OpenCheckpoint(dir.path())->Names(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(OpenCheckpoint(dir / "model.safetensors")->Names(), (std::vector<std::string>{"x"}));
}

TEST(Sharding, FailedWriteLeavesNoCompleteLookingFile) {
  ScratchDir dir("fail");
  const auto specs = Specs({{"a", 4}, {"b", 4}});
  EXPECT_THROW(WriteCheckpoint(dir.path(), specs, 1'000,
                               [](const TensorSpec& s, io::ByteSink& out) {
                                 if (s.name == "b") throw Error("producer failed");
                                 out.WriteZeros(SpecBytes(s));
                               }),
               Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the temp file was removed, nothing renamed into place
}

TEST(Sharding, RejectsDuplicateNamesAndNonSafetensorsTypes) {
  io::MemorySink sink;
  EXPECT_THROW(WriteFile(sink, Specs({{"a", 1}, {"a", 1}}), Produce), Error);
  EXPECT_THROW(WriteFile(sink, {{"q", DType::kQ4_K, {256}}}, Produce), Error);
}

}  // namespace
}  // namespace qforge::safetensors
