// Adam's update on a GPU as one fused kernel per parameter group, on the moments that a
// torch::optim::Adam keeps. LibTorch's C++ Adam launches about ten kernels per parameter tensor
// (twenty tensors in the critic), which made its update a quarter of a training round on an H200,
// and it counts steps on the host, where a CUDA graph would freeze the count. Here the counts live
// on the device during a round. The state stays torch::optim::Adam's, so its snapshots are the
// same whichever path trained, and a CPU worker can take over a critic a GPU trained.
//
// Same update as torch::optim::Adam (L2 weight decay added to the gradient, bias-corrected
// moments, eps outside the square root); amsgrad is not supported.
#pragma once

#include <vector>

#include <torch/optim/adam.h>

namespace dd::critic {

// The state `optimizer` keeps for `parameter`; made as the optimizer's own first step would make
// it (zero moments, step 0) when there is none yet.
torch::optim::AdamParamState& AdamStateFor(torch::optim::Adam& optimizer,
                                           const torch::Tensor& parameter);

class FusedAdam {
 public:
  // Takes the optimizer's groups, options and state as they are now; the optimizer must outlive
  // this object, and its state must not be changed elsewhere until Finish().
  explicit FusedAdam(torch::optim::Adam& optimizer);

  // One update from the parameters' current gradients (every trainable parameter must have one).
  // Only launches device work: nothing waits for the device or reads from it.
  void Step();

  // Writes the device's step counts back into the optimizer's state, for snapshots. Waits for the
  // device.
  void Finish();

 private:
  struct Group {
    std::vector<torch::Tensor> parameters, exp_avgs, exp_avg_sqs;
    std::vector<torch::Tensor> steps;  // float32 scalars on the device, one per parameter.
    std::vector<torch::optim::AdamParamState*> states;
    double lr = 0, beta1 = 0, beta2 = 0, weight_decay = 0, eps = 0;
  };
  std::vector<Group> groups_;
};

}  // namespace dd::critic
