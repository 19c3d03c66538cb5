#include "common/critic_serving/score_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace dd {
namespace {

using critic::ClipRun;

TEST(ScoreBatcherTest, ConcurrentCallsForOneKeyRunAsOneBatchAndGetTheirOwnScores) {
  std::atomic<int> runs_seen{0};
  ScoreBatcher batcher(absl::Milliseconds(200), 8,
                       [&](const std::string&, const std::vector<ClipRun>& runs, int64_t count) {
                         // Score = the clip's first sample, so every caller can check it got its
                         // own; each caller's clips arrive as a run of their own, not copied.
                         runs_seen += static_cast<int>(runs.size());
                         std::vector<float> scores;
                         for (const ClipRun& run : runs) {
                           for (int64_t i = 0; i < run.count; ++i)
                             scores.push_back(run.clips[i * 2]);
                         }
                         EXPECT_EQ(static_cast<int64_t>(scores.size()), count);
                         return absl::StatusOr<std::vector<float>>(scores);
                       });
  std::vector<std::thread> callers;
  std::vector<float> got(4, -1);
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] {
      // Two clips of two samples each.
      const std::vector<float> clips = {float(i), 0, float(10 + i), 0};
      auto scores = batcher.Score("critic@1", {clips.data(), 2});
      ASSERT_TRUE(scores.ok());
      ASSERT_EQ(scores->size(), 2u);
      EXPECT_EQ((*scores)[1], 10 + i);
      got[i] = (*scores)[0];
    });
  }
  for (auto& t : callers)
    t.join();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(got[i], i);
  EXPECT_EQ(batcher.clips_run(), 8);
  // The batch closes when it holds 8 clips, long before the 200 ms window ends; all four callers
  // normally land in one batch, and never in more than four.
  EXPECT_LE(batcher.batches_run(), 4);
  EXPECT_GE(batcher.batches_run(), 1);
  EXPECT_EQ(runs_seen.load(), 4);  // One run per caller, however they were batched.
}

TEST(ScoreBatcherTest, DifferentKeysAreNotMixedAndErrorsReachEveryone) {
  ScoreBatcher batcher(absl::Milliseconds(5), 100,
                       [](const std::string& key, const std::vector<ClipRun>&,
                          int64_t count) -> absl::StatusOr<std::vector<float>> {
                         if (key == "bad") return absl::NotFoundError("no such critic");
                         return std::vector<float>(static_cast<size_t>(count),
                                                   key == "a" ? 1.0f : 2.0f);
                       });
  const float clip = 0;
  auto a = batcher.Score("a", {&clip, 1});
  auto b = batcher.Score("b", {&clip, 1});
  auto bad = batcher.Score("bad", {&clip, 1});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0], 1.0f);
  EXPECT_EQ((*b)[0], 2.0f);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
}

TEST(ScoreBatcherTest, ALoneCallRunsAtOnceAndCallsDuringABatchGoTogetherNext) {
  std::atomic<int> calls{0};
  ScoreBatcher batcher(absl::ZeroDuration(), 100,
                       [&calls](const std::string&, const std::vector<ClipRun>&, int64_t count) {
                         // The first batch is slow, so that the next callers arrive while it runs.
                         if (calls++ == 0)
                           std::this_thread::sleep_for(std::chrono::milliseconds(300));
                         return absl::StatusOr<std::vector<float>>(
                             std::vector<float>(static_cast<size_t>(count), 0.5f));
                       });
  const float clip = 0;
  std::thread first([&] { EXPECT_TRUE(batcher.Score("k", {&clip, 1}).ok()); });
  while (calls.load() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(batcher.batches_run(), 0);  // Running, not finished.
  std::vector<std::thread> queued;
  for (int i = 0; i < 3; ++i) {
    queued.emplace_back([&] { EXPECT_TRUE(batcher.Score("k", {&clip, 1}).ok()); });
  }
  first.join();
  for (auto& t : queued)
    t.join();
  // One batch for the first call, one for the three that queued behind it.
  EXPECT_EQ(batcher.batches_run(), 2);
  EXPECT_EQ(batcher.clips_run(), 4);
}

}  // namespace
}  // namespace dd
