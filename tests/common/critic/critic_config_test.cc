#include "common/critic/critic_config.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace dd::critic {
namespace {

struct BadValue {
  std::string field;
  std::function<void(CriticConfig&)> spoil;
  std::string shown_value;  // How the message must show the value that was given.
};

TEST(CriticConfigTest, DefaultsAreValid) {
  EXPECT_EQ(ValidateConfig(CriticConfig{}), "");
}

TEST(CriticConfigTest, EachBadFieldIsNamedWithItsValue) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const BadValue cases[] = {
      {"learning_rate", [](CriticConfig& c) { c.learning_rate = 0; }, "got 0"},
      {"learning_rate", [&](CriticConfig& c) { c.learning_rate = nan; }, "got nan"},
      {"learning_rate", [&](CriticConfig& c) { c.learning_rate = inf; }, "got inf"},
      {"rhythm_learning_rate", [](CriticConfig& c) { c.rhythm_learning_rate = -1e-3; },
       "got -0.001"},
      {"weight_decay", [](CriticConfig& c) { c.weight_decay = 2; }, "got 2"},
      {"dropout", [](CriticConfig& c) { c.dropout = 0.95; }, "got 0.95"},
      {"minibatches_per_rating", [](CriticConfig& c) { c.minibatches_per_rating = 1001; },
       "got 1001"},
      {"minibatch_size", [](CriticConfig& c) { c.minibatch_size = 0; }, "got 0"},
      {"minibatch_size", [](CriticConfig& c) { c.minibatch_size = 15; }, "must be even"},
      {"augment_gain_stddev", [&](CriticConfig& c) { c.augment_gain_stddev = -inf; }, "got -inf"},
      {"augment_dc_offset_stddev", [](CriticConfig& c) { c.augment_dc_offset_stddev = 1.5; },
       "got 1.5"},
      {"augment_noise_stddev", [](CriticConfig& c) { c.augment_noise_stddev = -0.5; }, "got -0.5"},
      {"augment_max_shift", [](CriticConfig& c) { c.augment_max_shift = kClipFrames + 1; },
       "got 88201"},
      {"mel_sample_rate", [](CriticConfig& c) { c.mel_sample_rate = 4000; }, "got 4000"},
  };
  for (const BadValue& bad : cases) {
    CriticConfig config;
    bad.spoil(config);
    const std::string problem = ValidateConfig(config);
    EXPECT_EQ(problem.rfind(bad.field + " ", 0), 0u) << problem;
    EXPECT_NE(problem.find(bad.shown_value), std::string::npos) << bad.field << ": " << problem;
  }
}

TEST(CriticConfigTest, BoundsThemselvesAreValid) {
  CriticConfig config;
  config.learning_rate = 1;
  config.rhythm_learning_rate = 1e-9;
  config.dropout = 0.9;
  config.minibatches_per_rating = 0;
  config.minibatch_size = 256;
  config.augment_max_shift = kClipFrames;
  config.mel_sample_rate = 192000;
  EXPECT_EQ(ValidateConfig(config), "");
}

// A service receives counts as uint32: one beyond the config's int is told the field's range.
TEST(CriticConfigTest, ACountBeyondAnIntIsToldTheFieldsRange) {
  EXPECT_EQ(CountProblem("minibatch_size", 4294967295),
            "minibatch_size must be in [2, 256], got 4294967295");
  EXPECT_EQ(CountProblem("mel_sample_rate", 2147483648),
            "mel_sample_rate must be in [8000, 192000], got 2147483648");
  EXPECT_EQ(CountProblem("augment_max_shift", -1),
            "augment_max_shift must be in [1, 88200], got -1");
  EXPECT_EQ(CountProblem("minibatches_per_rating", 1000), "");
  EXPECT_EQ(CountProblem("dropout", 1), "unknown count field dropout");
}

}  // namespace
}  // namespace dd::critic
