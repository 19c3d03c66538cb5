#include "common/pattern/timing.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dd {
namespace {

// Step n starts at floor(n * 60 / bpm / 4 * 44100), here in exact integers (the test tempos have
// at most one decimal, so bpm = tenths / 10).
int64_t ExactStepStart(int64_t n, double bpm) {
  const auto tenths = static_cast<int64_t>(std::llround(bpm * 10.0));
  EXPECT_DOUBLE_EQ(tenths / 10.0, bpm) << "the reference needs a tempo with one decimal at most";
  return n * 60 * 44100 * 10 / (4 * tenths);
}

TEST(TimingTest, StepsStartWhereTheFormulaSays) {
  EXPECT_EQ(BarFrames(16, 120), 88200);
  EXPECT_EQ(StepStartFrame(1, 120), 5512);
  EXPECT_EQ(StepStartFrame(3, 120), 16537);
  for (double bpm : {40.0, 61.0, 99.9, 120.0, 127.0, 174.0, 300.0}) {
    for (int64_t n = 0; n < 1024; ++n)
      ASSERT_EQ(StepStartFrame(n, bpm), ExactStepStart(n, bpm)) << bpm << " " << n;
  }
}

TEST(TimingTest, ALoopLastsItsBarsAndItsTail) {
  EXPECT_EQ(LoopFrames(16, 120, 4, 1.0), 396900);  // the default loop: 9 s
  EXPECT_EQ(LoopFrames(16, 120, 1, 0.0), 88200);
  // Twelve steps at 127 bpm, three times: the bars end where step 36 would start.
  EXPECT_EQ(LoopFrames(12, 127, 3, 0.25), ExactStepStart(36, 127) + 11025);
  // A tail rounds to the nearest frame.
  EXPECT_EQ(LoopFrames(16, 120, 1, 1.0 / 3.0), 88200 + 14700);
  EXPECT_EQ(LoopFrames(16, 120, 1, 0.00001), 88200);
  EXPECT_EQ(LoopFrames(16, 120, 1, 0.000015), 88201);
}

}  // namespace
}  // namespace dd
