#include "common/critic/critic_config.h"

#include <cmath>

namespace dd::critic {
namespace {

bool InRange(double value, double low, double high) {
  return std::isfinite(value) && value >= low && value <= high;
}

}  // namespace

std::string ValidateConfig(const CriticConfig& config) {
  if (!InRange(config.learning_rate, 1e-9, 1.0)) return "learning_rate must be in [1e-9, 1]";
  if (config.rhythm_learning_rate != 0 && !InRange(config.rhythm_learning_rate, 1e-9, 1.0)) {
    return "rhythm_learning_rate must be 0 (same as learning_rate) or in [1e-9, 1]";
  }
  if (!InRange(config.weight_decay, 0.0, 1.0)) return "weight_decay must be in [0, 1]";
  if (!InRange(config.dropout, 0.0, 0.9)) return "dropout must be in [0, 0.9]";
  if (config.minibatches_per_rating < 0 || config.minibatches_per_rating > 1000) {
    return "minibatches_per_rating must be in [0, 1000]";
  }
  if (config.minibatch_size < 2 || config.minibatch_size > 256 || config.minibatch_size % 2 != 0) {
    return "minibatch_size must be even and in [2, 256]";
  }
  if (!InRange(config.augment_gain_stddev, 0.0, 1.0))
    return "augment_gain_stddev must be in [0, 1]";
  if (!InRange(config.augment_dc_offset_stddev, 0.0, 1.0)) {
    return "augment_dc_offset_stddev must be in [0, 1]";
  }
  if (!InRange(config.augment_noise_stddev, 0.0, 1.0)) {
    return "augment_noise_stddev must be in [0, 1]";
  }
  if (config.augment_max_shift < 1 || config.augment_max_shift > kClipFrames) {
    return "augment_max_shift must be in [1, 88200]";
  }
  if (config.mel_sample_rate < 8000 || config.mel_sample_rate > 192000) {
    return "mel_sample_rate must be in [8000, 192000]";
  }
  return "";
}

int64_t FirstUnfitSample(const float* clip, int64_t frames) {
  for (int64_t i = 0; i < frames; ++i) {
    // Written so that NaN, which compares false with everything, fails it too.
    if (!(std::fabs(clip[i]) <= kMaxClipSampleMagnitude)) return i;
  }
  return -1;
}

}  // namespace dd::critic
