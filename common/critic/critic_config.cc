#include "common/critic/critic_config.h"

#include <cmath>
#include <sstream>

#include "common/text/exact_number.h"

namespace dd::critic {
namespace {

// "" when `value` is a finite number in [low, high], else the message naming the field and the
// value it had (a client that sent 1e300 or NaN sees what arrived after JSON or unit conversions).
// The counts come here too: every int is exact as a double.
std::string RangeProblem(const char* field, double value, double low, double high) {
  if (std::isfinite(value) && value >= low && value <= high) return "";
  std::ostringstream message;
  message << field << " must be in [" << low << ", " << high << "], got " << ExactNumber(value);
  return message.str();
}

struct CountRange {
  const char* field;
  int64_t low;
  int64_t high;
};

constexpr CountRange kCountRanges[] = {
    {"minibatches_per_rating", 0, 1000},
    {"minibatch_size", 2, 256},
    {"augment_max_shift", 1, kClipFrames},
    {"mel_sample_rate", 8000, 192000},
};

}  // namespace

std::string CountProblem(const std::string& field, int64_t value) {
  for (const CountRange& range : kCountRanges) {
    if (field == range.field) {
      return RangeProblem(range.field, static_cast<double>(value), static_cast<double>(range.low),
                          static_cast<double>(range.high));
    }
  }
  return "unknown count field " + field;
}

std::string ValidateConfig(const CriticConfig& config) {
  const std::string problems[] = {
      RangeProblem("learning_rate", config.learning_rate, 1e-9, 1.0),
      config.rhythm_learning_rate == 0
          ? ""
          : RangeProblem("rhythm_learning_rate (0: the same as learning_rate)",
                         config.rhythm_learning_rate, 1e-9, 1.0),
      RangeProblem("weight_decay", config.weight_decay, 0.0, 1.0),
      RangeProblem("dropout", config.dropout, 0.0, 0.9),
      CountProblem("minibatches_per_rating", config.minibatches_per_rating),
      CountProblem("minibatch_size", config.minibatch_size),
      config.minibatch_size % 2 == 0
          ? ""
          : "minibatch_size must be even (half liked, half disliked), got " +
                std::to_string(config.minibatch_size),
      RangeProblem("augment_gain_stddev", config.augment_gain_stddev, 0.0, 1.0),
      RangeProblem("augment_dc_offset_stddev", config.augment_dc_offset_stddev, 0.0, 1.0),
      RangeProblem("augment_noise_stddev", config.augment_noise_stddev, 0.0, 1.0),
      CountProblem("augment_max_shift", config.augment_max_shift),
      CountProblem("mel_sample_rate", config.mel_sample_rate),
  };
  for (const std::string& problem : problems) {
    if (!problem.empty()) return problem;
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
