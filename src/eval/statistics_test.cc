#include "eval/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace qforge::eval {
namespace {

TEST(Statistics, MeanAndErrorMatchesTheTextbookStandardError) {
  // 20 values: ten 1s and ten 3s → mean 2, population variance 1, error sqrt(1/19).
  const double sum = 10 * 1.0 + 10 * 3.0, sum2 = 10 * 1.0 + 10 * 9.0;
  const Estimate e = MeanAndError(sum, sum2, 20);
  EXPECT_DOUBLE_EQ(e.value, 2.0);
  EXPECT_NEAR(e.error, std::sqrt(1.0 / 19.0), 1e-15);
}

TEST(Statistics, MeanAndErrorReportsNoErrorForTenOrFewerItems) {
  EXPECT_DOUBLE_EQ(MeanAndError(5 * 1.0 + 5 * 3.0, 5 * 1.0 + 5 * 9.0, 10).error, 0.0);
  EXPECT_GT(MeanAndError(6 * 1.0 + 5 * 3.0, 6 * 1.0 + 5 * 9.0, 11).error, 0.0);
  const Estimate empty = MeanAndError(0, 0, 0);
  EXPECT_EQ(empty.value, 0.0);
  EXPECT_EQ(empty.error, 0.0);
}

TEST(Statistics, CovarianceOfPerfectlyCorrelatedSums) {
  // a = b = {1,3} repeated 10 times: cov = var/(n−1) = 1/19.
  EXPECT_NEAR(Covariance(40, 40, 100, 20), 1.0 / 19.0, 1e-15);
  // b = −a: −1/19.
  EXPECT_NEAR(Covariance(40, -40, -100, 20), -1.0 / 19.0, 1e-15);
  EXPECT_EQ(Covariance(4, 4, 10, 9), 0.0);  // fewer than 10 items
}

TEST(Statistics, PercentileInterpolatesLinearly) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_FLOAT_EQ(Percentile(v, 0.0f), 1.0f);
  EXPECT_FLOAT_EQ(Percentile(v, 1.0f), 10.0f);
  EXPECT_FLOAT_EQ(Percentile(v, 0.9f), 9.1f);   // index 8.1
  EXPECT_FLOAT_EQ(Percentile(v, 0.1f), 1.9f);   // index 0.9
  EXPECT_FLOAT_EQ(Percentile(v, 0.5f), 5.5f);   // index 4.5
  EXPECT_FLOAT_EQ(Percentile(std::vector<float>{7}, 0.99f), 7.0f);
}

TEST(Statistics, MedianOfOddAndEvenSamples) {
  EXPECT_FLOAT_EQ(Median(std::vector<float>{1, 2, 30}), 2.0f);
  EXPECT_FLOAT_EQ(Median(std::vector<float>{1, 2, 4, 30}), 3.0f);
}

}  // namespace
}  // namespace qforge::eval
