#include "common/pattern/timing.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace dd {
namespace {

TEST(TimingTest, StepsStartWhereTheFormulaSays) {
  EXPECT_EQ(BarFrames(16, 120), 88200);
  EXPECT_EQ(StepStartFrame(1, 120), 5512);
  EXPECT_EQ(StepStartFrame(3, 120), 16537);
  for (double bpm : {40.0, 61.0, 99.9, 120.0, 127.0, 174.0, 300.0}) {
    for (int64_t n = 0; n < 1024; ++n)
      ASSERT_EQ(StepStartFrame(n, bpm), testing::ExactStepStart(n, bpm)) << bpm << " " << n;
  }
}

TEST(TimingTest, ALoopLastsItsBarsAndItsTail) {
  EXPECT_EQ(LoopFrames(16, 120, 4, 1.0), 396900);  // the default loop: 9 s
  EXPECT_EQ(LoopFrames(16, 120, 1, 0.0), 88200);
  // Twelve steps at 127 bpm, three times: the bars end where step 36 would start.
  EXPECT_EQ(LoopFrames(12, 127, 3, 0.25), testing::ExactStepStart(36, 127) + 11025);
  // A tail rounds to the nearest frame.
  EXPECT_EQ(LoopFrames(16, 120, 1, 1.0 / 3.0), 88200 + 14700);
  EXPECT_EQ(LoopFrames(16, 120, 1, 0.00001), 88200);
  EXPECT_EQ(LoopFrames(16, 120, 1, 0.000015), 88201);
}

}  // namespace
}  // namespace dd
