#include "services/ddsim/hearing.h"

#include <algorithm>

#include "common/audio/decode.h"
#include "common/listeners/audio_features.h"

namespace dd::sim {

absl::StatusOr<listeners::HeardLoop> Hear(std::string_view encoded_audio,
                                          const deepdrummer::v1::DrumLoop& loop) {
  // 4 bars of 2 s plus a tail at 44.1 kHz is 0.4 M frames; a minute is plenty of headroom.
  auto decoded = DecodeAudioBytes(encoded_audio, /*max_frames=*/int64_t{60} * 48000);
  if (!decoded.ok()) return decoded.status();
  const int steps = loop.steps() == 0 ? 16 : static_cast<int>(loop.steps());
  const double bpm = loop.bpm() == 0 ? 120.0 : loop.bpm();
  auto bar = listeners::SteadyBarOfLoop(decoded->mono, steps, bpm, decoded->sample_rate);
  if (!bar.ok()) return bar.status();
  auto features = listeners::ComputeLoopFeatures(*bar, steps, decoded->sample_rate);
  if (!features.ok()) return features.status();
  listeners::HeardLoop heard;
  heard.features = *std::move(features);
  for (const auto& track : loop.tracks()) {
    if (std::any_of(track.hits().begin(), track.hits().end(), [](bool hit) { return hit; })) {
      heard.sample_ids.push_back(track.sample_id());
    }
  }
  return heard;
}

}  // namespace dd::sim
