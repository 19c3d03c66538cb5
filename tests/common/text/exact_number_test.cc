#include "common/text/exact_number.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(ExactNumberTest, ShowsWhatSixDigitsWouldRoundAway) {
  EXPECT_EQ(ExactNumber(300.0001), "300.0001");
  EXPECT_EQ(ExactNumber(1.0000001f), "1.0000001");
  EXPECT_EQ(ExactNumber(0.1), "0.1");
  EXPECT_EQ(ExactNumber(0.1f), "0.1");
  EXPECT_EQ(ExactNumber(120.0), "120");
  EXPECT_EQ(ExactNumber(-0.0), "-0");
}

TEST(ExactNumberTest, NamesTheValuesThatAreNotNumbers) {
  EXPECT_EQ(ExactNumber(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(ExactNumber(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(ExactNumber(-std::numeric_limits<float>::infinity()), "-inf");
}

TEST(ExactNumberTest, ReadsBackAsTheSameValue) {
  const double values[] = {std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::max(),
                           -2.2250738585072014e-308,
                           1.0 / 3.0,
                           5.739e-5,
                           std::nextafter(1.0, 2.0)};
  for (double value : values) {
    const std::string text = ExactNumber(value);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
  }
  const float third = 1.0f / 3.0f;
  EXPECT_EQ(std::strtof(ExactNumber(third).c_str(), nullptr), third);
}

}  // namespace
}  // namespace dd
