// The scoring network with its batch norms folded into the next layers gives the log-probabilities
// of CriticNet in eval use, with and without the rhythm branch, on the CPU and (where there is
// one) on a CUDA device in channels-last; Refresh follows changed weights. (That it refreshes in
// place, under the scoring graphs that read the weights, critic_cuda_test's
// GraphsScoreAsLaunchedKernelsDoAtEveryBatchSize checks on a GPU.)
#include "common/critic/folded_critic_net.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <ATen/Context.h>
#include <torch/torch.h>

#include "common/critic/critic_net.h"

namespace dd::critic {
namespace {

constexpr int kMfcc = 60;
constexpr int64_t kTimeFrames = 442;

// Batch norms that have seen data: running statistics and affine parameters away from their
// initial 0 and 1, so that a fold that left any of them out would show.
void RandomiseNorms(CriticNetImpl& net, at::Generator& random) {
  torch::NoGradGuard no_grad;
  for (const auto& item : net.named_buffers()) {
    const std::string& name = item.key();
    torch::Tensor buffer = item.value();
    if (name.find("running_mean") != std::string::npos) buffer.normal_(0.0, 0.5, random);
    if (name.find("running_var") != std::string::npos) buffer.uniform_(0.3, 3.0, random);
  }
  for (const auto& item : net.named_parameters()) {
    if (item.key().rfind("norm", 0) != 0) continue;
    torch::Tensor parameter = item.value();
    if (item.key().find("weight") != std::string::npos) parameter.uniform_(0.5, 1.5, random);
    if (item.key().find("bias") != std::string::npos) parameter.normal_(0.0, 0.3, random);
  }
}

class FoldedCriticNetTest : public testing::TestWithParam<std::tuple<std::string, int>> {
 protected:
  torch::Device device() const { return torch::Device(std::get<0>(GetParam())); }
  int rhythm_features() const { return std::get<1>(GetParam()); }

  // cuDNN rounds convolutions to TF32 by default, each side of the comparison its own way; in
  // float32 both compare as closely as on the CPU, which is what the fold's arithmetic is about.
  void SetUp() override {
    if (device().is_cuda() && !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    tf32_was_allowed_ = at::globalContext().allowTF32CuDNN();
    at::globalContext().setAllowTF32CuDNN(false);
  }
  void TearDown() override { at::globalContext().setAllowTF32CuDNN(tf32_was_allowed_); }

  bool tf32_was_allowed_ = true;

  // CriticNet's own eval forward, the reference.
  torch::Tensor Reference(CriticNet& net, const torch::Tensor& features,
                          const torch::Tensor& rhythm) {
    net->eval();
    return net->forward(features, rhythm, 0.0, c10::nullopt);
  }
};

TEST_P(FoldedCriticNetTest, ScoresAsTheNetworkInEvalUse) {
  torch::NoGradGuard no_grad;
  at::Generator random = at::make_generator<at::CPUGeneratorImpl>(5);
  CriticNet net(kMfcc, kTimeFrames, rhythm_features());
  net->ResetParameters(random);
  RandomiseNorms(*net, random);
  net->to(device());
  // MFCC images have values in the tens to hundreds.
  const torch::Tensor features =
      (30.0 * torch::randn({6, kMfcc, kTimeFrames}, random)).to(device());
  torch::Tensor rhythm;
  if (rhythm_features() > 0) rhythm = torch::rand({6, rhythm_features()}, random).to(device());

  FoldedCriticNet folded(*net);
  const torch::Tensor expected = Reference(net, features, rhythm);
  const torch::Tensor got = folded.Forward(features, rhythm);
  ASSERT_EQ(got.sizes(), expected.sizes());
  constexpr double tolerance = 1e-4;
  EXPECT_LT((got - expected).abs().max().item<double>(), tolerance);
  EXPECT_GT((expected.select(1, 1) - expected.select(1, 1).mean()).abs().max().item<double>(),
            20 * tolerance)
      << "inputs meant to score apart";
}

TEST_P(FoldedCriticNetTest, RefreshFollowsChangedWeightsInTheSameTensors) {
  torch::NoGradGuard no_grad;
  at::Generator random = at::make_generator<at::CPUGeneratorImpl>(6);
  CriticNet net(kMfcc, kTimeFrames, rhythm_features());
  net->ResetParameters(random);
  RandomiseNorms(*net, random);
  net->to(device());
  const torch::Tensor features =
      (30.0 * torch::randn({4, kMfcc, kTimeFrames}, random)).to(device());
  torch::Tensor rhythm;
  if (rhythm_features() > 0) rhythm = torch::rand({4, rhythm_features()}, random).to(device());
  FoldedCriticNet folded(*net);
  const torch::Tensor before = folded.Forward(features, rhythm);

  // As a training round does: weights, norms' affine parameters and running statistics move.
  // Drawn on the CPU, where the seeded generator is.
  net->to(torch::kCPU);
  RandomiseNorms(*net, random);
  for (const torch::Tensor& parameter : net->parameters())
    parameter.add_(0.05 * torch::randn(parameter.sizes(), random));
  net->to(device());
  folded.Refresh(*net);
  const torch::Tensor after = folded.Forward(features, rhythm);
  constexpr double tolerance = 1e-4;
  EXPECT_LT((after - Reference(net, features, rhythm)).abs().max().item<double>(), tolerance);
  EXPECT_GT((after - before).abs().max().item<double>(), 20 * tolerance)
      << "the change meant to move the scores";
}

INSTANTIATE_TEST_SUITE_P(DevicesAndBranches, FoldedCriticNetTest,
                         testing::Combine(testing::Values("cpu", "cuda:0"), testing::Values(0, 12)),
                         [](const auto& info) {
                           std::string device = std::get<0>(info.param);
                           return (device == "cpu" ? std::string("Cpu") : std::string("Cuda")) +
                                  (std::get<1>(info.param) > 0 ? "WithRhythmBranch" : "");
                         });

}  // namespace
}  // namespace dd::critic
