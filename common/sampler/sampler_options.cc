#include "common/sampler/sampler_options.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "common/text/exact_number.h"

namespace dd {

absl::Status ValidateSamplerOptions(const SamplerOptions& options) {
  if (!std::isfinite(options.temperature) || options.temperature <= 0.0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "temperature must be a finite number > 0, got %s", ExactNumber(options.temperature)));
  }
  if (options.min_steps < 0 || options.min_steps > SamplerOptions::kMaxStepLimit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "min_steps must be in [0, %d], got %d", SamplerOptions::kMaxStepLimit, options.min_steps));
  }
  if (options.max_steps < 1 || options.max_steps > SamplerOptions::kMaxStepLimit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_steps must be in [1, %d], got %d", SamplerOptions::kMaxStepLimit, options.max_steps));
  }
  if (!std::isfinite(options.threshold) || options.threshold < 0.0 || options.threshold > 1.0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threshold must be in [0, 1], got %s", ExactNumber(options.threshold)));
  }
  if (options.chains < 1 || options.chains > SamplerOptions::kMaxChains) {
    return absl::InvalidArgumentError(absl::StrFormat("chains must be in [1, %d], got %d",
                                                      SamplerOptions::kMaxChains, options.chains));
  }
  return absl::OkStatus();
}

}  // namespace dd
