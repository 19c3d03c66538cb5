// LaneFft against the DFT's definition, evaluated in double precision, in every lane.
#include "common/critic/lane_fft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace dd::critic {
namespace {

class LaneFftSizeTest : public ::testing::TestWithParam<int> {};

TEST_P(LaneFftSizeTest, EveryLaneMatchesTheDefinition) {
  const int n = GetParam();
  std::optional<LaneFft> fft = LaneFft::Create(n);
  ASSERT_TRUE(fft.has_value());
  ASSERT_EQ(fft->size(), n);

  // A different random signal in each lane, so that a lane mix-up cannot cancel out.
  std::mt19937 random(static_cast<unsigned>(n));
  std::normal_distribution<float> normal;
  std::vector<float> input_re(static_cast<size_t>(n * kFftLanes));
  std::vector<float> input_im(input_re.size());
  for (size_t i = 0; i < input_re.size(); ++i) {
    input_re[i] = normal(random);
    input_im[i] = normal(random);
  }
  // Stored in the order the plan asks for; each input element exactly once.
  std::vector<float> re(input_re.size()), im(input_im.size());
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (int slot = 0; slot < n; ++slot) {
    const int j = fft->input_order()[static_cast<size_t>(slot)];
    ASSERT_GE(j, 0);
    ASSERT_LT(j, n);
    ++seen[static_cast<size_t>(j)];
    for (int lane = 0; lane < kFftLanes; ++lane) {
      re[static_cast<size_t>(slot * kFftLanes + lane)] =
          input_re[static_cast<size_t>(j * kFftLanes + lane)];
      im[static_cast<size_t>(slot * kFftLanes + lane)] =
          input_im[static_cast<size_t>(j * kFftLanes + lane)];
    }
  }
  for (int count : seen)
    ASSERT_EQ(count, 1);

  fft->Transform(re.data(), im.data());

  // Float rounding grows like log(n) * sqrt(n) * |x|: 1e-5 * n bounds it loosely for these sizes,
  // while a wrong twiddle or order is off by O(sqrt(n)).
  const double tolerance = 1e-5 * n + 1e-5;
  double worst = 0.0;
  for (int lane = 0; lane < kFftLanes; ++lane) {
    for (int k = 0; k < n; ++k) {
      double want_re = 0.0, want_im = 0.0;
      for (int j = 0; j < n; ++j) {
        const double angle = -2.0 * std::numbers::pi * (static_cast<int64_t>(j) * k % n) / n;
        const double xr = input_re[static_cast<size_t>(j * kFftLanes + lane)];
        const double xi = input_im[static_cast<size_t>(j * kFftLanes + lane)];
        want_re += xr * std::cos(angle) - xi * std::sin(angle);
        want_im += xr * std::sin(angle) + xi * std::cos(angle);
      }
      const size_t at = static_cast<size_t>(k * kFftLanes + lane);
      worst = std::max({worst, std::abs(re[at] - want_re), std::abs(im[at] - want_im)});
    }
  }
  RecordProperty("max_abs_error", std::to_string(worst));
  EXPECT_LT(worst, tolerance);
}

// Every radix alone and mixed, the critic's 200 (400-point frames), and powers of two.
INSTANTIATE_TEST_SUITE_P(Sizes, LaneFftSizeTest,
                         ::testing::Values(1, 2, 3, 4, 5, 7, 6, 8, 12, 16, 25, 30, 49, 64, 100, 105,
                                           128, 200, 210, 256, 512));

TEST(LaneFftTest, SizesWithAPrimeFactorAboveSevenHaveNoPlan) {
  EXPECT_FALSE(LaneFft::Create(0).has_value());
  EXPECT_FALSE(LaneFft::Create(-4).has_value());
  EXPECT_FALSE(LaneFft::Create(11).has_value());
  EXPECT_FALSE(LaneFft::Create(2 * 13).has_value());
  EXPECT_FALSE(LaneFft::Create(199).has_value());
}

}  // namespace
}  // namespace dd::critic
