#include "common/listeners/taste.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/text/quoted.h"

namespace dd::listeners {
namespace {

struct CatalogueEntry {
  const char* name;
  const char* description;
  double (*preference)(const HeardLoop&);
};

// Preferences on a log scale where the feature is a frequency or a ratio, so that calibration by
// quantiles sees a spread that is not dominated by a few extreme loops.
const CatalogueEntry kCatalogue[] = {
    {"dark", "likes warm, dark loops: low spectral centroid",
     [](const HeardLoop& h) { return -std::log(h.features.spectral_centroid_hz + 1); }},
    {"bright", "likes bright, crisp loops: energy above 4 kHz (hats, shakers, noise)",
     [](const HeardLoop& h) { return h.features.high_share; }},
    {"kick-on-beat", "likes the low drums on the beat (four-on-the-floor feel)",
     [](const HeardLoop& h) { return h.features.kick_on_beat; }},
    {"sparse", "likes sparse, minimal loops: little onset energy per step",
     [](const HeardLoop& h) { return -h.features.onset_density; }},
    {"busy", "likes busy, dense loops: much onset energy per step",
     [](const HeardLoop& h) { return h.features.onset_density; }},
    {"offbeat", "likes syncopation: onsets on the odd sixteenths",
     [](const HeardLoop& h) { return h.features.offbeat_share; }},
    {"steady", "likes repetition: the second half-bar echoes the first",
     [](const HeardLoop& h) { return h.features.half_bar_repetition; }},
    {"punchy", "likes punch: a high peak-to-RMS ratio, transients over wash",
     [](const HeardLoop& h) { return h.features.crest_db; }},
};

constexpr absl::string_view kFamilyPrefix = "family:";

}  // namespace

std::string SampleFamily(absl::string_view sample_id) {
  const size_t slash = sample_id.find('/');
  return slash == absl::string_view::npos ? "" : std::string(sample_id.substr(0, slash));
}

std::vector<std::string> TasteNames() {
  std::vector<std::string> names;
  for (const CatalogueEntry& entry : kCatalogue)
    names.emplace_back(entry.name);
  names.emplace_back("family");
  names.emplace_back("random");
  return names;
}

absl::StatusOr<Taste> TasteByName(absl::string_view name) {
  for (const CatalogueEntry& entry : kCatalogue) {
    if (name == entry.name) return Taste{entry.name, entry.description, entry.preference};
  }
  if (name == "random") {
    return Taste{"random", "likes at random, whatever it hears (the control)", nullptr};
  }
  if (absl::StartsWith(name, kFamilyPrefix) && name.size() > kFamilyPrefix.size()) {
    std::string family(name.substr(kFamilyPrefix.size()));
    auto preference = [family](const HeardLoop& heard) {
      if (heard.sample_ids.empty()) return 0.0;
      double hits = 0;
      for (const std::string& id : heard.sample_ids)
        hits += SampleFamily(id) == family;
      return hits / static_cast<double>(heard.sample_ids.size());
    };
    return Taste{std::string(name), absl::StrCat("likes the sounds of the ", family, " folder"),
                 preference};
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown taste ", Quoted(name),
                                                 "; known: ", absl::StrJoin(TasteNames(), ", "),
                                                 " (family as family:<folder>)"));
}

}  // namespace dd::listeners
