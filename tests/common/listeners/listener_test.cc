#include "common/listeners/listener.h"

#include <gtest/gtest.h>

#include "common/random/rng.h"

namespace dd::listeners {
namespace {

// Random "loops" whose features are drawn independently, for calibration checks.
std::vector<HeardLoop> RandomHeardLoops(int count, uint64_t seed) {
  Rng rng(seed);
  std::vector<HeardLoop> loops(static_cast<size_t>(count));
  for (HeardLoop& h : loops) {
    h.features.spectral_centroid_hz = 500 + 4000 * rng.Uniform01();
    h.features.high_share = rng.Uniform01();
    h.features.kick_on_beat = rng.Uniform01();
    h.features.onset_density = 10 * rng.Uniform01();
    h.features.offbeat_share = rng.Uniform01();
    h.features.half_bar_repetition = 2 * rng.Uniform01() - 1;
    h.features.crest_db = 20 * rng.Uniform01();
    const char* families[] = {"808/a.wav", "dfam/b.wav", "vermona/c.wav"};
    for (int t = 0; t < 4; ++t)
      h.sample_ids.push_back(families[rng.UniformIndex(3)]);
  }
  return loops;
}

TEST(Taste, CatalogueHasEightTastesPlusFamilyAndRandom) {
  const std::vector<std::string> names = TasteNames();
  EXPECT_GE(names.size(), 10u);
  for (const std::string& name : names) {
    const std::string spec = name == "family" ? "family:808" : name;
    auto taste = TasteByName(spec);
    ASSERT_TRUE(taste.ok()) << spec;
    EXPECT_EQ(taste->is_random(), name == "random");
    EXPECT_FALSE(taste->description.empty());
  }
  auto unknown = TasteByName("jazz");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("kick-on-beat"), std::string::npos);
  EXPECT_FALSE(TasteByName("family:").ok());
}

TEST(Taste, OppositeTastesDisagree) {
  HeardLoop quiet, dense;
  quiet.features.onset_density = 1;
  dense.features.onset_density = 9;
  const Taste sparse = *TasteByName("sparse");
  const Taste busy = *TasteByName("busy");
  EXPECT_GT(sparse.preference(quiet), sparse.preference(dense));
  EXPECT_GT(busy.preference(dense), busy.preference(quiet));
  HeardLoop eights;
  eights.sample_ids = {"808/kick.wav", "808/hat.wav", "dfam/x.wav", "other.wav"};
  EXPECT_DOUBLE_EQ(TasteByName("family:808")->preference(eights), 0.5);
  EXPECT_EQ(SampleFamily("808/kick.wav"), "808");
  EXPECT_EQ(SampleFamily("kick.wav"), "");
}

TEST(Calibrate, EachTasteLikesAboutTheLikeRateOfRandomLoops) {
  const auto calibration_loops = RandomHeardLoops(400, 1);
  const auto fresh_loops = RandomHeardLoops(4000, 2);
  ListenerOptions options;
  options.like_rate = 0.37;
  for (const std::string& name : TasteNames()) {
    auto taste = TasteByName(name == "family" ? "family:dfam" : name);
    ASSERT_TRUE(taste.ok());
    auto calibration = Calibrate(*taste, calibration_loops, options);
    ASSERT_TRUE(calibration.ok()) << calibration.status();
    Listener listener(*taste, *calibration, 9);
    int likes = 0;
    for (const HeardLoop& h : fresh_loops)
      likes += listener.Likes(h);
    // 4000 fresh draws: a standard error of 0.8%, plus the calibration set's own sampling error.
    EXPECT_NEAR(likes / 4000.0, 0.37, 0.04) << name;
  }
}

TEST(Listener, LikesWhatItsTasteRanksHigherAndIsNoisyNearTheThreshold) {
  const auto loops = RandomHeardLoops(400, 1);
  const Taste dark = *TasteByName("dark");
  auto calibration = Calibrate(dark, loops, {});
  ASSERT_TRUE(calibration.ok());
  Listener listener(dark, *calibration, 1);
  HeardLoop dull, shiny;
  dull.features.spectral_centroid_hz = 500;
  shiny.features.spectral_centroid_hz = 4500;
  EXPECT_GT(listener.LikeProbability(dull), 0.95);
  EXPECT_LT(listener.LikeProbability(shiny), 0.05);
  // At the threshold itself the listener flips a coin.
  HeardLoop middle;
  middle.features.spectral_centroid_hz = std::exp(-calibration->threshold) - 1;
  EXPECT_NEAR(listener.LikeProbability(middle), 0.5, 1e-6);

  // Same seed, same verdicts: runs are reproducible.
  Listener again(dark, *calibration, 1);
  Listener copy(dark, *calibration, 1);
  for (const HeardLoop& h : loops)
    EXPECT_EQ(again.Likes(h), copy.Likes(h));
}

TEST(Listener, RandomTasteIgnoresTheLoop) {
  const Taste random = *TasteByName("random");
  auto calibration = Calibrate(random, {}, {});
  ASSERT_TRUE(calibration.ok());
  Listener listener(random, *calibration, 4);
  HeardLoop a, b;
  b.features.spectral_centroid_hz = 9000;
  EXPECT_EQ(listener.LikeProbability(a), 0.37);
  EXPECT_EQ(listener.LikeProbability(b), 0.37);
}

TEST(Calibrate, RejectsBadOptionsAndTooFewLoops) {
  const Taste dark = *TasteByName("dark");
  ListenerOptions bad;
  bad.like_rate = 1.5;
  EXPECT_EQ(Calibrate(dark, RandomHeardLoops(50, 1), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Calibrate(dark, RandomHeardLoops(5, 1), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dd::listeners
