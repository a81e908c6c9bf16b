#include "io/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/mapped_file.h"

namespace qforge::io {
namespace {
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("qforge_io_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(AtomicFile, CommitMakesFileAppear) {
  const auto dir = TempDir("commit");
  const std::string path = (dir / "out.bin").string();
  {
    AtomicFile f(path);
    f.Write("hello", 5);
    EXPECT_FALSE(fs::exists(path)) << "nothing at the final path before Commit";
    f.Commit();
  }
  EXPECT_EQ(ReadTextFile(path), "hello");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1) << "no temp left";
  fs::remove_all(dir);
}

TEST(AtomicFile, AbandonedWriteLeavesNothingAndKeepsOldFile) {
  const auto dir = TempDir("abandon");
  const std::string path = (dir / "out.bin").string();
  WriteFileAtomically(path, "old");
  {
    AtomicFile f(path);
    f.Write("new-but-failed", 14);
  }  // no Commit: simulated failure
  EXPECT_EQ(ReadTextFile(path), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
  fs::remove_all(dir);
}

TEST(AtomicDir, StagesThenRenames) {
  const auto base = TempDir("dir");
  const std::string out = (base / "model").string();
  {
    AtomicDir d(out, false);
    WriteFileAtomically(d.Path("config.json"), "{}");
    EXPECT_FALSE(fs::exists(out));
    d.Commit();
  }
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  EXPECT_THROW(AtomicDir(out, false), Error);  // exists, no overwrite
  {
    AtomicDir d(out, true);
    WriteFileAtomically(d.Path("a.txt"), "x");
  }  // failed run
  EXPECT_TRUE(fs::exists(out + "/config.json")) << "previous output untouched";
  EXPECT_EQ(std::distance(fs::directory_iterator(base), fs::directory_iterator{}), 1) << "staging removed";
  fs::remove_all(base);
}

}  // namespace
}  // namespace qforge::io
