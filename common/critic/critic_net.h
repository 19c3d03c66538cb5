// The paper's critic network (section 3.2): on MFCC "images" of (n_mfcc x time), four 2-D conv
// layers of 64, 64, 64 and 8 channels (kernel (4,8) stride (2,4); the last 1x1), each followed by
// leaky ReLU, dropout (not after the last) and batch norm, then dense 128 + leaky ReLU and two
// outputs + leaky ReLU + log-softmax, in the original's order. 291,290 parameters on a 2 s clip.
// Optionally a rhythm branch (CriticConfig::rhythm_branch): a second input of per-step features
// through dense 32 + leaky ReLU, concatenated with the last conv layer's output, and a linear skip
// from the same features straight to the two outputs (zero at init). The skip is a logistic
// regression on the rhythm features that 80 ratings can fit; the path through the dense layers
// alone learned positional tastes too slowly at any rate tried.
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
  // rhythm_features: width of the rhythm branch's input; 0 for the paper's network.
  CriticNetImpl(int n_mfcc, int64_t time_frames, int rhythm_features = 0);

  // features: (batch, n_mfcc, time); rhythm: (batch, rhythm_features), ignored (may be undefined)
  // without a rhythm branch. Returns log-probabilities (batch, 2); column 1 is "like".
  // Dropout masks are drawn from `generator` (nullopt: the device's default generator), so that a
  // seeded critic on the CPU trains bit-for-bit reproducibly.
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& rhythm, double dropout,
                        c10::optional<at::Generator> generator);

  // PyTorch's default initialisation (uniform +-1/sqrt(fan_in) for weights and biases), drawn from
  // `generator` instead of the global one.
  void ResetParameters(at::Generator& generator);

  int64_t TrainableParameterCount() const;

  // The rhythm branch's parameters (its dense layer and skip; empty without a branch) and all the
  // others, so the optimizer can give the branch its own rate without knowing module names.
  std::vector<torch::Tensor> RhythmParameters() const;
  std::vector<torch::Tensor> NonRhythmParameters() const;

 private:
  friend class FoldedCriticNet;  // Reads the layers to fold them for scoring.

  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr};
  torch::nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr}, norm4_{nullptr};
  torch::nn::Linear rhythm_{nullptr}, rhythm_skip_{nullptr}, dense_{nullptr}, output_{nullptr};
};

TORCH_MODULE(CriticNet);

}  // namespace dd::critic
