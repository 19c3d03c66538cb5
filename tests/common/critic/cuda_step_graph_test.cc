// RunStepsWithCudaGraph and RecordedCudaGraph on their own: replays, and work that cannot be
// recorded. Needs a CUDA device and a DD_CUDA build; skipped elsewhere, except that a build without
// DD_CUDA must say so.
#include "common/critic/cuda_step_graph.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <torch/torch.h>

#include "common/critic/critic.h"

namespace dd::critic {
namespace {

TEST(CudaStepGraphTest, ABuildWithoutTheCodeRunsNothingAndSaysWhy) {
  if (CudaGraphsBuilt()) GTEST_SKIP() << "this build has the CUDA graph code";
  int calls = 0, done = -1;
  const std::string problem = RunStepsWithCudaGraph(
      0, 3, [&] { ++calls; }, &done);
  EXPECT_NE(problem.find("DD_CUDA"), std::string::npos) << problem;
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(done, 0);
}

TEST(CudaStepGraphTest, ABuildWithoutTheCodeRecordsNoGraphAndSaysWhy) {
  if (CudaGraphsBuilt()) GTEST_SKIP() << "this build has the CUDA graph code";
  int calls = 0;
  std::string problem;
  EXPECT_EQ(RecordedCudaGraph::Record(
                0, [&] { ++calls; }, NewCudaGraphPool(), &problem),
            nullptr);
  EXPECT_NE(problem.find("DD_CUDA"), std::string::npos) << problem;
  EXPECT_EQ(calls, 0);
}

class CudaStepGraphDeviceTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!CudaAvailable() || !CudaGraphsBuilt()) GTEST_SKIP() << "no CUDA device or no DD_CUDA";
  }
  torch::TensorOptions OnGpu() const { return torch::TensorOptions().device(torch::kCUDA, 0); }
};

// The step runs once as called and is then replayed: every replay does its work, including the
// allocations and the random draw it recorded (a fresh draw each time), and the host code in it
// runs only twice.
TEST_F(CudaStepGraphDeviceTest, ReplaysTheRecordedStep) {
  torch::Tensor counter = torch::zeros({}, OnGpu());
  torch::Tensor means = torch::full({7}, -1.0, OnGpu());
  int host_calls = 0, done = 0;
  const std::string problem = RunStepsWithCudaGraph(
      0, 7,
      [&] {
        ++host_calls;
        const torch::Tensor slot = counter.to(torch::kLong).view({1});
        means.index_copy_(0, slot, torch::rand({1000}, OnGpu()).mean().view({1}));
        counter.add_(1);
      },
      &done);
  EXPECT_TRUE(problem.empty()) << problem;
  EXPECT_EQ(done, 7);
  EXPECT_EQ(host_calls, 2);
  EXPECT_EQ(counter.item<float>(), 7.0f);
  const torch::Tensor written = means.cpu();
  for (int i = 0; i < 7; ++i) {
    EXPECT_NEAR(written[i].item<float>(), 0.5f, 0.05f) << "step " << i;  // Mean of U(0, 1).
    for (int j = 0; j < i; ++j)
      EXPECT_NE(written[i].item<float>(), written[j].item<float>()) << "steps " << j << ", " << i;
  }
}

// A step that waits for the device cannot be recorded: the recording is abandoned, nothing of it
// runs, the caller learns why and how many steps ran, and the device, its random numbers and
// later graphs work as before.
TEST_F(CudaStepGraphDeviceTest, AStepThatCannotBeRecordedIsReportedAndNothingOfItRuns) {
  torch::Tensor counter = torch::zeros({}, OnGpu());
  int done = 0;
  const std::string problem = RunStepsWithCudaGraph(
      0, 5,
      [&] {
        counter.add_(1);
        (void)counter.item<float>();  // Copies to the host: not allowed while recording.
      },
      &done);
  EXPECT_FALSE(problem.empty());
  EXPECT_EQ(done, 1);
  EXPECT_EQ(counter.item<float>(), 1.0f);
  counter.add_(1);
  EXPECT_EQ(counter.item<float>(), 2.0f);
  EXPECT_TRUE(std::isfinite(torch::randn({100}, OnGpu()).sum().item<float>()));

  int later_done = 0;
  EXPECT_TRUE(RunStepsWithCudaGraph(
                  0, 3, [&] { counter.add_(1); }, &later_done)
                  .empty());
  EXPECT_EQ(later_done, 3);
  EXPECT_EQ(counter.item<float>(), 5.0f);
}

// A kept graph replays its work on whatever its input holds at the time, into the result it
// allocated while recorded; a second graph recorded into the same pool has results of its own,
// and each is right when read straight after its replay.
TEST_F(CudaStepGraphDeviceTest, AKeptGraphReplaysOnItsInputsCurrentContents) {
  torch::Tensor input = torch::zeros({1000}, OnGpu());
  torch::Tensor doubled, squared;
  int host_calls = 0;
  std::string problem;
  const CudaGraphPool pool = NewCudaGraphPool();
  auto doubling = RecordedCudaGraph::Record(
      0,
      [&] {
        ++host_calls;
        doubled = (input * 3 - input).sum();  // A temporary the other graph may reuse.
      },
      pool, &problem);
  ASSERT_NE(doubling, nullptr) << problem;
  auto squaring = RecordedCudaGraph::Record(
      0, [&] { squared = (input * input).sum(); }, pool, &problem);
  ASSERT_NE(squaring, nullptr) << problem;
  EXPECT_EQ(host_calls, 2);  // Once as usual, once recorded.
  for (int round = 1; round <= 3; ++round) {
    input.fill_(static_cast<double>(round));
    doubling->Replay();
    EXPECT_EQ(doubled.item<float>(), 2000.0f * static_cast<float>(round)) << "round " << round;
    squaring->Replay();
    EXPECT_EQ(squared.item<float>(), 1000.0f * static_cast<float>(round * round))
        << "round " << round;
  }
  EXPECT_EQ(host_calls, 2) << "replays run no host code";
}

TEST_F(CudaStepGraphDeviceTest, WorkThatCannotBeKeptAsAGraphIsReported) {
  torch::Tensor counter = torch::zeros({}, OnGpu());
  std::string problem;
  auto graph = RecordedCudaGraph::Record(
      0,
      [&] {
        counter.add_(1);
        (void)counter.item<float>();  // Copies to the host: not allowed while recording.
      },
      CudaGraphPool{}, &problem);
  EXPECT_EQ(graph, nullptr);
  EXPECT_FALSE(problem.empty());
  EXPECT_EQ(counter.item<float>(), 1.0f) << "the ordinary run only";
  EXPECT_TRUE(std::isfinite(torch::randn({100}, OnGpu()).sum().item<float>()));
}

}  // namespace
}  // namespace dd::critic
