#include "common/critic/lane_fft.h"

#include <cmath>
#include <numbers>

namespace dd::critic {

std::optional<LaneFft> LaneFft::Create(int n) {
  if (n < 1) return std::nullopt;
  // Radices from the top of the recursion down: 4s first (the cheapest butterfly per point).
  std::vector<int> radices;
  int rest = n;
  for (const int radix : {4, 2, 3, 5, 7}) {
    while (rest % radix == 0) {
      radices.push_back(radix);
      rest /= radix;
    }
  }
  if (rest != 1) return std::nullopt;

  LaneFft fft;
  fft.n_ = n;
  // Top-down, stage i combines blocks = p_1 ... p_(i-1) groups of p_i transforms of
  // span = n / (p_1 ... p_i) points; the passes run bottom-up.
  int blocks = 1;
  for (const int radix : radices) {
    fft.stages_.push_back({radix, n / (blocks * radix), blocks});
    blocks *= radix;
  }
  std::vector<Stage> bottom_up(fft.stages_.rbegin(), fft.stages_.rend());
  fft.stages_ = std::move(bottom_up);

  // Slot sum_i q_i * span_i holds input element sum_i q_i * blocks_i, the digit-reversed order
  // in which decimation in time leaves each bottom transform's inputs next to each other.
  fft.order_.resize(static_cast<size_t>(n));
  for (int slot = 0; slot < n; ++slot) {
    int remainder = slot, input = 0;
    for (auto stage = fft.stages_.rbegin(); stage != fft.stages_.rend(); ++stage) {
      input += remainder / stage->span * stage->blocks;
      remainder %= stage->span;
    }
    fft.order_[static_cast<size_t>(slot)] = input;
  }

  fft.cos_.resize(static_cast<size_t>(n));
  fft.sin_.resize(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) {
    const double angle = 2.0 * std::numbers::pi * j / n;
    fft.cos_[static_cast<size_t>(j)] = static_cast<float>(std::cos(angle));
    fft.sin_[static_cast<size_t>(j)] = static_cast<float>(std::sin(angle));
  }
  return fft;
}

}  // namespace dd::critic
