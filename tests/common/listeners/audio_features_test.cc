// The features a simulated listener hears, checked on loops rendered from the real sample
// collection: each feature moves the way its name says when the pattern changes in that way.
#include "common/listeners/audio_features.h"

#include <gtest/gtest.h>

#include "common/render/renderer.h"
#include "common/samples/sample_library.h"
#include "tests/support/test_support.h"

namespace dd::listeners {
namespace {

class AudioFeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DD_REQUIRE_SHARED_SAMPLES();
    auto library = SampleLibrary::Load(testing::SharedDrumSamplesDir());
    ASSERT_TRUE(library.ok()) << library.status();
    renderer_ = std::make_unique<Renderer>(*library);
  }

  // One track per (sample, hit steps) pair.
  LoopFeatures Hear(const std::vector<std::pair<std::string, std::vector<int>>>& tracks) {
    std::vector<std::string> ids;
    for (const auto& [id, steps] : tracks)
      ids.push_back(id);
    auto pattern = Pattern::Create(16, 120, ids);
    EXPECT_TRUE(pattern.ok()) << pattern.status();
    for (size_t t = 0; t < tracks.size(); ++t) {
      for (int step : tracks[t].second)
        pattern->set_hit(static_cast<int>(t), step, true);
    }
    auto audio = renderer_->Render(*pattern, {});
    EXPECT_TRUE(audio.ok()) << audio.status();
    auto bar = SteadyBarOfLoop(audio->pcm, 16, 120, 44100);
    EXPECT_TRUE(bar.ok()) << bar.status();
    EXPECT_EQ(bar->size(), 88200u);
    auto features = ComputeLoopFeatures(*bar, 16, 44100);
    EXPECT_TRUE(features.ok()) << features.status();
    return *features;
  }

  std::unique_ptr<Renderer> renderer_;
};

constexpr char kKick[] = "drumhits/Kick02.wav";
constexpr char kHat[] = "drumhits/Closedhat01.wav";
const std::vector<int> kBeats = {0, 4, 8, 12};
const std::vector<int> kOffbeats = {2, 6, 10, 14};
const std::vector<int> kOddSixteenths = {1, 3, 5, 7, 9, 11, 13, 15};
const std::vector<int> kAll = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

TEST_F(AudioFeaturesTest, OnsetsAreFoundOnTheStepsThatHit) {
  const LoopFeatures f = Hear({{kHat, kBeats}});
  for (int s = 0; s < 16; ++s) {
    if (s % 4 == 0) {
      for (int other = 1; other < 4; ++other) {
        EXPECT_GT(f.step_onsets[s], 3 * f.step_onsets[s + other]) << s << " vs " << s + other;
      }
    }
  }
}

TEST_F(AudioFeaturesTest, KickOnTheBeatVersusOffTheBeat) {
  const LoopFeatures on = Hear({{kKick, kBeats}, {kHat, kAll}});
  const LoopFeatures off = Hear({{kKick, kOffbeats}, {kHat, kAll}});
  EXPECT_GT(on.kick_on_beat, 0.6);
  EXPECT_LT(off.kick_on_beat, 0.2);
}

TEST_F(AudioFeaturesTest, HatsAreBrighterThanKicks) {
  const LoopFeatures hats = Hear({{kHat, kBeats}});
  const LoopFeatures kicks = Hear({{kKick, kBeats}});
  EXPECT_GT(hats.spectral_centroid_hz, 2 * kicks.spectral_centroid_hz);
  EXPECT_GT(hats.high_share, kicks.high_share);
  EXPECT_GT(kicks.low_share, hats.low_share);
}

TEST_F(AudioFeaturesTest, DensityAndSyncopationFollowThePattern) {
  const LoopFeatures sparse = Hear({{kHat, {0, 8}}});
  const LoopFeatures busy = Hear({{kHat, kAll}, {kKick, kBeats}});
  EXPECT_GT(busy.onset_density, 2 * sparse.onset_density);
  const LoopFeatures straight = Hear({{kHat, kBeats}});
  const LoopFeatures syncopated = Hear({{kHat, kOddSixteenths}});
  EXPECT_LT(straight.offbeat_share, 0.2);
  EXPECT_GT(syncopated.offbeat_share, 0.8);
}

TEST_F(AudioFeaturesTest, RepetitionOfTheHalfBar) {
  const LoopFeatures repeated = Hear({{kHat, {0, 3, 6, 8, 11, 14}}});
  const LoopFeatures different = Hear({{kHat, {0, 1, 2, 3, 12}}});
  EXPECT_GT(repeated.half_bar_repetition, 0.9);
  EXPECT_LT(different.half_bar_repetition, 0.3);
}

TEST(SteadyBarOfLoop, TakesTheSecondBarAndRejectsShortAudio) {
  std::vector<float> audio(3 * 88200);
  for (size_t i = 0; i < audio.size(); ++i)
    audio[i] = static_cast<float>(i / 88200);
  auto bar = SteadyBarOfLoop(audio, 16, 120, 44100);
  ASSERT_TRUE(bar.ok());
  ASSERT_EQ(bar->size(), 88200u);
  EXPECT_EQ(bar->front(), 1.0f);
  EXPECT_EQ(bar->back(), 1.0f);
  EXPECT_EQ(SteadyBarOfLoop(absl::MakeConstSpan(audio).subspan(0, 100000), 16, 120, 44100)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ComputeLoopFeatures(absl::MakeConstSpan(audio).subspan(0, 500), 16, 44100).ok());
  EXPECT_FALSE(ComputeLoopFeatures(*bar, 1, 44100).ok());
}

}  // namespace
}  // namespace dd::listeners
