#include "common/pattern/generation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace dd {
namespace {

std::vector<std::string> TenSamples() {
  return {"808/kick-1.wav", "808/snare.wav",   "808/hat.wav",  "dfam/kick-2.wav", "dfam/tom.wav",
          "misc/clap.wav",  "misc/Kick-3.wav", "misc/rim.wav", "misc/shaker.wav", "misc/bell.wav"};
}

PatternGenerator MakeGenerator(GenerationOptions options) {
  auto pool = SelectSamplePool(TenSamples(), {}, {}, {}, options.four_on_the_floor);
  EXPECT_TRUE(pool.ok()) << pool.status();
  auto generator = PatternGenerator::Create(options, *pool);
  EXPECT_TRUE(generator.ok()) << generator.status();
  return *generator;
}

// Tolerances below are five standard errors of a binomial proportion: a correct implementation
// fails about once in three million runs, a wrong rate fails every time.
double FiveSigma(double p, double n) {
  return 5.0 * std::sqrt(p * (1.0 - p) / n);
}

TEST(GenerationTest, RandomLoopsHaveTheRequestedShapeAndHitDensity) {
  for (double density : {0.5, 0.2}) {
    GenerationOptions options;
    options.hit_density = density;
    const PatternGenerator generator = MakeGenerator(options);
    Rng rng(7);
    constexpr int kDraws = 4000;
    double hits = 0;
    for (int i = 0; i < kDraws; ++i) {
      const Pattern pattern = generator.Random(rng);
      ASSERT_EQ(pattern.steps(), 16);
      ASSERT_EQ(pattern.num_tracks(), 4);
      ASSERT_EQ(pattern.bpm(), 120.0);
      hits += pattern.CountHits();
    }
    const double cells = kDraws * 64.0;
    EXPECT_NEAR(hits / cells, density, FiveSigma(density, cells)) << "density " << density;
  }
}

TEST(GenerationTest, RandomSamplesAreDrawnUniformlyFromThePool) {
  const PatternGenerator generator = MakeGenerator({});
  Rng rng(11);
  std::map<std::string, int> counts;
  constexpr int kDraws = 5000;
  for (int i = 0; i < kDraws; ++i) {
    const Pattern pattern = generator.Random(rng);
    for (const Track& track : pattern.tracks())
      ++counts[track.sample_id];
  }
  ASSERT_EQ(counts.size(), 10u);
  const double n = kDraws * 4.0;
  for (const auto& [id, count] : counts)
    EXPECT_NEAR(count / n, 0.1, FiveSigma(0.1, n)) << id;
}

TEST(GenerationTest, MutationTogglesCellsAndSwapsSamplesAtThePaperRates) {
  const PatternGenerator generator = MakeGenerator({});
  Rng rng(3);
  constexpr int kDraws = 6000;
  double flipped = 0;
  double swapped = 0;
  for (int i = 0; i < kDraws; ++i) {
    const Pattern before = generator.Random(rng);
    const Pattern after = generator.Mutate(before, rng);
    for (int t = 0; t < 4; ++t) {
      swapped += before.track(t).sample_id != after.track(t).sample_id ? 1 : 0;
      for (int k = 0; k < 16; ++k)
        flipped += before.hit(t, k) != after.hit(t, k) ? 1 : 0;
    }
  }
  const double cells = kDraws * 64.0;
  EXPECT_NEAR(flipped / cells, 0.05, FiveSigma(0.05, cells));
  // A redraw picks the same sample again with probability 1/10, which leaves the track unchanged.
  const double tracks = kDraws * 4.0;
  const double expected_swap = 0.15 * 9.0 / 10.0;
  EXPECT_NEAR(swapped / tracks, expected_swap, FiveSigma(expected_swap, tracks));
}

TEST(GenerationTest, FourOnTheFloorHoldsThroughMutation) {
  GenerationOptions options;
  options.four_on_the_floor = true;
  options.hit_density = 0.1;
  const PatternGenerator generator = MakeGenerator(options);
  const std::set<std::string> kicks = {"808/kick-1.wav", "dfam/kick-2.wav", "misc/Kick-3.wav"};
  EXPECT_EQ(
      std::set<std::string>(generator.pool().kick_ids.begin(), generator.pool().kick_ids.end()),
      kicks);
  Rng rng(5);
  Pattern pattern = generator.Random(rng);
  int off_beat_changes = 0;
  for (int i = 0; i < 3000; ++i) {
    const Pattern next = generator.Mutate(pattern, rng);
    ASSERT_TRUE(generator.Satisfies(next)) << next.ToText();
    ASSERT_TRUE(kicks.contains(next.track(0).sample_id));
    for (int k = 0; k < 16; k += 4)
      ASSERT_TRUE(next.hit(0, k));
    for (int k = 1; k < 16; ++k)
      off_beat_changes += (k % 4 != 0 && next.hit(0, k) != pattern.hit(0, k));
    pattern = next;
  }
  EXPECT_GT(off_beat_changes, 0) << "track 0's other steps must still mutate";
}

TEST(GenerationTest, DistinctPatternsCountsWhatRandomAndMutateReach) {
  GenerationOptions tiny;
  tiny.steps = 2;
  tiny.tracks = 1;
  auto one_sample = SelectSamplePool(TenSamples(), {"808/snare.wav"}, {}, {}, false);
  ASSERT_TRUE(one_sample.ok());
  auto generator = PatternGenerator::Create(tiny, *one_sample);
  ASSERT_TRUE(generator.ok());
  EXPECT_EQ(generator->DistinctPatterns(), 4u);
  // Walking the tiny space finds exactly that many.
  Rng rng(3);
  std::set<std::string> seen;
  Pattern pattern = generator->Random(rng);
  for (int i = 0; i < 2000; ++i) {
    seen.insert(pattern.Fingerprint());
    pattern = rng.Bernoulli(0.5) ? generator->Random(rng) : generator->Mutate(pattern, rng);
  }
  EXPECT_EQ(seen.size(), 4u);

  // Four on the floor over 4 steps and 2 tracks of ten samples, three of them kicks: track 0 has
  // 3 kicks x 2^3 free cells, track 1 has 10 samples x 2^4.
  GenerationOptions floor;
  floor.steps = 4;
  floor.tracks = 2;
  floor.four_on_the_floor = true;
  EXPECT_EQ(MakeGenerator(floor).DistinctPatterns(), 3u * 8u * 10u * 16u);
  // The paper's 16 x 4 grid alone has 2^64 patterns: the count saturates.
  EXPECT_EQ(MakeGenerator(GenerationOptions{}).DistinctPatterns(),
            std::numeric_limits<uint64_t>::max());
}

TEST(GenerationTest, SameSeedSameLoopsDifferentSeedDifferentLoops) {
  const PatternGenerator generator = MakeGenerator({});
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 20; ++i) {
    const Pattern pa = generator.Mutate(generator.Random(a), a);
    const Pattern pb = generator.Mutate(generator.Random(b), b);
    EXPECT_EQ(pa, pb);
  }
  Rng a2(42);
  EXPECT_NE(generator.Random(a2), generator.Random(c));
}

TEST(GenerationTest, SamplePoolSelection) {
  auto by_folder = SelectSamplePool(TenSamples(), {}, {"808/"}, {}, false);
  ASSERT_TRUE(by_folder.ok());
  EXPECT_EQ(by_folder->ids,
            (std::vector<std::string>{"808/hat.wav", "808/kick-1.wav", "808/snare.wav"}));
  auto by_id_or_folder = SelectSamplePool(TenSamples(), {"misc/rim.wav"}, {"dfam/"}, {}, false);
  ASSERT_TRUE(by_id_or_folder.ok());
  EXPECT_EQ(by_id_or_folder->ids.size(), 3u);
  EXPECT_EQ(SelectSamplePool(TenSamples(), {"nope.wav"}, {}, {}, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(SelectSamplePool(TenSamples(), {}, {"none/"}, {}, false).status().code(),
            absl::StatusCode::kNotFound);
  // Beside a folder that holds samples too: the typo is not silently ignored.
  const absl::Status typo =
      SelectSamplePool(TenSamples(), {}, {"808/", "80B/"}, {}, false).status();
  EXPECT_EQ(typo.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(typo.message().find("\"80B/\""), std::string::npos) << typo;
  EXPECT_EQ(SelectSamplePool({}, {}, {}, {}, false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SelectSamplePool(TenSamples(), {"808/hat.wav"}, {}, {}, true).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto explicit_kick = SelectSamplePool(TenSamples(), {"808/hat.wav"}, {}, {"misc/bell.wav"}, true);
  ASSERT_TRUE(explicit_kick.ok());
  EXPECT_EQ(explicit_kick->kick_ids, std::vector<std::string>{"misc/bell.wav"});
}

TEST(GenerationTest, CreateRejectsBadOptions) {
  auto pool = SelectSamplePool(TenSamples(), {}, {}, {}, false);
  ASSERT_TRUE(pool.ok());
  GenerationOptions bad_density;
  bad_density.hit_density = 0.0;
  EXPECT_EQ(PatternGenerator::Create(bad_density, *pool).status().code(),
            absl::StatusCode::kInvalidArgument);
  GenerationOptions bad_flip;
  bad_flip.cell_flip_probability = 1.5;
  EXPECT_EQ(PatternGenerator::Create(bad_flip, *pool).status().code(),
            absl::StatusCode::kInvalidArgument);
  GenerationOptions odd_steps;
  odd_steps.steps = 10;
  odd_steps.four_on_the_floor = true;
  EXPECT_EQ(PatternGenerator::Create(odd_steps, *pool).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PatternGenerator::Create({}, SamplePool{}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace dd
