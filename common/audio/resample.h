#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace dd {

// Band-limited sample-rate conversion of mono audio through libsamplerate's sinc converter.
absl::StatusOr<std::vector<float>> Resample(absl::Span<const float> input, int input_rate,
                                            int output_rate);

}  // namespace dd
