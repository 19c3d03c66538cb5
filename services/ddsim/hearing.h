// From what the service sends (an encoded loop and its pattern) to what a listener hears.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "common/listeners/taste.h"
#include "deepdrummer/v1/loop.pb.h"

namespace dd::sim {

// Decodes the audio (any format libsndfile reads), takes its steady-state bar and measures it;
// the sample ids of the tracks that play come from the pattern.
absl::StatusOr<listeners::HeardLoop> Hear(std::string_view encoded_audio,
                                          const deepdrummer::v1::DrumLoop& loop);

}  // namespace dd::sim
