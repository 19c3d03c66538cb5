#include "common/stats/statistics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/random/rng.h"
#include "common/stats/svg_histogram.h"

namespace dd::stats {
namespace {

TEST(StudentT975, MatchesTablesAndTendsToTheNormal) {
  EXPECT_NEAR(StudentT975(1), 12.706, 1e-3);
  EXPECT_NEAR(StudentT975(10), 2.228, 1e-3);
  EXPECT_NEAR(StudentT975(24), 2.064, 2e-3);  // 25 listeners.
  EXPECT_NEAR(StudentT975(60), 2.000, 2e-3);
  EXPECT_NEAR(StudentT975(100000), 1.960, 1e-3);
  for (int dof = 2; dof < 200; ++dof)
    EXPECT_LT(StudentT975(dof), StudentT975(dof - 1)) << dof;
}

TEST(MeanInterval, CoversTheTrueMeanAboutNinetyFivePercentOfTheTime) {
  Rng rng(3);
  int covered = 0;
  constexpr int kTrials = 4000;
  for (int t = 0; t < kTrials; ++t) {
    std::vector<double> values;
    for (int i = 0; i < 8; ++i)
      values.push_back(rng.Normal(0.4, 0.2));
    covered += MeanInterval(values).Contains(0.4);
  }
  // Binomial(4000, 0.95) has a standard deviation of 0.34%.
  EXPECT_NEAR(covered / static_cast<double>(kTrials), 0.95, 0.012);
}

TEST(MeanInterval, EdgeCases) {
  EXPECT_EQ(MeanInterval({}).estimate, 0);
  const Interval one = MeanInterval(std::vector<double>{0.3});
  EXPECT_EQ(one.estimate, 0.3);
  EXPECT_TRUE(std::isinf(one.low) && std::isinf(one.high));
  const Interval same = MeanInterval(std::vector<double>{0.5, 0.5, 0.5});
  EXPECT_EQ(same.low, 0.5);
  EXPECT_EQ(same.high, 0.5);
}

TEST(WilsonInterval, KnownValuesAndBounds) {
  // 0 of 10: the upper bound is z^2 / (n + z^2).
  const Interval zero = WilsonInterval(0, 10);
  EXPECT_EQ(zero.low, 0);
  EXPECT_NEAR(zero.high, 3.8415 / 13.8415, 1e-4);
  // 15 of 30 is symmetric around one half.
  const Interval half = WilsonInterval(15, 30);
  EXPECT_NEAR(half.low + half.high, 1.0, 1e-12);
  EXPECT_NEAR(half.high - half.low, 2 * 0.1685, 1e-3);
  const Interval all = WilsonInterval(30, 30);
  EXPECT_NEAR(all.high, 1, 1e-12);
  EXPECT_GT(all.low, 0.85);
  EXPECT_EQ(WilsonInterval(0, 0).high, 1);
}

TEST(WilsonInterval, HoldsItsEstimateExactlyAtNoneAndAll) {
  // ddsim's report once gave 0 of 3 listeners improved a low bound of 5.6e-17, above 0.
  for (int trials = 1; trials <= 500; ++trials) {
    EXPECT_EQ(WilsonInterval(0, trials).low, 0) << trials;
    EXPECT_EQ(WilsonInterval(trials, trials).high, 1) << trials;
    for (int successes : {1, trials / 2, trials - 1}) {
      const Interval interval = WilsonInterval(successes, trials);
      EXPECT_LE(interval.low, interval.estimate) << successes << " of " << trials;
      EXPECT_GE(interval.high, interval.estimate) << successes << " of " << trials;
    }
  }
}

TEST(ShareDifferenceInterval, ContainsZeroForEqualSharesAndNotForFarApartOnes) {
  const Interval same = ShareDifferenceInterval(11, 30, 11, 30);
  EXPECT_EQ(same.estimate, 0);
  EXPECT_TRUE(same.Contains(0));
  const Interval apart = ShareDifferenceInterval(5, 30, 25, 30);
  EXPECT_NEAR(apart.estimate, 20.0 / 30, 1e-12);
  EXPECT_GT(apart.low, 0.3);
  EXPECT_LT(apart.high, 0.9);
  const Interval extreme = ShareDifferenceInterval(30, 30, 0, 30);
  EXPECT_GE(extreme.low, -1);
  EXPECT_LT(extreme.high, -0.8);
}

TEST(Percentile, NearestRank) {
  std::vector<double> values;
  for (int i = 100; i >= 1; --i)
    values.push_back(i);
  EXPECT_EQ(Percentile(values, 0.5), 50);
  EXPECT_EQ(Percentile(values, 0.99), 99);
  EXPECT_EQ(Percentile(values, 1.0), 100);
  EXPECT_EQ(Percentile(values, 0.0), 1);
  EXPECT_EQ(Percentile({}, 0.5), 0);
}

TEST(Histogram, BinsEdgesAndDrawsEveryNonEmptyBin) {
  // 0.3 as 9/30 must land in [0.3, 0.4), and 1.0 in the last bin.
  const std::vector<int> counts = BinCounts({0.0, 9.0 / 30, 0.35, 1.0, 1.5, -2}, 0, 1, 10);
  EXPECT_EQ(counts[0], 2);
  EXPECT_EQ(counts[3], 2);
  EXPECT_EQ(counts[9], 2);
  HistogramChart chart;
  chart.title = "a <title> & more";
  chart.series = {{"first", "#000", {0.1, 0.1, 0.5}}, {"second", "#f00", {0.9}}};
  const std::string svg = RenderHistogramSvg(chart);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("a &lt;title&gt; &amp; more"), std::string::npos);
  EXPECT_NE(svg.find("<title>first: 2</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>first: 1</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>second: 1</title>"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace dd::stats
