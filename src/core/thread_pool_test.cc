#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace qforge {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  for (size_t n : {1u, 7u, 100u, 10007u}) {
    std::vector<std::atomic<int>> hits(n);
    pool.ParallelFor(n, 3, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) hits[i]++;
    });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << i;
  }
}

TEST(ThreadPool, RethrowsWorkerExceptionAndStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.ParallelFor(1000, 1,
                                [](size_t b, size_t) {
                                  if (b > 500) throw std::runtime_error("boom");
                                }),
               std::runtime_error);
  std::atomic<size_t> sum{0};
  pool.ParallelFor(100, 1, [&](size_t b, size_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 100u);
}

TEST(ThreadPool, NestedCallsRunSerially) {
  ThreadPool pool(2);
  std::atomic<size_t> sum{0};
  pool.ParallelFor(8, 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) pool.ParallelFor(10, 1, [&](size_t b2, size_t e2) { sum += e2 - b2; });
  });
  EXPECT_EQ(sum.load(), 80u);
}

}  // namespace
}  // namespace qforge
