#include "core/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace qforge {
namespace {

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(Progress, PlainOutputEndsWithSummaryLine) {
  ::unsetenv("QFORGE_PROGRESS");  // the test scripts silence progress globally; this test needs it on
  std::FILE* f = std::tmpfile();
  {
    Progress p("quantize", 10, "tensors", f);
    for (int i = 0; i < 10; ++i) p.Add(1);
  }
  const std::string s = ReadAll(f);
  std::fclose(f);
  EXPECT_NE(s.find("quantize: 100% 10/10 tensors"), std::string::npos) << s;
  EXPECT_NE(s.find(" in "), std::string::npos) << s;
  EXPECT_EQ(s.find('\r'), std::string::npos) << "no terminal control codes when not a TTY";
}

TEST(Progress, SilencedByEnvironment) {
  ::setenv("QFORGE_PROGRESS", "0", 1);
  std::FILE* f = std::tmpfile();
  {
    Progress p("quiet", 3, "x", f);
    p.Add(3);
  }
  EXPECT_EQ(ReadAll(f), "");
  std::fclose(f);
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(Progress::FormatDuration(12.34), "12.3s");
  EXPECT_EQ(Progress::FormatDuration(83), "1m23s");
  EXPECT_EQ(Progress::FormatDuration(7260), "2h01m");
}

}  // namespace
}  // namespace qforge
