// The default drum kit: every one-shot's recipe, by relative file name.
#pragma once

#include <string>
#include <vector>

#include "samples/kitgen/synth.h"

namespace dd::kitgen {

struct KitSample {
  std::string relative_path;  // e.g. "kick/kick-deep.wav"
  Signal audio;               // Mono, 44.1 kHz.
};

// Synthesises the whole kit; deterministic.
std::vector<KitSample> BuildDefaultKit();

}  // namespace dd::kitgen
