#include "io/mapped_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"

namespace qforge::io {
namespace {

TEST(MappedFile, MapsContentAndReportsMissingFile) {
  const std::string path = ::testing::TempDir() + "/mapped_file_test.bin";
  WriteFileAtomically(path, std::string("abc\0def", 7));
  auto f = MappedFile::Open(path);
  ASSERT_EQ(f->size(), 7u);
  EXPECT_EQ(static_cast<char>(f->data()[4]), 'd');
  try {
    MappedFile::Open(path + ".missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(".missing: cannot open"), std::string::npos) << e.what();
  }
}

// RssFile from /proc/self/status in KiB (file-backed resident pages of this process), -1 if unavailable.
long RssFileKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RssFile:", 0) == 0) return std::stol(line.substr(8));
  }
  return -1;
}

TEST(MappedFile, ReleasePagesDropsResidentPagesAndKeepsContent) {
  constexpr size_t kBytes = size_t{8} << 20;
  // Released pages stop counting at once; allow for other file pages the process touches meanwhile.
  constexpr long kMinDropKiB = 4 << 10;
  const std::string path = ::testing::TempDir() + "/mapped_file_release.bin";
  std::string content(kBytes, '\0');
  for (size_t i = 0; i < kBytes; ++i) content[i] = static_cast<char>(i * 131 % 251);
  WriteFileAtomically(path, content);
  auto f = MappedFile::Open(path);
  auto sum = [&] {
    uint64_t s = 0;
    for (size_t i = 0; i < kBytes; ++i) s += static_cast<unsigned char>(f->data()[i]);
    return s;
  };
  const uint64_t want = sum();  // touches every page
  const long before = RssFileKiB();
  EXPECT_GE(ReleaseMappedPages(f->data(), kBytes), kBytes - 8192);
  const long after = RssFileKiB();
  if (before >= 0) {
    EXPECT_GE(before - after, kMinDropKiB) << before << " -> " << after;
  }
  EXPECT_EQ(sum(), want);  // faulted back in from the file
  EXPECT_EQ(ReleaseMappedPages(f->data(), kBytes + 1), 0u);  // not inside the mapping
  EXPECT_GE(ReleaseAllMappedPages(), kBytes - 8192);
  EXPECT_EQ(sum(), want);

  // Memory outside every mapping is never dropped.
  std::vector<char> heap(size_t{1} << 20, 7);
  EXPECT_EQ(ReleaseMappedPages(heap.data(), heap.size()), 0u);
  EXPECT_EQ(heap[heap.size() / 2], 7);
  const std::byte* gone = f->data();
  f.reset();
  EXPECT_EQ(ReleaseMappedPages(gone, 4096), 0u);
}

}  // namespace
}  // namespace qforge::io
