// HostClips and scoring clips in runs: on the CPU (CI) ordinary memory and the same scores as one
// buffer; on a GPU, page-locked memory whose clips score as ordinary memory's do.
#include "common/critic/host_clips.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/critic/critic.h"

namespace dd::critic {
namespace {

// `count` clips of noise bursts at different levels, back to back, so that their scores differ.
std::vector<float> NoiseClips(int count, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<float> clips(static_cast<size_t>(count * kClipFrames));
  for (int c = 0; c < count; ++c) {
    std::normal_distribution<float> noise(0.0f, 0.02f * static_cast<float>(1 + c % 7));
    for (int64_t i = 0; i < kClipFrames; ++i) {
      const float envelope = std::exp(-static_cast<float>(i % 11025) / 2000.0f);
      clips[static_cast<size_t>(c * kClipFrames + i)] = envelope * noise(random);
    }
  }
  return clips;
}

// A fresh critic with a fixed seed on `device`; nullptr (with the reason reported) if it fails.
std::unique_ptr<Critic> SeededCritic(const std::string& device) {
  CriticConfig config;
  config.seed = 5;
  std::string error;
  std::unique_ptr<Critic> critic = Critic::Create(config, device, &error);
  EXPECT_NE(critic, nullptr) << error;
  return critic;
}

void CopyInto(HostClips& host, const std::vector<float>& clips) {
  for (size_t at = 0; at < clips.size(); at += kClipFrames) {
    float* clip = host.Append();
    ASSERT_NE(clip, nullptr);
    std::copy_n(clips.begin() + static_cast<std::ptrdiff_t>(at), kClipFrames, clip);
  }
}

TEST(HostClipsTest, OrdinaryMemoryOffTheGpuFilledClipByClipUntilFull) {
  for (const std::string device : {"cpu", "not-a-device"}) {
    HostClips clips = HostClips::ForDevice(device, 3);
    EXPECT_FALSE(clips.page_locked()) << device;
    EXPECT_EQ(clips.capacity(), 3);
    EXPECT_EQ(clips.size(), 0);
    float* first = clips.Append();
    float* second = clips.Append();
    float* third = clips.Append();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(second, first + kClipFrames);
    EXPECT_EQ(third, first + 2 * kClipFrames);
    third[kClipFrames - 1] = 0.25f;  // The whole of the last clip is there to write.
    EXPECT_EQ(clips.Append(), nullptr) << "a fourth clip in room for three";
    EXPECT_EQ(clips.size(), 3);
    EXPECT_EQ(clips.run().clips, first);
    EXPECT_EQ(clips.run().count, 3);
  }
  HostClips none = HostClips::ForDevice("cpu", 0);
  EXPECT_EQ(none.Append(), nullptr);
  EXPECT_EQ(none.run().count, 0);
}

// Runs that start and end inside the CPU's scoring chunks (16 clips), one of them empty: the
// batch is the clips in order, whatever runs they came in.
TEST(HostClipsTest, ScoringRunsIsScoringTheirClipsBackToBack) {
  const std::unique_ptr<Critic> critic = SeededCritic("cpu");
  ASSERT_NE(critic, nullptr);
  const std::vector<float> clips = NoiseClips(21, 9);
  const std::vector<float> whole = critic->Score(clips.data(), 21);
  ASSERT_EQ(whole.size(), 21u);
  EXPECT_NE(whole.front(), whole[1]) << "clips meant to score differently";
  const float* at = clips.data();
  const std::vector<float> in_runs = critic->Score(std::vector<ClipRun>{
      {at, 3}, {at + 3 * kClipFrames, 0}, {at + 3 * kClipFrames, 14}, {at + 17 * kClipFrames, 4}});
  EXPECT_EQ(in_runs, whole);
  EXPECT_TRUE(critic->Score(std::vector<ClipRun>{}).empty());
}

TEST(HostClipsDeviceTest, PageLockedOnAGpuAndScoredAsOrdinaryMemoryIs) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  const std::unique_ptr<Critic> critic = SeededCritic("cuda:0");
  ASSERT_NE(critic, nullptr);
  const std::vector<float> clips = NoiseClips(40, 11);
  const std::vector<float> expected = critic->Score(clips.data(), 40);
  HostClips first = HostClips::ForDevice("cuda:0", 25);
  HostClips second = HostClips::ForDevice("cuda:0", 15);
  EXPECT_TRUE(first.page_locked());
  EXPECT_FALSE(HostClips::ForDevice("cuda:0", HostClips::kMaxPageLockedClips + 1).page_locked())
      << "page-locked memory beyond the cap";
  CopyInto(first, {clips.begin(), clips.begin() + 25 * kClipFrames});
  CopyInto(second, {clips.begin() + 25 * kClipFrames, clips.end()});
  const std::vector<float> pinned = critic->Score(first.run().clips, first.run().count);
  const std::vector<float> two_runs =
      critic->Score(std::vector<ClipRun>{first.run(), second.run()});
  ASSERT_EQ(two_runs.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(two_runs[i], expected[i], 1e-6) << "clip " << i;
    if (i < pinned.size()) {
      // Another batch size (25 against 40: graphs of 32 and 64 clips) may get other cuDNN
      // algorithms, which round differently.
      EXPECT_NEAR(pinned[i], expected[i], 1e-4) << "clip " << i;
    }
  }
}

}  // namespace
}  // namespace dd::critic
