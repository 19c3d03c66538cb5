#include "common/critic/counter_random.h"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "common/random/rng.h"

namespace dd::critic {

uint64_t DrawSeed(at::Generator& generator) {
  return static_cast<uint64_t>(torch::randint(std::numeric_limits<int64_t>::max(), {1}, generator,
                                              torch::TensorOptions().dtype(torch::kInt64))
                                   .item<int64_t>());
}

at::Tensor CounterNormal(c10::IntArrayRef sizes, uint64_t seed) {
  int64_t count = 1;
  for (int64_t size : sizes)
    count *= size;
  const int64_t pairs = (count + 1) / 2;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor radius_uniform = torch::empty({pairs}, options);
  torch::Tensor angle_uniform = torch::empty({pairs}, options);
  float* radius_out = radius_uniform.data_ptr<float>();
  float* angle_out = angle_uniform.data_ptr<float>();
  at::parallel_for(0, pairs, 8192, [&](int64_t begin, int64_t end) {
    constexpr float kTwoToMinus32 = 1.0f / 4294967296.0f;
    for (int64_t i = begin; i < end; ++i) {
      const uint64_t bits = Rng::SplitMix(seed + static_cast<uint64_t>(i));
      // (0, 1]: the radius takes a log, which 0 would make infinite.
      radius_out[i] = (static_cast<float>(bits >> 40) + 1.0f) * (1.0f / 16777216.0f);
      angle_out[i] = static_cast<float>(bits & 0xffffffffULL) * kTwoToMinus32;
    }
  });
  // The transform in vectorised tensor ops: sqrt(-2 ln u1) times cos and sin of 2 pi u2.
  torch::Tensor radius = radius_uniform.log_().mul_(-2.0f).sqrt_();
  torch::Tensor angle = angle_uniform.mul_(static_cast<float>(2.0 * M_PI));
  torch::Tensor normal = torch::cat({radius * angle.cos(), radius * angle.sin()});
  return normal.narrow(0, 0, count).view(sizes);
}

}  // namespace dd::critic
