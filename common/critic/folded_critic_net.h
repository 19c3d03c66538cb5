// The critic network as scoring runs it. In eval use each batch norm is a fixed per-channel
// affine map (y = a x + b) on an activation's output, and the layer that reads y has no padding,
// so the map folds exactly into that layer: conv2..conv4 take norm1..norm3, the dense layer's CNN
// columns take norm4. That is four passes fewer over the activations, the first over conv1's
// output, the largest of the network (64 x 29 x 109 floats a clip). On a CUDA device the
// convolutions also run channels-last, the layout cuDNN's fastest kernels work in. Measured
// (README, Performance): 3-5% off a score on the CPU, ~2% off a batch on an H200.
//
// Training keeps using CriticNet with its batch norms; these are copies of its weights, folded
// again after each change (Refresh).
#pragma once

#include <array>
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "common/critic/critic_net.h"

namespace dd::critic {

class FoldedCriticNet {
 public:
  // The weights of `net` folded, on its device.
  explicit FoldedCriticNet(const CriticNetImpl& net);

  // Folds `net`'s current weights again into the same tensors, so that work recorded on them
  // (a CUDA graph) reads the new ones.
  void Refresh(const CriticNetImpl& net);

  // Log-probabilities (batch, 2), as `net.forward` gives them in eval use up to rounding.
  // features: (batch, n_mfcc, time); rhythm: (batch, rhythm_features) or undefined without a
  // rhythm branch.
  at::Tensor Forward(const at::Tensor& features, const at::Tensor& rhythm) const;

 private:
  struct Layer {
    at::Tensor weight, bias;
  };
  // Where each layer is in Layers; the rhythm branch's two are empty without one.
  enum LayerIndex { kConv1 = 0, kDense = 4, kOutput, kRhythm, kRhythmSkip, kLayerCount };
  using Layers = std::array<Layer, kLayerCount>;

  static Layers Fold(const CriticNetImpl& net, bool channels_last);

  bool channels_last_;
  Layers layers_;
  std::array<std::array<int64_t, 2>, 4> strides_;  // Of conv1..conv4, as CriticNet made them.
};

}  // namespace dd::critic
