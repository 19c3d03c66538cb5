// FusedAdam and the optimizer state it shares with torch::optim::Adam. The key lookup runs on the
// CPU; the fused update itself needs a GPU and is skipped elsewhere.
#include "common/critic/fused_adam.h"

#include <gtest/gtest.h>

#include <memory>

#include <torch/torch.h>

#include "common/critic/critic.h"

namespace dd::critic {
namespace {

torch::optim::AdamOptions Options() {
  return torch::optim::AdamOptions(1e-2).weight_decay(1e-3);
}

void SetRandomGradients(torch::nn::Linear& layer, uint64_t seed) {
  torch::manual_seed(seed);
  for (torch::Tensor& parameter : layer->parameters())
    parameter.mutable_grad() = torch::randn_like(parameter);
}

TEST(AdamStateForTest, FindsTheStateAdamsOwnStepMade) {
  torch::nn::Linear layer(3, 2);
  torch::optim::Adam adam(layer->parameters(), Options());
  SetRandomGradients(layer, 1);
  adam.step();
  ASSERT_EQ(adam.state().size(), 2u);
  for (const torch::Tensor& parameter : layer->parameters()) {
    torch::optim::AdamParamState& state = AdamStateFor(adam, parameter);
    EXPECT_EQ(state.step(), 1);
    EXPECT_GT(state.exp_avg().abs().sum().item<double>(), 0.0);
  }
  EXPECT_EQ(adam.state().size(), 2u) << "a lookup added state under a key Adam does not use";
}

TEST(AdamStateForTest, MakesWhatAdamsFirstStepWouldAndAdamUsesIt) {
  torch::manual_seed(5);
  torch::nn::Linear made_early(3, 2), made_by_adam(3, 2);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < made_early->parameters().size(); ++i)
      made_by_adam->parameters()[i].copy_(made_early->parameters()[i]);
  }
  torch::optim::Adam early(made_early->parameters(), Options());
  torch::optim::Adam lazy(made_by_adam->parameters(), Options());
  for (const torch::Tensor& parameter : made_early->parameters()) {
    torch::optim::AdamParamState& state = AdamStateFor(early, parameter);
    EXPECT_EQ(state.step(), 0);
    EXPECT_EQ(state.exp_avg().abs().sum().item<double>(), 0.0);
    EXPECT_EQ(state.exp_avg_sq().sizes(), parameter.sizes());
  }
  for (int step = 0; step < 3; ++step) {
    SetRandomGradients(made_early, 10 + step);
    SetRandomGradients(made_by_adam, 10 + step);
    early.step();
    lazy.step();
  }
  EXPECT_EQ(early.state().size(), 2u);
  for (size_t i = 0; i < made_early->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(made_early->parameters()[i], made_by_adam->parameters()[i]));
  }
}

TEST(FusedAdamTest, MatchesLibTorchsAdamOnTheGpu) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  torch::manual_seed(7);
  torch::nn::Linear reference(64, 32), fused_layer(64, 32);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < reference->parameters().size(); ++i)
      fused_layer->parameters()[i].copy_(reference->parameters()[i]);
  }
  reference->to(gpu);
  fused_layer->to(gpu);
  torch::optim::Adam reference_adam(reference->parameters(), Options());
  torch::optim::Adam fused_adam(fused_layer->parameters(), Options());
  // Two of LibTorch's steps first, so that FusedAdam starts from state it did not make; then two
  // FusedAdams of five steps each, so that a second one starts from the counts the first wrote.
  std::unique_ptr<FusedAdam> fused;
  for (int step = 0; step < 12; ++step) {
    SetRandomGradients(reference, 100 + step);
    SetRandomGradients(fused_layer, 100 + step);
    reference_adam.step();
    if (step < 2) {
      fused_adam.step();
      continue;
    }
    if (step == 2 || step == 7) fused = std::make_unique<FusedAdam>(fused_adam);
    fused->Step();
    if (step == 6 || step == 11) fused->Finish();
  }
  for (size_t i = 0; i < reference->parameters().size(); ++i) {
    const torch::Tensor expected = reference->parameters()[i];
    const torch::Tensor actual = fused_layer->parameters()[i];
    const double error = (actual - expected).norm().item<double>() / expected.norm().item<double>();
    EXPECT_LT(error, 1e-5) << "parameter " << i;
    EXPECT_EQ(AdamStateFor(fused_adam, actual).step(), 12);
    const double moment_error =
        (AdamStateFor(fused_adam, actual).exp_avg_sq() -
         AdamStateFor(reference_adam, expected).exp_avg_sq())
            .norm()
            .item<double>() /
        AdamStateFor(reference_adam, expected).exp_avg_sq().norm().item<double>();
    // Rounding differs (the fused kernel's own order of operations) by ~1e-5 of the second
    // moment; one step more or less, or moments that started from zero, moves it by percents.
    EXPECT_LT(moment_error, 1e-4) << "parameter " << i;
  }
}

}  // namespace
}  // namespace dd::critic
