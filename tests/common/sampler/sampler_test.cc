// The samplers against score functions known in closed form, on a state space small enough to
// enumerate: 4 steps x 2 tracks over one sample, 256 patterns.
#include "common/sampler/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

namespace dd {
namespace {

constexpr int kSteps = 4;
constexpr int kTracks = 2;
constexpr int kStates = 1 << (kSteps * kTracks);
// Distinct weights, none zero, so the maximum is unique: every cell with a positive weight on.
constexpr double kWeights[kSteps * kTracks] = {3, -1, 2, -2, 1, 4, -3, 0.5};

int StateIndex(const Pattern& pattern) {
  int index = 0;
  for (int track = 0; track < kTracks; ++track) {
    for (int step = 0; step < kSteps; ++step) {
      if (pattern.hit(track, step)) index |= 1 << (track * kSteps + step);
    }
  }
  return index;
}

// f in [0.2, 1]: a linear function of the cells, rescaled.
double ClosedFormScore(int state) {
  double low = 0, high = 0, value = 0;
  for (int cell = 0; cell < kSteps * kTracks; ++cell) {
    (kWeights[cell] < 0 ? low : high) += kWeights[cell];
    if (state & (1 << cell)) value += kWeights[cell];
  }
  return 0.2 + 0.8 * (value - low) / (high - low);
}

int BestState() {
  int best = 0;
  for (int cell = 0; cell < kSteps * kTracks; ++cell) {
    if (kWeights[cell] > 0) best |= 1 << cell;
  }
  return best;
}

class ClosedFormScorer : public PatternScorer {
 public:
  absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) override {
    batch_sizes.push_back(patterns.size());
    std::vector<double> scores;
    for (const Pattern& pattern : patterns)
      scores.push_back(ClosedFormScore(StateIndex(pattern)));
    return scores;
  }
  std::vector<size_t> batch_sizes;
};

class ConstantScorer : public PatternScorer {
 public:
  absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) override {
    return std::vector<double>(patterns.size(), 0.5);
  }
};

PatternGenerator SmallGenerator(bool four_on_the_floor = false) {
  GenerationOptions options;
  options.steps = kSteps;
  options.tracks = kTracks;
  options.four_on_the_floor = four_on_the_floor;
  auto generator =
      PatternGenerator::Create(options, SamplePool{{"one/kick.wav"}, {"one/kick.wav"}});
  EXPECT_TRUE(generator.ok()) << generator.status();
  return *generator;
}

std::vector<SampledPattern> MustSample(const SamplerOptions& options, SamplingJob job,
                                       PatternScorer& scorer) {
  auto loops = SampleLoops(SmallGenerator(), scorer, options, std::move(job));
  EXPECT_TRUE(loops.ok()) << loops.status();
  return loops.ok() ? *loops : std::vector<SampledPattern>{};
}

// Pearson's statistic of observed state counts against probabilities proportional to `weight`.
double ChiSquare(const std::vector<int>& counts, const std::vector<double>& weight) {
  double total_weight = 0, total = 0;
  for (int i = 0; i < kStates; ++i)
    total_weight += weight[i], total += counts[i];
  double chi2 = 0;
  for (int i = 0; i < kStates; ++i) {
    const double expected = total * weight[i] / total_weight;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi2;
}

// Upper 0.1% point of the chi-square distribution with k degrees of freedom (Wilson-Hilferty).
double ChiSquareCritical999(int k) {
  const double z = 3.0902;  // Standard normal 99.9th percentile.
  const double a = 2.0 / (9.0 * k);
  return k * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

class MetropolisDistributionTest : public ::testing::TestWithParam<double> {};

// Phase I's claim (paper eq. 2): after min_steps steps the state is distributed as f^(1/s).
// 20,000 chains of 100 steps; the statistic must stay under the 0.1% critical value (~331 for
// 255 degrees of freedom), and the same samples must be far from the wrong distributions.
TEST_P(MetropolisDistributionTest, MatchesTheTemperedScoreDistribution) {
  const double temperature = GetParam();
  SamplerOptions options;
  options.temperature = temperature;
  options.chains = 256;
  ClosedFormScorer scorer;
  constexpr int kSamples = 20000;
  std::vector<int> counts(kStates, 0);
  // One job of 20,000 draws through 256 lockstep chains. Repeats are allowed here: keeping
  // loops distinct would turn the draws into sampling without replacement.
  SamplingJob job{.count = kSamples, .seed = 7, .distinct = false};
  job.on_loop = [&](SampledPattern loop) {
    ++counts[StateIndex(loop.pattern)];
    EXPECT_EQ(loop.steps_taken, 100);
    EXPECT_NEAR(loop.score, ClosedFormScore(StateIndex(loop.pattern)), 1e-12);
    return absl::OkStatus();
  };
  ASSERT_TRUE(RunSampler(SmallGenerator(), scorer, options, job).ok());
  std::vector<double> target(kStates), uniform(kStates, 1.0), untempered(kStates);
  for (int i = 0; i < kStates; ++i) {
    untempered[i] = ClosedFormScore(i);
    target[i] = std::pow(untempered[i], 1.0 / temperature);
  }
  const double chi2 = ChiSquare(counts, target);
  const double critical = ChiSquareCritical999(kStates - 1);
  std::printf("temperature %.2f: chi-square %.1f (critical %.1f), vs uniform %.1f\n", temperature,
              chi2, critical, ChiSquare(counts, uniform));
  EXPECT_LT(chi2, critical);
  EXPECT_GT(ChiSquare(counts, uniform), 3 * critical);  // The test can tell distributions apart.
  if (temperature != 1.0) {
    EXPECT_GT(ChiSquare(counts, untempered), critical);  // The temperature matters.
  }
}

INSTANTIATE_TEST_SUITE_P(Temperatures, MetropolisDistributionTest, ::testing::Values(1.0, 0.5));

TEST(SamplerTest, HillClimbingReachesTheMaximum) {
  SamplerOptions options;
  options.mode = SamplingMode::kHillClimb;
  options.threshold = 0.999;
  options.max_steps = 400;
  ClosedFormScorer scorer;
  for (const SampledPattern& loop : MustSample(options, {.count = 1, .seed = 3}, scorer)) {
    EXPECT_EQ(StateIndex(loop.pattern), BestState());
    EXPECT_TRUE(loop.threshold_reached);
    EXPECT_FALSE(loop.capped);
  }
  // Greedy never steps down: the acceptance rate is low, but the chain only improves.
  options.threshold = 1.0;
  options.max_steps = 50;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto loops = MustSample(options, {.count = 1, .seed = seed}, scorer);
    ASSERT_EQ(loops.size(), 1u);
    EXPECT_GE(loops[0].score, 0.2);
  }
}

TEST(SamplerTest, EveryThresholdResultMeetsTheThresholdOrIsFlaggedCapped) {
  SamplerOptions options;
  options.mode = SamplingMode::kThreshold;
  options.threshold = 0.9;
  options.max_steps = 15;  // Short enough that some chains are capped.
  ClosedFormScorer scorer;
  int reached = 0, capped = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    for (const SampledPattern& loop : MustSample(options, {.count = 4, .seed = seed}, scorer)) {
      if (loop.capped) {
        ++capped;
        EXPECT_FALSE(loop.threshold_reached);
        EXPECT_LT(loop.score, options.threshold);
        EXPECT_EQ(loop.steps_taken, options.max_steps);
      } else {
        ++reached;
        EXPECT_TRUE(loop.threshold_reached);
        EXPECT_GE(loop.score, options.threshold);
        EXPECT_LE(loop.steps_taken, options.max_steps);
      }
    }
  }
  EXPECT_GT(reached, 0);
  EXPECT_GT(capped, 0);
}

TEST(SamplerTest, AnUntrainedCriticCapsEveryThresholdChainWithItsBestState) {
  SamplerOptions options;
  options.mode = SamplingMode::kThreshold;
  options.max_steps = 30;
  ConstantScorer scorer;
  auto loops = MustSample(options, {.count = 5, .seed = 1}, scorer);
  ASSERT_EQ(loops.size(), 5u);
  for (const SampledPattern& loop : loops) {
    EXPECT_TRUE(loop.capped);
    EXPECT_FALSE(loop.threshold_reached);
    EXPECT_EQ(loop.steps_taken, 30);
    EXPECT_EQ(loop.score, 0.5);
  }
}

TEST(SamplerTest, NeverReturnsALoopToAvoidNorTheSameLoopTwice) {
  ClosedFormScorer scorer;
  SamplingJob job{.count = 6, .seed = 5};
  std::set<int> allowed;
  for (int state = 0; state < kStates; ++state) {
    if (state % 43 == 0) {
      allowed.insert(state);  // 0, 43, 86, 129, 172, 215: six loops left.
      continue;
    }
    Pattern pattern = *Pattern::Create(kSteps, 120, {"one/kick.wav", "one/kick.wav"});
    for (int cell = 0; cell < kSteps * kTracks; ++cell) {
      pattern.set_hit(cell / kSteps, cell % kSteps, state & (1 << cell));
    }
    job.avoid_fingerprints.insert(pattern.Fingerprint());
  }
  SamplerOptions options;
  options.max_steps = 5000;
  options.chains = 3;
  std::set<int> seen;
  for (const SampledPattern& loop : MustSample(options, job, scorer)) {
    EXPECT_TRUE(allowed.contains(StateIndex(loop.pattern))) << StateIndex(loop.pattern);
    EXPECT_TRUE(seen.insert(StateIndex(loop.pattern)).second) << "returned twice";
  }
  EXPECT_EQ(seen, allowed);

  job.count = 7;  // One more than exists.
  options.max_steps = 200;
  auto too_many = SampleLoops(SmallGenerator(), scorer, options, job);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted) << too_many.status();
}

TEST(SamplerTest, ScoresAllChainsInOneBatchPerStep) {
  SamplerOptions options;
  options.min_steps = 10;
  options.chains = 4;
  ClosedFormScorer scorer;
  auto loops = MustSample(options, {.count = 6, .seed = 9}, scorer);
  EXPECT_EQ(loops.size(), 6u);
  ASSERT_FALSE(scorer.batch_sizes.empty());
  EXPECT_EQ(scorer.batch_sizes.front(), 4u);
  for (size_t size : scorer.batch_sizes)
    EXPECT_LE(size, 4u);
  // Six loops of 11 scorings each (start + 10 steps), in batches of at most four.
  size_t scored = 0;
  for (size_t size : scorer.batch_sizes)
    scored += size;
  EXPECT_EQ(scored, 66u);
  EXPECT_LT(scorer.batch_sizes.size(), 66u / 2);
}

TEST(SamplerTest, SameSeedSameLoopsAndConstraintsHold) {
  SamplerOptions options;
  options.min_steps = 20;
  ClosedFormScorer scorer;
  auto generator = SmallGenerator(/*four_on_the_floor=*/true);
  auto first = SampleLoops(generator, scorer, options, {.count = 5, .seed = 42});
  auto again = SampleLoops(generator, scorer, options, {.count = 5, .seed = 42});
  auto other = SampleLoops(generator, scorer, options, {.count = 5, .seed = 43});
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  bool differs = false;
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].pattern, (*again)[i].pattern);
    differs |= (*first)[i].pattern != (*other)[i].pattern;
    EXPECT_TRUE(generator.Satisfies((*first)[i].pattern));
    EXPECT_TRUE((*first)[i].pattern.hit(0, 0));
  }
  EXPECT_TRUE(differs);
}

TEST(SamplerTest, StopsWhenToldAndPassesScorerErrorsOn) {
  SamplerOptions options;
  ClosedFormScorer scorer;
  int polls = 0;
  SamplingJob job{.count = 2, .seed = 1};
  job.keep_going = [&polls] {
    return ++polls > 5 ? absl::DeadlineExceededError("deadline passed") : absl::OkStatus();
  };
  auto stopped = SampleLoops(SmallGenerator(), scorer, options, job);
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(scorer.batch_sizes.size(), 5u);

  class FailingScorer : public PatternScorer {
    absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern>) override {
      return absl::UnavailableError("critic worker gone");
    }
  } failing;
  auto failed = SampleLoops(SmallGenerator(), failing, options, {.count = 1});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);

  class BrokenScorer : public PatternScorer {
    absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) override {
      return std::vector<double>(patterns.size(), 1.5);
    }
  } broken;
  EXPECT_EQ(SampleLoops(SmallGenerator(), broken, options, {.count = 1}).status().code(),
            absl::StatusCode::kInternal);
}

TEST(SamplerTest, RejectsBadOptions) {
  ClosedFormScorer scorer;
  auto bad = [&](SamplerOptions options, int count = 1) {
    return SampleLoops(SmallGenerator(), scorer, options, {.count = count}).status().code();
  };
  EXPECT_EQ(bad({.temperature = 0}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad({.temperature = NAN}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad({.threshold = 1.5}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad({.max_steps = 0}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad({.chains = 0}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad({.chains = 257}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad({}, 0), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(scorer.batch_sizes.empty());
}

}  // namespace
}  // namespace dd
