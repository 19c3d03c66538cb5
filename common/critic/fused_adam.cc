#include "common/critic/fused_adam.h"

#include <memory>
#include <sstream>
#include <string>
#include <type_traits>

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_fused_adam.h>
#include <torch/torch.h>

namespace dd::critic {
namespace {

// The optimizer's key for a parameter's state: the address of its TensorImpl, as text in LibTorch
// 1.x and as the pointer itself in 2.x.
template <typename Key>
Key StateKey(const torch::Tensor& parameter) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << parameter.unsafeGetTensorImpl();
    return text.str();
  } else {
    return parameter.unsafeGetTensorImpl();
  }
}

}  // namespace

torch::optim::AdamParamState& AdamStateFor(torch::optim::Adam& optimizer,
                                           const torch::Tensor& parameter) {
  auto& states = optimizer.state();
  using Key = typename std::remove_reference_t<decltype(states)>::key_type;
  auto& slot = states[StateKey<Key>(parameter)];
  if (!slot) {
    auto fresh = std::make_unique<torch::optim::AdamParamState>();
    fresh->step(0);
    fresh->exp_avg(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
    fresh->exp_avg_sq(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
    slot = std::move(fresh);
  }
  return static_cast<torch::optim::AdamParamState&>(*slot);
}

FusedAdam::FusedAdam(torch::optim::Adam& optimizer) {
  for (auto& param_group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(param_group.options());
    TORCH_CHECK(!options.amsgrad(), "FusedAdam does not support amsgrad");
    Group group;
    group.lr = options.lr();
    group.beta1 = std::get<0>(options.betas());
    group.beta2 = std::get<1>(options.betas());
    group.weight_decay = options.weight_decay();
    group.eps = options.eps();
    for (const torch::Tensor& parameter : param_group.params()) {
      if (!parameter.requires_grad()) continue;
      torch::optim::AdamParamState& state = AdamStateFor(optimizer, parameter);
      group.parameters.push_back(parameter);
      group.exp_avgs.push_back(state.exp_avg());
      group.exp_avg_sqs.push_back(state.exp_avg_sq());
      group.steps.push_back(torch::full({}, static_cast<double>(state.step()),
                                        parameter.options().dtype(torch::kFloat32)));
      group.states.push_back(&state);
    }
    if (!group.parameters.empty()) groups_.push_back(std::move(group));
  }
}

void FusedAdam::Step() {
  torch::NoGradGuard no_grad;
  for (Group& group : groups_) {
    std::vector<torch::Tensor> gradients;
    gradients.reserve(group.parameters.size());
    for (const torch::Tensor& parameter : group.parameters) {
      TORCH_CHECK(parameter.grad().defined(), "FusedAdam::Step: a parameter has no gradient");
      gradients.push_back(parameter.grad());
    }
    // The kernel reads the step it is taking, so the counts go up first, as in LibTorch's Adam.
    at::_foreach_add_(group.steps, 1);
    at::_fused_adam_(group.parameters, gradients, group.exp_avgs, group.exp_avg_sqs,
                     /*max_exp_avg_sqs=*/{}, group.steps, group.lr, group.beta1, group.beta2,
                     group.weight_decay, group.eps, /*amsgrad=*/false, /*maximize=*/false);
  }
}

void FusedAdam::Finish() {
  for (Group& group : groups_) {
    if (group.steps.empty()) continue;
    const torch::Tensor counts = torch::stack(group.steps).to(torch::kCPU, torch::kFloat64);
    const double* count = counts.data_ptr<double>();
    for (size_t i = 0; i < group.states.size(); ++i)
      group.states[i]->step(static_cast<int64_t>(count[i]));
  }
}

}  // namespace dd::critic
