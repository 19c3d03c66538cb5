#include "common/pattern/generation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/text/exact_number.h"
#include "common/text/quoted.h"

namespace dd {
namespace {

absl::Status ValidateProbability(std::string_view name, double p, bool allow_zero) {
  if (!std::isfinite(p) || p > 1.0 || p < 0.0 || (!allow_zero && p == 0.0)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s must be in %s, 1], got %s", name,
                                                      allow_zero ? "[0" : "(0", ExactNumber(p)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SamplePool> SelectSamplePool(absl::Span<const std::string> all_ids,
                                            absl::Span<const std::string> only_ids,
                                            absl::Span<const std::string> only_folders,
                                            absl::Span<const std::string> kick_ids,
                                            bool four_on_the_floor) {
  const absl::flat_hash_set<std::string> available(all_ids.begin(), all_ids.end());
  for (const std::string& id : only_ids) {
    if (!available.contains(id))
      return absl::NotFoundError(absl::StrCat("unknown sample id ", Quoted(id)));
  }
  for (const std::string& id : kick_ids) {
    if (!available.contains(id))
      return absl::NotFoundError(absl::StrCat("unknown kick sample id ", Quoted(id)));
  }
  // A folder that holds nothing is a typo as surely as an unknown id, even beside folders that do.
  for (const std::string& folder : only_folders) {
    if (std::none_of(all_ids.begin(), all_ids.end(),
                     [&](const std::string& id) { return absl::StartsWith(id, folder); })) {
      return absl::NotFoundError(absl::StrCat("sample folder ", Quoted(folder),
                                              " holds no sample (folders are id prefixes)"));
    }
  }
  const absl::flat_hash_set<std::string> wanted(only_ids.begin(), only_ids.end());
  SamplePool pool;
  for (const std::string& id : all_ids) {
    bool selected = only_ids.empty() && only_folders.empty();
    if (!selected && wanted.contains(id)) selected = true;
    for (const std::string& folder : only_folders) {
      if (!selected && absl::StartsWith(id, folder)) selected = true;
    }
    if (selected) pool.ids.push_back(id);
  }
  std::sort(pool.ids.begin(), pool.ids.end());
  if (pool.ids.empty()) return absl::FailedPreconditionError("the sample library is empty");
  if (!kick_ids.empty()) {
    pool.kick_ids.assign(kick_ids.begin(), kick_ids.end());
  } else {
    for (const std::string& id : pool.ids) {
      if (absl::StrContains(absl::AsciiStrToLower(id), "kick")) pool.kick_ids.push_back(id);
    }
  }
  std::sort(pool.kick_ids.begin(), pool.kick_ids.end());
  pool.kick_ids.erase(std::unique(pool.kick_ids.begin(), pool.kick_ids.end()), pool.kick_ids.end());
  if (four_on_the_floor && pool.kick_ids.empty()) {
    return absl::FailedPreconditionError(
        "four-on-the-floor needs a kick: no sample id contains \"kick\"; name kick samples "
        "explicitly");
  }
  return pool;
}

absl::StatusOr<PatternGenerator> PatternGenerator::Create(GenerationOptions options,
                                                          SamplePool pool) {
  if (absl::Status s = ValidateSteps(options.steps); !s.ok()) return s;
  if (absl::Status s = ValidateTrackCount(options.tracks); !s.ok()) return s;
  if (absl::Status s = ValidateBpm(options.bpm); !s.ok()) return s;
  if (absl::Status s = ValidateProbability("hit_density", options.hit_density, false); !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateProbability("cell_flip_probability", options.cell_flip_probability, true);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateProbability("sample_swap_probability", options.sample_swap_probability, true);
      !s.ok()) {
    return s;
  }
  if (pool.ids.empty()) return absl::FailedPreconditionError("the sample pool is empty");
  if (options.four_on_the_floor) {
    if (pool.kick_ids.empty()) {
      return absl::FailedPreconditionError("four-on-the-floor needs at least one kick sample");
    }
    if (options.steps % 4 != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("four-on-the-floor needs a step count divisible by 4, got ", options.steps));
    }
  }
  return PatternGenerator(std::move(options), std::move(pool));
}

Pattern PatternGenerator::Random(Rng& rng) const {
  std::vector<Track> tracks(static_cast<size_t>(options_.tracks));
  for (int t = 0; t < options_.tracks; ++t) {
    const std::vector<std::string>& ids = PoolForTrack(t);
    Track& track = tracks[static_cast<size_t>(t)];
    track.sample_id = ids[rng.UniformIndex(ids.size())];
    track.velocities.resize(static_cast<size_t>(options_.steps));
    for (int k = 0; k < options_.steps; ++k) {
      const bool on = IsConstrainedCell(t, k) || rng.Bernoulli(options_.hit_density);
      track.velocities[static_cast<size_t>(k)] = on ? 1.0f : 0.0f;
    }
  }
  // Shape and ranges were validated in Create(), so this cannot fail.
  return *Pattern::FromTracks(options_.steps, options_.bpm, std::move(tracks));
}

Pattern PatternGenerator::Mutate(const Pattern& pattern, Rng& rng) const {
  Pattern next = pattern;
  for (int t = 0; t < next.num_tracks(); ++t) {
    if (rng.Bernoulli(options_.sample_swap_probability)) {
      const std::vector<std::string>& ids = PoolForTrack(t);
      next.set_sample(t, ids[rng.UniformIndex(ids.size())]);
    }
  }
  for (int t = 0; t < next.num_tracks(); ++t) {
    for (int k = 0; k < next.steps(); ++k) {
      // Draw for every cell, constrained or not, so the random stream does not depend on the
      // constraint and the same seed explores comparably with and without it.
      const bool flip = rng.Bernoulli(options_.cell_flip_probability);
      if (flip && !IsConstrainedCell(t, k)) next.set_hit(t, k, !next.hit(t, k));
    }
  }
  return next;
}

uint64_t PatternGenerator::DistinctPatterns() const {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t count = 1;
  const auto times = [&count](uint64_t factor) {
    count = factor != 0 && count > kMax / factor ? kMax : count * factor;
  };
  for (int t = 0; t < options_.tracks; ++t) {
    times(PoolForTrack(t).size());
    for (int k = 0; k < options_.steps; ++k) {
      if (!IsConstrainedCell(t, k)) times(2);
    }
  }
  return count;
}

bool PatternGenerator::Satisfies(const Pattern& pattern) const {
  if (pattern.steps() != options_.steps || pattern.num_tracks() != options_.tracks) return false;
  if (!options_.four_on_the_floor) return true;
  const std::vector<std::string>& kicks = pool_.kick_ids;
  if (std::find(kicks.begin(), kicks.end(), pattern.track(0).sample_id) == kicks.end())
    return false;
  for (int k = 0; k < pattern.steps(); k += 4) {
    if (!pattern.hit(0, k)) return false;
  }
  return true;
}

}  // namespace dd
