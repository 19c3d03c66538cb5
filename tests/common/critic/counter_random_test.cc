#include "common/critic/counter_random.h"

#include <gtest/gtest.h>

#include <cmath>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace dd::critic {
namespace {

TEST(CounterNormalTest, IsStandardNormal) {
  const torch::Tensor z = CounterNormal({1000, 1001}, 42);  // An odd count: half a pair is cut.
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{1000, 1001}));
  ASSERT_EQ(z.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.005);
  EXPECT_NEAR(z.std().item<double>(), 1.0, 0.005);
  // Tails as a Gaussian's: P(|z| > 2) = 4.55%, P(|z| > 3) = 0.27%.
  EXPECT_NEAR((z.abs() > 2).to(torch::kFloat64).mean().item<double>(), 0.0455, 0.001);
  EXPECT_NEAR((z.abs() > 3).to(torch::kFloat64).mean().item<double>(), 0.0027, 0.0003);
  // The two halves of each pair (cosine and sine) are uncorrelated.
  const torch::Tensor flat = CounterNormal({200000}, 7);
  const double correlation =
      (flat.narrow(0, 0, 100000) * flat.narrow(0, 100000, 100000)).mean().item<double>();
  EXPECT_NEAR(correlation, 0.0, 0.01);
}

TEST(CounterNormalTest, SameSeedSameValuesWhateverTheThreadCount) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const torch::Tensor one_thread = CounterNormal({16, 88200}, 9);
  at::set_num_threads(2);
  const torch::Tensor two_threads = CounterNormal({16, 88200}, 9);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one_thread, two_threads));
  EXPECT_FALSE(torch::equal(one_thread, CounterNormal({16, 88200}, 10)));
}

}  // namespace
}  // namespace dd::critic
