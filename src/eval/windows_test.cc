#include "eval/windows.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/error.h"

namespace qforge::eval {
namespace {

TEST(Windows, ChunksAreNonOverlappingAndTheTailIsDropped) {
  WindowOptions o;
  o.n_ctx = 8;
  const WindowPlan p = PlanWindows(8 * 3 + 5, o, "t");
  EXPECT_EQ(p.n_chunk, 3);
  EXPECT_EQ(p.first, 4);
  EXPECT_EQ(p.scored_per_chunk, 3);  // positions 5, 6, 7
  EXPECT_EQ(p.scored_total(), 9);
}

TEST(Windows, ChunkLimitAndFullScoring) {
  WindowOptions o;
  o.n_ctx = 8;
  o.max_chunks = 2;
  o.score_all = true;
  const WindowPlan p = PlanWindows(100, o, "t");
  EXPECT_EQ(p.n_chunk, 2);
  EXPECT_EQ(p.first, 0);
  EXPECT_EQ(p.scored_per_chunk, 7);
  o.max_chunks = 50;  // more than the text holds: all 12
  EXPECT_EQ(PlanWindows(100, o, "t").n_chunk, 12);
}

TEST(Windows, OddContextUsesIntegerHalf) {
  WindowOptions o;
  o.n_ctx = 9;
  const WindowPlan p = PlanWindows(18, o, "t");
  EXPECT_EQ(p.first, 4);
  EXPECT_EQ(p.scored_per_chunk, 4);
}

TEST(Windows, RejectsShortTextsAndBadOptions) {
  WindowOptions o;
  o.n_ctx = 8;
  EXPECT_THROW(PlanWindows(15, o, "t"), Error);  // needs 2·n_ctx
  EXPECT_NO_THROW(PlanWindows(16, o, "t"));
  o.n_ctx = 2;
  EXPECT_THROW(PlanWindows(1000, o, "t"), Error);
  o.n_ctx = 8;
  o.max_chunks = 0;
  EXPECT_THROW(PlanWindows(1000, o, "t"), Error);
}

TEST(Windows, FirstTokenOfEachWindowBecomesBos) {
  std::vector<int32_t> tokens(20);
  std::iota(tokens.begin(), tokens.end(), 100);
  WindowOptions o;
  o.n_ctx = 6;
  o.bos_id = 1;
  const WindowPlan p = PlanWindows(static_cast<int64_t>(tokens.size()), o, "t");
  std::vector<int32_t> w;
  FillWindow(tokens, p, 2, &w);
  EXPECT_EQ(w, (std::vector<int32_t>{1, 113, 114, 115, 116, 117}));
  EXPECT_EQ(tokens[12], 112);  // the text itself is untouched
  o.bos_id.reset();
  FillWindow(tokens, PlanWindows(20, o, "t"), 1, &w);
  EXPECT_EQ(w, (std::vector<int32_t>{106, 107, 108, 109, 110, 111}));
}

}  // namespace
}  // namespace qforge::eval
