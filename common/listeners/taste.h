// Tastes: how a simulated listener ranks drum loops. Each taste maps what is heard (audio
// features, and the samples on the tracks, as a listener recognises an 808) to a preference;
// higher is liked more. The catalogue differs the way people do: some like dark or bright sounds,
// sparse or busy grooves, a kick on the beat, syncopation, repetition, punch, or one family of
// samples. "random" ignores the loop: the control that must show no learning.
#pragma once

#include <functional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/listeners/audio_features.h"

namespace dd::listeners {

// What a listener knows about one loop.
struct HeardLoop {
  LoopFeatures features;
  // Sample ids of the tracks that play at least one hit.
  std::vector<std::string> sample_ids;
};

struct Taste {
  std::string name;         // As given to TasteByName, e.g. "dark" or "family:808".
  std::string description;  // One line, for reports.
  // Empty for the random taste.
  std::function<double(const HeardLoop&)> preference;
  bool is_random() const { return !preference; }
};

// Every taste name TasteByName accepts, "family" standing for "family:<folder>".
std::vector<std::string> TasteNames();

// "dark", "bright", "kick-on-beat", "sparse", "busy", "offbeat", "steady", "punchy",
// "family:<folder>" (likes loops whose sounding tracks come from that sample folder, the first
// component of the sample id) or "random". INVALID_ARGUMENT names the known tastes otherwise.
absl::StatusOr<Taste> TasteByName(absl::string_view name);

// The folder of a sample id: "808/kick-01.wav" -> "808"; "" for an id without one.
std::string SampleFamily(absl::string_view sample_id);

}  // namespace dd::listeners
