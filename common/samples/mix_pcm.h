// A sample's frames as the renderer reads them: 16-bit integers times one power-of-two scale.
// Mixing is bound by reading sample frames (each is read once per hit), so half the bytes of
// float frames make every render faster; 16 bits is also the resolution of the audio the
// service sends. The scale is a power of two so that nothing is lost for mono 8- and 16-bit
// sources at 44.1 kHz: frame * scale is then exactly the decoded float, and so is any gain times
// it.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace dd {

struct MixPcm {
  std::vector<int16_t> frames;
  float scale = 1.0f;  // frames[i] * scale approximates (or equals) the decoded pcm[i].
};

// Picks the smallest power-of-two scale at which every frame fits in 16 bits and rounds each
// frame to it (half to even), so the error is at most scale / 2: 2^-16 of the peak's power of
// two, -96 dB. Exact when every frame is a multiple of that scale, e.g. when it was decoded from
// 16-bit PCM. Silence gets scale 1. Frames must be finite.
MixPcm ToMixPcm(absl::Span<const float> pcm);

}  // namespace dd
