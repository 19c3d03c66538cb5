// The generator's acceptance test with a real critic: trained as in the critic's learning test
// (a rater who likes 808 kicks, 40 ratings), Phase I sampling through the in-process scorer must
// find loops the critic scores higher than random ones, without collapsing onto a few loops.
#include <gtest/gtest.h>

#include <numeric>

#include "common/sampler/local_critic_scorer.h"
#include "common/sampler/sampler.h"
#include "tests/support/kick_lover.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

// Mean over pairs of the share of grid cells that differ plus the share of tracks whose sample
// differs, halved: 0 for identical loops; about 0.75 for two random loops of the paper's priors.
double MeanPairwiseDistance(const std::vector<Pattern>& loops) {
  double total = 0;
  int pairs = 0;
  for (size_t i = 0; i < loops.size(); ++i) {
    for (size_t j = i + 1; j < loops.size(); ++j) {
      const Pattern& a = loops[i];
      const Pattern& b = loops[j];
      int cells = 0, cells_differ = 0, samples_differ = 0;
      for (int track = 0; track < a.num_tracks(); ++track) {
        samples_differ += a.track(track).sample_id != b.track(track).sample_id;
        for (int step = 0; step < a.steps(); ++step) {
          ++cells;
          cells_differ += a.hit(track, step) != b.hit(track, step);
        }
      }
      total += 0.5 * (static_cast<double>(cells_differ) / cells +
                      static_cast<double>(samples_differ) / a.num_tracks());
      ++pairs;
    }
  }
  return total / pairs;
}

double Mean(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

TEST(LearnedCriticSamplingTest, SampledLoopsScoreHigherThanRandomOnesAndStayVaried) {
  DD_REQUIRE_SHARED_SAMPLES();
  critic::ConfigureCpuRuntime(0);
  auto rater = dd::testing::KickLover::Create();
  ASSERT_NE(rater, nullptr);
  std::string error;
  auto critic = critic::Critic::Create(critic::CriticConfig{.seed = 11}, "cpu", &error);
  ASSERT_NE(critic, nullptr) << error;
  Rng rng(2026);
  rater->Train(*critic, 40, rng);

  LocalCriticScorer scorer(rater->renderer(), *critic);
  constexpr int kLoops = 24;
  SamplerOptions options;  // Phase I: 100 steps, temperature 1.
  auto sampled = SampleLoops(rater->generator(), scorer, options, {.count = kLoops, .seed = 5});
  ASSERT_TRUE(sampled.ok()) << sampled.status();
  ASSERT_EQ(sampled->size(), static_cast<size_t>(kLoops));

  std::vector<Pattern> random_loops, sampled_loops;
  Rng random_rng(77);
  for (int i = 0; i < kLoops; ++i)
    random_loops.push_back(rater->generator().Random(random_rng));
  auto random_scores = scorer.Score(random_loops);
  ASSERT_TRUE(random_scores.ok());
  std::vector<double> sampled_scores;
  int sampled_liked = 0, random_liked = 0;
  double acceptance = 0;
  for (const SampledPattern& loop : *sampled) {
    sampled_loops.push_back(loop.pattern);
    sampled_scores.push_back(loop.score);
    sampled_liked += rater->Likes(loop.pattern);
    acceptance += loop.acceptance_rate / kLoops;
  }
  for (const Pattern& loop : random_loops)
    random_liked += rater->Likes(loop);

  const double sampled_diversity = MeanPairwiseDistance(sampled_loops);
  const double random_diversity = MeanPairwiseDistance(random_loops);
  std::printf(
      "mean critic score: sampled %.3f, random %.3f\n"
      "liked by the rater: sampled %d/%d, random %d/%d\n"
      "mean pairwise distance: sampled %.3f, random %.3f; mean acceptance rate %.2f\n",
      Mean(sampled_scores), Mean(*random_scores), sampled_liked, kLoops, random_liked, kLoops,
      sampled_diversity, random_diversity, acceptance);
  RecordProperty("sampled_mean_score", std::to_string(Mean(sampled_scores)));
  RecordProperty("random_mean_score", std::to_string(Mean(*random_scores)));
  EXPECT_GT(Mean(sampled_scores), Mean(*random_scores) + 0.02);
  // Varied: sampled loops stay at least 60% as far apart as random ones, and none repeats.
  EXPECT_GT(sampled_diversity, 0.6 * random_diversity);
}

}  // namespace
}  // namespace dd
