#include "common/samples/mix_pcm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace dd {
namespace {

// Frames decoded from 16-bit PCM are multiples of 2^-15: they must come back exactly, whatever
// their peak, including the most negative one.
TEST(MixPcmTest, SixteenBitFramesAreExact) {
  for (float peak : {1.0f, 0.5f, 0.3f, 0.001f}) {
    std::vector<float> pcm;
    const int top = static_cast<int>(peak * 32767.0f);
    for (int v : {0, 1, -1, top, -top - 1, top / 3, -top / 7})
      pcm.push_back(static_cast<float>(v) / 32768.0f);
    const MixPcm mix = ToMixPcm(pcm);
    ASSERT_EQ(mix.frames.size(), pcm.size());
    for (size_t i = 0; i < pcm.size(); ++i)
      EXPECT_EQ(static_cast<float>(mix.frames[i]) * mix.scale, pcm[i]) << "peak " << peak;
  }
}

// Any other frames: the scale is a power of two, the largest frame uses at least half the 16-bit
// range, and every frame is within half a step.
TEST(MixPcmTest, OtherFramesAreWithinHalfAStep) {
  std::mt19937 random(5);
  for (float peak : {1.0f, 0.7f, 1.9f, 3e-4f}) {
    std::uniform_real_distribution<float> value(-peak, peak);
    std::vector<float> pcm(10000);
    for (float& x : pcm)
      x = value(random);
    const MixPcm mix = ToMixPcm(pcm);
    int exponent = 0;
    EXPECT_EQ(std::frexp(mix.scale, &exponent), 0.5f) << "a power of two";
    int largest = 0;
    for (size_t i = 0; i < pcm.size(); ++i) {
      ASSERT_LE(std::fabs(static_cast<float>(mix.frames[i]) * mix.scale - pcm[i]), mix.scale / 2.0f)
          << "peak " << peak << " frame " << i;
      largest = std::max(largest, std::abs(static_cast<int>(mix.frames[i])));
    }
    EXPECT_GE(largest, 16384) << "peak " << peak << ": no resolution wasted";
  }
}

// A positive peak that would round up to 32768 at the natural scale takes the next power of two;
// full-scale -1.0 fits as -32768.
TEST(MixPcmTest, FullScaleEndsFit) {
  const MixPcm positive = ToMixPcm(std::vector<float>{1.0f, -0.25f});
  EXPECT_EQ(positive.scale, 1.0f / 16384.0f);
  EXPECT_EQ(positive.frames, (std::vector<int16_t>{16384, -4096}));
  const MixPcm almost = ToMixPcm(std::vector<float>{0.99999f, 0.0f});
  EXPECT_EQ(almost.frames[0], 16384) << "rounds up to 32768 at 2^-15, so 2^-14";
  const MixPcm negative = ToMixPcm(std::vector<float>{-1.0f, 0.5f});
  EXPECT_EQ(negative.scale, 1.0f / 32768.0f);
  EXPECT_EQ(negative.frames, (std::vector<int16_t>{-32768, 16384}));
  const MixPcm beyond = ToMixPcm(std::vector<float>{-1.5f, 0.5f});
  EXPECT_EQ(beyond.scale, 1.0f / 16384.0f);
  EXPECT_EQ(beyond.frames, (std::vector<int16_t>{-24576, 8192}));
  const MixPcm below = ToMixPcm(std::vector<float>{-0.75f, 0.5f});
  EXPECT_EQ(below.scale, 1.0f / 32768.0f);
  EXPECT_EQ(below.frames, (std::vector<int16_t>{-24576, 16384}));
}

TEST(MixPcmTest, SilenceAndOddValuesGiveZeros) {
  const MixPcm silence = ToMixPcm(std::vector<float>(5, 0.0f));
  EXPECT_EQ(silence.frames, std::vector<int16_t>(5, 0));
  EXPECT_EQ(silence.scale, 1.0f);
  EXPECT_TRUE(ToMixPcm(std::vector<float>{}).frames.empty());
  const MixPcm tiny = ToMixPcm(std::vector<float>{std::numeric_limits<float>::denorm_min(), 0.0f});
  EXPECT_GT(tiny.scale, 0.0f);
  EXPECT_EQ(tiny.frames, (std::vector<int16_t>{0, 0})) << "far below hearing";
  const MixPcm odd = ToMixPcm(std::vector<float>{std::nanf(""), 0.5f, INFINITY});
  EXPECT_EQ(odd.frames, (std::vector<int16_t>{0, 16384, 0}));
}

}  // namespace
}  // namespace dd
