#include "io/mapped_file.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace qforge::io
