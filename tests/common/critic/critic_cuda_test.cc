// The critic on a GPU: training replayed as CUDA graphs against the same training launched step by
// step, and learning with every random draw made on the device. Skipped without a CUDA device
// (CI has none); README "Performance" says how to run it on a GPU machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/critic/critic.h"
#include "common/critic/host_clips.h"

namespace dd::critic {
namespace {

// A decaying tone with a little noise; two pitches make two classes a critic can tell apart.
std::vector<float> ToneClip(double pitch, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  std::vector<float> clip(kClipFrames);
  for (int64_t i = 0; i < kClipFrames; ++i) {
    const double t = static_cast<double>(i % 22050) / kClipSampleRate;
    clip[i] =
        static_cast<float>(0.5 * std::sin(2 * M_PI * pitch * t) * std::exp(-8 * t)) + noise(random);
  }
  return clip;
}

constexpr double kLikedPitch = 80, kDislikedPitch = 900;

std::vector<float> Clips(double pitch, uint64_t first_seed, int count) {
  std::vector<float> clips;
  for (int i = 0; i < count; ++i) {
    const std::vector<float> clip = ToneClip(pitch, first_seed + i);
    clips.insert(clips.end(), clip.begin(), clip.end());
  }
  return clips;
}

class CriticCudaTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  }
};

// With dropout and augmentation off and every pool drawn whole, a round is the same arithmetic
// whichever way it is launched (up to the order of sums), so a graph's replays must train the
// critic as the step-by-step launches do; a graph that replayed nothing, or replayed stale
// inputs, would leave it where one step took it.
TEST_F(CriticCudaTest, GraphReplaysTrainAsStepByStepLaunchesDo) {
  CriticConfig config;
  config.seed = 3;
  config.dropout = 0;
  config.augment_gain_stddev = 0;
  config.augment_dc_offset_stddev = 0;
  config.augment_noise_stddev = 0;
  config.augment_max_shift = 1;
  config.learning_rate = 3e-4;  // Larger steps than the paper's, so training moves scores far.
  std::string error;
  auto fresh = Critic::Create(config, "cuda:0", &error);
  ASSERT_NE(fresh, nullptr) << error;
  // Rounds only when the two pools are the same size, at most half a minibatch: each draw is the
  // whole pool. Before each round each critic is restored from its own snapshot with one disliked
  // clip more than liked ones, so that the next liked rating evens the pools.
  std::vector<RatedClip> history;
  for (int i = 0; i < 3; ++i)
    history.push_back({ToneClip(kLikedPitch, 10 + i), true});
  for (int i = 0; i < 4; ++i)
    history.push_back({ToneClip(kDislikedPitch, 20 + i), false});
  auto graphed =
      Critic::Restore(config, "cuda:0", fresh->SaveState(), history, &error, {.cuda_graphs = true});
  ASSERT_NE(graphed, nullptr) << error;
  auto launched = Critic::Restore(config, "cuda:0", fresh->SaveState(), history, &error,
                                  {.cuda_graphs = false});
  ASSERT_NE(launched, nullptr) << error;
  EXPECT_EQ(graphed->uses_cuda_graphs(), CudaGraphsBuilt());
  EXPECT_FALSE(launched->uses_cuda_graphs());

  const std::vector<float> probe = Clips(kLikedPitch, 900, 2);
  const std::vector<float> before = launched->Score(probe.data(), 2);
  for (int round = 0; round < 3; ++round) {
    const std::vector<float> liked = ToneClip(kLikedPitch, 30 + round);
    const TrainingRound a = graphed->AddRatingAndTrain(liked, true);
    const TrainingRound b = launched->AddRatingAndTrain(liked, true);
    ASSERT_TRUE(a.trained && b.trained);
    // Not closer: cuDNN sums in no fixed order, so two step-by-step runs of the same rounds
    // differ too, by a few percent of a loss this small (measured on an H200: 2% between two
    // step-by-step critics, 7% between graph and step by step, at a loss of 0.0068); a graph
    // that replayed nothing would report a fortieth of the loss.
    EXPECT_NEAR(a.mean_loss, b.mean_loss, 0.15 * std::abs(b.mean_loss) + 1e-3) << "round " << round;
    EXPECT_TRUE(graphed->cuda_graph_problem().empty()) << graphed->cuda_graph_problem();
    history.push_back({liked, true});
    history.push_back({ToneClip(kDislikedPitch, 40 + round), false});
    graphed = Critic::Restore(config, "cuda:0", graphed->SaveState(), history, &error,
                              {.cuda_graphs = true});
    ASSERT_NE(graphed, nullptr) << error;
    launched = Critic::Restore(config, "cuda:0", launched->SaveState(), history, &error,
                               {.cuda_graphs = false});
    ASSERT_NE(launched, nullptr) << error;
  }
  const std::vector<float> after_graphs = graphed->Score(probe.data(), 2);
  const std::vector<float> after_launches = launched->Score(probe.data(), 2);
  for (int i = 0; i < 2; ++i) {
    const double learned = std::abs(after_launches[i] - before[i]);
    EXPECT_GT(learned, 0.05) << "training barely moved the score; the comparison would be weak";
    EXPECT_LT(std::abs(after_graphs[i] - after_launches[i]), 0.1 * learned + 1e-3) << "clip " << i;
  }
}

// The paper's settings (dropout, augmentation, random draws from larger pools), all drawn on the
// device inside the graph: the critic must learn the two classes apart.
TEST_F(CriticCudaTest, LearnsWithTheGraphReplayingRandomDraws) {
  CriticConfig config;
  config.seed = 5;
  std::string error;
  auto critic = Critic::Create(config, "cuda:0", &error);
  ASSERT_NE(critic, nullptr) << error;
  double first_loss = 0, last_loss = 0;
  for (int i = 0; i < 24; ++i) {
    const bool liked = i % 2 == 0;
    const TrainingRound round =
        critic->AddRatingAndTrain(ToneClip(liked ? kLikedPitch : kDislikedPitch, 100 + i), liked);
    if (i == 1) first_loss = round.mean_loss;
    if (i == 23) last_loss = round.mean_loss;
  }
  EXPECT_TRUE(critic->cuda_graph_problem().empty()) << critic->cuda_graph_problem();
  EXPECT_LT(last_loss, first_loss);
  const std::vector<float> liked = Clips(kLikedPitch, 500, 8);
  const std::vector<float> disliked = Clips(kDislikedPitch, 600, 8);
  const std::vector<float> liked_scores = critic->Score(liked.data(), 8);
  const std::vector<float> disliked_scores = critic->Score(disliked.data(), 8);
  for (int i = 0; i < 8; ++i) {
    EXPECT_GT(liked_scores[i], 0.5) << "liked clip " << i;
    EXPECT_LT(disliked_scores[i], 0.5) << "disliked clip " << i;
  }
}

// dd-critic scores on one thread while another trains: the scoring thread's allocations and
// copies back to the host must neither fail nor break the training thread's recordings.
TEST_F(CriticCudaTest, TrainsWithGraphsWhileAnotherThreadScores) {
  std::string error;
  auto trainee = Critic::Create(CriticConfig{.seed = 13}, "cuda:0", &error);
  ASSERT_NE(trainee, nullptr) << error;
  auto scorer = Critic::Create(CriticConfig{.seed = 14}, "cuda:0", &error);
  ASSERT_NE(scorer, nullptr) << error;
  const std::vector<float> clips = Clips(kLikedPitch, 800, 16);
  const std::vector<float> expected = scorer->Score(clips.data(), 16);
  std::atomic<bool> training{true};
  std::atomic<int> calls{0}, mismatches{0};
  std::thread scoring([&] {
    while (training.load()) {
      const std::vector<float> scores = scorer->Score(clips.data(), 16);
      for (int i = 0; i < 16; ++i) {
        if (std::abs(scores[i] - expected[i]) > 1e-5f) {
          ++mismatches;
          break;
        }
      }
      ++calls;
    }
  });
  for (int i = 0; i < 8; ++i) {
    const bool liked = i % 2 == 0;
    trainee->AddRatingAndTrain(ToneClip(liked ? kLikedPitch : kDislikedPitch, 300 + i), liked);
  }
  training = false;
  scoring.join();
  EXPECT_TRUE(trainee->cuda_graph_problem().empty()) << trainee->cuda_graph_problem();
  EXPECT_EQ(trainee->uses_cuda_graphs(), CudaGraphsBuilt());
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(mismatches.load(), 0) << "of " << calls.load() << " scoring calls";
}

// Scores of `count` clips from ordinary memory and from page-locked memory split into two runs
// at `split`, which must agree; the first are returned.
std::vector<float> ScoreBothWays(Critic& critic, const std::vector<float>& clips, int count,
                                 int split) {
  const std::vector<float> plain = critic.Score(clips.data(), count);
  HostClips front = HostClips::ForDevice("cuda:0", split);
  HostClips back = HostClips::ForDevice("cuda:0", count - split);
  for (int i = 0; i < count; ++i) {
    float* clip = (i < split ? front : back).Append();
    std::copy_n(clips.begin() + static_cast<std::ptrdiff_t>(i) * kClipFrames, kClipFrames, clip);
  }
  const std::vector<float> in_runs = critic.Score(std::vector<ClipRun>{front.run(), back.run()});
  EXPECT_EQ(in_runs.size(), plain.size());
  for (size_t i = 0; i < plain.size() && i < in_runs.size(); ++i)
    EXPECT_NEAR(in_runs[i], plain[i], 1e-5) << "clip " << i << " of " << count;
  return plain;
}

// Scoring replays a graph per power-of-two batch size (padded, larger batches in pieces of 64,
// their copies overlapping the work): every size must score each clip as the kernels launched one
// by one do, before and after training moved the weights the graphs read in place. Clips of a
// batch score apart from each other, so a graph that scored stale rows or the wrong batch would
// show.
TEST_F(CriticCudaTest, GraphsScoreAsLaunchedKernelsDoAtEveryBatchSize) {
  CriticConfig config;
  config.seed = 17;
  config.learning_rate = 3e-4;
  std::string error;
  auto graphed = Critic::Create(config, "cuda:0", &error, {.cuda_graphs = true});
  ASSERT_NE(graphed, nullptr) << error;
  std::vector<float> clips;
  for (int i = 0; i < 150; ++i) {
    const std::vector<float> clip = ToneClip(i % 2 ? kLikedPitch : kDislikedPitch, 1000 + i);
    clips.insert(clips.end(), clip.begin(), clip.end());
  }
  for (int round = 0; round < 2; ++round) {
    // Training first, so that the two kinds of clips score far apart, and between the rounds, so
    // that the second compares weights the graphs' first replays did not see.
    for (int i = 0; i < 4; ++i) {
      const bool liked = i % 2 == 0;
      graphed->AddRatingAndTrain(
          ToneClip(liked ? kLikedPitch : kDislikedPitch, 1500 + round * 10 + i), liked);
    }
    auto launched =
        Critic::Restore(config, "cuda:0", graphed->SaveState(), {}, &error, {.cuda_graphs = false});
    ASSERT_NE(launched, nullptr) << error;
    const std::vector<float> expected = launched->Score(clips.data(), 150);
    // Not closer: another batch size may get other cuDNN algorithms, which round differently
    // (TF32).
    constexpr double kTolerance = 1e-3;
    const auto [low, high] = std::minmax_element(expected.begin(), expected.end());
    EXPECT_GT(*high - *low, 20 * kTolerance) << "clips meant to score apart";
    for (const auto& [count, split] :
         std::vector<std::pair<int, int>>{{1, 0}, {3, 1}, {64, 30}, {65, 64}, {150, 70}}) {
      const std::vector<float> scores = ScoreBothWays(*graphed, clips, count, split);
      ASSERT_EQ(scores.size(), static_cast<size_t>(count));
      for (int i = 0; i < count; ++i)
        EXPECT_NEAR(scores[i], expected[i], kTolerance) << "clip " << i << " of " << count;
    }
    EXPECT_EQ(graphed->uses_cuda_graphs(), CudaGraphsBuilt()) << graphed->cuda_graph_problem();
  }
}

// Critics sharing their scoring memory, as a dd-critic worker's do, score as they would alone,
// whichever scores first and at whatever batch size, and go on scoring right once another of them
// is gone (its graphs and results freed back into the shared pool).
TEST_F(CriticCudaTest, CriticsSharingScoringMemoryScoreAsTheyWouldAlone) {
  std::vector<float> clips;
  for (int i = 0; i < 70; ++i) {
    const std::vector<float> clip = ToneClip(i % 3 ? kLikedPitch : kDislikedPitch, 2000 + i);
    clips.insert(clips.end(), clip.begin(), clip.end());
  }
  std::string error;
  std::vector<std::vector<float>> alone;
  for (const uint64_t seed : {21, 22}) {
    auto critic = Critic::Create(CriticConfig{.seed = seed}, "cuda:0", &error);
    ASSERT_NE(critic, nullptr) << error;
    alone.push_back(critic->Score(clips.data(), 70));
  }
  double largest_difference = 0;
  for (int i = 0; i < 70; ++i)
    largest_difference = std::max<double>(largest_difference, std::abs(alone[0][i] - alone[1][i]));
  EXPECT_GT(largest_difference, 1e-3) << "two seeds meant to score apart";

  const std::shared_ptr<SharedScoringMemory> memory = NewSharedScoringMemory();
  std::vector<std::unique_ptr<Critic>> sharing;
  for (const uint64_t seed : {21, 22}) {
    sharing.push_back(Critic::Create(CriticConfig{.seed = seed}, "cuda:0", &error,
                                     {.cuda_graphs = true, .scoring_memory = memory}));
    ASSERT_NE(sharing.back(), nullptr) << error;
  }
  const auto check = [&](int which, int count) {
    const std::vector<float> scores = sharing[which]->Score(clips.data(), count);
    ASSERT_EQ(scores.size(), static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
      EXPECT_NEAR(scores[i], alone[which][i], 1e-5)
          << "critic " << which << ", clip " << i << " of " << count;
  };
  for (const int count : {70, 3, 64, 1}) {
    check(0, count);
    check(1, count);
  }
  for (const int count : {64, 3}) {
    check(1, count);
    check(0, count);
  }
  EXPECT_EQ(sharing[0]->uses_cuda_graphs(), CudaGraphsBuilt()) << sharing[0]->cuda_graph_problem();
  sharing[1].reset();
  for (const int count : {70, 2, 64})
    check(0, count);
}

// A GPU-trained critic's snapshot, fused Adam state included, is one a CPU worker takes over: it
// scores as the GPU did and goes on training.
TEST_F(CriticCudaTest, CpuWorkerTakesOverAGraphTrainedCritic) {
  CriticConfig config;
  config.seed = 9;
  config.minibatches_per_rating = 4;
  std::string error;
  auto gpu = Critic::Create(config, "cuda:0", &error);
  ASSERT_NE(gpu, nullptr) << error;
  std::vector<RatedClip> history;
  for (int i = 0; i < 6; ++i) {
    history.push_back({ToneClip(i % 2 ? kDislikedPitch : kLikedPitch, 200 + i), i % 2 == 0});
    gpu->AddRatingAndTrain(history.back().audio, history.back().liked);
  }
  auto cpu = Critic::Restore(config, "cpu", gpu->SaveState(), history, &error);
  ASSERT_NE(cpu, nullptr) << error;
  ASSERT_TRUE(cpu->can_train());
  const std::vector<float> probe = Clips(kLikedPitch, 700, 4);
  const std::vector<float> on_gpu = gpu->Score(probe.data(), 4);
  const std::vector<float> on_cpu = cpu->Score(probe.data(), 4);
  // Not equal: the GPU's convolutions round differently (cuDNN, TF32 by default).
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(on_cpu[i], on_gpu[i], 1e-2) << "clip " << i;
  const TrainingRound round = cpu->AddRatingAndTrain(ToneClip(kLikedPitch, 299), true);
  EXPECT_TRUE(round.trained);
  EXPECT_TRUE(std::isfinite(round.mean_loss));
}

}  // namespace
}  // namespace dd::critic
