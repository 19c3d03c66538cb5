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

  // A network with drawn weights and batch norms, and inputs for `batch` clips, on the device.
  void Build(int batch) {
    net_->ResetParameters(random_);
    RandomiseNorms(*net_, random_);
    net_->to(device());
    // MFCC images have values in the tens to hundreds.
    features_ = (30.0 * torch::randn({batch, kMfcc, kTimeFrames}, random_)).to(device());
    if (rhythm_features() > 0) {
      rhythm_ = torch::rand({batch, rhythm_features()}, random_).to(device());
    }
  }

  // CriticNet's own eval forward, the reference.
  torch::Tensor Reference() {
    net_->eval();
    return net_->forward(features_, rhythm_, 0.0, c10::nullopt);
  }

  static constexpr double kTolerance = 1e-4;
  torch::NoGradGuard no_grad_;
  at::Generator random_ = at::make_generator<at::CPUGeneratorImpl>(5);
  CriticNet net_{kMfcc, kTimeFrames, rhythm_features()};
  torch::Tensor features_, rhythm_;
};

TEST_P(FoldedCriticNetTest, ScoresAsTheNetworkInEvalUse) {
  Build(6);
  FoldedCriticNet folded(*net_);
  const torch::Tensor expected = Reference();
  const torch::Tensor got = folded.Forward(features_, rhythm_);
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LT((got - expected).abs().max().item<double>(), kTolerance);
  EXPECT_GT((expected.select(1, 1) - expected.select(1, 1).mean()).abs().max().item<double>(),
            20 * kTolerance)
      << "inputs meant to score apart";
}

TEST_P(FoldedCriticNetTest, RefreshFollowsChangedWeights) {
  Build(4);
  FoldedCriticNet folded(*net_);
  const torch::Tensor before = folded.Forward(features_, rhythm_);

  // As a training round does: weights, norms' affine parameters and running statistics move.
  // Drawn on the CPU, where the seeded generator is.
  net_->to(torch::kCPU);
  RandomiseNorms(*net_, random_);
  for (const torch::Tensor& parameter : net_->parameters())
    parameter.add_(0.05 * torch::randn(parameter.sizes(), random_));
  net_->to(device());
  folded.Refresh(*net_);
  const torch::Tensor after = folded.Forward(features_, rhythm_);
  EXPECT_LT((after - Reference()).abs().max().item<double>(), kTolerance);
  EXPECT_GT((after - before).abs().max().item<double>(), 20 * kTolerance)
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
