#include "common/critic/folded_critic_net.h"

#include <utility>

#include <torch/torch.h>

namespace dd::critic {
namespace {

using Tensor = torch::Tensor;

// An eval batch norm as y = a x + b per channel, in float64 so that folding adds no rounding of
// its own beyond the final cast.
std::pair<Tensor, Tensor> AffineOf(const torch::nn::BatchNorm2d& norm) {
  const Tensor a = norm->weight.to(torch::kFloat64) /
                   torch::sqrt(norm->running_var.to(torch::kFloat64) + norm->options.eps());
  return {a, norm->bias.to(torch::kFloat64) - a * norm->running_mean.to(torch::kFloat64)};
}

torch::nn::functional::LeakyReLUFuncOptions Leaky() {
  return torch::nn::functional::LeakyReLUFuncOptions().negative_slope(0.01).inplace(true);
}

}  // namespace

FoldedCriticNet::FoldedCriticNet(const CriticNetImpl& net)
    : channels_last_(net.conv1_->weight.is_cuda()), layers_(Fold(net, channels_last_)) {
  const torch::nn::Conv2d* convs[] = {&net.conv1_, &net.conv2_, &net.conv3_, &net.conv4_};
  for (size_t i = 0; i < strides_.size(); ++i) {
    const auto& stride = (*convs[i])->options.stride();
    strides_[i] = {(*stride)[0], (*stride)[1]};
  }
}

void FoldedCriticNet::Refresh(const CriticNetImpl& net) {
  torch::NoGradGuard no_grad;
  const Layers fresh = Fold(net, channels_last_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i].weight.defined()) continue;
    layers_[i].weight.copy_(fresh[i].weight);
    layers_[i].bias.copy_(fresh[i].bias);
  }
}

FoldedCriticNet::Layers FoldedCriticNet::Fold(const CriticNetImpl& net, bool channels_last) {
  torch::NoGradGuard no_grad;
  // Always a tensor of its own, even for a layer with nothing to fold: sharing the network's
  // parameter would let training change what scoring reads between two refreshes.
  const auto as_stored = [&](const Tensor& folded, const Tensor& like) {
    Tensor out = folded.to(like.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
    return channels_last && out.dim() == 4 ? out.contiguous(at::MemoryFormat::ChannelsLast)
                                           : out.contiguous();
  };
  const auto copy_of = [&](const auto& layer) {
    return Layer{as_stored(layer->weight, layer->weight), as_stored(layer->bias, layer->bias)};
  };
  // A layer that reads y = a x + b, with `a` and `b` spread over its inputs' layout by `shape`:
  // its weight times a, its bias plus its weight applied to b.
  const auto read_through = [&](const Tensor& weight, const Tensor& bias, const Tensor& a,
                                const Tensor& b, std::vector<int64_t> shape) {
    const Tensor w = weight.to(torch::kFloat64);
    std::vector<int64_t> sum_dims;
    for (int64_t d = 1; d < w.dim(); ++d)
      sum_dims.push_back(d);
    const Tensor shift = (w * b.view(shape)).sum(sum_dims);
    return Layer{as_stored(w * a.view(shape), weight),
                 as_stored(bias.to(torch::kFloat64) + shift, bias)};
  };

  Layers layers;
  layers[kConv1] = copy_of(net.conv1_);
  const torch::nn::Conv2d* convs[] = {&net.conv2_, &net.conv3_, &net.conv4_};
  const torch::nn::BatchNorm2d* norms[] = {&net.norm1_, &net.norm2_, &net.norm3_};
  for (int i = 0; i < 3; ++i) {
    const auto [a, b] = AffineOf(*norms[i]);
    const torch::nn::Conv2d& conv = *convs[i];
    layers[kConv1 + 1 + i] = read_through(conv->weight, conv->bias, a, b, {1, -1, 1, 1});
  }
  // The dense layer reads the flattened (channel-major) output of norm4, then the rhythm
  // branch's units, which no batch norm touches.
  const auto [a4, b4] = AffineOf(net.norm4_);
  const Tensor& dense_weight = net.dense_->weight;
  const int64_t cnn_inputs = dense_weight.size(1) - (net.rhythm_ ? net.rhythm_->weight.size(0) : 0);
  const int64_t per_channel = cnn_inputs / a4.size(0);
  const Tensor a = torch::cat({a4.repeat_interleave(per_channel),
                               torch::ones({dense_weight.size(1) - cnn_inputs}, a4.options())});
  const Tensor b = torch::cat({b4.repeat_interleave(per_channel),
                               torch::zeros({dense_weight.size(1) - cnn_inputs}, b4.options())});
  layers[kDense] = read_through(dense_weight, net.dense_->bias, a, b, {1, -1});
  layers[kOutput] = copy_of(net.output_);
  if (net.rhythm_) {
    layers[kRhythm] = copy_of(net.rhythm_);
    layers[kRhythmSkip] = copy_of(net.rhythm_skip_);
  }
  return layers;
}

Tensor FoldedCriticNet::Forward(const Tensor& features, const Tensor& rhythm) const {
  namespace F = torch::nn::functional;
  Tensor x = features.unsqueeze(1);
  if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  for (int i = 0; i < 4; ++i) {
    const Layer& conv = layers_[kConv1 + i];
    x = F::leaky_relu(torch::conv2d(x, conv.weight, conv.bias, strides_[i]), Leaky());
  }
  x = x.flatten(1);
  const auto linear = [&](const Tensor& input, LayerIndex index) {
    return F::linear(input, layers_[index].weight, layers_[index].bias);
  };
  const bool rhythm_branch = layers_[kRhythm].weight.defined();
  if (rhythm_branch) x = torch::cat({x, F::leaky_relu(linear(rhythm, kRhythm), Leaky())}, 1);
  x = F::leaky_relu(linear(x, kDense), Leaky());
  x = F::leaky_relu(linear(x, kOutput), Leaky());
  if (rhythm_branch) x = x + linear(rhythm, kRhythmSkip);
  return torch::log_softmax(x, 1);
}

}  // namespace dd::critic
