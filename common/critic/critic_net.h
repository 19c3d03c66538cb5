// The paper's critic network (section 3.2): on MFCC "images" of (n_mfcc x time), four 2-D conv
// layers of 64, 64, 64 and 8 channels (kernel (4,8) stride (2,4); the last 1x1), each followed by
// leaky ReLU, dropout (not after the last) and batch norm, then dense 128 + leaky ReLU and two
// outputs + leaky ReLU + log-softmax, in the original's order. 291,290 parameters on a 2 s clip.
#pragma once

#include <c10/util/Optional.h>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

namespace dd::critic {

class CriticNetImpl : public torch::nn::Module {
 public:
  CriticNetImpl(int n_mfcc, int64_t time_frames);

  // features: (batch, n_mfcc, time). Returns log-probabilities (batch, 2); column 1 is "like".
  // Dropout masks are drawn from `generator` (nullopt: the device's default generator), so that a
  // seeded critic on the CPU trains bit-for-bit reproducibly.
  torch::Tensor forward(const torch::Tensor& features, double dropout,
                        c10::optional<at::Generator> generator);

  // PyTorch's default initialisation (uniform +-1/sqrt(fan_in) for weights and biases), drawn from
  // `generator` instead of the global one.
  void ResetParameters(at::Generator& generator);

  int64_t TrainableParameterCount() const;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr};
  torch::nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr}, norm4_{nullptr};
  torch::nn::Linear dense_{nullptr}, output_{nullptr};
};

TORCH_MODULE(CriticNet);

}  // namespace dd::critic
