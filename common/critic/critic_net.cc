#include "common/critic/critic_net.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <ATen/Parallel.h>

#include <torch/nn/functional/activation.h>
#include <torch/torch.h>

#include "common/critic/counter_random.h"
#include "common/random/rng.h"

namespace dd::critic {
namespace {

constexpr int kConvChannels = 64;
constexpr int kLastConvChannels = 8;
constexpr int kDenseUnits = 128;
constexpr int kRhythmUnits = 32;
constexpr int64_t kKernelH = 4, kKernelW = 8, kStrideH = 2, kStrideW = 4;

int64_t ConvOut(int64_t in, int64_t kernel, int64_t stride) {
  return (in - kernel) / stride + 1;
}

torch::nn::Conv2dOptions StridedConv(int in_channels, int out_channels) {
  return torch::nn::Conv2dOptions(in_channels, out_channels, {kKernelH, kKernelW})
      .stride({kStrideH, kStrideW});
}

// In place: every input here is a fresh layer output that nothing else reads (conv and linear
// backward need their inputs, not their outputs), so this saves a large allocation per layer.
torch::Tensor LeakyRelu(torch::Tensor x) {
  return torch::leaky_relu_(x, 0.01);
}

// A dropout mask already scaled by 1/(1-p), of like's type (float32, or bfloat16 under autocast,
// where a float32 mask would turn the product and every later activation back into float32). On
// the CPU, LibTorch's seeded bernoulli_ is serial and took 30 ms of a 100 ms training step; this
// mask comes from a counter-based stream (counter_random.h; four 16-bit draws per hash), so it is
// fast, parallel, and the same whatever the thread count. On a GPU the device's own bernoulli_ is
// fast and used instead.
template <typename Element>
void FillDropoutMask(Element* out, int64_t size, uint64_t seed, double p) {
  const auto scale = static_cast<Element>(static_cast<float>(1.0 / (1.0 - p)));
  const auto zero = static_cast<Element>(0.0f);
  const auto threshold = static_cast<uint32_t>(p * 65536.0);
  const int64_t words = (size + 3) / 4;
  at::parallel_for(0, words, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t word = begin; word < end; ++word) {
      uint64_t bits = Rng::SplitMix(seed + static_cast<uint64_t>(word));
      const int64_t base = word * 4;
      const int64_t n = std::min<int64_t>(4, size - base);
      for (int64_t k = 0; k < n; ++k, bits >>= 16) {
        out[base + k] = (bits & 0xffff) < threshold ? zero : scale;
      }
    }
  });
}

torch::Tensor DropoutMask(const torch::Tensor& like, double p, at::Generator& generator) {
  const uint64_t seed = DrawSeed(generator);
  const bool bf16 = like.scalar_type() == torch::kBFloat16;
  torch::Tensor mask = torch::empty(
      like.sizes(), torch::TensorOptions().dtype(bf16 ? torch::kBFloat16 : torch::kFloat32));
  if (bf16) {
    FillDropoutMask(mask.data_ptr<at::BFloat16>(), mask.numel(), seed, p);
  } else {
    FillDropoutMask(mask.data_ptr<float>(), mask.numel(), seed, p);
  }
  return mask;
}

torch::Tensor Dropout(const torch::Tensor& x, double p, bool training,
                      c10::optional<at::Generator>& generator) {
  if (!training || p <= 0.0) return x;
  if (x.is_cpu() && generator.has_value()) return x * DropoutMask(x, p, *generator);
  return x * (torch::empty_like(x).bernoulli_(1.0 - p, generator) / (1.0 - p));
}

}  // namespace

CriticNetImpl::CriticNetImpl(int n_mfcc, int64_t time_frames, int rhythm_features) {
  conv1_ = register_module("conv1", torch::nn::Conv2d(StridedConv(1, kConvChannels)));
  norm1_ = register_module("norm1", torch::nn::BatchNorm2d(kConvChannels));
  conv2_ = register_module("conv2", torch::nn::Conv2d(StridedConv(kConvChannels, kConvChannels)));
  norm2_ = register_module("norm2", torch::nn::BatchNorm2d(kConvChannels));
  conv3_ = register_module("conv3", torch::nn::Conv2d(StridedConv(kConvChannels, kConvChannels)));
  norm3_ = register_module("norm3", torch::nn::BatchNorm2d(kConvChannels));
  conv4_ = register_module(
      "conv4", torch::nn::Conv2d(torch::nn::Conv2dOptions(kConvChannels, kLastConvChannels, 1)));
  norm4_ = register_module("norm4", torch::nn::BatchNorm2d(kLastConvChannels));
  int64_t height = n_mfcc, width = time_frames;
  for (int layer = 0; layer < 3; ++layer) {
    height = ConvOut(height, kKernelH, kStrideH);
    width = ConvOut(width, kKernelW, kStrideW);
  }
  int64_t dense_inputs = kLastConvChannels * height * width;
  if (rhythm_features > 0) {
    rhythm_ = register_module("rhythm", torch::nn::Linear(rhythm_features, kRhythmUnits));
    rhythm_skip_ = register_module("rhythm_skip", torch::nn::Linear(rhythm_features, 2));
    dense_inputs += kRhythmUnits;
  }
  dense_ = register_module("dense", torch::nn::Linear(dense_inputs, kDenseUnits));
  output_ = register_module("output", torch::nn::Linear(kDenseUnits, 2));
}

torch::Tensor CriticNetImpl::forward(const torch::Tensor& features, const torch::Tensor& rhythm,
                                     double dropout, c10::optional<at::Generator> generator) {
  torch::Tensor x = features.unsqueeze(1);
  x = norm1_(Dropout(LeakyRelu(conv1_(x)), dropout, is_training(), generator));
  x = norm2_(Dropout(LeakyRelu(conv2_(x)), dropout, is_training(), generator));
  x = norm3_(Dropout(LeakyRelu(conv3_(x)), dropout, is_training(), generator));
  x = norm4_(LeakyRelu(conv4_(x))).flatten(1);
  if (rhythm_) x = torch::cat({x, LeakyRelu(rhythm_(rhythm))}, 1);
  x = LeakyRelu(dense_(x));
  x = LeakyRelu(output_(x));
  if (rhythm_skip_) x = x + rhythm_skip_(rhythm);
  return torch::log_softmax(x, 1);
}

void CriticNetImpl::ResetParameters(at::Generator& generator) {
  torch::NoGradGuard no_grad;
  auto reset = [&](torch::Tensor& weight, torch::Tensor& bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(weight[0].numel()));
    weight.uniform_(-bound, bound, generator);
    bias.uniform_(-bound, bound, generator);
  };
  for (auto* conv : {&conv1_, &conv2_, &conv3_, &conv4_})
    reset((*conv)->weight, (*conv)->bias);
  if (rhythm_) reset(rhythm_->weight, rhythm_->bias);
  // The skip starts silent, so an untrained critic still scores about one half everywhere.
  if (rhythm_skip_) {
    rhythm_skip_->weight.zero_();
    rhythm_skip_->bias.zero_();
  }
  reset(dense_->weight, dense_->bias);
  reset(output_->weight, output_->bias);
}

int64_t CriticNetImpl::TrainableParameterCount() const {
  int64_t count = 0;
  for (const auto& parameter : parameters()) {
    if (parameter.requires_grad()) count += parameter.numel();
  }
  return count;
}

std::vector<torch::Tensor> CriticNetImpl::RhythmParameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& layer : {rhythm_, rhythm_skip_}) {
    if (!layer) continue;
    for (const torch::Tensor& p : layer->parameters())
      out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> CriticNetImpl::NonRhythmParameters() const {
  const std::vector<torch::Tensor> rhythm = RhythmParameters();
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : parameters()) {
    const bool in_rhythm = std::any_of(rhythm.begin(), rhythm.end(),
                                       [&](const torch::Tensor& r) { return r.is_same(p); });
    if (!in_rhythm) out.push_back(p);
  }
  return out;
}

}  // namespace dd::critic
