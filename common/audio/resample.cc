#include "common/audio/resample.h"

#include <samplerate.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace dd {

absl::StatusOr<std::vector<float>> Resample(absl::Span<const float> input, int input_rate,
                                            int output_rate) {
  if (input_rate <= 0 || output_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample rates must be positive, got ", input_rate, " and ", output_rate));
  }
  if (input_rate == output_rate) return std::vector<float>(input.begin(), input.end());
  if (input.empty()) return std::vector<float>();
  const double ratio = static_cast<double>(output_rate) / input_rate;
  std::vector<float> output(static_cast<size_t>(std::ceil(input.size() * ratio)) + 16);
  SRC_DATA data{};
  data.data_in = input.data();
  data.input_frames = static_cast<long>(input.size());
  data.data_out = output.data();
  data.output_frames = static_cast<long>(output.size());
  data.src_ratio = ratio;
  // Medium-quality sinc: transparent for one-shots and several times faster than the best mode.
  const int error = src_simple(&data, SRC_SINC_MEDIUM_QUALITY, /*channels=*/1);
  if (error != 0) {
    return absl::InternalError(absl::StrCat("resampling failed: ", src_strerror(error)));
  }
  output.resize(static_cast<size_t>(data.output_frames_gen));
  return output;
}

}  // namespace dd
